import {RepomanCommand} from '../../cli/command.js'
import type {ProfileRow} from '../../lib/profiles/manage.js'

/** What `--json` prints: the contract of this command (schemas/profile-list.json). */
export type ProfileListResult = ProfileRow[]

export default class ProfileList extends RepomanCommand<ProfileListResult> {
  static override summary = 'List the profile library: origin (vendor, user, user-shadows-vendor) and state in Incus.'
  static override examples = ['<%= config.bin %> profile list', '<%= config.bin %> profile list --json']

  async run(): Promise<ProfileListResult> {
    const context = await this.repoman()
    const [{listProfileRows}, {renderTable}] = await Promise.all([
      import('../../lib/profiles/manage.js'),
      import('../../lib/table.js'),
    ])
    const rows = await listProfileRows(context)
    this.log(
      await renderTable(
        ['NAME', 'ORIGIN', 'STATE', 'USED BY', 'PROGRAM', 'DESCRIPTION'],
        rows.map((r) => [
          r.name,
          r.origin,
          r.state,
          r.used_by.join(',') || '-',
          r.program ? `${r.program.command}: ${r.program.state}` : '-',
          r.problem ?? r.description,
        ]),
      ),
    )
    return rows
  }
}
