/**
 * The repo's .git is the host's: an attack corpus, run by the plain user inside and by root
 * inside a real Debian 13 container made by `repoman new` for host user uid 1001, writes what
 * git reads as instructions everywhere it can reach. Afterwards the host runs the git commands
 * a user and their tools run (status, diff, log, commit, switch, fetch, pull, push, rebase
 * --continue, cherry-pick --continue, gc --auto), and nothing the agent chose runs: no marker
 * file appears, bait files outside the repo keep their content, the host's .git keeps its own.
 * Then what the agent commits reaches the host as data, and git inside still does its work.
 */
import {execFileSync} from 'node:child_process'
import {existsSync, readdirSync, readFileSync, rmSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {expect} from 'chai'
import {REAL_IMAGE} from '../helpers/incus-daemon.js'
import {
  AGENT_GIT as AGENT,
  committedRepo,
  HOST_GIT_ID as ID,
  makeWorld,
  requireRealImage,
  type World,
} from '../helpers/world.js'

/** A host git command as the user; its failure is fine (e.g. rebase --continue with no rebase), running the agent's code is not. */
function tolerantGit(world: World, repo: string, ...args: string[]): string {
  try {
    return world.git(repo, ...ID, ...args)
  } catch (error) {
    return String((error as {stderr?: string}).stderr ?? error)
  }
}

describe('the git boundary: nothing the agent writes is run by host git (real Incus, uid 1001)', function () {
  this.timeout(600_000)
  let world: World
  let repo: string
  let remote: string
  const name = 'gitattack'
  /** Files outside the repo that a planted symlink or pointer would make host git write or read. */
  let bait: Record<string, string>

  /** A command host git would run if it obeyed what the agent wrote: it leaves a marker in the host's home. */
  const payload = (label: string) => `touch ${world.home}/PWNED-${label}`
  const markers = () => readdirSync(world.home).filter((f) => f.startsWith('PWNED'))

  const inside = async (script: string) => {
    const result = await world.cli(['exec', name, '--', 'sh', '-c', script])
    return result
  }
  const asRoot = (script: string) =>
    execFileSync('incus', ['exec', name, '--project', world.incusProject, '--', 'sh', '-c', script], {
      env: world.env,
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'],
    })
  const hostGit = (...args: string[]) => tolerantGit(world, repo, ...args)

  /** What a user and their tools run on the host, in the repo. */
  function runHostTools(): void {
    hostGit('status')
    hostGit('diff')
    hostGit('log', '--all', '-3')
    writeFileSync(join(repo, 'host-file.txt'), `${Date.now()}\n`)
    hostGit('add', 'host-file.txt')
    hostGit('commit', '-qm', 'host commit')
    hostGit('switch', '-qc', `side-${Date.now()}`)
    hostGit('switch', '-q', 'main')
    hostGit('fetch', '-q', 'origin')
    hostGit('pull', '-q', '--ff-only', 'origin', 'main')
    hostGit('push', '-q', 'origin', 'main')
    hostGit('rebase', '--continue')
    hostGit('cherry-pick', '--continue')
    hostGit('gc', '--auto')
  }

  function expectNothingRan(): void {
    expect(markers(), 'a command the agent chose ran on the host').to.deep.equal([])
    for (const [file, content] of Object.entries(bait)) expect(readFileSync(file, 'utf8'), file).to.equal(content)
    const config = readFileSync(join(repo, '.git/config'), 'utf8')
    expect(config).not.to.include('PWNED')
    expect(readdirSync(join(repo, '.git/hooks')).filter((h) => !h.endsWith('.sample'))).to.deep.equal([])
  }

  before(async function () {
    world = makeWorld(requireRealImage(this), {user: true})
    await world.setup()
    repo = committedRepo(world, name)
    remote = join(world.home, 'remote.git')
    execFileSync('git', ['init', '-q', '--bare', remote])
    execFileSync('chown', ['-R', `${world.user?.uid}:${world.user?.gid}`, remote])
    world.git(repo, 'remote', 'add', 'origin', remote)
    world.git(repo, 'push', '-q', '-u', 'origin', 'main')
    bait = {[join(world.home, '.bashrc')]: '# bait\n', [join(world.home, 'target')]: 'bait\n'}
    for (const [file, content] of Object.entries(bait)) writeFileSync(file, content)
    execFileSync('chown', [`${world.user?.uid}:${world.user?.gid}`, ...Object.keys(bait)])
    const created = await world.cli(['new', name, '--image', REAL_IMAGE, '--json'])
    expect(created.exitCode, created.stderr).to.equal(0)
    asRoot('systemctl is-system-running --wait >/dev/null 2>&1 || true')
  })
  after(() => world?.dispose())

  /** Every way of making git run or follow something, written into the git dir the agent sees at .git. */
  const corpus = (who: string) =>
    [
      `cd ${world.home}/repos/${name}`,
      // the .git swap: the mount point cannot be moved, removed or replaced (emptying
      // it only empties the agent's own git dir)
      `mv .git .git-old 2>/dev/null && echo ${who}-swap-succeeded`,
      `rm -rf .git 2>/dev/null; test -d .git || echo ${who}-rm-succeeded`,
      // and a git dir the agent makes anew there, with everything below in it
      'mkdir -p .git/objects .git/refs/heads .git/hooks && echo "ref: refs/heads/main" > .git/HEAD',
      // config: every command-valued key, and includes
      `printf '[core]\\n\\tfsmonitor = "${payload(`${who}-fsmonitor`)}"\\n\\thooksPath = /tmp/hooks\\n\\tsshCommand = "${payload(`${who}-ssh`)}"\\n\\tpager = "${payload(`${who}-pager`)}"\\n\\teditor = "${payload(`${who}-editor`)}"\\n[alias]\\n\\tst = "!${payload(`${who}-alias`)}"\\n[filter "x"]\\n\\tclean = "${payload(`${who}-clean`)}"\\n\\tsmudge = "${payload(`${who}-smudge`)}"\\n[diff "x"]\\n\\ttextconv = "${payload(`${who}-textconv`)}"\\n[include]\\n\\tpath = ${world.home}/target\\n' >> .git/config`,
      // hooks: every name git runs
      `for h in pre-commit prepare-commit-msg commit-msg post-commit post-checkout post-merge pre-push pre-rebase post-rewrite reference-transaction pre-auto-gc fsmonitor-watchman push-to-checkout; do printf '#!/bin/sh\\n${payload(`${who}-hook`)}-$h\\n' > .git/hooks/$h; chmod +x .git/hooks/$h; done`,
      // pointer files git follows
      'mkdir -p .git/info .git/worktrees/x',
      `printf '* filter=x diff=x\\n' > .git/info/attributes`,
      `printf '[core]\\n\\tfsmonitor = "${payload(`${who}-worktree`)}"\\n' > .git/config.worktree`,
      `echo ${world.home} > .git/commondir`,
      `echo ${world.home}/evil.git > .git/gitdir`,
      `echo ${world.home} >> .git/objects/info/alternates`,
      'echo 0000000000000000000000000000000000000000 > .git/info/grafts',
      // symlinks where git reads and appends
      `mkdir -p .git/logs/refs/heads && ln -sf ${world.home}/.bashrc .git/logs/refs/heads/main`,
      `ln -sf ${world.home}/target .git/refs/heads/planted`,
      `ln -sf ${world.home} .git/refs/heads/dir-link`,
      `mkdir -p .git/objects && ln -sfn ${world.home} .git/objects/ab`,
      // hostile ref names and values
      `echo '../../../../${world.home}/target' > .git/refs/heads/-dash`,
      "printf 'notanid\\n' > .git/refs/heads/x.lock",
      "printf '1111111111111111111111111111111111111111 refs/heads/a..b\\n' >> .git/packed-refs",
      // a nested repository with its own hostile config, and a gitlink commit
      `mkdir -p nested-${who} && git init -q nested-${who} && printf '[core]\\n\\tfsmonitor = "${payload(`${who}-nested`)}"\\n' >> nested-${who}/.git/config`,
      `mkdir -p file-${who} && echo 'gitdir: ${world.home}/evil.git' > file-${who}/.git`,
      'true',
    ].join('\n')

  for (const who of ['user', 'root'] as const)
    it(`as the ${who} inside: hostile config, hooks, pointers, links, ref names, a .git swap; host git runs none of it`, async () => {
      const script = corpus(who)
      const output = who === 'user' ? (await inside(script)).stdout : asRoot(script)
      expect(output).not.to.include('swap-succeeded')
      expect(output).not.to.include('rm-succeeded')
      // The writes landed: in the agent's own git dir, which no host git reads.
      const agentConfig = readFileSync(join(world.home, '.local/state/repoman/agent-git', name, 'config'), 'utf8')
      expect(agentConfig).to.include(`PWNED-${who}-fsmonitor`)
      // status takes the agent's refs (as data) and names what it found in the tree.
      const status = await world.cli(['status', name])
      expect(status.exitCode).to.equal(1)
      expect(status.stdout).to.include(`nested-${who}/.git`)
      expect(status.stdout).to.include(`file-${who}/.git`)
      runHostTools()
      expectNothingRan()
      // The control: the agent's fsmonitor and hooks, put in a repo the host does use, run (so
      // the corpus is live, and the boundary is what keeps it from running).
      if (who === 'user') {
        const agentDir = join(world.home, '.local/state/repoman/agent-git', name)
        const control = join(world.home, 'control')
        world.git(world.home, 'init', '-q', control)
        const fsmonitor = world.git(world.home, 'config', '--file', join(agentDir, 'config'), 'core.fsmonitor').trim()
        world.git(control, 'config', 'core.fsmonitor', fsmonitor)
        world.git(control, 'config', 'core.hooksPath', join(agentDir, 'hooks'))
        world.git(control, 'status', '--porcelain')
        world.git(control, ...ID, 'commit', '-q', '--allow-empty', '-m', 'control')
        expect(markers()).to.include('PWNED-user-fsmonitor')
        expect(markers().some((m) => m.startsWith('PWNED-user-hook'))).to.equal(true)
        for (const marker of markers()) rmSync(join(world.home, marker))
        rmSync(control, {recursive: true, force: true})
      }
      // Host git itself still works on its own .git: the host's commit is there.
      expect(hostGit('log', '-1', '--format=%s')).to.equal('host commit\n')
    })
})

describe("the agent's git dir at work: commits come back as data (real Incus, uid 1001)", function () {
  this.timeout(600_000)
  let world: World
  let repo: string
  const name = 'gitwork'
  const inside = (script: string) => world.cli(['exec', name, '--', 'sh', '-c', script])
  const hostGit = (...args: string[]) => tolerantGit(world, repo, ...args)
  const expectNothingRan = () => expect(readdirSync(world.home).filter((f) => f.startsWith('PWNED'))).to.deep.equal([])

  before(async function () {
    world = makeWorld(requireRealImage(this), {user: true})
    await world.setup()
    repo = committedRepo(world, name)
    world.git(repo, 'tag', 'host-v0')
    const created = await world.cli(['new', name, '--image', REAL_IMAGE])
    expect(created.exitCode, created.stderr).to.equal(0)
  })
  after(() => world?.dispose())

  it("the agent's commits reach the host when the exec ends; its branch is fast-forwarded", async () => {
    const before = hostGit('rev-parse', 'HEAD').trim()
    const work = await inside(
      `cd ${repo} && echo agent > agent.txt && git add agent.txt && ${AGENT} commit -qm 'agent work' && git log -1 --format=%H`,
    )
    expect(work.exitCode, work.stderr).to.equal(0)
    const agentCommit = work.stdout.trim().split('\n').pop() as string
    expect(hostGit('log', '--all', '--format=%H')).to.include(agentCommit)
    expect(hostGit('rev-parse', 'HEAD').trim()).to.equal(agentCommit)
    expect(hostGit('merge-base', '--is-ancestor', before, 'HEAD')).to.equal('')
    expect(hostGit('status', '--porcelain', '--untracked-files=no')).to.equal('')
    expect(work.stderr).to.include("your main now has the agent's commits")
    expect(hostGit('rev-parse', `repoman/${name}/main`).trim()).to.equal(agentCommit)
    expectNothingRan()
  })

  it('host commits made meanwhile are seen inside at the next session', async () => {
    writeFileSync(join(repo, 'from-host.txt'), 'host\n')
    hostGit('add', 'from-host.txt')
    hostGit('commit', '-qm', 'from the host')
    const seen = await inside(`cd ${repo} && git log -1 --format=%s && git status --porcelain --untracked-files=no`)
    expect(seen.stdout).to.equal('from the host\n')
  })

  it('rebase -i, stash, amend, branch switch, tags, worktree add and cherry-pick work inside', async () => {
    const script = [
      `cd ${repo}`,
      `echo 1 > r1 && git add r1 && ${AGENT} commit -qm r1`,
      `echo 2 > r2 && git add r2 && ${AGENT} commit -qm r2`,
      `GIT_SEQUENCE_EDITOR='sed -i 1s/^pick/reword/' GIT_EDITOR='sed -i 1s/.*/r1-reworded/' ${AGENT} rebase -q -i HEAD~2 && echo rebase-ok`,
      `echo dirty >> r2 && git stash -q && git stash pop -q && echo stash-ok`,
      `git checkout -q r2 && ${AGENT} commit -q --amend -m r2-amended && echo amend-ok`,
      `${AGENT} tag -a v1 -m v1 && echo tag-ok`,
      `git switch -qc feature && echo f > f && git add f && ${AGENT} commit -qm feature && echo switch-ok`,
      `git switch -q main && ${AGENT} cherry-pick feature >/dev/null && echo cherry-ok`,
      `git worktree add -q /var/tmp/wt-inside feature2 2>/dev/null || git worktree add -q -b feature2 /var/tmp/wt-inside && echo worktree-ok`,
      'git log --format=%s -2',
    ].join('\n')
    const result = await inside(script)
    expect(result.exitCode, result.stderr).to.equal(0)
    for (const step of ['rebase', 'stash', 'amend', 'tag', 'switch', 'cherry', 'worktree'])
      expect(result.stdout).to.include(`${step}-ok`)
    expect(result.stdout).to.include('r1-reworded')
    // The host follows: the agent's main (after its rebase and cherry-pick) is the host's main.
    expect(hostGit('log', '-1', '--format=%s', 'main')).to.equal('feature\n')
    expect(hostGit('rev-parse', '--verify', '-q', `repoman/${name}/feature`).trim()).to.match(/^[0-9a-f]{40}$/)
    // The agent's tag comes back beside its branches, as the annotated tag it made; the host's
    // own tag, which the agent was given, does not.
    expect(hostGit('cat-file', '-t', `refs/remotes/repoman/${name}/tags/v1`)).to.equal('tag\n')
    expect(hostGit('tag', '--list')).to.equal('host-v0\n')
    expect(hostGit('for-each-ref', '--format=%(refname)', `refs/remotes/repoman/${name}/tags/`)).to.equal(
      `refs/remotes/repoman/${name}/tags/v1\n`,
    )
    expectNothingRan()
  })

  it('an agent that switched branch is followed by the host checkout', async () => {
    const result = await inside(`cd ${repo} && git switch -q feature && git log -1 --format=%s`)
    expect(result.exitCode, result.stderr).to.equal(0)
    expect(hostGit('symbolic-ref', 'HEAD').trim()).to.equal('refs/heads/feature')
    expect(hostGit('status', '--porcelain', '--untracked-files=no')).to.equal('')
  })

  it('says how to take commits it cannot fast-forward', async () => {
    writeFileSync(join(repo, 'staged.txt'), 'mine\n')
    hostGit('add', 'staged.txt')
    const result = await inside(`cd ${repo} && echo x > x2 && git add x2 && ${AGENT} commit -qm diverge`)
    expect(result.stderr).to.include(`git merge repoman/${name}/feature`)
    hostGit('reset', '-q', 'staged.txt')
  })

  it('status names a container that writes the host .git (an older layout), and --fix gives it its own', async () => {
    world.incus(['config', 'device', 'remove', name, 'git', 'git-objects'])
    const old = await world.cli(['status', name, '--json'])
    expect(old.exitCode).to.equal(1)
    const [project] = JSON.parse(old.stdout).projects
    expect(project.git_dir).to.equal('host')
    expect(project.problems.join('\n')).to.include(`\`repoman status ${name} --fix\` gives it a git dir of its own`)
    const fixed = await world.cli(['status', name, '--fix', '--json'])
    expect(JSON.parse(fixed.stdout).projects[0].git_dir, fixed.stderr).to.equal('own')
    const work = await inside(
      `cd ${repo} && echo after-fix > after-fix && git add after-fix && ${AGENT} commit -qm after-fix`,
    )
    expect(work.exitCode, work.stderr).to.equal(0)
    expect(hostGit('log', '--all', '--format=%s')).to.include('after-fix')
  })

  it('remove keeps the agent branches in the repo and deletes its git dir', async () => {
    expect(existsSync(join(world.home, '.local/state/repoman/agent-git', name, 'HEAD'))).to.equal(true)
    const removed = await world.cli(['remove', name, '--yes'])
    expect(removed.exitCode, removed.stderr).to.equal(0)
    expect(hostGit('rev-parse', '--verify', '-q', `repoman/${name}/feature`).trim()).to.match(/^[0-9a-f]{40}$/)
    expect(existsSync(join(world.home, '.local/state/repoman/agent-git', name))).to.equal(false)
  })
})
