import {execFileSync} from 'node:child_process'
import {writeFileSync} from 'node:fs'
import {expect} from 'chai'
import {eventually, makeWorld, requireIncus, type World} from '../helpers/world.js'

interface Acl {
  egress: Array<Record<string, string>>
}

describe('network isolation (real Incus, no traffic sent)', () => {
  let world: World
  beforeEach(async function () {
    world = makeWorld(requireIncus(this))
    await world.setup()
  })
  afterEach(() => world?.dispose())

  it('gives a restricted project its own bridge with a default-reject ACL, in nftables, gone with remove', async () => {
    world.makeRepo('locked')
    world.writeOverride('locked', '[network]\nmode = "restricted"\nallow = ["${HOST_LAN_IP}:11434"]\n')
    const created = await world.cli(['new', 'locked', '--json'])
    expect(created.exitCode, created.stderr).to.equal(0)
    expect(JSON.parse(created.stdout).network).to.equal('restricted')

    const acl = world.query<Acl>('/1.0/network-acls/repoman-locked')
    expect(acl.egress[0]?.destination)
      .to.include('1.0.0.0/8')
      .and.include('2000::/3')
      .and.not.match(/(^|,)(10|192\.168|172\.16)\./)
    expect(acl.egress[1]).to.deep.include({
      destination: '192.0.2.10/32',
      protocol: 'tcp',
      destination_port: '11434',
      action: 'allow',
    })

    const instance = world.query<{config: Record<string, string>; devices: Record<string, Record<string, string>>}>(
      '/1.0/instances/locked',
    )
    const bridge = instance.config['user.repoman.network'] as string
    expect(instance.devices.eth0).to.deep.equal({type: 'nic', network: bridge, name: 'eth0'})
    const network = world.query<{config: Record<string, string>; managed: boolean}>(`/1.0/networks/${bridge}`)
    expect(network.managed).to.equal(true)
    expect(network.config).to.include({
      'security.acls': 'repoman-locked',
      'security.acls.default.egress.action': 'reject',
      'security.acls.default.ingress.action': 'reject',
    })
    const ruleset = execFileSync('nft', ['list', 'ruleset'], {encoding: 'utf8'})
    const chain = ruleset.slice(ruleset.indexOf(`chain acl.${bridge} {`)).split('\n\t}')[0] ?? ''
    expect(chain).to.include(`iifname "${bridge}" ip daddr 192.0.2.10 tcp dport 11434 accept`)
    expect(chain).to.include(`iifname "${bridge}" ip6 daddr 2000::/3 accept`)
    expect(chain).to.include(`iifname "${bridge}" reject`)

    const status = JSON.parse((await world.cli(['status', 'locked', '--json'])).stdout)
    expect(status.projects[0].network).to.equal('restricted')

    const removed = await world.cli(['remove', 'locked', '--yes'])
    expect(removed.exitCode, removed.stderr).to.equal(0)
    expect(() => world.query(`/1.0/networks/${bridge}`)).to.throw()
    expect(() => world.query('/1.0/network-acls/repoman-locked')).to.throw()
  })

  it('allowlist: no network interface at all, only the gateway; [defaults].network applies to every new project', async () => {
    const registry = world
      .registryText()
      .replace('[defaults]\n', '[defaults]\nnetwork = "allowlist"\nnetwork_allow = ["140.82.112.0/20", "github"]\n')
    writeFileSync(world.registryFile, registry)
    world.makeRepo('listed')
    const created = await world.cli(['new', 'listed'])
    expect(created.exitCode, created.stderr).to.equal(0)
    const instance = await eventually(
      () =>
        world.query<{config: Record<string, string>; expanded_devices: Record<string, Record<string, string>>}>(
          '/1.0/instances/listed',
        ),
      (i) => i.expanded_devices['repoman-gateway'] !== undefined,
    )
    expect(instance.expanded_devices.eth0).to.deep.equal({type: 'none'})
    expect(instance.expanded_devices['repoman-gateway']).to.deep.include({type: 'proxy', bind: 'instance'})
    expect(instance.config['user.repoman.network'], 'no bridge of its own').to.equal(undefined)
    expect(() => world.query('/1.0/network-acls/repoman-listed')).to.throw()
    expect(world.incus(['exec', 'listed', '--', 'ls', '/sys/class/net']).split(/\s+/).filter(Boolean)).to.deep.equal([
      'lo',
    ])
    const status = await world.cli(['status', 'listed'])
    expect(status.stdout).to.include('network allowlist (the gateway only)').and.not.include('no network interface')
  })

  it('refuses an allow entry that is neither a name, an address nor a preset, before anything is made', async () => {
    world.makeRepo('bad')
    world.writeOverride('bad', '[network]\nmode = "allowlist"\nallow = ["not a host"]\n')
    const refused = await world.cli(['new', 'bad'])
    expect(refused.exitCode).to.equal(2)
    expect(refused.stderr.trim()).to.match(
      /^Error: network allow entry "not a host" must be a hostname .*, or a preset \(claude, /,
    )
    expect(world.incus(['list', '-c', 'n', '-f', 'csv']).trim()).to.equal('')
  })

  it('refuses rather than run open when a profile adds a second NIC', async () => {
    world.incus([
      'network',
      'create',
      `${world.incusProject.slice(0, 8)}br`,
      'ipv4.address=10.219.9.1/24',
      'ipv6.address=none',
    ])
    world.incus(['profile', 'create', 'extra-nic'])
    world.incus(['profile', 'device', 'add', 'extra-nic', 'eth1', 'nic', `network=${world.incusProject.slice(0, 8)}br`])
    // setup put eth0 on the default profile (on the network it found or made): moved to the new one.
    const setupNetwork = world.incus(['profile', 'device', 'get', 'default', 'eth0', 'network']).trim()
    world.incus(['profile', 'device', 'set', 'default', 'eth0', `network=${world.incusProject.slice(0, 8)}br`])
    world.makeRepo('twonics')
    world.writeOverride('twonics', '[network]\nmode = "restricted"\n')
    const refused = await world.cli(['new', 'twonics', '--profile', 'default', '--profile', 'extra-nic'])
    expect(refused.exitCode).to.equal(2)
    expect(refused.stderr).to.match(/profiles add several NICs \(eth0 from default, eth1 from extra-nic\)/)
    expect(world.incus(['list', '-c', 'n', '-f', 'csv']).trim()).to.equal('')
    world.incus(['profile', 'device', 'set', 'default', 'eth0', `network=${setupNetwork}`])
    world.incus(['profile', 'delete', 'extra-nic'])
    world.incus(['network', 'delete', `${world.incusProject.slice(0, 8)}br`])
  })
})
