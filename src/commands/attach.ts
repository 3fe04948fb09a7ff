import {Args} from '@oclif/core'
import {RepomanCommand} from '../cli/command.js'
import {NeedsTtyError} from '../lib/errors.js'

export default class Attach extends RepomanCommand<void> {
  static override summary = "Take this terminal back to a detached session (`exec --detach`) in a project's container."
  static override description =
    "Without SESSION, the most recent one. Detach again with tmux's own key (Ctrl-b d); the session keeps running. `repoman list --sessions` shows them."
  static override examples = ['<%= config.bin %> attach isurus', '<%= config.bin %> attach isurus claude-3f2a']
  static override enableJsonFlag = false
  static override args = {
    name: Args.string({description: 'Project name.', required: true}),
    session: Args.string({description: 'Session name (printed by `exec --detach`).'}),
  }

  async run(): Promise<void> {
    const {args} = await this.parse(Attach)
    if (!process.stdin.isTTY)
      throw new NeedsTtyError('attach needs a terminal; run it from one (`repoman list --sessions` shows the sessions)')
    const {attachSession} = await import('../lib/lifecycle/detach.js')
    const code = await attachSession(await this.repoman(), args.name, args.session)
    if (code !== 0) this.exit(code)
  }
}
