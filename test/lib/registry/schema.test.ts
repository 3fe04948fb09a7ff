import {expect} from 'chai'
import {ConfigError} from '../../../src/lib/errors.js'
import {parseRegistry, serializeRegistry} from '../../../src/lib/registry/store.js'

const host = {user: 'dev', uid: 1000, gid: 1000, home: '/home/dev'}
const noLan = () => '10.0.0.9'
const parse = (text: string) => parseRegistry(text, 'repoman.toml', host, noLan)

const SPEC_EXAMPLE = `schema = 3
[repoman]
output = "quiet"
[host]
lan_ip = "192.168.1.42"
[defaults]
repos_root = "~/repos"
backup_root = "/nfs/repos"
logdir = "~/.local/state/repoman"
incus_project = "repoman"
default_image = "images:ubuntu/26.04/cloud"
profiles = ["default", "claude-share"]
[[project]]
name = "isurus"
repo = "isurus-project"
image = "images:ubuntu/26.04/cloud"
profiles = ["default", "claude-share"]
created = "2026-04-28T15:00:00Z"
last_sync = "2026-04-28T20:17:03Z"
backup = true
`

async function configError(text: string): Promise<string> {
  try {
    await parse(text)
  } catch (error) {
    expect(error).to.be.instanceOf(ConfigError)
    return (error as Error).message
  }
  throw new Error('expected a ConfigError')
}

describe('registry schema', () => {
  it('reads the spec example, filling the host user from the machine', async () => {
    const {registry, migratedFrom} = await parse(SPEC_EXAMPLE)
    expect(migratedFrom).to.equal(undefined)
    expect(registry.host).to.deep.equal({lan_ip: '192.168.1.42', ...host})
    expect(registry.defaults.profiles).to.deep.equal(['default', 'claude-share'])
    expect(registry.project).to.have.length(1)
    expect(registry.project[0]).to.include({
      name: 'isurus',
      repo: 'isurus-project',
      backup: true,
      last_sync: '2026-04-28T20:17:03Z',
    })
  })

  it('round-trips through serialize without losing a value', async () => {
    const {registry} = await parse(SPEC_EXAMPLE)
    const again = await parse(await serializeRegistry(registry))
    expect(again.registry).to.deep.equal(registry)
  })

  it('migrates a schema-2 file: drops [defaults].llm and keeps its host as [host].lan_ip', async () => {
    const text = `schema = 2
[repoman]
output = "quiet"
[defaults]
repos_root = "/r"
backup_root = "/b"
llm = "http://192.168.7.3:11434"
[[project]]
name = "a"
created = "2026-04-01T00:00:00Z"
`
    const {registry, migratedFrom} = await parse(text)
    expect(migratedFrom).to.equal(2)
    expect(registry.host.lan_ip).to.equal('192.168.7.3')
    expect(registry.defaults).to.not.have.property('llm')
    expect(registry.project[0]).to.include({name: 'a', repo: 'a', backup: true})
  })

  it('treats a file without schema as schema 1 and migrates it', async () => {
    const {registry, migratedFrom} = await parse('[defaults]\nrepos_root = "/r"\nbackup_root = "/b"\n')
    expect(migratedFrom).to.equal(1)
    expect(registry.schema).to.equal(3)
    expect(registry.repoman.output).to.equal('quiet')
    expect(registry.host.lan_ip).to.equal('10.0.0.9')
  })

  it('refuses a schema newer than it knows', async () => {
    expect(await configError('schema = 4\n')).to.match(
      /schema 4 is newer than this repoman understands \(3\); upgrade repoman/,
    )
  })

  it('names the file and line of a TOML syntax error', async () => {
    expect(await configError('schema = 3\n[defaults\nrepos_root = "/r"\n')).to.match(/^repoman\.toml:2: /)
  })

  it('names the line and the key of a wrongly typed value', async () => {
    const text = SPEC_EXAMPLE.replace('backup = true', 'backup = "yes"')
    expect(await configError(text)).to.match(/^repoman\.toml:20: project\[0\]\.backup must be true or false/)
  })

  it('rejects unknown keys, duplicate projects, bad names and escaping repo dirnames', async () => {
    expect(await configError(SPEC_EXAMPLE.replace('repos_root', 'repos_rot'))).to.match(
      /:7: defaults\.repos_rot is not a known setting/,
    )
    expect(
      await configError(`${SPEC_EXAMPLE}[[project]]\nname = "isurus"\ncreated = "2026-04-28T15:00:00Z"\n`),
    ).to.match(/"isurus" appears twice/)
    expect(await configError(SPEC_EXAMPLE.replace('name = "isurus"', 'name = "Bad_Name"'))).to.match(
      /:14: .*not a valid name/,
    )
    expect(await configError(SPEC_EXAMPLE.replace('repo = "isurus-project"', 'repo = "../etc"'))).to.match(
      /single directory name/,
    )
  })

  it('reads a clone-mode project and [defaults] tree, and names what is wrong in them', async () => {
    const base = 'a'.repeat(40)
    const clone = `${SPEC_EXAMPLE}clone = {branch = "repoman/isurus", base = "${base}", from = "main"}\n`
    const {registry} = await parse(clone.replace('incus_project', 'tree = "clone"\nincus_project'))
    expect(registry.project[0]?.clone).to.deep.equal({branch: 'repoman/isurus', base, from: 'main'})
    expect(registry.defaults.tree).to.equal('clone')
    expect((await parse(await serializeRegistry(registry))).registry).to.deep.equal(registry)
    expect(await configError(clone.replace(base, 'HEAD'))).to.match(/project\[0\]\.clone\.base must be a commit id/)
    expect(await configError(clone.replace('from =', 'frm ='))).to.match(/project\.clone\.frm is not a known setting/)
    expect(await configError(SPEC_EXAMPLE.replace('incus_project', 'tree = "copy"\nincus_project'))).to.match(
      /defaults\.tree must be "shared" \(your working tree\) or "clone"/,
    )
  })

  it('requires [defaults] with both roots', async () => {
    expect(await configError('schema = 3\n')).to.match(/defaults is missing/)
    expect(await configError('schema = 3\n[defaults]\nrepos_root = "/r"\n')).to.match(
      /:2: defaults\.backup_root is missing/,
    )
  })
})
