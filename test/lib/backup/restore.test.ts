import {mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {expect} from 'chai'
import sinon from 'sinon'
import type {BackupRootState} from '../../../src/lib/backup/mounts.js'
import {
  normalizeRestorePath,
  planRestore,
  type RestoreFacts,
  type RestoreRequest,
  restoreRsyncArgs,
  restoreSteps,
  sortPoints,
} from '../../../src/lib/backup/restore.js'
import {RsyncError} from '../../../src/lib/errors.js'
import type {IncusClient} from '../../../src/lib/incus/client.js'
import {RunLog} from '../../../src/lib/log.js'
import {runSteps} from '../../../src/lib/steps.js'

const root: BackupRootState = {
  root: '/nfs/backup',
  exists: true,
  mount_point: '/nfs',
  fs_type: 'nfs4',
  separate: true,
  writable: false,
  problem: null,
}

const mirror = {name: 'mirror', kind: 'mirror' as const, path: '/nfs/backup/alpha', date: '2026-11-23T03:00:00Z'}
const nightly = {
  name: 'nightly-1',
  kind: 'snapshot' as const,
  path: '/nfs/backup/.zfs/snapshot/nightly-1/alpha',
  date: '2026-11-22T02:00:00Z',
}

const facts = (overrides: Partial<RestoreFacts> = {}): RestoreFacts => ({
  project: {name: 'alpha', repo: 'alpha', image: 'debian', profiles: [], created: '2026-01-01T00:00:00Z', backup: true},
  repoPath: '/home/dev/repos/alpha',
  backupRoot: root,
  points: [mirror, nightly],
  lastSync: mirror.date,
  pointEntries: 3,
  missingPaths: [],
  container: 'Running',
  saveDir: '/home/dev/.local/state/repoman/restore/alpha/2026-11-23T10-00-00-000Z',
  ...overrides,
})

const request = (overrides: Partial<RestoreRequest> = {}): RestoreRequest => ({
  name: 'alpha',
  paths: [],
  dryRun: false,
  allowLocal: false,
  ...overrides,
})

describe('restore planning', () => {
  it('restores from the mirror by default, into the repo, keeping what it replaces in the save dir', () => {
    const plan = planRestore(facts(), request())
    expect(plan.point).to.equal(mirror)
    expect(plan.olderThanNewest).to.equal(null)
    expect(plan.rsyncArgs).to.deep.equal([
      '-a',
      '--numeric-ids',
      '--itemize-changes',
      '--out-format=%i %l %n',
      '--delete',
      '--backup',
      '--backup-dir=/home/dev/.local/state/repoman/restore/alpha/2026-11-23T10-00-00-000Z',
      '/nfs/backup/alpha/',
      '/home/dev/repos/alpha/',
    ])
  })

  it('asks for confirmation only for a point older than the newest copy (or the last sync)', () => {
    expect(planRestore(facts(), request({from: 'nightly-1'})).olderThanNewest).to.match(
      /^"nightly-1" \(2026-11-22 02:00\) is older than the newest copy \(2026-11-23 03:00\)/,
    )
    // No mirror left, but the repo was synced after the snapshot: still older.
    expect(planRestore(facts({points: [nightly]}), request({from: 'nightly-1'})).olderThanNewest).to.match(
      /older than the newest copy/,
    )
    expect(
      planRestore(facts({points: [nightly], lastSync: null}), request({from: 'nightly-1'})).olderThanNewest,
    ).to.equal(null)
  })

  it('restores only the given paths with --relative, and a dry run keeps no backup', () => {
    const args = restoreRsyncArgs('/snap/alpha', '/repos/alpha', {
      paths: ['src', 'a/b.txt'],
      dryRun: true,
      saveDir: '/s',
    })
    expect(args.slice(4)).to.deep.equal([
      '--delete',
      '--relative',
      '--dry-run',
      '/snap/alpha/./src',
      '/snap/alpha/./a/b.txt',
      '/repos/alpha/',
    ])
  })

  it('refuses, in one line, an unmounted root, a missing or empty point, missing paths, writes into the root', () => {
    const refuse =
      (f: Partial<RestoreFacts>, r: Partial<RestoreRequest> = {}) =>
      () =>
        planRestore(facts(f), request(r))
    expect(refuse({backupRoot: {...root, problem: 'backup root /nfs/backup is not a separate mount'}})).to.throw(
      /^backup root \/nfs\/backup is not a separate mount; nothing was restored$/,
    )
    expect(refuse({}, {from: 'weekly'})).to.throw(
      /^"weekly" has no copy of alpha under \/nfs\/backup \(available: mirror, nightly-1\); nothing was restored$/,
    )
    expect(refuse({points: []})).to.throw(/\(available: none\)/)
    expect(refuse({pointEntries: 0})).to.throw(/is empty; restoring it would empty the repo/)
    expect(refuse({missingPaths: ['src/x.ts']}, {paths: ['src/x.ts']})).to.throw(
      /^src\/x\.ts not in \/nfs\/backup\/alpha/,
    )
    expect(refuse({saveDir: '/nfs/backup/logs/restore'})).to.throw(
      /is inside the backup root .*; restore never writes there/,
    )
  })

  it('takes only paths inside the repo', () => {
    expect(normalizeRestorePath('src/')).to.equal('src')
    expect(normalizeRestorePath('./a//b.txt')).to.equal('a/b.txt')
    for (const bad of ['/etc/passwd', '..', '../x', 'a/../../x', '.', ''])
      expect(() => normalizeRestorePath(bad), bad).to.throw(/must be a path inside the repo/)
  })

  it('sorts points newest first, undated last', () => {
    const undated = {...nightly, name: 'odd', date: null}
    expect(sortPoints([undated, nightly, mirror]).map((p) => p.name)).to.deep.equal(['mirror', 'nightly-1', 'odd'])
  })
})

describe('restore steps (real rsync, Incus stubbed)', () => {
  let dir: string
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'rm-restore-steps-'))
  })
  afterEach(() => rmSync(dir, {recursive: true, force: true}))

  /** A mirror with one file, a repo where that file was lost, and the plan to bring it back. */
  function world(container: string | null) {
    const point = {...mirror, path: join(dir, 'backup/alpha')}
    mkdirSync(point.path, {recursive: true})
    writeFileSync(join(point.path, 'main.c'), 'int main;\n')
    const repoPath = join(dir, 'repos/alpha')
    mkdirSync(repoPath, {recursive: true})
    const plan = planRestore(
      facts({
        repoPath,
        points: [point],
        container,
        saveDir: join(dir, 'save'),
        backupRoot: {...root, root: join(dir, 'backup')},
      }),
      {name: 'alpha', paths: [], dryRun: false, allowLocal: false},
    )
    const incus = {setFrozen: sinon.stub<[string, boolean], Promise<void>>().resolves()}
    const log = new RunLog(join(dir, 'log'), 'restore')
    return {plan, incus, log, repoPath}
  }

  it('freezes a running container, brings the files back, and thaws it', async () => {
    const {plan, incus, log, repoPath} = world('Running')
    const {steps, result} = restoreSteps(plan, {incus: incus as unknown as IncusClient, log})
    await runSteps(steps)
    expect(readFileSync(join(repoPath, 'main.c'), 'utf8')).to.equal('int main;\n')
    expect(incus.setFrozen.args).to.deep.equal([
      ['alpha', true],
      ['alpha', false],
    ])
    expect(result).to.include({files_restored: 1, container_frozen: true})
  })

  it('thaws the container when rsync fails, and says where the replaced files are', async () => {
    const {plan, incus, log} = world('Running')
    rmSync(plan.point.path, {recursive: true})
    const {steps} = restoreSteps(plan, {incus: incus as unknown as IncusClient, log})
    const error = await runSteps(steps).then(
      () => expect.fail('rsync of a missing point should fail'),
      (e: Error) => e,
    )
    expect(error).to.be.instanceOf(RsyncError)
    expect(error.message).to.match(/^rsync failed \(exit \d+\): .*; files replaced so far are in .*\/save$/)
    expect(incus.setFrozen.args).to.deep.equal([
      ['alpha', true],
      ['alpha', false],
    ])
  })

  it('leaves a stopped container alone', async () => {
    const {plan, incus, log} = world('Stopped')
    await runSteps(restoreSteps(plan, {incus: incus as unknown as IncusClient, log}).steps)
    expect(incus.setFrozen.called).to.equal(false)
  })
})
