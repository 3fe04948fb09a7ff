import {Args} from '@oclif/core'
import {RepomanCommand} from '../../cli/command.js'
import type {LauncherInstalled} from '../../lib/agents/launcher.js'
import type {ShellCheck} from '../../lib/agents/shells.js'

/** What `--json` prints: the contract of this command (schemas/agent-install.json). */
export interface AgentInstallResult extends LauncherInstalled {
  /** What NAME is in a login and in an interactive shell of yours, after the PATH line was added where it lacked. */
  shells: ShellCheck[]
  /** Start-up files the PATH line was appended to. */
  edited_files: string[]
}

export default class AgentInstall extends RepomanCommand<AgentInstallResult> {
  static override requiresRegistry = false
  static override summary = 'Write a launcher NAME that runs the agent in the container of the repo you are in.'
  static override description =
    `The launcher goes into repoman's launcher directory ($XDG_DATA_HOME/repoman/bin, default ~/.local/share/repoman/bin), which must come first on PATH.
It asks your shell ($SHELL, else bash), as a login shell and as an interactive one, what NAME is, and appends the PATH line to the start-up file of each that does not find the launcher first (e.g. ~/.profile and ~/.bashrc); what still shadows it is said, never run silently on the host.
Typing NAME in a directory under a registered repo then runs it in that repo's container at the same path (starting the container if it is stopped), with the terminal passed through and NAME's exit code. Outside every registered repo it refuses. \`NAME --host ARGS\` runs the host's own NAME (the next one on PATH).`
  static override examples = ['<%= config.bin %> agent install claude', '<%= config.bin %> agent install codex']
  static override args = {
    name: Args.string({description: 'Command name (claude, codex, gemini, opencode, pi, ...).', required: true}),
  }

  async run(): Promise<AgentInstallResult> {
    const {args} = await this.parse(AgentInstall)
    const [{installLauncher}, {settleShells}] = await Promise.all([
      import('../../lib/agents/launcher.js'),
      import('../../lib/agents/shells.js'),
    ])
    const installed = installLauncher(this.paths, args.name, process.env)
    this.log(`Wrote ${installed.path}.`)
    const settled = await settleShells(args.name, installed.path, this.paths.launcherDir, process.env)
    for (const file of settled.edited) this.log(`Added the PATH line to ${file}.`)
    for (const problem of settled.problems) this.warn(problem)
    if (settled.problems.length === 0)
      this.log(
        `\`${args.name}\` runs the launcher in login and interactive shells${installed.first_on_path ? '' : ` (a new shell; in this one: ${installed.path_hint?.line})`}.`,
      )
    if (settled.problems.length > 0) process.exitCode = 1
    return {...installed, shells: settled.checks, edited_files: settled.edited}
  }
}
