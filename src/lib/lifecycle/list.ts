/** `repoman list`: the registry beside what Incus has, with drift shown both ways. */
import {existsSync} from 'node:fs'
import type {CommandOutput} from '../context.js'
import {importAndReport} from '../git/agent-git.js'
import type {IncusClient} from '../incus/client.js'
import type {IntegrityState} from '../integrity/fingerprint.js'
import {checkWatched, flaggedCount, type WatchedCheck} from '../integrity/snapshot.js'
import type {RepomanPaths} from '../paths.js'
import type {Registry} from '../registry/schema.js'
import {repoPathOf} from '../registry/schema.js'
import {type ProjectRow, projectRows} from './containers.js'

/** A `list --json` row. */
export interface ListRow extends ProjectRow {
  /** The files the host runs: as accepted (clean), changed, or unknown (no baseline). */
  integrity: IntegrityState
  /** How many of them changed since the user accepted them. */
  changed_files: number
  /** What the last scan of the repo flagged: nested repositories, links into your home, setuid files, ... */
  flagged_files: number
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
  const rows: ListRow[] = projectRows(registry, listed).map((row) => {
    const check = checks.get(row.name)
    return {
      ...row,
      integrity: check?.state ?? 'unknown',
      changed_files: check?.changes.length ?? 0,
      flagged_files: row.registered ? flaggedCount(context.paths.stateDir, row.name) : 0,
    }
  })
  if (options.sessions) {
    const {sessionsIn} = await import('./detach.js')
    const byName = new Map(listed.map((i) => [i.name, i]))
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
  const sessions = (list: string[] | null | undefined) => (list === null ? '?' : list?.join(',') || '-')
  const table = rows.map((r) => [
    [r.name, r.changed_files > 0 ? '(changed)' : '', r.flagged_files > 0 ? '(flagged)' : ''].filter(Boolean).join(' '),
    r.path,
    r.image,
    r.drift ? `${r.state} (!)` : r.state,
    minute(r.created),
    minute(r.last_sync),
    r.backup === null ? '-' : r.backup ? 'yes' : 'no',
    ...(withSessions ? [sessions(r.sessions)] : []),
  ])
  const head = ['NAME', 'REPO', 'IMAGE', 'STATE', 'CREATED', 'LAST SYNC', 'BACKUP']
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
