/** `repoman list`: the registry beside what Incus has, with drift shown both ways. */
import {type ProjectRow, projectRows} from '../containers.js'
import type {IncusClient} from '../incus/client.js'
import type {Registry} from '../registry/schema.js'

/** With `sessions`, also each running project's detached sessions (one `incus exec` each, at once). */
export async function listProjects(
  registry: Registry,
  incus: IncusClient,
  options: {sessions?: boolean} = {},
): Promise<ProjectRow[]> {
  const instances = await incus.listInstances()
  const rows = projectRows(registry, instances)
  if (options.sessions) {
    const {sessionsIn} = await import('./detach.js')
    const byName = new Map(instances.map((i) => [i.name, i]))
    await Promise.all(
      rows.map(async (row) => {
        const instance = byName.get(row.name)
        row.sessions =
          row.registered && instance?.status === 'Running' ? await sessionsIn(incus, registry, instance) : []
      }),
    )
  }
  return rows
}

/** The human view: a table, then one line per drifted project. */
export async function renderProjectList(rows: ProjectRow[]): Promise<string[]> {
  if (rows.length === 0) return ['No projects yet. Create one with: repoman new <name>']
  const {renderTable} = await import('../table.js')
  const minute = (iso: string | null) => (iso ? iso.slice(0, 16).replace('T', ' ') : '-')
  const withSessions = rows.some((r) => r.sessions !== undefined)
  const sessions = (list: string[] | null | undefined) => (list === null ? '?' : list?.join(',') || '-')
  const table = rows.map((r) => [
    r.name,
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
  ]
}
