import {expect} from 'chai'
import {UsageError} from '../../../src/lib/errors.js'
import {gatewayDevice, reachesGateway} from '../../../src/lib/gateway/inside.js'
import type {IncusInstance, IncusProfile} from '../../../src/lib/incus/types.js'
import {
  buildInstanceSpec,
  missingBaseDevices,
  planIdmap,
  projectForDirectory,
  projectRows,
  repoPathProblem,
  resolveInsideCwd,
} from '../../../src/lib/lifecycle/containers.js'
import {containmentState} from '../../../src/lib/lifecycle/containment.js'
import {resolveNewRequest} from '../../../src/lib/lifecycle/create.js'
import {EMPTY_OVERRIDE} from '../../../src/lib/registry/overrides.js'
import type {ProjectEntry, Registry} from '../../../src/lib/registry/schema.js'
import {testProject, testRegistry} from '../../helpers/registry-fixture.js'

const host = {lan_ip: '192.168.1.2', user: 'dev', uid: 1000, gid: 1000, home: '/home/dev'}
const registry = (projects: Array<{name: string; repo?: string}>): Registry =>
  testRegistry({
    host,
    defaults: {repos_root: '~/repos'},
    projects: projects.map((p) => testProject(p.name, {repo: p.repo ?? p.name})),
  })
const instance = (name: string, status = 'Running', config: Record<string, string> = {}): IncusInstance => ({
  name,
  status,
  type: 'container',
  created_at: '2026-01-02T00:00:00Z',
  profiles: ['default'],
  config,
  devices: {},
})

describe('container decisions', () => {
  describe('planIdmap', () => {
    it("maps only the host user's ids, onto the same ids inside, by default", () => {
      expect(planIdmap({uid: 1001, gid: 1001})).to.deep.equal({
        mode: 'raw.idmap',
        uid: 1001,
        gid: 1001,
        rawIdmap: 'uid 1001 1001\ngid 1001 1001',
      })
      expect(planIdmap({uid: 65_535, gid: 100}).rawIdmap).to.equal('uid 65535 65535\ngid 100 100')
    })

    it('shifts only when asked and the ids fit, or for a host user who is root', () => {
      expect(planIdmap({uid: 1000, gid: 1000}, 'shift')).to.deep.equal({mode: 'shift', uid: 1000, gid: 1000})
      expect(planIdmap({uid: 1_234_567, gid: 1000}, 'shift').mode).to.equal('raw.idmap')
      // Host root is never put into a raw.idmap: the container would hold host root's ids.
      expect(planIdmap({uid: 0, gid: 0})).to.deep.equal({mode: 'shift', uid: 0, gid: 0})
    })

    it('maps large host ids onto the first container user with raw.idmap', () => {
      expect(planIdmap({uid: 1_234_567, gid: 1_234_567})).to.deep.equal({
        mode: 'raw.idmap',
        uid: 1000,
        gid: 1000,
        rawIdmap: 'uid 1234567 1000\ngid 1234567 1000',
      })
      expect(planIdmap({uid: 1001, gid: 70_000}).mode).to.equal('raw.idmap')
    })
  })

  describe('buildInstanceSpec', () => {
    const base = {name: 'p', image: 'img', profiles: ['default'], repoPath: '/home/dev/repos/p', host, token: 'abc'}

    it('mounts the repo at its host path, shifted when asked, with the override inline', () => {
      const spec = buildInstanceSpec({
        ...base,
        idmap: planIdmap(host, 'shift'),
        override: {
          mounts: [{source: '~/.npm', path: '/home/dev/.npm', readonly: true}],
          env: {NODE_ENV: 'development'},
        },
      })
      expect(spec.devices.repo).to.deep.equal({
        type: 'disk',
        source: '/home/dev/repos/p',
        path: '/home/dev/repos/p',
        shift: 'true',
      })
      expect(spec.devices.mount0).to.deep.equal({
        type: 'disk',
        source: '/home/dev/.npm',
        path: '/home/dev/.npm',
        shift: 'true',
        readonly: 'true',
      })
      expect(spec.config).to.include({
        'environment.NODE_ENV': 'development',
        'user.repoman.uid': '1000',
        'user.repoman.token': 'abc',
      })
      expect(spec.config).to.not.have.property('raw.idmap')
    })

    it('gives every container the containment policy', () => {
      const spec = buildInstanceSpec({...base, idmap: planIdmap(host), override: EMPTY_OVERRIDE})
      expect(containmentState(spec.config['raw.seccomp'])).to.equal('enforced')
      expect(spec.config['raw.idmap']).to.equal('uid 1000 1000\ngid 1000 1000')
      expect(spec.devices.repo).to.not.have.property('shift')
    })

    it('reaches the gateway through the forwarder: its socket directory read-only, and the proxy variables', () => {
      const socket = '/home/dev/.local/state/repoman/gateway/sockets/0123/gateway.sock'
      const spec = buildInstanceSpec({
        ...base,
        idmap: planIdmap(host, 'shift'),
        override: EMPTY_OVERRIDE,
        gateway: {socket, forwarder: true},
      })
      expect(spec.devices['repoman-gateway-socket']).to.deep.equal({
        type: 'disk',
        source: '/home/dev/.local/state/repoman/gateway/sockets/0123',
        path: '/var/lib/repoman/gateway',
        readonly: 'true',
        required: 'false',
        shift: 'true',
      })
      expect(spec.config['user.repoman.gateway']).to.equal('forwarder')
      expect(spec.config['environment.HTTPS_PROXY']).to.equal('http://127.0.0.1:3128')
      expect(reachesGateway(spec, socket)).to.equal(true)
      expect(reachesGateway(spec, socket.replace('0123', '4567'))).to.equal(false)

      const proxied = buildInstanceSpec({
        ...base,
        idmap: planIdmap(host),
        override: EMPTY_OVERRIDE,
        gateway: {socket, forwarder: false},
      })
      expect(proxied.devices).to.not.have.property('repoman-gateway-socket')
      expect(proxied.config['user.repoman.gateway']).to.equal('proxy')
      // Until the gateway adds the proxy device, and then only to this socket.
      expect(reachesGateway(proxied, socket)).to.equal(false)
      expect(reachesGateway({...proxied, devices: {...proxied.devices, ...gatewayDevice(socket)}}, socket)).to.equal(
        true,
      )
    })

    it('uses raw.idmap instead of shift for a large uid', () => {
      const spec = buildInstanceSpec({
        ...base,
        idmap: planIdmap({uid: 2_000_000, gid: 2_000_000}),
        override: EMPTY_OVERRIDE,
      })
      expect(spec.devices.repo).to.not.have.property('shift')
      expect(spec.config['raw.idmap']).to.equal('uid 2000000 1000\ngid 2000000 1000')
      expect(spec.config['user.repoman.uid']).to.equal('1000')
    })
  })

  describe('profiles and their base devices', () => {
    const profile = (name: string, devices: IncusProfile['devices']): IncusProfile => ({
      name,
      description: '',
      config: {},
      devices,
    })
    const root = {type: 'disk', path: '/', pool: 'fast'}
    const eth0 = {type: 'nic', name: 'eth0', network: 'incusbr0'}
    const share = profile('claude-share', {'claude-dir': {type: 'disk', source: '/h/.claude', path: '/h/.claude'}})
    const installed = [profile('default', {root, eth0}), share, profile('net', {eth1: {type: 'nic', network: 'x'}})]

    it('adds nothing when a chosen profile has a root disk', () => {
      expect(missingBaseDevices(installed, ['default', 'claude-share'])).to.deep.equal({})
    })

    it("copies the default profile's root disk and NIC when the profiles have neither", () => {
      expect(missingBaseDevices(installed, ['claude-share'])).to.deep.equal({root, eth0})
      expect(missingBaseDevices(installed, [])).to.deep.equal({root, eth0})
    })

    it('adds no NIC when a chosen profile has one, or setup chose no network', () => {
      expect(missingBaseDevices(installed, ['claude-share', 'net'])).to.deep.equal({root})
      expect(missingBaseDevices([profile('default', {root}), share], ['claude-share'])).to.deep.equal({root})
    })

    it('says to run setup when there is no root disk to copy', () => {
      expect(() => missingBaseDevices([profile('default', {}), share], ['claude-share'])).to.throw(
        UsageError,
        /none of the profiles \(claude-share\) has a root disk.*repoman setup/,
      )
    })

    it('--profile adds to the defaults (deduplicated, in order); --no-default-profiles makes it the whole list', () => {
      const reg = {...registry([]), defaults: {...registry([]).defaults, profiles: ['default', 'claude-share']}}
      const resolve = (request: Partial<Parameters<typeof resolveNewRequest>[0]>, override = EMPTY_OVERRIDE) =>
        resolveNewRequest({name: 'p', ...request}, override, reg).profiles
      expect(resolve({})).to.deep.equal(['default', 'claude-share'])
      expect(resolve({profiles: ['llm-share', 'default']})).to.deep.equal(['default', 'claude-share', 'llm-share'])
      expect(resolve({profiles: ['llm-share'], noDefaultProfiles: true})).to.deep.equal(['llm-share'])
      expect(resolve({profiles: ['x']}, {...EMPTY_OVERRIDE, profiles: ['default']})).to.deep.equal(['default', 'x'])
    })
  })

  describe('repoPathProblem', () => {
    it('refuses repos where a systemd image mounts over them at boot, and nowhere else', () => {
      expect(repoPathProblem('/tmp/repos/x')).to.match(/under \/tmp, which the container's system mounts over/)
      expect(repoPathProblem('/run/user/1000/x')).to.match(/under \/run/)
      expect(repoPathProblem('/home/dev/repos/x')).to.equal(undefined)
      expect(repoPathProblem('/var/tmp/repos/x')).to.equal(undefined)
      expect(repoPathProblem('/tmpfoo/x')).to.equal(undefined)
    })
  })

  describe('projectRows', () => {
    it('joins registry and Incus and shows drift both ways', () => {
      const rows = projectRows(registry([{name: 'a'}, {name: 'gone'}]), [
        instance('a', 'Stopped'),
        instance('stray', 'Running', {'user.repoman.repo': '/home/dev/repos/stray'}),
      ])
      expect(rows.map((r) => [r.name, r.state, r.registered, r.drift !== null])).to.deep.equal([
        ['a', 'stopped', true, false],
        ['gone', 'missing', true, true],
        ['stray', 'running', false, true],
      ])
      expect(rows[0]?.path).to.equal('/home/dev/repos/a')
      expect(rows[2]?.repo).to.equal('stray')
    })
  })

  describe('projectForDirectory and resolveInsideCwd', () => {
    const reg = registry([{name: 'a'}, {name: 'ab', repo: 'a-b'}])
    it('finds the project whose repo holds a directory', () => {
      expect(projectForDirectory(reg, '/home/dev/repos/a/src/x')?.name).to.equal('a')
      expect(projectForDirectory(reg, '/home/dev/repos/a-b')?.name).to.equal('ab')
      expect(projectForDirectory(reg, '/home/dev/repos')).to.equal(undefined)
      expect(projectForDirectory(reg, '/home/dev/repos/ab')).to.equal(undefined)
    })

    it('in a repo with clones: the project in your working tree, else the one clone, else asks for a name', () => {
      const clone = {branch: 'b', base: 'a'.repeat(40)}
      const withClones = registry([{name: 'a'}, {name: 'a-1', repo: 'a'}, {name: 'a-2', repo: 'a'}])
      withClones.project[1] = {...(withClones.project[1] as ProjectEntry), clone}
      withClones.project[2] = {...(withClones.project[2] as ProjectEntry), clone}
      expect(projectForDirectory(withClones, '/home/dev/repos/a/src')?.name).to.equal('a')
      const onlyClones = {...withClones, project: withClones.project.slice(1)}
      expect(() => projectForDirectory(onlyClones, '/home/dev/repos/a')).to.throw(
        UsageError,
        'several projects work on /home/dev/repos/a (a-1, a-2); name one, e.g. `repoman exec a-1 -- ...`',
      )
      expect(
        projectForDirectory({...withClones, project: withClones.project.slice(2)}, '/home/dev/repos/a')?.name,
      ).to.equal('a-2')
    })

    it('takes --cwd relative to the repo or absolute, and refuses to climb out', () => {
      expect(resolveInsideCwd('/r/a', undefined, '/r/a/src')).to.equal('/r/a/src')
      expect(resolveInsideCwd('/r/a', 'lib', '/r/a')).to.equal('/r/a/lib')
      expect(resolveInsideCwd('/r/a', '/tmp', '/r/a')).to.equal('/tmp')
      expect(() => resolveInsideCwd('/r/a', '../b', '/r/a')).to.throw(UsageError, /leads out of the repo/)
    })
  })
})

describe('host-execution guard and id delegation', () => {
  it('protects what exists, creates missing paths only inside .hg, never elsewhere, and nothing in .git', async () => {
    const {planProtection, DEFAULT_PROTECTED_PATHS} = await import('../../../src/lib/lifecycle/containers.js')
    const present = new Set(['.git/config', '.envrc', '.vscode'])
    const plan = planProtection(DEFAULT_PROTECTED_PATHS, (p) => present.has(p), {hg: false})
    expect(plan.mount).to.deep.equal(['.envrc', '.vscode'])
    expect(plan.create).to.deep.equal([])
    // A .git path in a user's own list is moot (the container's .git is its own git dir): skipped.
    const hg = planProtection(['.hg/hgrc', '.git/hooks', '.git'], () => true, {hg: true})
    expect(hg).to.deep.equal({mount: ['.hg/hgrc'], create: []})
    const missing = planProtection(['.hg/hgrc'], () => false, {hg: true})
    expect(missing).to.deep.equal({mount: ['.hg/hgrc'], create: [{path: '.hg/hgrc', kind: 'file'}]})
    expect(() => planProtection(['../escape'], () => false, {hg: false})).to.throw(
      /must be a relative path inside the repo/,
    )
  })

  it('names protected devices after their path', async () => {
    const {protectDeviceName} = await import('../../../src/lib/lifecycle/containers.js')
    expect(protectDeviceName('.git/hooks')).to.equal('ro-git-hooks')
    expect(protectDeviceName('.claude/settings.local.json')).to.equal('ro-claude-settings-local-json')
  })

  it('knows when root may map a host id with raw.idmap', async () => {
    const {subidAllows} = await import('../../../src/lib/lifecycle/containers.js')
    const subuid = 'root:1000000:1000000000\nroot:70000:1\ndev:100000:65536\n'
    expect(subidAllows(subuid, 70_000)).to.equal(true)
    expect(subidAllows(subuid, 70_001)).to.equal(false)
    expect(subidAllows(subuid, 1_234_567)).to.equal(false)
    expect(subidAllows('root:1234567:1\nroot:1000000:1000000000\n', 1_234_567)).to.equal(false)
  })
})
