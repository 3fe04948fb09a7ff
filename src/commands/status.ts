import {Args, Flags} from '@oclif/core'
import {RepomanCommand} from '../cli/command.js'
import type {AccountFix, StatusReport} from '../lib/lifecycle/status.js'

/** What `--json` prints: the contract of this command (schemas/status.json). */
export type StatusResult = StatusReport

export default class Status extends RepomanCommand<StatusResult> {
  static override summary =
    'Health check: containers, their mounts, the backup root, the last sync, and changed host-run files.'
  static override description =
    `Exits 0 when everything is healthy and 1 when anything is wrong, with the reason on the line.
Changed host-run files (.envrc, .claude/settings.json, ...) are problems until \`repoman accept\`; so are setuid/setgid files, device nodes, FIFOs, sockets, nested repositories and symlinks that lead out of the repo, anywhere in it. The agent's commits are taken into your repo first.`
  static override examples = [
    '<%= config.bin %> status',
    '<%= config.bin %> status isurus --json',
    '<%= config.bin %> status isurus --fix',
  ]
  static override args = {name: Args.string({description: 'Only this project.'})}
  static override flags = {
    fix: Flags.boolean({
      description:
        "First repair what can be: a container made by an older repoman gets a git dir of its own, and agent homes of its own instead of your host's agent dirs (its profiles installed again); a git dir the agent broke is rebuilt; each running container gets back your account (user, group, home, sudo as `new` made them), e.g. after it was re-provisioned.",
    }),
  }

  async run(): Promise<StatusResult> {
    const {args, flags} = await this.parse(Status)
    const status = await import('../lib/lifecycle/status.js')
    const context = await this.repoman()
    let fixed: AccountFix[] | undefined
    if (flags.fix) {
      const {fixSteps, planFixes, renderFixResult} = await import('../lib/lifecycle/status-fix.js')
      const {steps, result} = fixSteps(await planFixes(context, args.name), context)
      const {showSteps} = await import('../cli/ui.js')
      await showSteps(steps, {json: this.jsonEnabled()})
      if (!this.jsonEnabled()) for (const line of renderFixResult(result)) this.log(line)
      fixed = result.accounts
    }
    return this.output(
      await status.runStatus(context, {json: this.jsonEnabled(), name: args.name, fixed, verbose: flags.verbose}),
    )
  }
}
