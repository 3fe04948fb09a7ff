/** `repoman list`: the registry beside what Incus has, with drift shown both ways. */
import {existsSync} from 'node:fs'
import type {CommandOutput} from '../context.js'
import {importAndReport} from '../git/agent-git.js'
import type {IncusClient} from '../incus/client.js'
import type {IntegrityState} from '../integrity/fingerprint.js'
import {checkWatched, flaggedCount, type WatchedCheck} from '../integrity/snapshot.js'
import type {RepomanPaths} from '../paths.js'
import type {CloneEntry, ProjectEntry, Registry} from '../registry/schema.js'
import {repoPathOf} from '../registry/schema.js'
import type {CloneStanding} from './clone.js'
import {type ProjectRow, projectRows} from './containers.js'

/** A `list --json` row. */
export interface ListRow extends ProjectRow {
  /** The files the host runs: as accepted (clean), changed, or unknown (no baseline). */
  integrity: IntegrityState
  /** How many of them changed since the user accepted them. */
  changed_files: number
  /** What the last scan of the repo flagged: nested repositories, links into your home, setuid files, ... */
  flagged_files: number
  /** Clone mode: its branch, ahead/behind the host branch it came from, uncommitted paths; null in shared mode. */
  clone: CloneStanding | null
}

/** With `sessions`, also each running project's detached sessions (one `incus exec` each, at once). */
export async function listProjects(
  context: {registry: Registry; incus: IncusClient; paths: RepomanPaths},
  options: {sessions?: boolean} = {},
): Promise<ListRow[]> {
  const {registry} = context
  const instances = context.incus.listInstances()
  // Should the file-system work below throw, the answer's own failure is not left unhandled.
  instances.catch(() => undefined)
  // Meanwhile (Incus answers in the background), the cheap check of each registered repo there is.
  const checks = new Map<string, WatchedCheck>()
  for (const project of registry.project) {
    const repoPath = repoPathOf(registry, project.repo)
    if (!existsSync(repoPath)) continue
    // What a detached session committed since is taken first.
    await importAndReport(repoPath, context.paths.stateDir, project.name)
    checks.set(project.name, checkWatched(context.paths.stateDir, project.name, repoPath))
  }
  const listed = await instances
  const byName = new Map(listed.map((i) => [i.name, i]))
  const cloned = registry.project.filter(
    (p): p is ProjectEntry & {clone: CloneEntry} => p.clone !== undefined && checks.has(p.name),
  )
  // Loaded only where there are clones: the everyday list stays on its fast path.
  const {cloneStanding} = cloned.length > 0 ? await import('./clone.js') : {cloneStanding: undefined}
  const clones = new Map(
    await Promise.all(
      cloned.map(async (p) => [p.name, await cloneStanding?.(context.incus, registry, p, byName.get(p.name))] as const),
    ),
  )
  const rows: ListRow[] = groupByRepo(projectRows(registry, listed)).map((row) => {
    const check = checks.get(row.name)
    return {
      ...row,
      integrity: check?.state ?? 'unknown',
      changed_files: check?.changes.length ?? 0,
      flagged_files: row.registered ? flaggedCount(context.paths.stateDir, row.name) : 0,
      clone: clones.get(row.name) ?? null,
    }
  })
  if (options.sessions) {
    const {sessionsIn} = await import('./detach.js')
    await Promise.all(
      rows.map(async (row) => {
        const instance = byName.get(row.name)
        row.sessions =
          row.registered && instance?.status === 'Running' ? await sessionsIn(context.incus, registry, instance) : []
      }),
    )
  }
  return rows
}

/** Pure: the projects on one repo side by side, in the order their repos first appear. */
export function groupByRepo<R extends {repo: string}>(rows: R[]): R[] {
  const order = [...new Set(rows.map((r) => r.repo))]
  return order.flatMap((repo) => rows.filter((r) => r.repo === repo))
}

/** Pure: what the WORK column says: the shared tree, or a clone's branch and how it stands. */
export function workOf(clone: CloneStanding | null): string {
  if (!clone) return 'your tree'
  const parts = [`${clone.ahead} ahead`, `${clone.behind} behind`]
  parts.push(clone.uncommitted === null ? '? uncommitted' : `${clone.uncommitted} uncommitted`)
  return `${clone.branch} (${parts.join(', ')})`
}

/** `repoman list` on either path: the rows, and the table unless --json. */
export async function runList(
  context: {registry: Registry; incus: IncusClient; paths: RepomanPaths},
  request: {json: boolean; sessions?: boolean},
): Promise<CommandOutput<ListRow[]>> {
  const rows = await listProjects(context, {sessions: request.sessions})
  // Under --json only the result is printed: no table to build.
  return {result: rows, lines: request.json ? [] : await renderProjectList(rows), exitCode: 0}
}

/** The human view: a table, then one line per drifted or changed project. */
export async function renderProjectList(rows: ListRow[]): Promise<string[]> {
  if (rows.length === 0) return ['No projects yet. Create one with: repoman new <name>']
  const {renderTable} = await import('../table.js')
  const minute = (iso: string | null) => (iso ? iso.slice(0, 16).replace('T', ' ') : '-')
  const withSessions = rows.some((r) => r.sessions !== undefined)
  // Only where some project has a checkout of its own: otherwise every row would say the same.
  const withClones = rows.some((r) => r.clone !== null)
  const sessions = (list: string[] | null | undefined) => (list === null ? '?' : list?.join(',') || '-')
  const table = rows.map((r) => [
    [r.name, r.changed_files > 0 ? '(changed)' : '', r.flagged_files > 0 ? '(flagged)' : ''].filter(Boolean).join(' '),
    r.path,
    ...(withClones ? [workOf(r.clone)] : []),
    r.image,
    r.drift ? `${r.state} (!)` : r.state,
    minute(r.created),
    minute(r.last_sync),
    r.backup === null ? '-' : r.backup ? 'yes' : 'no',
    ...(withSessions ? [sessions(r.sessions)] : []),
  ])
  const head = ['NAME', 'REPO', ...(withClones ? ['WORK'] : []), 'IMAGE', 'STATE', 'CREATED', 'LAST SYNC', 'BACKUP']
  return [
    await renderTable(withSessions ? [...head, 'SESSIONS'] : head, table),
    ...rows.filter((r) => r.drift).map((r) => `(!) ${r.name}: ${r.drift}`),
    ...rows
      .filter((r) => r.changed_files > 0)
      .map((r) => `(changed) ${r.name}: ${r.changed_files} host-run file(s) changed; \`repoman review ${r.name}\``),
    ...rows
      .filter((r) => r.flagged_files > 0)
      .map((r) => `(flagged) ${r.name}: ${r.flagged_files} file(s) flagged; \`repoman status ${r.name}\` names them`),
  ]
}
