import {Args} from '@oclif/core'
import {RepomanCommand} from '../cli/command.js'
import {cwdFlag} from '../cli/flags.js'

export default class Shell extends RepomanCommand<void> {
  static override summary = "Open a login shell in a project's container, as you, in the repo."
  static override examples = ['<%= config.bin %> shell isurus', 'cd ~/repos/isurus && <%= config.bin %> shell']
  static override enableJsonFlag = false
  static override args = {name: Args.string({description: 'Project name (default: the repo you are in).'})}
  static override flags = {cwd: cwdFlag}

  async run(): Promise<void> {
    const {args, flags} = await this.parse(Shell)
    const {LOGIN_SHELL, runSession} = await import('../lib/lifecycle/session.js')
    const code = await runSession(await this.repoman(), {
      name: args.name,
      command: LOGIN_SHELL,
      cwd: flags.cwd,
      env: [],
      tty: Boolean(process.stdin.isTTY),
    })
    if (code !== 0) this.exit(code)
  }
}
