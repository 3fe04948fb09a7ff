import {createHash} from 'node:crypto'
import {
  cpSync,
  lstatSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  statSync,
  utimesSync,
  writeFileSync,
} from 'node:fs'
import {join} from 'node:path'
import {expect} from 'chai'
import {mountTmpfs, requireRoot, unmount} from '../helpers/mounts.js'
import {openTerminal, requireHostTmux} from '../helpers/terminal.js'
import {makeWorld, requireIncus, type World} from '../helpers/world.js'

/** A hash of every path (relative to `dir`), mode and byte under it. */
function treeHash(dir: string): string {
  const hash = createHash('sha256')
  const walk = (rel: string) => {
    for (const name of readdirSync(join(dir, rel)).sort()) {
      const path = join(rel, name)
      const stat = lstatSync(join(dir, path))
      hash.update(`${path}:${stat.mode}\n`)
      if (stat.isDirectory()) walk(path)
      else if (stat.isSymbolicLink()) hash.update(readlinkSync(join(dir, path)))
      else hash.update(readFileSync(join(dir, path)))
    }
  }
  walk('.')
  return hash.digest('hex')
}

describe('repoman restore (real rsync, tmpfs backup root, real Incus)', () => {
  let world: World
  let repo: string
  /** The file server's snapshot of the repo, a day old. */
  let snapshot: string

  beforeEach(async function () {
    requireRoot(this)
    // As a non-root host user: restore runs rsync as that user, into a repo the agent wrote as it.
    world = makeWorld(requireIncus(this), {user: true})
    mountTmpfs(world.backupRoot)
    await world.setup()
    repo = world.makeRepo('alpha')
    const created = await world.cli(['new', 'alpha'])
    expect(created.exitCode, created.stderr).to.equal(0)
    // The snapshot: the repo as it was yesterday, with a file since deleted.
    snapshot = join(world.backupRoot, '.zfs/snapshot/nightly-1/alpha')
    mkdirSync(snapshot, {recursive: true})
    cpSync(repo, snapshot, {recursive: true, preserveTimestamps: true})
    writeFileSync(join(snapshot, 'notes.txt'), 'from yesterday\n')
    const yesterday = new Date(Date.now() - 86_400_000)
    utimesSync(join(world.backupRoot, '.zfs/snapshot/nightly-1'), yesterday, yesterday)
    const synced = await world.cli(['sync', 'alpha'])
    expect(synced.exitCode, synced.stderr).to.equal(0)
  })
  afterEach(() => {
    unmount(world?.backupRoot)
    world?.dispose()
  })

  /** What an agent does to the repo from inside the container. */
  const mangle = async () => {
    const agent = await world.cli([
      'exec',
      'alpha',
      '--',
      'sh',
      '-c',
      'rm README.md && echo evil > src/main.txt && echo junk > new.txt',
    ])
    expect(agent.exitCode, agent.stderr).to.equal(0)
  }

  it("brings the repo back to a snapshot's tree, keeps what it replaced, and never writes to the backup root", async () => {
    await mangle()
    const backupBefore = treeHash(world.backupRoot)
    const mangled = treeHash(repo)

    const unconfirmed = await world.cli(['restore', 'alpha', '--from', 'nightly-1'])
    expect(unconfirmed.exitCode).to.equal(2)
    expect(unconfirmed.stderr).to.match(
      /^Error: "nightly-1" \(.*\) is older than the newest copy \(.*\): what changed in between is not in it; pass --yes to restore from it anyway\n$/,
    )

    const dry = await world.cli(['restore', 'alpha', '--from', 'nightly-1', '--dry-run'])
    expect(dry.exitCode, dry.stderr).to.equal(0)
    expect(dry.stdout).to.match(/^Would restore .*alpha from "nightly-1" \(.*\): \d+ change\(s\)\./m)
    expect(dry.stdout).to.match(/^ {2}\*deleting +new\.txt$/m)
    expect(dry.stdout).to.match(/^ {2}>f\+{9} README\.md$/m)
    expect(dry.stdout).to.match(/^ {2}>f\+{9} notes\.txt$/m)
    expect(treeHash(repo)).to.equal(mangled)

    const restored = await world.cli(['restore', 'alpha', '--from', 'nightly-1', '--yes', '--json'])
    expect(restored.exitCode, restored.stderr).to.equal(0)
    const result = JSON.parse(restored.stdout)
    expect(result).to.include({
      name: 'alpha',
      from: 'nightly-1',
      source: snapshot,
      repo,
      dry_run: false,
      files_deleted: 1,
      container: 'Running',
      container_frozen: true,
    })
    expect(treeHash(repo)).to.equal(treeHash(snapshot))
    expect(treeHash(world.backupRoot)).to.equal(backupBefore)
    // What the restore replaced or deleted is kept, under the log dir.
    expect(result.saved_to).to.match(new RegExp(`^${world.home}/.*/restore/alpha/[^/]+$`))
    expect(readFileSync(join(result.saved_to, 'src/main.txt'), 'utf8')).to.equal('evil\n')
    expect(readFileSync(join(result.saved_to, 'new.txt'), 'utf8')).to.equal('junk\n')
    // Frozen during the restore, running again after.
    const log = readFileSync(join(result.saved_to, '../../../repoman.log'), 'utf8')
    expect(log).to.match(/"action":"freeze".*\n(.*\n)*.*\$ rsync .*--backup-dir=.*\n(.*\n)*.*"action":"unfreeze"/)
    expect(world.query<{status: string}>('/1.0/instances/alpha').status).to.equal('Running')

    const human = await world.cli(['restore', 'alpha', '--yes'])
    expect(human.exitCode, human.stderr).to.equal(0)
    expect(human.stderr).to.match(
      /✔ Freeze container "alpha" while its repo is restored\n(.*\n)*✔ Thaw container "alpha"\n/,
    )
    expect(human.stdout).to.match(
      /^Restored .*alpha from "mirror" \(.*\): 0 file\(s\) written, 1 deleted\.\nWhat it replaced or deleted is kept in .*\/restore\/alpha\/.* \(copy it back to undo\)\.\n$/,
    )
  })

  it('asks on a terminal before restoring from an older point', async function () {
    requireHostTmux(this)
    await mangle()
    const mangled = treeHash(repo)
    const declined = openTerminal(world, ['restore', 'alpha', '--from', 'nightly-1'])
    try {
      expect(await declined.screen(/\? Restore .*alpha from "nightly-1"\?/)).to.match(
        /"nightly-1" \(.*\) is older than the newest copy/,
      )
      declined.type('n', 'Enter')
      expect(await declined.screen(/exit code: \d/)).to.match(/Nothing restored\.\s+exit code: 0/)
    } finally {
      declined.close()
    }
    expect(treeHash(repo)).to.equal(mangled)

    const accepted = openTerminal(world, ['restore', 'alpha', '--from', 'nightly-1'])
    try {
      await accepted.screen(/\? Restore .*alpha from "nightly-1"\?/)
      accepted.type('y', 'Enter')
      expect(await accepted.screen(/exit code: \d/)).to.match(
        /What it replaced or deleted is kept in[\s\S]*exit code: 0/,
      )
    } finally {
      accepted.close()
    }
    expect(treeHash(repo)).to.equal(treeHash(snapshot))
  })

  it('restores only the given paths, from the mirror by default', async () => {
    await mangle()
    const restored = await world.cli(['restore', 'alpha', '--path', 'src/', '--json'])
    expect(restored.exitCode, restored.stderr).to.equal(0)
    expect(JSON.parse(restored.stdout)).to.include({from: 'mirror', files_restored: 1, files_deleted: 0})
    expect(readFileSync(join(repo, 'src/main.txt'), 'utf8')).to.equal('x=1\n')
    // .git: the empty mount point of the container's own git dir (this repo has none of its own).
    expect(readdirSync(repo).sort()).to.deep.equal(['.git', 'new.txt', 'src'])

    const outside = await world.cli(['restore', 'alpha', '--path', '../beta'])
    expect(outside.exitCode).to.equal(2)
    expect(outside.stderr).to.match(/--path \.\.\/beta must be a path inside the repo/)
    const absent = await world.cli(['restore', 'alpha', '--path', 'nope.txt'])
    expect(absent.exitCode).to.equal(1)
    expect(absent.stderr).to.match(/^Error: nope\.txt not in .*\/backup\/alpha; nothing was restored\n$/)
  })

  it('lists the points in time newest first, from .zfs/snapshot and .snapshot', async () => {
    const hourly = join(world.backupRoot, '.snapshot/hourly.0/alpha')
    mkdirSync(hourly, {recursive: true})
    writeFileSync(join(hourly, 'README.md'), 'hourly\n')
    const hourAgo = new Date(Date.now() - 3_600_000)
    utimesSync(join(world.backupRoot, '.snapshot/hourly.0'), hourAgo, hourAgo)
    const listed = await world.cli(['restore', 'alpha', '--list', '--json'])
    expect(listed.exitCode, listed.stderr).to.equal(0)
    const list = JSON.parse(listed.stdout)
    expect(list.points.map((p: {name: string; kind: string}) => [p.name, p.kind])).to.deep.equal([
      ['mirror', 'mirror'],
      ['hourly.0', 'snapshot'],
      ['nightly-1', 'snapshot'],
    ])
    expect(list.points[2].date).to.equal(
      statSync(join(world.backupRoot, '.zfs/snapshot/nightly-1'))
        .mtime.toISOString()
        .replace(/\.\d+Z$/, 'Z'),
    )
    const human = await world.cli(['restore', 'alpha', '--list'])
    expect(human.stdout).to.match(/^POINT +DATE +PATH\nmirror +\d{4}-\d\d-\d\d \d\d:\d\d +.*\/backup\/alpha\n/)
  })

  it('refuses, changing nothing, when the backup root is unmounted, or the point is missing or empty', async () => {
    await mangle()
    const mangled = treeHash(repo)
    mkdirSync(join(world.backupRoot, '.zfs/snapshot/empty/alpha'), {recursive: true})
    const missing = await world.cli(['restore', 'alpha', '--from', 'nope', '--yes'])
    expect(missing.exitCode).to.equal(1)
    expect(missing.stderr).to.match(
      /^Error: "nope" has no copy of alpha under .* \(available: empty, mirror, nightly-1\); nothing was restored\n$/,
    )
    const empty = await world.cli(['restore', 'alpha', '--from', 'empty', '--yes'])
    expect(empty.stderr).to.match(/empty\/alpha is empty; restoring it would empty the repo, so nothing was restored/)

    unmount(world.backupRoot)
    const unmounted = await world.cli(['restore', 'alpha', '--yes'])
    expect(unmounted.exitCode).to.equal(1)
    expect(unmounted.stderr).to.match(/^Error: backup root .* is not a separate mount .*; nothing was restored\n$/)
    expect(treeHash(repo)).to.equal(mangled)
    expect(world.query<{status: string}>('/1.0/instances/alpha').status).to.equal('Running')
  })
})
