import {expect} from 'chai'
import {type AccountWant, planUserAccount} from '../../../src/lib/lifecycle/account-plan.js'
import {
  applyAccountActions,
  type PrebootReads,
  prebootAccountWrites,
  prebootFacts,
  type StatedFile,
} from '../../../src/lib/lifecycle/preboot-plan.js'

const file = (content: string, mode = 0o644, gid = 0): StatedFile => ({type: 'file', uid: 0, gid, mode, content})
const want: AccountWant = {user: 'ann', uid: 1001, gid: 1001, group: 'ann', home: '/home/ann', sudo: true}

/** A Debian cloud image before its first boot: shadow files, sudo, bash, /etc/skel. */
const debian = (extra: {passwd?: string; group?: string} = {}): PrebootReads => ({
  passwd: file(`root:x:0:0:root:/root:/bin/bash\n${extra.passwd ?? ''}`),
  group: file(`root:x:0:\nsudo:x:27:\nshadow:x:42:\n${extra.group ?? ''}`),
  shadow: file('root:*:20000:0:99999:7:::\n', 0o640, 42),
  gshadow: file('root:*::\nsudo:*::\n', 0o640, 42),
  skel: {type: 'directory', uid: 0, gid: 0, mode: 0o755, content: '.bashrc\n'},
  sudoersDir: {type: 'directory', uid: 0, gid: 0, mode: 0o755, content: ''},
  present: ['/usr/bin/bash', '/usr/sbin/visudo'],
})

describe('the account written before the first boot (preboot-plan)', () => {
  it('a fresh image: group, user, locked shadow entry, sudo membership, home with skel, sudoers; modes kept', () => {
    const reads = debian()
    const facts = prebootFacts(reads, want)
    expect(facts).to.include({bash: '/usr/bin/bash', sudoInstalled: true, sudoersPresent: false, homeOwner: undefined})
    const plan = planUserAccount(facts as NonNullable<typeof facts>, want)
    const writes = prebootAccountWrites(reads, plan, [{name: '.bashrc', file: file('# skel\n')}])
    expect(
      writes?.map((w) => [w.path, w.type ?? 'file', w.uid ?? 0, w.gid ?? 0, (w.mode ?? 0).toString(8)]),
    ).to.deep.equal([
      ['/etc/passwd', 'file', 0, 0, '644'],
      ['/etc/group', 'file', 0, 0, '644'],
      ['/etc/shadow', 'file', 0, 42, '640'],
      ['/etc/gshadow', 'file', 0, 42, '640'],
      ['/etc/sudoers.d/repoman-ann', 'file', 0, 0, '440'],
      ['/home/ann', 'directory', 1001, 1001, '755'],
      ['/home/ann/.bashrc', 'file', 1001, 1001, '644'],
    ])
    const text = (path: string) => writes?.find((w) => w.path === path)?.content
    expect(text('/etc/passwd')).to.equal('root:x:0:0:root:/root:/bin/bash\nann:x:1001:1001::/home/ann:/usr/bin/bash\n')
    expect(text('/etc/group')).to.equal('root:x:0:\nsudo:x:27:ann\nshadow:x:42:\nann:x:1001:\n')
    expect(text('/etc/shadow')).to.equal('root:*:20000:0:99999:7:::\nann:!:::::::\n')
    expect(text('/etc/gshadow')).to.equal('root:*::\nsudo:*::ann\nann:!::\n')
    expect(text('/etc/sudoers.d/repoman-ann')).to.equal(
      '# repoman: ann is root in this container\n#1001 ALL=(ALL:ALL) NOPASSWD: ALL\nDefaults:#1001 env_keep += "HTTPS_PROXY HTTP_PROXY NO_PROXY https_proxy http_proxy no_proxy"\n',
    )
  })

  it("the image's uid-1001 account becomes yours: renamed in passwd, shadow and every member list", () => {
    const reads = debian({
      passwd: 'debian:x:1001:1001::/home/debian:/bin/sh\n',
      group: 'debian:x:1001:\nadm:x:4:debian\n',
    })
    const plan = planUserAccount(prebootFacts(reads, want) as NonNullable<ReturnType<typeof prebootFacts>>, want)
    const edited = applyAccountActions(
      {passwd: reads.passwd?.content ?? '', group: reads.group?.content ?? '', shadow: 'debian:!:::::::\n'},
      plan.actions,
    )
    expect(edited.passwd).to.include('ann:x:1001:1001::/home/ann:/usr/bin/bash\n')
    expect(edited.passwd).to.not.include('debian')
    expect(edited.group).to.include('adm:x:4:ann\n').and.include('ann:x:1001:\n')
    expect(edited.shadow).to.equal('ann:!:::::::\n')
    expect(plan.notes).to.deep.equal(['the image\'s account "debian" (uid 1001) is now "ann"'])
  })

  it('a minimal image (no shadow files, no sudo, no bash): passwd and group only', () => {
    const reads: PrebootReads = {
      passwd: file('root:x:0:0:root:/root:/bin/sh\n'),
      group: file('root:x:0:\n'),
      present: [],
    }
    const plan = planUserAccount(prebootFacts(reads, want) as NonNullable<ReturnType<typeof prebootFacts>>, want)
    const writes = prebootAccountWrites(reads, plan, [])
    expect(writes?.map((w) => w.path)).to.deep.equal(['/etc/passwd', '/etc/group', '/home/ann'])
    expect(writes?.[0]?.content).to.equal('root:x:0:0:root:/root:/bin/sh\nann:x:1001:1001::/home/ann:/bin/sh\n')
  })

  it('an image without /etc/passwd, or a change only a shell can make, is left to the exec path', () => {
    expect(prebootFacts({present: []}, want)).to.equal(undefined)
    const reads = {...debian(), present: ['/usr/sbin/visudo', '/etc/sudoers.d/repoman-ann']}
    const noSudo = {...want, sudo: false}
    const plan = planUserAccount(prebootFacts(reads, noSudo) as NonNullable<ReturnType<typeof prebootFacts>>, noSudo)
    expect(prebootAccountWrites(reads, plan, [])).to.equal(undefined)
  })
})
