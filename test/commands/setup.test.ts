import {readFileSync, writeFileSync} from 'node:fs'
import {expect} from 'chai'
import {makeWorld, requireIncus, type World} from '../helpers/world.js'

describe('repoman setup (real Incus)', () => {
  let world: World
  beforeEach(function () {
    world = makeWorld(requireIncus(this))
  })
  afterEach(() => world?.dispose())

  it('creates the project, a root disk on its default profile and a schema-3 registry, then changes nothing', async () => {
    const first = await world.setup()
    expect(first.stdout).to.match(/Set up: \d+ change\(s\)/)
    // The test daemon's pool is a dir pool: one line of advice, no failure, no prompt.
    expect(first.stdout).to.match(/^Note: storage pool "default" is a dir pool: .*btrfs or zfs.*$/m)

    const project = world.query<{config: Record<string, string>}>(`/1.0/projects/${world.incusProject}`)
    expect(project.config).to.include({'features.images': 'false', 'features.profiles': 'true'})
    const profile = world.query<{devices: Record<string, unknown>}>('/1.0/profiles/default')
    expect(profile.devices.root).to.deep.equal({type: 'disk', path: '/', pool: 'default'})

    const registry = world.registryText()
    expect(registry).to.match(/^schema = 3$/m)
    expect(registry).to.include(`repos_root = "${world.reposRoot}"`)
    expect(registry).to.include(`incus_project = "${world.incusProject}"`)
    expect(registry).to.match(
      /\[host\]\nlan_ip = "192\.0\.2\.10"\nuser = "root"\nuid = 0\ngid = 0\nhome = "\/var\/tmp\/rm-home-/,
    )

    const second = await world.setup()
    expect(second.stdout).to.match(/Nothing to change: repoman is already set up\./)
    expect(world.registryText()).to.equal(registry)
  })

  it('updates just the values a later run names', async () => {
    await world.setup()
    const result = await world.cli(['setup', '--image', 'other-image', '--json'])
    expect(result.exitCode).to.equal(0)
    const json = JSON.parse(result.stdout)
    expect(json.defaults.default_image).to.equal('other-image')
    expect(json.defaults.repos_root).to.equal(world.reposRoot)
    expect(json.changes).to.deep.equal([`wrote ${world.registryFile}`])
    expect(json).to.include({registry_file: world.registryFile, incus_project: world.incusProject})
    expect(json.idmapped_mounts).to.be.a('boolean')
  })

  it('without a terminal and without --non-interactive, fails with a hint instead of waiting', async () => {
    const result = await world.cli(['setup'])
    expect(result.exitCode).to.equal(2)
    expect(result.stderr.trim().split('\n')).to.have.length(1)
    expect(result.stderr).to.match(
      /^Error: setup needs --repos-root, --backup-root, --image, --profiles or a terminal to ask on/,
    )
  })

  it('refuses to touch a malformed registry and leaves it byte for byte', async () => {
    await world.setup()
    const broken = `${world.registryText()}\n[defaults\n`
    writeFileSync(world.registryFile, broken)
    const result = await world.cli(['setup', '--non-interactive'])
    expect(result.exitCode).to.equal(1)
    expect(result.stderr).to.match(/^Error: \/var\/tmp\/rm-home-[^:]+\/repoman\.toml:\d+: .*fix the TOML syntax/)
    expect(result.stderr).to.not.match(/\n\s+at /)
    expect(readFileSync(world.registryFile, 'utf8')).to.equal(broken)
    const json = await world.cli(['setup', '--non-interactive', '--json'])
    expect(json.exitCode).to.equal(1)
    const {error} = JSON.parse(json.stdout)
    expect(error).to.have.all.keys('code', 'message', 'exit_code')
    expect(error).to.include({code: 'CONFIG', exit_code: 1})
  })

  it('fails fast with a hint when the daemon is unreachable', async () => {
    const started = Date.now()
    const result = await world.cli(['setup', '--non-interactive'], {env: {INCUS_DIR: '/tmp/rm-no-daemon'}})
    expect(result.exitCode).to.equal(1)
    expect(result.stderr).to.match(
      /cannot reach the Incus daemon .*is incusd running, and is your user in the incus-admin group\?/,
    )
    expect(Date.now() - started).to.be.below(10_000)
  })
})
