/** `repoman list`: the registry beside what Incus has, with drift shown both ways. */
import {type ProjectRow, projectRows} from '../containers.js'
import type {IncusClient} from '../incus/client.js'
import type {Registry} from '../registry/schema.js'

export async function listProjects(registry: Registry, incus: IncusClient): Promise<ProjectRow[]> {
  return projectRows(registry, await incus.listInstances())
}

/** The human view: a table, then one line per drifted project. */
export async function renderProjectList(rows: ProjectRow[]): Promise<string[]> {
  if (rows.length === 0) return ['No projects yet. Create one with: repoman new <name>']
  const {renderTable} = await import('../table.js')
  const minute = (iso: string | null) => (iso ? iso.slice(0, 16).replace('T', ' ') : '-')
  const table = rows.map((r) => [
    r.name,
    r.path,
    r.image,
    r.drift ? `${r.state} (!)` : r.state,
    minute(r.created),
    minute(r.last_sync),
    r.backup === null ? '-' : r.backup ? 'yes' : 'no',
  ])
  return [
    await renderTable(['NAME', 'REPO', 'IMAGE', 'STATE', 'CREATED', 'LAST SYNC', 'BACKUP'], table),
    ...rows.filter((r) => r.drift).map((r) => `(!) ${r.name}: ${r.drift}`),
  ]
}
