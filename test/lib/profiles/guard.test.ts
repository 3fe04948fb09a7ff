import {expect} from 'chai'
import type {ProfileSpec} from '../../../src/lib/incus/types.js'
import {findExposures} from '../../../src/lib/profiles/guard.js'

const ctx = {
  home: '/home/dev',
  reposRoot: '/home/dev/repos',
  uid: 1000,
  repoman: {
    config: '/home/dev/.config/repoman',
    state: '/home/dev/.local/state/repoman',
    cache: '/home/dev/.cache/repoman',
    data: '/home/dev/.local/share/repoman',
  },
}
const disk = (source: string): ProfileSpec => ({
  name: 'p',
  description: '',
  config: {},
  devices: {d: {type: 'disk', source, path: '/x'}},
})

describe('credential guard', () => {
  it('lets caches, data and read-only agent state through', () => {
    for (const source of ['/home/dev/.npm', '/srv/models', '/home/dev/.local/state/repoman/homes/p/claude'])
      expect(findExposures(disk(source), ctx), source).to.deep.equal([])
    const readOnly: ProfileSpec = {
      ...disk('/home/dev/.claude/local'),
      devices: {d: {type: 'disk', source: '/home/dev/.claude/local', path: '/x', readonly: 'true'}},
    }
    expect(findExposures(readOnly, ctx)).to.deep.equal([])
  })

  it("refuses an agent's host state mounted read-write: the host's agent runs commands from it", () => {
    const cases: Array<[string, RegExp]> = [
      ['/home/dev/.claude', /read-write: claude's config/],
      ['/home/dev/.claude/settings.json', /read-write: claude's config/],
      ['/home/dev/.claude.json', /claude's user config/],
      ['/home/dev/.codex', /codex's config/],
      ['/home/dev/.gemini', /gemini's config/],
      ['/home/dev/.config/opencode', /opencode's config/],
      ['/home/dev/.local/share/opencode', /opencode's state/],
      ['/home/dev/.pi', /pi's/],
    ]
    for (const [source, why] of cases) {
      const [exposure] = findExposures(disk(source), ctx)
      expect(exposure?.why, source).to.match(why)
      expect(exposure?.where).to.equal('d')
    }
  })

  it('refuses credentials, sockets, the host and whatever holds them, saying why', () => {
    const cases: Array<[string, RegExp]> = [
      ['/home/dev/.ssh', /SSH keys/],
      ['/home/dev/.ssh/id_ed25519', /SSH keys/],
      ['/home/dev/.gnupg', /GnuPG/],
      ['/home/dev/.aws', /AWS/],
      ['/home/dev/.config/gh', /GitHub CLI token/],
      ['/home/dev/.config', /contains \/home\/dev\/\.config\/gh/],
      ['/home/dev/.netrc', /passwords/],
      ['/home/dev/.docker', /registry credentials/],
      ['/home/dev/.kube', /Kubernetes/],
      ['/var/run/docker.sock', /Docker socket/],
      ['/run/user/1000/podman/podman.sock', /Podman/],
      ['/var/lib/incus/unix.socket', /Incus socket/],
      ['/', /whole file system/],
      ['/etc', /configuration/],
      ['/etc/ssl', /configuration/],
      ['/home/dev', /whole home directory/],
      ['/home', /holds the repos root/],
    ]
    for (const [source, why] of cases) {
      const [exposure] = findExposures(disk(source), ctx)
      expect(exposure, source).to.not.equal(undefined)
      expect(exposure?.why, source).to.match(why)
      expect(exposure?.path).to.equal(source)
    }
  })

  it("keeps repoman's own dirs out: logins, other projects' trees, and what repoman runs", () => {
    const readOnly = (source: string, where = 'd'): ProfileSpec => ({
      ...disk(source),
      devices: {[where]: {type: 'disk', source, path: '/x', readonly: 'true'}},
    })
    const cases: Array<[ProfileSpec, RegExp]> = [
      [readOnly('/home/dev/.config/repoman/credentials'), /agents' logins/],
      [readOnly('/home/dev/.local/state/repoman/homes/other/claude'), /every project's agent homes/],
      [readOnly('/home/dev/.local/state/repoman/agent-git/other'), /every project's/],
      [readOnly('/home/dev/.local/state/repoman/gateway/sockets/0123456789abcdef'), /way out/],
      [disk('/home/dev/.local/state'), /contains \/home\/dev\/\.local\/state\/repoman/],
      [disk('/home/dev/.cache/repoman'), /read-write: repoman's caches, which it runs code from/],
      [disk('/home/dev/.cache'), /read-write: repoman's caches/],
      [disk('/home/dev/.local/share/repoman/bin'), /read-write: your launchers/],
    ]
    for (const [spec, why] of cases) {
      const source = Object.values(spec.devices)[0]?.source
      expect(findExposures(spec, ctx)[0]?.why, source).to.match(why)
    }
    // What a project's own container mounts by design, and the program links, read-only.
    for (const spec of [
      disk('/home/dev/.local/state/repoman/agent-git/p'),
      disk('/home/dev/.local/state/repoman/clones/p'),
      readOnly('/home/dev/.local/state/repoman/gateway/sockets/0123456789abcdef', 'repoman-gateway-socket'),
      readOnly('/home/dev/.local/share/repoman/programs'),
      readOnly('/home/dev/.cache/pip'),
      disk('/home/dev/.cache/pip'),
    ])
      expect(findExposures(spec, ctx), Object.values(spec.devices)[0]?.source).to.deep.equal([])
  })

  it('sees the host end of proxy devices and privileged config', () => {
    const proxy: ProfileSpec = {
      name: 'p',
      description: '',
      config: {},
      devices: {
        sock: {type: 'proxy', listen: 'unix:/run/d.sock', connect: 'unix:/var/run/docker.sock', bind: 'container'},
      },
    }
    expect(findExposures(proxy, ctx)).to.deep.equal([])
    proxy.devices.sock = {type: 'proxy', listen: 'unix:/run/d.sock', connect: 'unix:/var/run/docker.sock'}
    expect(findExposures(proxy, ctx)[0]?.why).to.match(/Docker socket/)
    expect(
      findExposures({name: 'p', description: '', config: {'security.privileged': 'true'}, devices: {}}, ctx)[0]?.why,
    ).to.match(/root on the host/)
  })
})
