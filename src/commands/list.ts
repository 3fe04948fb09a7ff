import {RepomanCommand} from '../lib/command.js'
import type {ProjectRow} from '../lib/containers.js'

export default class List extends RepomanCommand<ProjectRow[]> {
  static override summary = 'List projects: repo, image, live state, created, last sync, backup.'
  static override description =
    'Also shows drift: a registry entry whose container is gone, and a container in the Incus project that the registry does not know.'
  static override examples = ['<%= config.bin %> list', '<%= config.bin %> list --json']

  async run(): Promise<ProjectRow[]> {
    const {registry, incus} = await this.repoman()
    const {projectRows} = await import('../lib/containers.js')
    const rows = projectRows(registry, await incus.listInstances())
    // Under --json only the result is printed: no table to build.
    if (this.jsonEnabled()) return rows
    if (rows.length === 0) this.log('No projects yet. Create one with: repoman new <name>')
    else {
      const {renderTable} = await import('../lib/table.js')
      const day = (iso: string | null) => (iso ? iso.slice(0, 16).replace('T', ' ') : '-')
      const table = rows.map((r) => [
        r.name,
        r.path,
        r.image,
        r.drift ? `${r.state} (!)` : r.state,
        day(r.created),
        day(r.last_sync),
        r.backup === null ? '-' : r.backup ? 'yes' : 'no',
      ])
      this.log(await renderTable(['NAME', 'REPO', 'IMAGE', 'STATE', 'CREATED', 'LAST SYNC', 'BACKUP'], table))
      for (const r of rows.filter((row) => row.drift)) this.log(`(!) ${r.name}: ${r.drift}`)
    }
    return rows
  }
}
