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
Changed host-run files (.envrc, hooks, .git, ...) are problems until \`repoman accept\`; so are setuid/setgid files, device nodes, FIFOs and sockets anywhere in the repo.`
  static override examples = [
    '<%= config.bin %> status',
    '<%= config.bin %> status isurus --json',
    '<%= config.bin %> status isurus --fix',
  ]
  static override args = {name: Args.string({description: 'Only this project.'})}
  static override flags = {
    fix: Flags.boolean({
      description:
        'First give each running container back your account (user, group, home, sudo as `new` made them), e.g. after it was re-provisioned.',
    }),
  }

  async run(): Promise<StatusResult> {
    const {args, flags} = await this.parse(Status)
    const status = await import('../lib/lifecycle/status.js')
    const context = await this.repoman()
    let fixed: AccountFix[] | undefined
    if (flags.fix) {
      const plan = await status.planAccountFix(context.registry, context.incus, args.name)
      const {steps, result} = status.accountFixSteps(plan, context.registry, context.incus)
      const {showSteps} = await import('../cli/ui.js')
      await showSteps(steps, {json: this.jsonEnabled()})
      fixed = result
    }
    return this.output(
      await status.runStatus(context, {json: this.jsonEnabled(), name: args.name, fixed, verbose: flags.verbose}),
    )
  }
}
