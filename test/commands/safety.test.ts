import {execFileSync} from 'node:child_process'
import {existsSync, readFileSync, rmSync, statSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {expect} from 'chai'
import {makeWorld, requireIncus, type World} from '../helpers/world.js'

const git = (repo: string, ...args: string[]) => execFileSync('git', ['-C', repo, ...args], {encoding: 'utf8'})

describe('safety (real Incus)', () => {
  let world: World
  beforeEach(async function () {
    world = makeWorld(requireIncus(this))
    await world.setup()
  })
  afterEach(() => world?.dispose())

  describe('host-execution guard', () => {
    it('gives the container its own .git and makes existing run-on-open files read-only; the rest stays writable and git commits', async () => {
      const repo = world.makeRepo('guarded', {git: true})
      git(repo, '-c', 'user.name=t', '-c', 'user.email=t@t', 'add', '.')
      git(repo, '-c', 'user.name=t', '-c', 'user.email=t@t', 'commit', '-qm', 'init')
      rmSync(join(repo, '.git/hooks'), {recursive: true})
      writeFileSync(join(repo, '.envrc'), 'export A=1\n')
      const config = readFileSync(join(repo, '.git/config'), 'utf8')
      const created = await world.cli(['new', 'guarded', '--json'])
      expect(created.exitCode, created.stderr).to.equal(0)
      expect(JSON.parse(created.stdout).protected_paths).to.deep.equal(['.envrc'])
      // Nothing new shows up in the host's git status: only the .envrc the user made.
      expect(git(repo, 'status', '--porcelain')).to.equal('?? .envrc\n')

      const attack = await world.cli([
        'exec',
        'guarded',
        '--',
        'sh',
        '-c',
        [
          // The container's own git dir: written, and never read by the host's git.
          'mkdir -p .git/hooks && echo "#!/bin/sh" > .git/hooks/post-checkout && echo hook-written',
          'echo "[core] hooksPath = /tmp" >> .git/config && echo config-written',
          'echo evil >> .envrc && echo envrc-written',
          'grep " ro," /proc/mounts | grep -c guarded',
        ].join('; '),
      ])
      expect(attack.stdout).to.equal('hook-written\nconfig-written\n1\n')
      expect(attack.stderr).to.match(/Read-only file system/)
      expect(existsSync(join(repo, '.git/hooks/post-checkout'))).to.equal(false)
      expect(readFileSync(join(repo, '.git/config'), 'utf8')).to.equal(config)
      expect(readFileSync(join(repo, '.envrc'), 'utf8')).to.equal('export A=1\n')

      const work = await world.cli([
        'exec',
        'guarded',
        '--',
        'sh',
        '-c',
        'echo change >> README.md && git add README.md && git -c user.name=agent -c user.email=a@b commit -qm "from inside" && git log --format=%s -1',
      ])
      expect(work.exitCode, work.stderr).to.equal(0)
      expect(work.stdout).to.equal('from inside\n')
      expect(git(repo, 'log', '--format=%s', '-1')).to.equal('from inside\n')
      // A path that did not exist outside .git is not created on the host.
      expect(existsSync(join(repo, '.mcp.json'))).to.equal(false)
    })

    it('can be turned off for a project, explicitly', async () => {
      const repo = world.makeRepo('open-repo', {git: true})
      writeFileSync(join(repo, '.envrc'), 'export A=1\n')
      writeFileSync(join(world.home, '.config/repoman/repos.d/open-repo.toml'), '[container]\nprotected_paths = []\n')
      await world.cli(['new', 'open-repo'])
      const result = await world.cli(['exec', 'open-repo', '--', 'sh', '-c', 'echo x >> .envrc && echo ok'])
      expect(result.stdout).to.equal('ok\n')
      expect(readFileSync(join(repo, '.envrc'), 'utf8')).to.equal('export A=1\nx\n')
    })
  })

  describe('a host user whose uid is not the container user’s', () => {
    const user = 'rmodd'
    const uid = 70_000
    const subids = new Map<string, string>()
    before(() => {
      for (const file of ['/etc/subuid', '/etc/subgid']) subids.set(file, readFileSync(file, 'utf8'))
      execFileSync('groupadd', ['--gid', String(uid), user])
      execFileSync('useradd', [
        '--uid',
        String(uid),
        '--gid',
        String(uid),
        '--no-create-home',
        '--home-dir',
        `/home/${user}`,
        user,
      ])
    })
    after(() => {
      execFileSync('userdel', [user])
      // userdel may have removed the group already.
      execFileSync('sh', ['-c', `groupdel ${user} 2>/dev/null || true`])
      for (const [file, text] of subids) writeFileSync(file, text)
    })

    it('maps with raw.idmap: files the agent writes are owned by that user, who can edit them', async () => {
      const sudo = {SUDO_USER: user, SUDO_UID: String(uid), SUDO_GID: String(uid)}
      expect((await world.cli(['setup', '--non-interactive'], {env: sudo})).exitCode).to.equal(0)
      expect(world.registryText()).to.include(`user = "${user}"\nuid = ${uid}\ngid = ${uid}\nhome = "/home/${user}"`)
      const repo = world.makeRepo('odd', {git: true})
      execFileSync('chown', ['-R', `${uid}:${uid}`, repo])
      // The user must reach their repo (the temp home is 0700 root).
      execFileSync('chmod', ['755', world.home, world.reposRoot])

      const refused = await world.cli(['new', 'odd'])
      expect(refused.exitCode).to.equal(2)
      expect(refused.stderr).to.match(
        new RegExp(
          `maps only your ids .* run \`echo root:${uid}:1 \\| sudo tee -a /etc/subuid && echo root:${uid}:1 \\| sudo tee -a /etc/subgid\``,
        ),
      )

      writeFileSync('/etc/subuid', `${readFileSync('/etc/subuid', 'utf8')}root:${uid}:1\n`)
      writeFileSync('/etc/subgid', `${readFileSync('/etc/subgid', 'utf8')}root:${uid}:1\n`)
      const created = await world.cli(['new', 'odd', '--json'])
      expect(created.exitCode, created.stderr).to.equal(0)
      expect(JSON.parse(created.stdout).idmap).to.equal('raw.idmap')

      const write = await world.cli([
        'exec',
        'odd',
        '--',
        'sh',
        '-c',
        'id -u; echo "by agent" > agent.txt; echo "$HOME $USER"',
      ])
      expect(write.stdout).to.equal(`1000\n/home/${user} ${user}\n`)
      const stat = statSync(join(repo, 'agent.txt'))
      expect([stat.uid, stat.gid]).to.deep.equal([uid, uid])
      execFileSync('runuser', ['-u', user, '--', 'sh', '-c', `echo "by user" >> ${join(repo, 'agent.txt')}`])
      expect(readFileSync(join(repo, 'agent.txt'), 'utf8')).to.equal('by agent\nby user\n')
      // And the other way round: what the user writes, the agent can edit.
      const edit = await world.cli(['exec', 'odd', '--', 'sh', '-c', 'echo "agent again" >> README.md && echo ok'])
      expect(edit.stdout).to.equal('ok\n')
    })
  })
})
