import {Args} from '@oclif/core'
import {RepomanCommand} from '../../cli/command.js'
import type {LauncherInstalled} from '../../lib/agents/launcher.js'

/** What `--json` prints: the contract of this command (schemas/agent-install.json). */
export type AgentInstallResult = LauncherInstalled

export default class AgentInstall extends RepomanCommand<AgentInstallResult> {
  static override requiresRegistry = false
  static override summary = 'Write a launcher NAME that runs the agent in the container of the repo you are in.'
  static override description =
    `The launcher goes into repoman's launcher directory ($XDG_DATA_HOME/repoman/bin, default ~/.local/share/repoman/bin), which must come first on PATH.
Typing NAME in a directory under a registered repo then runs it in that repo's container at the same path (starting the container if it is stopped), with the terminal passed through and NAME's exit code. Outside every registered repo it refuses. \`NAME --host ARGS\` runs the host's own NAME (the next one on PATH).`
  static override examples = ['<%= config.bin %> agent install claude', '<%= config.bin %> agent install codex']
  static override args = {
    name: Args.string({description: 'Command name (claude, codex, gemini, opencode, pi, ...).', required: true}),
  }

  async run(): Promise<AgentInstallResult> {
    const {args} = await this.parse(AgentInstall)
    const {installLauncher} = await import('../../lib/agents/launcher.js')
    const result = installLauncher(this.paths, args.name, process.env)
    this.log(`Wrote ${result.path}.`)
    if (result.path_hint)
      this.log(
        `Put ${this.paths.launcherDir} first on PATH, once: add this line to ${result.path_hint.file} and open a new shell:\n  ${result.path_hint.line}`,
      )
    return result
  }
}
