import {RepomanCommand} from '../../cli/command.js'
import type {LauncherRow} from '../../lib/agents/launcher.js'

/** What `--json` prints: the contract of this command (schemas/agent-list.json). */
export type AgentListResult = LauncherRow[]

export default class AgentList extends RepomanCommand<AgentListResult> {
  static override requiresRegistry = false
  static override summary = "List the agent launchers, and the host's own program each one's --host runs."
  static override examples = ['<%= config.bin %> agent list', '<%= config.bin %> agent list --json']

  async run(): Promise<AgentListResult> {
    const [{listLaunchers}, {renderTable}] = await Promise.all([
      import('../../lib/agents/launcher.js'),
      import('../../lib/table.js'),
    ])
    const rows = listLaunchers(this.paths, process.env)
    if (rows.length === 0) this.log('No launchers yet; `repoman agent install claude` makes one.')
    else
      this.log(
        await renderTable(
          ['NAME', 'LAUNCHER', 'HOST PROGRAM (--host)'],
          rows.map((r) => [r.name, r.path, r.host_program ?? '-']),
        ),
      )
    return rows
  }
}
