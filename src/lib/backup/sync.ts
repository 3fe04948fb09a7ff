/**
 * `repoman sync`: mirrors each repo to `<backup_root>/<dirname>/` with rsync. Guards come first
 * and refuse rather than risk the backup: the root must be the real (separate) mount, a missing
 * or empty source is never mirrored with --delete, and nothing outside the project's own
 * target directory is ever touched. `last_sync` is written only after that project's rsync
 * succeeded.
 */
import {readdirSync, statSync} from 'node:fs'
import {basename, join, resolve} from 'node:path'
import {BackupRootUnsafeError, RsyncError, SafetyError, SourceUnsafeError, UsageError} from '../errors.js'
import type {SpecialFile} from '../integrity/fingerprint.js'
import {scanSpecialFiles} from '../integrity/snapshot.js'
import {logDirOf, RunLog} from '../log.js'
import {compareAscii} from '../names.js'
import {cloneTreeDir, isWithin, type RepomanPaths} from '../paths.js'
import {
  backupRootOf,
  findProject,
  isSafeDirname,
  type ProjectEntry,
  type Registry,
  registryTimestamp,
  repoPathOf,
  reposRootOf,
} from '../registry/schema.js'
import type {RegistryStore} from '../registry/store.js'
import type {Step} from '../steps.js'
import {type BackupRootState, inspectBackupRoot} from './mounts.js'

export const DEFAULT_SYNC_JOBS = 3

export interface SyncRequest {
  name?: string
  dryRun: boolean
  delete: boolean
  jobs: number
  allowLocal: boolean
}

export interface ProjectSyncResult {
  name: string
  source: string
  target: string
  ok: boolean
  error: string | null
  /** Itemized changes (rsync -i): what changed, or with --dry-run what would. */
  changes: string[]
  files_transferred: number
  files_deleted: number
  bytes_transferred: number
  seconds: number
  /** setuid/setgid files, device nodes, FIFOs and sockets in the repo: reported, not refused. */
  special_files: SpecialFile[]
  /** Clone mode: where its checkout (with the work not committed yet) is mirrored; null in shared mode. */
  work_target: string | null
}

/** The `sync --json` result. */
export interface SyncResult {
  dry_run: boolean
  backup_root: BackupRootState
  projects: ProjectSyncResult[]
  failed: number
  seconds: number
  log_file: string
}

/** The projects a run covers: the one named (whatever its backup flag), else every one with backup on. */
export function selectProjects(registry: Registry, name?: string): ProjectEntry[] {
  if (name === undefined) return registry.project.filter((p) => p.backup)
  return [findProject(registry, name)]
}

/** Where a project's mirror goes; refuses anything that is not one directory below the backup root. */
export function targetFor(backupRoot: string, dirname: string): string {
  const target = resolve(backupRoot, dirname)
  if (!isSafeDirname(dirname) || !isWithin(target, backupRoot) || target === resolve(backupRoot))
    throw new SafetyError(`repo dirname "${dirname}" would escape the backup root ${backupRoot}; refused`)
  return target
}

/**
 * One rsync for many repos: each source (no trailing slash) lands in `<backupRoot>/<its dirname>`,
 * and `--delete` acts only inside those directories, never on the rest of the backup root.
 */
export function rsyncArgs(
  sources: string[],
  backupRoot: string,
  options: {dryRun: boolean; delete: boolean},
): string[] {
  return [
    '-a',
    '--numeric-ids',
    '--itemize-changes',
    '--out-format=%i %l %n',
    ...(options.delete ? ['--delete'] : []),
    ...(options.dryRun ? ['--dry-run'] : []),
    ...sources,
    `${backupRoot}/`,
  ]
}

export interface RsyncSummary {
  changes: string[]
  files_transferred: number
  files_deleted: number
  bytes_transferred: number
}

/** An itemized line as `--out-format=%i %l %n` prints it. */
const ITEMIZED = /^(\*deleting|[<>ch.*][fdLDS][.+?cstpoguax]{9})\s+(\d+) (.+)$/

/**
 * Splits rsync's itemized output by the repo it belongs to (the first segment of each path), or
 * with `oneTree` (an rsync into one repo) keeps every path whole under the key ''.
 */
export function parseRsyncOutput(stdout: string, oneTree = false): Map<string, RsyncSummary> {
  const byRepo = new Map<string, RsyncSummary>()
  for (const line of stdout.split('\n')) {
    const match = ITEMIZED.exec(line)
    if (!match) continue
    const [, item, length, path] = match as unknown as [string, string, string, string]
    const [dirname, ...rest] = oneTree ? ['', path] : path.split('/')
    const inside = rest.join('/') || './'
    const summary = byRepo.get(dirname as string) ?? {
      changes: [],
      files_transferred: 0,
      files_deleted: 0,
      bytes_transferred: 0,
    }
    byRepo.set(dirname as string, summary)
    // A directory whose only change is its time is noise in a mirror report.
    if (/^\.d\.\.t\.{6}$/.test(item)) continue
    summary.changes.push(`${item} ${inside}`)
    if (item === '*deleting') summary.files_deleted++
    else if (/^[<>]f/.test(item)) {
      summary.files_transferred++
      summary.bytes_transferred += Number(length)
    }
  }
  return byRepo
}

/** rsync's failure in the user's terms; `destination` names what it writes to. */
export function explainRsyncFailure(
  stderr: string,
  exitCode: number | null,
  target: string,
  destination = 'the backup root',
): string {
  if (exitCode === 127 || /rsync: (command )?not found/.test(stderr))
    return 'rsync is not installed; install it (e.g. `apt install rsync`)'
  if (/Read-only file system/i.test(stderr)) return `${destination} is read-only (${target}); remount it read-write`
  if (/No space left on device/i.test(stderr)) return `${destination} is full (${target}); free space on it`
  const line =
    stderr.split('\n').find((l) => l.startsWith('rsync:') || l.startsWith('rsync error:')) ??
    stderr.trim().split('\n')[0]
  return `rsync failed (exit ${exitCode}): ${line ?? 'no message'}`
}

/** A source that is missing or empty would turn `--delete` into wiping its backup. */
export function checkSource(project: ProjectEntry, source: string): void {
  let entries: string[]
  try {
    if (!statSync(source).isDirectory()) throw new Error('not a directory')
    entries = readdirSync(source)
  } catch {
    throw new SourceUnsafeError(
      `project "${project.name}": repo ${source} is missing; not mirroring it (that would wipe its backup)`,
    )
  }
  if (entries.length === 0)
    throw new SourceUnsafeError(
      `project "${project.name}": repo ${source} is empty; not mirroring it (that would wipe its backup)`,
    )
}

/** What rsync said: its exit code (null when killed) and all it printed. */
export interface RsyncOutput {
  exitCode: number | null
  stdout: string
  stderr: string
}

/** Starts rsync with these arguments before it returns; `onLine` gets each itemized line as it comes. */
export type RsyncRunner = (args: string[], onLine: (line: string) => void) => Promise<RsyncOutput>

/**
 * Runs rsync, logging the command and all it printed; `onLine` gets each itemized line as it
 * comes. A plain spawn: zx costs more to load than a sync of unchanged repos takes.
 */
export function runRsync(
  args: string[],
  log: Pick<RunLog, 'write'>,
  onLine: (line: string) => void,
): Promise<RsyncOutput> {
  const {spawn} = process.getBuiltinModule('node:child_process')
  log.write(`$ rsync ${args.join(' ')}`)
  // Started before this returns, so the caller can work while rsync does.
  const running = new Promise<RsyncOutput>((done) => {
    let stdout = ''
    let stderr = ''
    let settled = false
    const finish = (exitCode: number | null) => {
      if (settled) return
      settled = true
      done({exitCode, stdout, stderr})
    }
    const child = spawn('rsync', args, {stdio: ['ignore', 'pipe', 'pipe']})
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      stdout += chunk
      const last = chunk
        .split('\n')
        .filter((l) => ITEMIZED.test(l))
        .pop()
      if (last) onLine(last.replace(ITEMIZED, '$1 $3'))
    })
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
      stderr += chunk
    })
    // Could not start: what a shell would say, with its exit code (127: not there).
    child.on('error', (error: NodeJS.ErrnoException) => {
      const missing = error.code === 'ENOENT'
      stderr += missing ? 'rsync: command not found\n' : `rsync: ${error.message}\n`
      finish(missing ? 127 : 126)
    })
    child.on('close', (code) => finish(code))
  })
  return running.then((output) => {
    log.write(`${output.stdout}${output.stderr ? `stderr: ${output.stderr}` : ''}[exit ${output.exitCode}]`)
    return output
  })
}

/** A project the run covers: where it mirrors from and to, or why it is refused. */
export interface ProjectSyncPlan {
  name: string
  source: string
  target: string
  /** Clone mode: the container's own checkout, mirrored beside the repo (its commits are in the repo already). */
  work?: {source: string; target: string}
  /** Why this project is not mirrored (its guard refused); the others go on. */
  refusal: string | null
}

export interface SyncPlan {
  request: SyncRequest
  backupRoot: BackupRootState
  /** In name order. */
  projects: ProjectSyncPlan[]
  /** When the run began (Date.now()), for the result's seconds. */
  started: number
  /** The host user's home: the scan flags symlinks into it. */
  home: string
}

/** The one thing to do about a refused backup root, where there is one. */
export function backupRootHint(state: BackupRootState): string | undefined {
  if (!state.exists || state.fs_type === 'autofs') return undefined
  // Not separate: the share looks unmounted (a local disk is --allow-local, said in the message).
  return state.separate ? undefined : `mount ${state.root}`
}

/** One project's guards: a target inside the backup root, and a source that is there and not empty. */
export function guardProject(registry: Registry, project: ProjectEntry): ProjectSyncPlan {
  const backupRoot = backupRootOf(registry)
  const plan: ProjectSyncPlan = {
    name: project.name,
    source: repoPathOf(registry, project.repo),
    target: join(backupRoot, project.repo),
    refusal: null,
  }
  try {
    plan.target = targetFor(backupRoot, project.repo)
    checkSource(project, plan.source)
  } catch (error) {
    if (!(error instanceof SafetyError)) throw error
    plan.refusal = error.message
  }
  return plan
}

export interface SyncPlanDeps {
  registry: Registry
  /** Where clone-mode checkouts are (repoman's state dir); without it they are not mirrored. */
  stateDir?: string
  /** Judges the backup root (mounts.ts; a stub in unit tests). */
  inspectBackupRoot?: typeof inspectBackupRoot
}

/**
 * Which projects, and whether each may be mirrored. A backup root that is not the real mount
 * refuses the whole run (BackupRootUnsafeError) before anything ran; a refused project does not
 * hold the others back.
 */
export async function planSync(request: SyncRequest, deps: SyncPlanDeps): Promise<SyncPlan> {
  const started = Date.now()
  if (!Number.isInteger(request.jobs) || request.jobs < 1)
    throw new UsageError('--jobs must be a whole number of at least 1')
  const {registry} = deps
  const projects = selectProjects(registry, request.name)
  const backupRoot = await (deps.inspectBackupRoot ?? inspectBackupRoot)(
    backupRootOf(registry),
    reposRootOf(registry),
    {
      allowLocal: request.allowLocal || registry.defaults.backup_allow_local === true,
    },
  )
  if (backupRoot.problem)
    throw new BackupRootUnsafeError(`${backupRoot.problem}; nothing was synced`, {hint: backupRootHint(backupRoot)})
  return {
    request,
    backupRoot,
    projects: projects
      .map((project) => ({...guardProject(registry, project), ...workOf(project, backupRoot.root, deps.stateDir)}))
      .sort((a, b) => compareAscii(a.name, b.name)),
    started,
    home: registry.host.home,
  }
}

/** Where clone checkouts are mirrored: a hidden directory of the backup root, one per project. */
export const WORK_DIR = '.repoman-clones'

/** What under the backup root is a project's own: its repo's mirror, or a clone's checkout (one directory name each). */
export function backupDirOf(project: ProjectEntry): string[] {
  return project.clone ? [WORK_DIR, project.name] : [project.repo]
}

/** `targetFor`, one directory name at a time. */
export function targetUnder(backupRoot: string, dirnames: string[]): string {
  return dirnames.reduce((dir, dirname) => targetFor(dir, dirname), backupRoot)
}

function workOf(project: ProjectEntry, backupRoot: string, stateDir: string | undefined) {
  if (!project.clone || stateDir === undefined) return {}
  return {work: {source: cloneTreeDir(stateDir, project.name), target: targetUnder(backupRoot, backupDirOf(project))}}
}

export interface SyncDeps {
  store: Pick<RegistryStore, 'update' | 'prepareWrite'>
  rsync: RsyncRunner
  log: Pick<RunLog, 'write' | 'file'>
  /** Takes what the project's agent committed into its repo first (git/agent-git.ts), returning what to say. */
  takeCommits?: (name: string, repoPath: string) => Promise<string[]>
}

/** The real rsync and store, and this run's own log file (`echo` receives its lines: --verbose). */
export function syncDeps(
  registry: Registry,
  store: RegistryStore,
  paths: RepomanPaths,
  echo?: (line: string) => void,
): SyncDeps {
  const log = new RunLog(logDirOf(registry, paths), 'sync', echo, true)
  return {
    store,
    log,
    rsync: (args, onLine) => runRsync(args, log, onLine),
    takeCommits: async (name, repoPath) => {
      const {importAgentGit, renderImport} = await import('../git/agent-git.js')
      return renderImport(name, await importAgentGit(repoPath, paths.stateDir, name))
    },
  }
}

/**
 * The run as steps: one rsync mirrors every ready project; when it fails, a Fanout retries
 * project by project (`--jobs` at once) so each failure lands on its own project. The last step
 * records last_sync, in one locked write, for the projects whose rsync succeeded.
 */
export function syncSteps(plan: SyncPlan, deps: SyncDeps): {steps: Step[]; result: SyncResult} {
  const {request} = plan
  const backupRoot = plan.backupRoot.root
  const result: SyncResult = {
    dry_run: request.dryRun,
    backup_root: plan.backupRoot,
    projects: [],
    failed: 0,
    seconds: 0,
    log_file: deps.log.file,
  }
  const fail = (entry: ProjectSyncResult, message: string) => {
    entry.error = message
    result.failed++
    deps.log.write(`${entry.name}: ${message}`)
  }
  const ready: ProjectSyncResult[] = []
  for (const project of plan.projects) {
    const entry: ProjectSyncResult = {
      name: project.name,
      source: project.source,
      target: project.target,
      ok: false,
      error: null,
      changes: [],
      files_transferred: 0,
      files_deleted: 0,
      bytes_transferred: 0,
      seconds: 0,
      special_files: [],
      work_target: project.work?.target ?? null,
    }
    result.projects.push(entry)
    if (project.refusal) fail(entry, project.refusal)
    else ready.push(entry)
  }
  /** When each project's rsync succeeded; recorded as last_sync in one registry write. */
  const synced = new Map<string, string>()

  /**
   * Mirrors `entries` in one rsync: undefined when it succeeded (each entry then has its share),
   * else what went wrong. `whileRunning` works while rsync does.
   */
  const mirror = async (
    entries: ProjectSyncResult[],
    onLine: (line: string) => void,
    whileRunning: () => void = () => undefined,
  ): Promise<string | undefined> => {
    const started = Date.now()
    // Clones of one repo share its mirror: one source for all of them.
    const running = deps.rsync(rsyncArgs([...new Set(entries.map((e) => e.source))], backupRoot, request), onLine)
    whileRunning()
    const output = await running
    const seconds = (Date.now() - started) / 1000
    if (output.exitCode !== 0) return explainRsyncFailure(output.stderr, output.exitCode, backupRoot)
    const byRepo = parseRsyncOutput(output.stdout)
    const now = registryTimestamp()
    for (const entry of entries) {
      Object.assign(entry, byRepo.get(basename(entry.source)) ?? {}, {ok: true, seconds})
      if (!request.dryRun) synced.set(entry.name, now)
    }
    return undefined
  }

  const retry = (entry: ProjectSyncResult): Step => ({
    title: entry.name,
    async run(control) {
      const failure = await mirror([entry], (line) => control.output(line))
      if (failure) {
        fail(entry, failure)
        throw new RsyncError(failure)
      }
      control.title(`${entry.name}: ${entry.changes.length} change(s)`)
      return undefined
    },
  })

  const steps: Step[] = []
  if (ready.length > 0)
    steps.push({
      title: `Mirror ${ready.length} project(s) to ${backupRoot}${request.dryRun ? ' (dry run)' : ''}`,
      async run(control) {
        // last_sync is written at the end: its modules load while rsync works.
        if (!request.dryRun) deps.store.prepareWrite()
        // What the agents committed is in the repos' own history before they are mirrored.
        if (deps.takeCommits && !request.dryRun)
          for (const entry of ready)
            for (const line of await deps
              .takeCommits(entry.name, entry.source)
              .catch((error: Error) => [
                `repoman: could not take the agent's commits of "${entry.name}": ${error.message}`,
              ]))
              control.output(line)
        // The special-file scan walks the repos while rsync walks them too (a process of its own).
        const scan = () => {
          for (const entry of ready) entry.special_files = scanSpecialFiles(entry.source, plan.home)
        }
        const problem = await mirror(ready, (line) => control.output(line), scan)
        if (!problem) {
          control.title(
            `Mirrored ${ready.length} project(s): ${ready.reduce((n, e) => n + e.changes.length, 0)} change(s)`,
          )
          return undefined
        }
        // Something failed: go project by project so each failure lands on its own project.
        deps.log.write(`combined rsync failed (${problem}); retrying project by project`)
        control.title(`Mirroring ${ready.length} project(s) one by one (together: ${problem})`)
        return {steps: ready.map(retry), concurrency: request.jobs}
      },
    })
  const works = plan.projects.filter((p) => p.work && ready.some((e) => e.name === p.name))
  if (works.length > 0)
    steps.push({
      title: `Mirror the checkouts of ${works.length} clone(s), with their work not committed yet`,
      async run(control) {
        const sources = works.map((p) => p.work?.source as string)
        const output = await deps.rsync(rsyncArgs(sources, join(backupRoot, WORK_DIR), request), (line) =>
          control.output(line),
        )
        if (output.exitCode === 0) return undefined
        const failure = explainRsyncFailure(output.stderr, output.exitCode, backupRoot)
        for (const entry of ready.filter((e) => works.some((p) => p.name === e.name) && e.ok)) {
          entry.ok = false
          synced.delete(entry.name)
          fail(entry, `its checkout was not mirrored: ${failure}`)
        }
        return undefined
      },
    })
  steps.push({
    title: request.dryRun ? 'Dry run: last_sync stays' : 'Record last_sync',
    async run(control) {
      // One locked write for the whole run, and only for the projects whose rsync succeeded.
      if (synced.size > 0) {
        await deps.store.update((current) => {
          for (const project of current.project) project.last_sync = synced.get(project.name) ?? project.last_sync
        })
        control.title(`Recorded last_sync of ${synced.size} project(s)`)
      } else if (!request.dryRun) control.title('No project synced: last_sync stays')
      result.seconds = (Date.now() - plan.started) / 1000
      return undefined
    },
  })
  return {steps, result}
}

/** What the command prints after the steps on stdout: with --dry-run what would change, then the summary. */
export function renderSync(result: SyncResult): string[] {
  const lines: string[] = []
  if (result.dry_run)
    for (const p of result.projects.filter((r) => r.changes.length > 0)) {
      lines.push(`${p.name} → ${p.target}:`)
      for (const change of p.changes.slice(0, 50)) lines.push(`  ${change}`)
      if (p.changes.length > 50) lines.push(`  ... and ${p.changes.length - 50} more`)
    }
  lines.push(summarize(result))
  return lines
}

export function summarize(result: SyncResult): string {
  const ok = result.projects.filter((p) => p.ok)
  const files = ok.reduce((n, p) => n + p.files_transferred + p.files_deleted, 0)
  const bytes = ok.reduce((n, p) => n + p.bytes_transferred, 0)
  const verb = result.dry_run ? 'Would sync' : 'Synced'
  const failed = result.failed > 0 ? `; ${result.failed} failed` : ''
  return `${verb} ${ok.length} project(s): ${files} file(s), ${formatBytes(bytes)} changed in ${result.seconds.toFixed(1)} s${failed}. Log: ${result.log_file}`
}

export function formatBytes(bytes: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB']
  let value = bytes
  let unit = 0
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024
    unit++
  }
  return `${unit === 0 ? value : value.toFixed(1)} ${units[unit]}`
}
