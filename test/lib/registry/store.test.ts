import {execFile} from 'node:child_process'
import {existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync} from 'node:fs'
import {join, resolve} from 'node:path'
import {promisify} from 'node:util'
import {expect} from 'chai'
import {ConfigError, NotSetUpError} from '../../../src/lib/errors.js'
import {RegistryStore} from '../../../src/lib/registry/store.js'

const options = {hostUser: () => ({user: 'u', uid: 1, gid: 1, home: '/h'}), lanIp: () => '10.1.1.1'}
const MINIMAL = 'schema = 3\n[defaults]\nrepos_root = "/r"\nbackup_root = "/b"\n'

describe('registry store', () => {
  let dir: string
  let file: string
  beforeEach(() => {
    dir = mkdtempSync('/tmp/rm-store-')
    file = join(dir, 'repoman.toml')
  })
  afterEach(() => rmSync(dir, {recursive: true, force: true}))

  it('says to run setup when there is no registry', async () => {
    const error = await new RegistryStore(file, options).read().catch((e) => e)
    expect(error).to.be.instanceOf(NotSetUpError)
    expect(error.message).to.match(/run `repoman setup` first/)
  })

  it('leaves a malformed file byte for byte as it was', async () => {
    const broken = 'schema = 3\n[defaults]\nrepos_root = "/r"\nbackup_root = 5\n'
    writeFileSync(file, broken)
    const store = new RegistryStore(file, options)
    for (const attempt of [store.read(), store.update(() => undefined)]) {
      const error = await attempt.catch((e) => e)
      expect(error).to.be.instanceOf(ConfigError)
      expect(error.message).to.match(/repoman\.toml:4: defaults\.backup_root must be a non-empty string/)
    }
    expect(readFileSync(file, 'utf8')).to.equal(broken)
    expect(readdirSync(dir)).to.deep.equal(['repoman.toml'])
  })

  it('migrates an old file once, keeping the original as .bak-schema2', async () => {
    const old =
      'schema = 2\n[repoman]\noutput = "quiet"\n[defaults]\nrepos_root = "/r"\nbackup_root = "/b"\nllm = "http://192.168.5.5:11434"\n'
    writeFileSync(file, old)
    const registry = await new RegistryStore(file, options).read()
    expect(registry.host.lan_ip).to.equal('192.168.5.5')
    expect(readFileSync(`${file}.bak-schema2`, 'utf8')).to.equal(old)
    const rewritten = readFileSync(file, 'utf8')
    expect(rewritten)
      .to.match(/^schema = 3$/m)
      .and.not.match(/llm/)
    expect(rewritten).to.match(/lan_ip = "192\.168\.5\.5"/)
  })

  it('writes only when something changed', async () => {
    writeFileSync(file, MINIMAL)
    const store = new RegistryStore(file, options)
    await store.update(() => undefined)
    expect(readFileSync(file, 'utf8')).to.equal(MINIMAL)
    await store.update((r) => {
      r.defaults.backup_allow_local = true
    })
    expect(readFileSync(file, 'utf8')).to.match(/backup_allow_local = true/)
  })

  it('loses no entry when many processes update at once', async function () {
    this.timeout(120_000)
    writeFileSync(file, MINIMAL)
    const writer = resolve(import.meta.dirname, '../../helpers/registry-writer.ts')
    const run = promisify(execFile)
    const processes = 8
    const each = 5
    await Promise.all(
      Array.from({length: processes}, (_, p) =>
        run(process.execPath, ['--import', 'tsx', writer, file, `p${p}`, String(each)]),
      ),
    )
    const registry = await new RegistryStore(file, options).read()
    expect(registry.project.map((p) => p.name).sort()).to.have.length(processes * each)
    expect(new Set(registry.project.map((p) => p.name)).size).to.equal(processes * each)
    expect(existsSync(`${file}.lock`)).to.equal(false)
  })
})
