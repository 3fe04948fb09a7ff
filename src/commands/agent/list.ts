import {RepomanCommand} from '../../cli/command.js'
import type {LauncherRow} from '../../lib/agents/launcher.js'
import type {ShellCheck} from '../../lib/agents/shells.js'

/** What `--json` prints: the contract of this command (schemas/agent-list.json). */
export type AgentListResult = Array<LauncherRow & {shells: ShellCheck[]}>

export default class AgentList extends RepomanCommand<AgentListResult> {
  static override requiresRegistry = false
  static override summary =
    "List the agent launchers, whether each is first on PATH in your login and interactive shells, and the host's own program its --host runs."
  static override examples = ['<%= config.bin %> agent list', '<%= config.bin %> agent list --json']

  async run(): Promise<AgentListResult> {
    const [{listLaunchers}, {describeChecks, probeShells, shellChecks}, {renderTable}] = await Promise.all([
      import('../../lib/agents/launcher.js'),
      import('../../lib/agents/shells.js'),
      import('../../lib/table.js'),
    ])
    const launchers = listLaunchers(this.paths, process.env)
    const answers =
      launchers.length === 0
        ? undefined
        : await probeShells(
            launchers.map((r) => r.name),
            process.env,
          )
    const rows = launchers.map((r) => ({...r, shells: answers ? shellChecks(answers, r.name, r.path) : []}))
    if (rows.length === 0) this.log('No launchers yet; `repoman agent install claude` makes one.')
    else
      this.log(
        await renderTable(
          ['NAME', 'LAUNCHER', 'FIRST ON PATH', 'HOST PROGRAM (--host)'],
          rows.map((r) => [r.name, r.path, describeChecks(r.shells), r.host_program ?? '-']),
        ),
      )
    if (rows.some((r) => r.shells.some((c) => !c.first))) process.exitCode = 1
    return rows
  }
}
