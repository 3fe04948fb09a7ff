import {execFileSync} from 'node:child_process'
import {expect} from 'chai'
import {
  type AccountFacts,
  type AccountWant,
  accountScript,
  FACTS_END,
  parseAccountFacts,
  planUserAccount,
  sudoersFile,
} from '../../../src/lib/lifecycle/account-plan.js'

const BASE_PASSWD = [
  'root:x:0:0:root:/root:/bin/bash',
  'daemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin',
  '_apt:x:42:65534::/nonexistent:/usr/sbin/nologin',
  'systemd-network:x:998:998:systemd Network Management:/:/usr/sbin/nologin',
]
const BASE_GROUP = ['root:x:0:', 'sudo:x:27:', 'users:x:100:', 'systemd-network:x:998:']

const want: AccountWant = {user: 'alice', uid: 1001, gid: 1001, group: 'alice', home: '/home/alice', sudo: true}

function facts(passwd: string[] = [], group: string[] = [], extra: Partial<AccountFacts> = {}): AccountFacts {
  return {
    passwd: [...BASE_PASSWD, ...passwd].join('\n'),
    group: [...BASE_GROUP, ...group].join('\n'),
    bash: '/usr/bin/bash',
    sudoInstalled: true,
    sudoersPresent: false,
    ...extra,
  }
}

/** Facts of an image where the account is exactly as wanted. */
const settled = () =>
  facts(['alice:x:1001:1001::/home/alice:/usr/bin/bash'], ['alice:x:1001:'], {
    homeOwner: '1001:1001',
    sudoersPresent: true,
    group: [...BASE_GROUP.map((g) => (g.startsWith('sudo:') ? 'sudo:x:27:alice' : g)), 'alice:x:1001:'].join('\n'),
  })

describe('planUserAccount', () => {
  it('adds group, user, sudo membership, sudoers entry and home on an image without the user', () => {
    const plan = planUserAccount(facts(), want)
    expect(plan.actions).to.deep.equal([
      {kind: 'add-group', name: 'alice', gid: 1001},
      {kind: 'add-user', name: 'alice', uid: 1001, gid: 1001, home: '/home/alice', shell: '/usr/bin/bash'},
      {kind: 'add-to-group', user: 'alice', group: 'sudo'},
      {kind: 'sudoers', user: 'alice', uid: 1001},
      {kind: 'home', path: '/home/alice', uid: 1001, gid: 1001},
    ])
    expect(plan.user).to.equal('alice')
    expect(plan.notes).to.deep.equal([])
  })

  it('does nothing when the same name and uid are already in place (idempotent)', () => {
    expect(planUserAccount(settled(), want).actions).to.deep.equal([])
  })

  it('uses sh as the login shell when the image has no bash', () => {
    const plan = planUserAccount(facts([], [], {bash: undefined}), want)
    expect(plan.actions).to.deep.include({
      kind: 'add-user',
      name: 'alice',
      uid: 1001,
      gid: 1001,
      home: '/home/alice',
      shell: '/bin/sh',
    })
  })

  it('renames the image account holding the uid (ubuntu, uid 1000) and its group, keeping it in sudo', () => {
    const plan = planUserAccount(
      facts(['ubuntu:x:1000:1000:Ubuntu:/home/ubuntu:/bin/bash'], ['ubuntu:x:1000:'], {
        group: [...BASE_GROUP.map((g) => (g.startsWith('sudo:') ? 'sudo:x:27:ubuntu' : g)), 'ubuntu:x:1000:'].join(
          '\n',
        ),
      }),
      {...want, uid: 1000, gid: 1000},
    )
    expect(plan.actions.slice(0, 2)).to.deep.equal([
      {kind: 'modify-group', name: 'ubuntu', newName: 'alice'},
      {kind: 'modify-user', name: 'ubuntu', newName: 'alice', home: '/home/alice', shell: '/usr/bin/bash'},
    ])
    expect(plan.actions.map((a) => a.kind)).to.not.include('add-to-group')
    expect(plan.notes).to.deep.equal(['the image\'s account "ubuntu" (uid 1000) is now "alice"'])
  })

  it('takes the wanted uid for an account that already has the name (and a free uid)', () => {
    const plan = planUserAccount(facts(['alice:x:1000:1000::/home/alice:/usr/bin/bash'], ['alice:x:1000:']), want)
    expect(plan.actions.slice(0, 2)).to.deep.equal([
      {kind: 'modify-group', name: 'alice', gid: 1001},
      {kind: 'modify-user', name: 'alice', uid: 1001, gid: 1001},
    ])
  })

  it('moves an account with the name aside when another account holds the uid: one name per uid', () => {
    const plan = planUserAccount(
      facts(
        ['alice:x:1000:1000::/home/alice:/bin/bash', 'bob:x:1001:1001::/home/bob:/bin/bash'],
        ['alice:x:1000:', 'bob:x:1001:'],
      ),
      want,
    )
    expect(plan.actions.slice(0, 2)).to.deep.equal([
      {kind: 'modify-user', name: 'alice', newName: 'alice-old'},
      {kind: 'modify-user', name: 'bob', newName: 'alice', home: '/home/alice', shell: '/usr/bin/bash'},
    ])
    // gid 1001 is bob's group; the name alice is another group's, so bob's group keeps its name.
    expect(plan.group).to.equal('bob')
    expect(plan.notes).to.have.length(3)
  })

  it('leaves a system account on the uid as it is, and says so', () => {
    const plan = planUserAccount(facts(), {...want, uid: 998, gid: 998})
    expect(plan.user).to.equal('systemd-network')
    expect(plan.group).to.equal('systemd-network')
    expect(plan.actions.map((a) => a.kind)).to.deep.equal(['add-to-group', 'sudoers', 'home'])
    expect(plan.notes.join('\n')).to.match(/system account "systemd-network"/)
  })

  it('keeps a system group on the gid under its own name (host gid 100 = users)', () => {
    const plan = planUserAccount(facts(), {...want, gid: 100})
    expect(plan.group).to.equal('users')
    expect(plan.actions[0]).to.deep.equal({
      kind: 'add-user',
      name: 'alice',
      uid: 1001,
      gid: 100,
      home: '/home/alice',
      shell: '/usr/bin/bash',
    })
  })

  it('adds the group under a free name when a system group has the host group name', () => {
    const plan = planUserAccount(facts(), {...want, group: 'users'})
    expect(plan.actions[0]).to.deep.equal({kind: 'add-group', name: 'users-host', gid: 1001})
    expect(plan.group).to.equal('users-host')
  })

  it('adds the user under a free name when a system account has the host user name', () => {
    const plan = planUserAccount(facts(), {...want, user: 'daemon'})
    expect(plan.user).to.equal('daemon-host')
    expect(plan.actions.find((a) => a.kind === 'add-user')).to.include({name: 'daemon-host'})
  })

  it('with sudo off: leaves the sudo group and removes the sudoers entry', () => {
    const plan = planUserAccount(settled(), {...want, sudo: false})
    expect(plan.actions).to.deep.equal([
      {kind: 'remove-from-group', user: 'alice', group: 'sudo'},
      {kind: 'remove-sudoers', user: 'alice'},
    ])
  })

  it('writes no sudoers entry where sudo is not installed, and skips a missing sudo group', () => {
    const plan = planUserAccount(
      {passwd: 'root:x:0:0:root:/root:/bin/sh\n', group: 'root:x:0:\n', sudoInstalled: false, sudoersPresent: false},
      want,
    )
    expect(plan.actions.map((a) => a.kind)).to.deep.equal(['add-group', 'add-user', 'home'])
  })

  it('fixes only the home directory when it lost its owner', () => {
    const plan = planUserAccount({...settled(), homeOwner: '0:0'}, want)
    expect(plan.actions).to.deep.equal([{kind: 'home', path: '/home/alice', uid: 1001, gid: 1001}])
  })

  it('only makes the home directory for root (repoman run as root is root inside)', () => {
    const root = {...want, user: 'root', uid: 0, gid: 0, home: '/home/admin'}
    expect(planUserAccount(facts(), root).actions).to.deep.equal([{kind: 'home', path: '/home/admin', uid: 0, gid: 0}])
    expect(planUserAccount(facts([], [], {homeOwner: '0:0'}), root).actions).to.deep.equal([])
  })
})

describe('account facts', () => {
  it('parses what the facts script prints', () => {
    const output = [
      '#repoman:passwd',
      'root:x:0:0:root:/root:/bin/sh',
      '#repoman:group',
      'root:x:0:',
      '#repoman:state',
      'bash=/usr/bin/bash',
      'home=1001:1001',
      'sudo=yes',
      '',
    ].join('\n')
    expect(parseAccountFacts(output)).to.deep.equal({
      passwd: 'root:x:0:0:root:/root:/bin/sh\n',
      group: 'root:x:0:\n',
      bash: '/usr/bin/bash',
      homeOwner: '1001:1001',
      sudoInstalled: true,
      sudoersPresent: false,
    })
  })

  it('waits for cloud-init only when asked, and not where its generator disabled it', () => {
    expect(accountScript(false)).to.not.include('cloud-init')
    expect(accountScript(true)).to.include('[ ! -e /run/cloud-init/disabled ]')
  })

  it('prints the facts, then runs what it is sent on stdin (nothing when sent nothing)', () => {
    const run = (input: string) =>
      execFileSync('sh', ['-c', accountScript(false), 'sh', '/nonexistent-home', '/nonexistent-sudoers'], {
        input,
        encoding: 'utf8',
      })
    const quiet = run('')
    expect(quiet.endsWith(`${FACTS_END}\n`)).to.equal(true)
    expect(parseAccountFacts(quiet).passwd).to.match(/^root:/m)
    expect(run('echo applied; exit 0')).to.match(new RegExp(`${FACTS_END}\napplied\n$`))
  })

  it('names the sudoers file so that sudo reads it (no dots)', () => {
    expect(sudoersFile('first.last')).to.equal('/etc/sudoers.d/repoman-first_last')
  })
})
