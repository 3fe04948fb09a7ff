import {execFile} from 'node:child_process'
import {existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync} from 'node:fs'
import {join, resolve} from 'node:path'
import {promisify} from 'node:util'
import {expect} from 'chai'
import {ConfigError, NotSetUpError} from '../../../src/lib/errors.js'
import type {Registry} from '../../../src/lib/registry/schema.js'
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

  describe('the parse cache', () => {
    const reader = resolve(import.meta.dirname, '../../helpers/registry-reader.ts')
    const readIn = async (user = 'u') => {
      const {stdout} = await promisify(execFile)(process.execPath, ['--import', 'tsx', reader, file, cacheFile, user])
      return JSON.parse(stdout)
    }
    let cacheFile: string
    beforeEach(() => {
      cacheFile = join(dir, 'cache/registry.json')
      writeFileSync(file, `${MINIMAL}[[project]]\nname = "web"\nrepo = "web"\ncreated = "2026-01-01T00:00:00Z"\n`)
    })

    /** Changes what the cache says about the project, so a read shows whether the cache was used. */
    const tamper = () => {
      const saved = JSON.parse(readFileSync(cacheFile, 'utf8'))
      saved.registry.project[0].image = 'from-the-cache'
      writeFileSync(cacheFile, JSON.stringify(saved))
    }

    it('serves the next run from the cache while the file is unchanged', async () => {
      const first = await readIn()
      expect(first.project[0].name).to.equal('web')
      tamper()
      expect((await readIn()).project[0].image).to.equal('from-the-cache')
    })

    it('keeps what repoman wrote as parsed: the next run reads it from the cache', async () => {
      const store = new RegistryStore(file, {...options, parseCacheFile: cacheFile})
      await store.update((registry) => {
        registry.project.push({...(registry.project[0] as Registry['project'][number]), name: 'api', repo: 'api'})
      })
      tamper()
      const next = await readIn()
      expect(next.project.map((p: {name: string}) => p.name)).to.deep.equal(['web', 'api'])
      expect(next.project[0].image).to.equal('from-the-cache')
    })

    it('never serves a parse of an older version of the file, or one made for another user', async () => {
      await readIn()
      tamper()
      expect((await readIn('someone-else')).project[0].image).to.not.equal('from-the-cache')
      await readIn()
      tamper()
      // The same size and content, written again: a new version all the same.
      writeFileSync(file, readFileSync(file))
      expect((await readIn()).project[0].image).to.not.equal('from-the-cache')
    })

    it('reads the registry when the cache is garbage, and reports a broken registry even with a cache', async () => {
      await readIn()
      writeFileSync(cacheFile, '{"file": ')
      expect((await readIn()).project[0].name).to.equal('web')
      writeFileSync(file, 'schema = 3\n[defaults]\nrepos_root = 1\n')
      const error = await readIn().catch((e) => e)
      expect(error.stderr).to.match(/repos_root must be a non-empty string/)
    })
  })
})
