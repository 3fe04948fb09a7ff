/**
 * Clone mode on the real Debian 13 image as host uid 1001: two projects on one repo, each with
 * a checkout of its own, commit at the same time; both imports land as refs while the host's
 * working tree and .git stay as they were; a hostile nested repository and git config left in
 * a clone, by the plain user or by root, run nothing on the host; diff, update, list, sync and
 * remove say what the user needs.
 */
import {createHash} from 'node:crypto'
import {existsSync, readdirSync, readFileSync, statSync, writeFileSync} from 'node:fs'
import {join, relative} from 'node:path'
import {expect} from 'chai'
import {REAL_IMAGE} from '../helpers/incus-daemon.js'
import {mountTmpfs, unmount} from '../helpers/mounts.js'
import {AGENT_GIT, committedRepo, HOST_GIT_ID, makeWorld, requireRealImage, type World} from '../helpers/world.js'

/** Every file of the host's checkout and of what in its .git host git reads as config or state. */
function hostFingerprint(repo: string): string {
  const hash = createHash('sha256')
  const walk = (dir: string) => {
    for (const entry of readdirSync(dir, {withFileTypes: true}).sort((a, b) => a.name.localeCompare(b.name))) {
      const path = join(dir, entry.name)
      const rel = relative(repo, path)
      // New objects and the new refs under refs/remotes/repoman are what the import adds.
      if (['.git/objects', '.git/refs/remotes', '.git/logs', '.git/packed-refs', '.git/repoman.lock'].includes(rel))
        continue
      hash.update(`${rel}\0${statSync(path).mode}\0`)
      if (entry.isDirectory()) walk(path)
      else hash.update(readFileSync(path))
    }
  }
  walk(repo)
  return hash.digest('hex')
}

describe('clone mode: several agents on one repo, each in a checkout of its own (real image, uid 1001)', function () {
  this.timeout(900_000)
  let world: World
  let repo: string
  const markers = () => readdirSync(world.home).filter((f) => f.startsWith('PWNED'))
  const hostGit = (...args: string[]) => world.git(repo, ...HOST_GIT_ID, ...args)
  const inside = (name: string, script: string) => world.cli(['exec', name, '--', 'sh', '-c', script])

  before(async function () {
    world = makeWorld(requireRealImage(this), {user: true})
    mountTmpfs(world.backupRoot)
    await world.setup()
    repo = committedRepo(world, 'shared')
  })
  after(() => {
    unmount(world?.backupRoot)
    world?.dispose()
  })

  it('makes two clones, whose commits at the same time come back as refs, the host tree untouched', async () => {
    const before = hostFingerprint(repo)
    const a = await world.cli(['new', 'a', '--repo', 'shared', '--clone', '--image', REAL_IMAGE, '--json'])
    expect(a.exitCode, a.stderr).to.equal(0)
    const base = hostGit('rev-parse', 'HEAD').trim()
    expect(JSON.parse(a.stdout).clone).to.deep.equal({branch: 'repoman/a', base, from: 'main'})
    const b = await world.cli([
      'new',
      'b',
      '--repo',
      'shared',
      '--clone',
      '--branch',
      'feature-b',
      '--image',
      REAL_IMAGE,
    ])
    expect(b.exitCode, b.stderr).to.equal(0)
    // Made knowing what the first `new` read of the image: b's first session need not look for setpriv.
    const bConfig = world.query<{config: Record<string, string>}>('/1.0/instances/b').config
    expect(bConfig['user.repoman.setpriv']).to.equal('true')

    // Inside: the repo's files at the repo's own path, on the clone's branch, owned by you.
    const look = await inside(
      'a',
      `cd ${repo} && git branch --show-current && git status --porcelain && stat -c %u README.md`,
    )
    expect(look.stdout, look.stderr).to.equal(`repoman/a\n1001\n`)

    const work = (name: string) =>
      inside(
        name,
        `cd ${repo} && echo ${name} > ${name}.txt && git add ${name}.txt && ${AGENT_GIT} commit -qm 'work of ${name}'`,
      )
    const [doneA, doneB] = await Promise.all([work('a'), work('b')])
    expect(doneA.exitCode, doneA.stderr).to.equal(0)
    expect(doneB.exitCode, doneB.stderr).to.equal(0)

    expect(hostGit('log', '-1', '--format=%s', 'refs/remotes/repoman/a/repoman/a')).to.equal('work of a\n')
    expect(hostGit('log', '-1', '--format=%s', 'refs/remotes/repoman/b/feature-b')).to.equal('work of b\n')
    const all = hostGit('log', '--all', '--format=%s %D')
    expect(all).to.include('work of a repoman/a/repoman/a')
    expect(all).to.include('work of b repoman/b/feature-b')
    // Your checkout and its .git are as they were; neither file came into your tree.
    expect(hostFingerprint(repo)).to.equal(before)
    expect(existsSync(join(repo, 'a.txt'))).to.equal(false)
    expect(hostGit('status', '--porcelain')).to.equal('')
  })

  it('a second project in your working tree is refused; a clone of a repo without git is too', async () => {
    const shared = await world.cli(['new', 'c', '--repo', 'shared', '--image', REAL_IMAGE])
    expect(shared.exitCode).to.equal(0)
    const second = await world.cli(['new', 'd', '--repo', 'shared', '--image', REAL_IMAGE])
    expect(second.exitCode).to.equal(2)
    expect(second.stderr).to.equal(
      `Error: "c" already works in ${repo}; give "d" a checkout of its own with --clone, or \`repoman remove c\` first\n`,
    )
    world.makeRepo('plain')
    const plain = await world.cli(['new', 'p', '--repo', 'plain', '--clone'])
    expect(plain.exitCode).to.equal(2)
    expect(plain.stderr).to.match(/^Error: --clone makes its checkout from a git repository; .*plain is none/)
    expect((await world.cli(['remove', 'c', '--yes'])).exitCode).to.equal(0)
  })

  it('diff shows the commits and the work not committed; list shows each branch and where it stands', async () => {
    const dirty = await inside('a', `cd ${repo} && echo more >> README.md && echo new > untracked.txt`)
    expect(dirty.exitCode, dirty.stderr).to.equal(0)
    const diff = JSON.parse((await world.cli(['diff', 'a', '--json'])).stdout)
    expect(diff).to.deep.include({name: 'a', branch: 'repoman/a', commits: 1, untracked: ['untracked.txt']})
    expect(diff.committed).to.deep.equal([{path: 'a.txt', added: 1, removed: 0}])
    expect(diff.uncommitted).to.deep.equal([{path: 'README.md', added: 1, removed: 0}])
    const text = await world.cli(['diff', 'a'])
    expect(text.stdout).to.include('+a\n')
    expect(text.stdout).to.include('+more\n')
    expect(text.stdout).to.match(/^a: 1 commit\(s\) on repoman\/a since [0-9a-f]{12}/)

    const rows = JSON.parse((await world.cli(['list', '--json'])).stdout)
    const byName = Object.fromEntries(rows.map((r: {name: string}) => [r.name, r]))
    expect(byName.a.clone).to.deep.equal({branch: 'repoman/a', from: 'main', ahead: 1, behind: 0, uncommitted: 2})
    expect(byName.b.clone).to.deep.equal({branch: 'feature-b', from: 'main', ahead: 1, behind: 0, uncommitted: 0})
    const table = (await world.cli(['list'])).stdout
    expect(table).to.match(/\na +\S+\/shared +repoman\/a \(1 ahead, 0 behind, 2 uncommitted\) /)
  })

  it('update brings your newer commits in, rebasing the agent’s branch inside', async () => {
    writeFileSync(join(repo, 'host.txt'), 'host\n')
    hostGit('add', 'host.txt')
    hostGit('commit', '-qm', 'newer on the host')
    const behind = JSON.parse((await world.cli(['list', '--json'])).stdout).find((r: {name: string}) => r.name === 'b')
    expect(behind.clone).to.include({ahead: 1, behind: 1})
    const update = await world.cli(['update', 'b', '--json'])
    expect(update.exitCode, update.stderr).to.equal(0)
    expect(JSON.parse(update.stdout)).to.deep.include({name: 'b', branch: 'feature-b', onto: 'main', method: 'rebase'})
    const log = await inside('b', `cd ${repo} && git log --format=%s`)
    expect(log.stdout).to.equal('work of b\nnewer on the host\ninit\n')
    expect(hostGit('log', '-1', '--format=%s', 'refs/remotes/repoman/b/feature-b^')).to.equal('newer on the host\n')
    const again = await world.cli(['update', 'b'])
    expect(again.stdout).to.match(/^"b" has main \([0-9a-f]{12}\) already\.\n$/)
  })

  /** Plants what git reads as instructions in the clone's checkout, runs what you run on the host; nothing it chose runs. */
  async function plantThenRunHostTools(
    name: string,
    run: (script: string) => Promise<unknown>,
    label: string,
    /** The clone's imported branch, for a host diff against it. */
    ref?: string,
  ) {
    const payload = (what: string) => `touch ${world.home}/PWNED-${label}-${what}`
    await run(
      [
        `cd ${repo}`,
        'mkdir -p nested && git -C nested init -q',
        `git -C nested config core.fsmonitor '${payload('nested')}'`,
        `git config core.fsmonitor '${payload('config')}'`,
        `git config core.pager '${payload('pager')}'`,
        `mkdir -p .git/hooks && printf '#!/bin/sh\\n${payload('hook')}\\n' > .git/hooks/post-checkout && chmod +x .git/hooks/post-checkout`,
        `printf '[core]\\n\\tfsmonitor = ${payload('gitfile')}\\n' > .gitconfig-planted`,
      ].join(' && '),
    )
    // What the user runs on the host: repoman's own commands, then git in the repo.
    for (const args of [['list'], ['diff', name], ['status', name], ['update', name], ['sync']]) await world.cli(args)
    hostGit('status')
    hostGit('log', '--all', '-3')
    if (ref) hostGit('diff', 'main', ref)
    hostGit('switch', '-q', '-c', `probe-${label}`)
    hostGit('switch', '-q', 'main')
    expect(markers()).to.deep.equal([])
    expect(existsSync(join(repo, 'nested'))).to.equal(false)
  }

  it('a hostile nested repository and git config in a clone run nothing on the host, and never reach it', async () => {
    await plantThenRunHostTools(
      'b',
      async (script) => {
        const plant = await inside('b', script)
        expect(plant.exitCode, plant.stderr).to.equal(0)
      },
      'user',
      'refs/remotes/repoman/b/feature-b',
    )
  })

  it('the same planted by root inside: nothing runs on the host', async () => {
    const made = await world.cli(['new', 'r', '--repo', 'shared', '--clone', '--image', REAL_IMAGE])
    expect(made.exitCode, made.stderr).to.equal(0)
    await plantThenRunHostTools(
      'r',
      async (script) =>
        // Root's git refuses a checkout it does not own unless told it is safe.
        world.incus(['exec', 'r', '--', 'sh', '-c', `git config --global safe.directory '*' && ${script}`]),
      'root',
    )
    // And you inside lock a directory of yours against the host's deletion.
    const locked = await inside(
      'r',
      `cd ${repo} && mkdir -p locked/deep && touch locked/deep/f && chmod 500 locked/deep locked`,
    )
    expect(locked.exitCode, locked.stderr).to.equal(0)
    // What root made there is, on the host, not yours; remove, as you, still deletes all of it.
    const removed = await world.cli(['remove', 'r', '--yes'])
    expect(removed.exitCode, removed.stderr).to.equal(0)
    expect(removed.stdout).to.not.match(/Left what root inside kept/)
    const state = join(world.home, '.local/state/repoman')
    expect(existsSync(join(state, 'clones/r'))).to.equal(false)
    expect(existsSync(join(state, 'agent-git/r'))).to.equal(false)
    expect(existsSync(join(state, 'homes/r'))).to.equal(false)
  })

  it('sync mirrors a clone’s checkout with its uncommitted work beside the repo; restore brings it back', async () => {
    const synced = await world.cli(['sync', '--json'])
    expect(synced.exitCode, synced.stderr).to.equal(0)
    const a = JSON.parse(synced.stdout).projects.find((p: {name: string}) => p.name === 'a')
    expect(a.work_target).to.equal(join(world.backupRoot, '.repoman-clones/a'))
    expect(readFileSync(join(world.backupRoot, '.repoman-clones/a/untracked.txt'), 'utf8')).to.equal('new\n')
    expect(readFileSync(join(world.backupRoot, 'shared/README.md'), 'utf8')).to.equal('hello\n')

    const lost = await inside('a', `cd ${repo} && rm untracked.txt`)
    expect(lost.exitCode, lost.stderr).to.equal(0)
    const restored = await world.cli(['restore', 'a', '--yes'])
    expect(restored.exitCode, restored.stderr).to.equal(0)
    const back = await inside('a', `cd ${repo} && cat untracked.txt && git status --porcelain untracked.txt README.md`)
    expect(back.stdout).to.equal('new\n M README.md\n?? untracked.txt\n')
  })

  it('a git dir the agent wrecked: its branches stay in your repo; status names it; --fix rebuilds it', async () => {
    const wreck = await inside('b', `cd ${repo} && rm -rf .git/* && git status 2>&1 | head -1`)
    expect(wreck.stdout).to.match(/not a git repository/)
    expect(hostGit('log', '-1', '--format=%s', 'refs/remotes/repoman/b/feature-b')).to.equal('work of b\n')
    const status = await world.cli(['status', 'b', '--json'])
    expect(status.exitCode).to.equal(1)
    const project = JSON.parse(status.stdout).projects[0]
    expect(project.git_dir).to.equal('wrecked')
    expect(project.problems).to.include(
      "the container's git dir is broken (its HEAD is missing or unreadable): git inside finds no repository; `repoman status b --fix` rebuilds it from your repo with the agent's branches",
    )
    const fixed = await world.cli(['status', 'b', '--fix', '--json'])
    expect(JSON.parse(fixed.stdout).projects[0].git_dir, fixed.stderr).to.equal('own')
    const back = await inside(
      'b',
      `cd ${repo} && git branch --show-current && git log --format=%s && git status --porcelain -- README.md`,
    )
    expect(back.stdout, back.stderr).to.equal('feature-b\nwork of b\nnewer on the host\ninit\n')
  })

  it('remove refuses while a clone has work not committed, naming it; --yes removes it, its commits stay', async () => {
    const refused = await world.cli(['remove', 'a'])
    expect(refused.exitCode).to.equal(1)
    expect(refused.stderr, refused.stderr).to.match(
      /^Error: "a" has work not committed in its checkout: .*README\.md.*untracked\.txt/,
    )
    expect(refused.stderr.trim().split('\n')).to.have.length(1)
    const removed = await world.cli(['remove', 'a', '--yes'])
    expect(removed.exitCode, removed.stderr).to.equal(0)
    expect(hostGit('log', '-1', '--format=%s', 'refs/remotes/repoman/a/repoman/a')).to.equal('work of a\n')
    const left = JSON.parse((await world.cli(['list', '--json'])).stdout).map((r: {name: string}) => r.name)
    expect(left).to.deep.equal(['b'])
  })
})
