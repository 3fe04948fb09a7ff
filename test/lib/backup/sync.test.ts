import {chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {expect} from 'chai'
import sinon from 'sinon'
import type {BackupRootState} from '../../../src/lib/backup/mounts.js'
import {
  explainRsyncFailure,
  parseRsyncOutput,
  planSync,
  type RsyncOutput,
  renderSync,
  rsyncArgs,
  type SyncRequest,
  syncSteps,
  targetFor,
} from '../../../src/lib/backup/sync.js'
import {BackupRootUnsafeError, SafetyError} from '../../../src/lib/errors.js'
import type {Registry} from '../../../src/lib/registry/schema.js'
import {runSteps} from '../../../src/lib/steps.js'
import {testProject, testRegistry} from '../../helpers/registry-fixture.js'

describe('sync decisions', () => {
  it('mirrors many repos in one rsync, each into its own directory', () => {
    expect(rsyncArgs(['/r/a', '/r/b'], '/nfs', {dryRun: true, delete: true})).to.deep.equal([
      '-a',
      '--numeric-ids',
      '--itemize-changes',
      '--out-format=%i %l %n',
      '--delete',
      '--dry-run',
      '/r/a',
      '/r/b',
      '/nfs/',
    ])
    expect(rsyncArgs(['/r/a'], '/nfs', {dryRun: false, delete: false})).to.not.include('--delete')
  })

  it('attributes itemized changes, files and bytes to the repo they belong to', () => {
    const out = [
      '*deleting   0 a/stale',
      '>f+++++++++ 12 a/f',
      '.d..t...... 4096 a/',
      'cd+++++++++ 4096 b/',
      '>f.st...... 30 b/src/g',
      '',
    ].join('\n')
    const byRepo = parseRsyncOutput(out)
    expect(byRepo.get('a')).to.deep.equal({
      changes: ['*deleting stale', '>f+++++++++ f'],
      files_transferred: 1,
      files_deleted: 1,
      bytes_transferred: 12,
    })
    expect(byRepo.get('b')).to.deep.equal({
      changes: ['cd+++++++++ ./', '>f.st...... src/g'],
      files_transferred: 1,
      files_deleted: 0,
      bytes_transferred: 30,
    })
  })

  it('keeps every target one directory below the backup root', () => {
    expect(targetFor('/nfs', 'a')).to.equal('/nfs/a')
    for (const bad of ['..', '.', 'a/b', ''])
      expect(() => targetFor('/nfs', bad), bad).to.throw(SafetyError, /would escape the backup root/)
  })

  it('explains rsync failures in a line', () => {
    expect(explainRsyncFailure('rsync: mkdir "/nfs/a" failed: Read-only file system (30)', 23, '/nfs')).to.match(
      /read-only/,
    )
    expect(explainRsyncFailure('rsync: write failed on "/nfs/a/x": No space left on device (28)', 11, '/nfs')).to.match(
      /full/,
    )
    expect(explainRsyncFailure('bash: line 1: rsync: command not found', 127, '/nfs')).to.match(/not installed/)
  })
})

describe('sync plan and steps', () => {
  let dir: string
  let registry: Registry
  const request: SyncRequest = {dryRun: false, delete: true, jobs: 2, allowLocal: false}
  const state = (problem: string | null = null): BackupRootState => ({
    root: join(dir, 'backup'),
    exists: true,
    mount_point: join(dir, 'backup'),
    fs_type: 'nfs4',
    separate: problem === null,
    writable: true,
    problem,
  })
  const inspectBackupRoot = async () => state()

  /** A registry of these projects, each with a small repo under the temporary repos root. */
  const withProjects = (...names: string[]) => {
    for (const name of names) {
      mkdirSync(join(dir, 'repos', name, 'src'), {recursive: true})
      writeFileSync(join(dir, 'repos', name, 'README.md'), 'hello\n')
    }
    registry = testRegistry({
      host: {lan_ip: '192.0.2.10', home: dir},
      defaults: {repos_root: join(dir, 'repos'), backup_root: join(dir, 'backup')},
      projects: names.map((name) => testProject(name)),
    })
  }

  /** rsync that fails for runs whose sources include `failing`, and itemizes one new file per source otherwise. */
  const rsyncFailingFor = (failing: string[]) =>
    sinon.stub().callsFake(async (args: string[]): Promise<RsyncOutput> => {
      const sources = args.filter((a) => a.startsWith(join(dir, 'repos')))
      if (sources.some((source) => failing.some((name) => source.endsWith(`/${name}`))))
        return {exitCode: 11, stdout: '', stderr: 'rsync: write failed: No space left on device (28)'}
      const stdout = sources.map((source) => `>f+++++++++ 6 ${source.split('/').pop()}/README.md`).join('\n')
      return {exitCode: 0, stdout, stderr: ''}
    })

  const depsWith = (rsync: sinon.SinonStub) => ({
    rsync,
    store: {update: sinon.stub().resolves(), prepareWrite: sinon.stub()},
    log: {write: sinon.stub(), file: join(dir, 'sync.log')},
  })

  /** The registry after the run's one registry write (the stubbed store.update's change applied). */
  const written = (update: sinon.SinonStub) => {
    const after = structuredClone(registry)
    for (const call of update.getCalls()) call.args[0](after)
    return after
  }

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'rm-sync-'))
  })
  afterEach(() => rmSync(dir, {recursive: true, force: true}))

  it('mirrors every ready project in one rsync and records last_sync for all of them in one write', async () => {
    withProjects('a', 'b')
    const deps = depsWith(rsyncFailingFor([]))
    const {steps, result} = syncSteps(await planSync(request, {registry, inspectBackupRoot}), deps)
    await runSteps(steps)
    expect(deps.rsync.callCount).to.equal(1)
    expect(result.projects.map((p) => [p.name, p.ok, p.files_transferred])).to.deep.equal([
      ['a', true, 1],
      ['b', true, 1],
    ])
    expect(deps.store.update.callCount).to.equal(1)
    expect(written(deps.store.update).project.map((p) => typeof p.last_sync)).to.deep.equal(['string', 'string'])
  })

  it('retries project by project when the combined rsync fails; last_sync only where it succeeded', async () => {
    withProjects('a', 'b', 'c')
    const deps = depsWith(rsyncFailingFor(['b']))
    const {steps, result} = syncSteps(await planSync(request, {registry, inspectBackupRoot}), deps)
    await runSteps(steps)
    // One rsync of all three, then one per project.
    expect(
      deps.rsync.args.map(([args]) => args.filter((a: string) => a.startsWith(join(dir, 'repos'))).length),
    ).to.deep.equal([3, 1, 1, 1])
    const byName = Object.fromEntries(result.projects.map((p) => [p.name, p]))
    expect(byName.a).to.include({ok: true, error: null, files_transferred: 1})
    expect(byName.b).to.include({
      ok: false,
      error: `the backup root is full (${join(dir, 'backup')}); free space on it`,
    })
    expect(byName.c).to.include({ok: true, error: null})
    expect(result.failed).to.equal(1)
    expect(deps.store.update.callCount).to.equal(1)
    const after = written(deps.store.update)
    expect(after.project.map((p) => [p.name, p.last_sync === undefined])).to.deep.equal([
      ['a', false],
      ['b', true],
      ['c', false],
    ])
    expect(renderSync(result).at(-1)).to.match(/^Synced 2 project\(s\): 2 file\(s\), 12 B changed in .* s; 1 failed\./)
  })

  it('writes no last_sync when every rsync failed, or on a dry run', async () => {
    withProjects('a')
    const failing = depsWith(rsyncFailingFor(['a']))
    const run = syncSteps(await planSync(request, {registry, inspectBackupRoot}), failing)
    await runSteps(run.steps)
    expect(run.result.failed).to.equal(1)
    expect(failing.store.update.called).to.equal(false)

    const dry = depsWith(rsyncFailingFor([]))
    const dryRun = syncSteps(await planSync({...request, dryRun: true}, {registry, inspectBackupRoot}), dry)
    await runSteps(dryRun.steps)
    expect(dry.rsync.firstCall.args[0]).to.include('--dry-run')
    expect(dryRun.result.projects[0]?.ok).to.equal(true)
    expect(dry.store.update.called).to.equal(false)
    const lines = renderSync(dryRun.result)
    expect(lines.slice(0, 2)).to.deep.equal([`a → ${join(dir, 'backup', 'a')}:`, '  >f+++++++++ README.md'])
    expect(lines.slice(2)).to.have.length(1)
    expect(lines[2]).to.match(/^Would sync 1 project\(s\): 1 file\(s\), 6 B changed/)
  })

  it('never hands an empty repo to rsync; the others are mirrored', async () => {
    withProjects('a', 'b')
    rmSync(join(dir, 'repos', 'a'), {recursive: true})
    mkdirSync(join(dir, 'repos', 'a'))
    const deps = depsWith(rsyncFailingFor([]))
    const {steps, result} = syncSteps(await planSync(request, {registry, inspectBackupRoot}), deps)
    await runSteps(steps)
    expect(deps.rsync.firstCall.args[0].filter((a: string) => a.startsWith(join(dir, 'repos')))).to.deep.equal([
      join(dir, 'repos', 'b'),
    ])
    expect(result.projects[0]?.error).to.match(/project "a": repo .* is empty; not mirroring it/)
    expect(written(deps.store.update).project.map((p) => p.last_sync === undefined)).to.deep.equal([true, false])
  })

  it('reports setuid files found while rsync runs', async () => {
    withProjects('a')
    const tool = join(dir, 'repos', 'a', 'src', 'tool')
    writeFileSync(tool, '')
    chmodSync(tool, 0o4755)
    const {steps, result} = syncSteps(
      await planSync(request, {registry, inspectBackupRoot}),
      depsWith(rsyncFailingFor([])),
    )
    await runSteps(steps)
    expect(result.projects[0]?.special_files.map((f) => [f.path, f.kind])).to.deep.equal([['src/tool', 'setuid']])
  })

  it('refuses a backup root that is not its own mount before any rsync, with the command to run', async () => {
    withProjects('a')
    const deps = depsWith(rsyncFailingFor([]))
    const refused = await planSync(request, {
      registry,
      inspectBackupRoot: async () => state(`backup root ${join(dir, 'backup')} is not a separate mount`),
    })
      .then((plan) => runSteps(syncSteps(plan, deps).steps))
      .then(
        () => expect.fail('the plan should refuse'),
        (e: BackupRootUnsafeError) => e,
      )
    expect(deps.rsync.called).to.equal(false)
    expect(deps.store.update.called).to.equal(false)
    expect(refused).to.be.instanceOf(BackupRootUnsafeError)
    expect(refused.message).to.match(/is not a separate mount; nothing was synced$/)
    expect(refused.hint).to.equal(`mount ${join(dir, 'backup')}`)
  })
})
