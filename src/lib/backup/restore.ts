/**
 * `repoman restore`: brings a repo (or some of its paths) back from the backup mirror, or from a
 * snapshot the file server exposes read-only under the backup root (`.zfs/snapshot/<snap>/` on
 * ZFS over NFS, `.snapshot/<snap>/` on NetApp and others). repoman keeps no history of its own:
 * the file server's snapshots are the history. rsync only reads from the backup root; what the
 * restore replaces or deletes in the repo is moved to `<logdir>/restore/<name>/<timestamp>/`
 * first (rsync --backup-dir), so a restore can itself be undone. The container is frozen while
 * the repo changes under it, and thawed after, also when the restore fails.
 */
import {readdir, stat} from 'node:fs/promises'
import {isAbsolute, join, normalize} from 'node:path'
import {
  BackupRootUnsafeError,
  RestorePointNotFoundError,
  RsyncError,
  SafetyError,
  SourceUnsafeError,
  UsageError,
} from '../errors.js'
import type {IncusClient} from '../incus/client.js'
import {fileStamp, logDirOf, type RunLog} from '../log.js'
import {cloneTreeDir, isWithin, type RepomanPaths} from '../paths.js'
import {
  backupRootOf,
  type ProjectEntry,
  type Registry,
  registryTimestamp,
  repoPathOf,
  reposRootOf,
} from '../registry/schema.js'
import type {Step} from '../steps.js'
import {type BackupRootState, inspectBackupRoot} from './mounts.js'
import {backupDirOf, explainRsyncFailure, parseRsyncOutput, runRsync, selectProjects, targetUnder} from './sync.js'

/** The name `--from` takes for the mirror `sync` keeps. */
export const MIRROR = 'mirror'

/** Where file servers expose their snapshots under a shared directory. */
export const SNAPSHOT_DIRS = ['.zfs/snapshot', '.snapshot'] as const

/** A point in time a repo can be restored from. */
export interface RestorePoint {
  /** `mirror`, or the snapshot's name. */
  name: string
  kind: 'mirror' | 'snapshot'
  /** The repo's tree at that point. */
  path: string
  /** The mirror's last sync, or the snapshot directory's mtime; null when unknown. */
  date: string | null
}

/** The `restore --list --json` result. */
export interface RestorePointList {
  name: string
  backup_root: string
  points: RestorePoint[]
}

export interface RestoreRequest {
  name: string
  /** `mirror` (the default) or a snapshot name. */
  from?: string
  /** Repo-relative paths; empty for the whole repo. */
  paths: string[]
  dryRun: boolean
  allowLocal: boolean
}

/** Everything planning needs, gathered from the registry, the file system and Incus. */
export interface RestoreFacts {
  project: ProjectEntry
  repoPath: string
  backupRoot: BackupRootState
  /** Newest first. */
  points: RestorePoint[]
  lastSync: string | null
  /** Entries at the top of the chosen point's tree (0 when it is missing or unreadable). */
  pointEntries: number
  /** Requested paths the chosen point does not have. */
  missingPaths: string[]
  /** The container's status (`Running`, `Stopped`, `Frozen`), null when it has none. */
  container: string | null
  /** Where this run keeps what it replaces. */
  saveDir: string
}

export interface RestorePlan {
  name: string
  point: RestorePoint
  repoPath: string
  paths: string[]
  saveDir: string
  dryRun: boolean
  container: string | null
  /** Why the user must confirm (the point is older than the newest one); null when no need. */
  olderThanNewest: string | null
  rsyncArgs: string[]
}

/** The `restore --json` result. */
export interface Restored {
  name: string
  from: string
  from_date: string | null
  source: string
  repo: string
  paths: string[]
  dry_run: boolean
  /** Itemized changes (rsync -i) made to the repo, or with --dry-run those it would make. */
  changes: string[]
  files_restored: number
  files_deleted: number
  /** Where the replaced and deleted files were moved; null when nothing was (or a dry run). */
  saved_to: string | null
  /** The container's state before and after the restore (it was frozen in between when running). */
  container: string | null
  container_frozen: boolean
  seconds: number
}

/** Newest first; points without a date last, then by name. */
export function sortPoints(points: RestorePoint[]): RestorePoint[] {
  return [...points].sort((a, b) => (b.date ?? '').localeCompare(a.date ?? '') || a.name.localeCompare(b.name, 'en'))
}

/** A `--path` as rsync gets it: repo-relative, normalized, never leaving the repo. */
export function normalizeRestorePath(path: string): string {
  const clean = normalize(path).replace(/\/+$/, '')
  if (isAbsolute(path) || clean === '' || clean === '.' || clean === '..' || clean.startsWith('../'))
    throw new UsageError(`--path ${path} must be a path inside the repo, relative to its top (e.g. src/main.ts)`)
  return clean
}

/** The itemized rsync that makes the repo (or its `paths`) what the point holds. */
export function restoreRsyncArgs(
  point: string,
  repoPath: string,
  options: {paths: string[]; dryRun: boolean; saveDir: string},
): string[] {
  // With --relative, `point/./a/b` lands at `repo/a/b`, and --delete acts only inside it.
  const sources = options.paths.length === 0 ? [`${point}/`] : options.paths.map((p) => `${point}/./${p}`)
  return [
    '-a',
    '--numeric-ids',
    '--itemize-changes',
    '--out-format=%i %l %n',
    '--delete',
    ...(options.paths.length > 0 ? ['--relative'] : []),
    ...(options.dryRun ? ['--dry-run'] : ['--backup', `--backup-dir=${options.saveDir}`]),
    ...sources,
    `${repoPath}/`,
  ]
}

const when = (date: string | null) => (date ? date.slice(0, 16).replace('T', ' ') : 'date unknown')

/** The pure decision: what to restore from, or why not (one line, nothing changed). */
export function planRestore(facts: RestoreFacts, request: RestoreRequest): RestorePlan {
  const {backupRoot, project} = facts
  if (backupRoot.problem) throw new BackupRootUnsafeError(`${backupRoot.problem}; nothing was restored`)
  const from = request.from ?? MIRROR
  const point = facts.points.find((p) => p.name === from)
  const available = facts.points.map((p) => p.name).join(', ') || 'none'
  if (!point)
    throw new RestorePointNotFoundError(
      `"${from}" has no copy of ${project.repo} under ${backupRoot.root} (available: ${available}); nothing was restored`,
      {hint: `repoman restore ${project.name} --list`},
    )
  if (facts.pointEntries === 0)
    throw new SourceUnsafeError(`${point.path} is empty; restoring it would empty the repo, so nothing was restored`)
  if (facts.missingPaths.length > 0)
    throw new SafetyError(`${facts.missingPaths.join(', ')} not in ${point.path}; nothing was restored`)
  // Never write into the backup root: neither the repo nor the save directory may be inside it.
  for (const path of [facts.repoPath, facts.saveDir])
    if (isWithin(path, backupRoot.root))
      throw new SafetyError(`${path} is inside the backup root ${backupRoot.root}; restore never writes there`)
  const newest = [...facts.points.map((p) => p.date), facts.lastSync]
    .filter((d): d is string => d !== null)
    .sort()
    .pop()
  const older =
    point.date !== null && newest !== undefined && point.date < newest
      ? `"${point.name}" (${when(point.date)}) is older than the newest copy (${when(newest)}): what changed in between is not in it`
      : null
  return {
    name: project.name,
    point,
    repoPath: facts.repoPath,
    paths: request.paths,
    saveDir: facts.saveDir,
    dryRun: request.dryRun,
    container: facts.container,
    olderThanNewest: older,
    rsyncArgs: restoreRsyncArgs(point.path, facts.repoPath, {
      paths: request.paths,
      dryRun: request.dryRun,
      saveDir: facts.saveDir,
    }),
  }
}

const isDirectory = (path: string) =>
  stat(path).then(
    (s) => s.isDirectory(),
    () => false,
  )

const mtimeOf = (path: string) =>
  stat(path).then(
    (s) => registryTimestamp(s.mtime),
    () => null,
  )

/**
 * The copies of `dirnames` (a repo's, or a clone's `.repoman-clones/NAME`) under the backup root: the mirror, and each file-server snapshot that
 * has it. `.zfs` is hidden from listings on ZFS, so each snapshot directory is opened by name.
 */
export async function findRestorePoints(
  backupRoot: string,
  dirnames: string[],
  lastSync: string | null,
): Promise<RestorePoint[]> {
  const points: RestorePoint[] = []
  const mirror = targetUnder(backupRoot, dirnames)
  if (await isDirectory(mirror))
    points.push({name: MIRROR, kind: 'mirror', path: mirror, date: lastSync ?? (await mtimeOf(mirror))})
  const seen = new Set([MIRROR])
  for (const base of SNAPSHOT_DIRS) {
    const dir = join(backupRoot, base)
    const snapshots = await readdir(dir).catch(() => [] as string[])
    for (const snapshot of snapshots.sort()) {
      const path = join(dir, snapshot, ...dirnames)
      if (seen.has(snapshot) || !(await isDirectory(path))) continue
      seen.add(snapshot)
      points.push({name: snapshot, kind: 'snapshot', path, date: await mtimeOf(join(dir, snapshot))})
    }
  }
  return sortPoints(points)
}

interface RestoreDeps {
  registry: Registry
  paths: RepomanPaths
  incus: IncusClient
}

export async function listRestorePoints(name: string, deps: RestoreDeps): Promise<RestorePointList> {
  const [project] = selectProjects(deps.registry, name) as [ProjectEntry]
  const root = backupRootOf(deps.registry)
  const state = await inspectBackupRoot(root, reposRootOf(deps.registry), {
    allowLocal: deps.registry.defaults.backup_allow_local === true,
    access: 'read',
  })
  if (state.problem) throw new BackupRootUnsafeError(state.problem)
  return {
    name,
    backup_root: root,
    points: await findRestorePoints(root, backupDirOf(project), project.last_sync ?? null),
  }
}

export async function gatherRestoreFacts(request: RestoreRequest, deps: RestoreDeps): Promise<RestoreFacts> {
  const {registry} = deps
  const [project] = selectProjects(registry, request.name) as [ProjectEntry]
  const root = backupRootOf(registry)
  const lastSync = project.last_sync ?? null
  const [backupRoot, points, instance] = await Promise.all([
    inspectBackupRoot(root, reposRootOf(registry), {
      allowLocal: request.allowLocal || registry.defaults.backup_allow_local === true,
      access: 'read',
    }),
    findRestorePoints(root, backupDirOf(project), lastSync),
    deps.incus.getInstance(project.name),
  ])
  const point = points.find((p) => p.name === (request.from ?? MIRROR))
  const pointEntries = point ? (await readdir(point.path).catch(() => [])).length : 0
  const missingPaths: string[] = []
  if (point)
    for (const path of request.paths)
      if (!(await stat(join(point.path, path)).catch(() => undefined))) missingPaths.push(path)
  const stamp = fileStamp()
  return {
    project,
    // A clone's own checkout is what its backup holds (its commits are in the repo's).
    repoPath: project.clone ? cloneTreeDir(deps.paths.stateDir, project.name) : repoPathOf(registry, project.repo),
    backupRoot,
    points,
    lastSync,
    pointEntries,
    missingPaths,
    container: instance?.status ?? null,
    saveDir: join(logDirOf(registry, deps.paths), 'restore', project.name, stamp),
  }
}

/**
 * The plan as steps: a running container is frozen (so nothing inside writes to the repo
 * meanwhile), rsync brings the files back, and the container is thawed: by the last step, or
 * by the freeze's undo when rsync failed. rsync's changes show as they are made.
 */
export function restoreSteps(
  plan: RestorePlan,
  deps: {incus: IncusClient; log: RunLog},
): {steps: Step[]; result: Restored} {
  const freeze = !plan.dryRun && plan.container === 'Running'
  const result: Restored = {
    name: plan.name,
    from: plan.point.name,
    from_date: plan.point.date,
    source: plan.point.path,
    repo: plan.repoPath,
    paths: plan.paths,
    dry_run: plan.dryRun,
    changes: [],
    files_restored: 0,
    files_deleted: 0,
    saved_to: null,
    container: plan.container,
    container_frozen: freeze,
    seconds: 0,
  }
  const thaw = () => deps.incus.setFrozen(plan.name, false)
  const steps: Step[] = [
    {
      title: `Copy ${plan.paths.length > 0 ? plan.paths.join(', ') : 'the repo'} back from "${plan.point.name}"${plan.dryRun ? ' (dry run)' : ''}`,
      run: async (control) => {
        const started = Date.now()
        const output = await runRsync(plan.rsyncArgs, deps.log, (line) => control.output(line))
        result.seconds = (Date.now() - started) / 1000
        if (output.exitCode !== 0)
          throw new RsyncError(
            `${explainRsyncFailure(output.stderr, output.exitCode, plan.repoPath, 'the repo')}; files replaced so far are in ${plan.saveDir}`,
          )
        const summary = parseRsyncOutput(output.stdout, true).get('')
        result.changes = summary?.changes ?? []
        result.files_restored = summary?.files_transferred ?? 0
        result.files_deleted = summary?.files_deleted ?? 0
        result.saved_to = !plan.dryRun && (await isDirectory(plan.saveDir)) ? plan.saveDir : null
        return undefined
      },
    },
  ]
  if (freeze)
    steps.unshift({
      title: `Freeze container "${plan.name}" while its repo is restored`,
      run: async (_control, onUndo) => {
        await deps.incus.setFrozen(plan.name, true)
        onUndo(thaw)
        return undefined
      },
    })
  if (freeze)
    steps.push({
      title: `Thaw container "${plan.name}"`,
      run: async () => {
        await thaw()
        return undefined
      },
    })
  return {steps, result}
}

/** What the user reads after a restore (or a dry run). */
export function renderRestore(result: Restored): string[] {
  const what = result.paths.length > 0 ? `${result.paths.join(', ')} in ${result.repo}` : result.repo
  const from = `"${result.from}" (${when(result.from_date)})`
  if (result.dry_run) {
    const lines = [`Would restore ${what} from ${from}: ${result.changes.length} change(s).`]
    for (const change of result.changes.slice(0, 50)) lines.push(`  ${change}`)
    if (result.changes.length > 50) lines.push(`  ... and ${result.changes.length - 50} more`)
    return lines
  }
  return [
    `Restored ${what} from ${from}: ${result.files_restored} file(s) written, ${result.files_deleted} deleted.`,
    result.saved_to
      ? `What it replaced or deleted is kept in ${result.saved_to} (copy it back to undo).`
      : 'Nothing was replaced or deleted.',
  ]
}

/** `restore --list` for people: newest first. */
export async function renderRestorePoints(list: RestorePointList): Promise<string[]> {
  if (list.points.length === 0) return [`No copies of "${list.name}" under ${list.backup_root}.`]
  const {renderTable} = await import('../table.js')
  return [
    await renderTable(
      ['POINT', 'DATE', 'PATH'],
      list.points.map((p) => [p.name, when(p.date), p.path]),
    ),
  ]
}
