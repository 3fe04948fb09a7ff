import {Args, Flags} from '@oclif/core'
import {RepomanCommand} from '../cli/command.js'
import {cwdFlag} from '../cli/flags.js'

export default class Exec extends RepomanCommand<void> {
  static override summary = "Run a command in a project's container, as you, in the repo."
  static override description =
    `Without a name, the project is the one whose repo holds the current directory, and the command runs at the same path inside.
stdin, stdout and stderr pass through; a TTY is used only when stdin is one; the exit code is the command's.`
  static override examples = [
    '<%= config.bin %> exec isurus -- make test',
    'cd ~/repos/isurus/src && <%= config.bin %> exec -- claude',
    '<%= config.bin %> exec --detach isurus -- claude',
  ]
  static override strict = false
  static override enableJsonFlag = false
  static override args = {name: Args.string({description: 'Project name (default: the repo you are in).'})}
  static override flags = {
    cwd: cwdFlag,
    env: Flags.string({description: 'Set an environment variable inside (KEY=VALUE, repeatable).', multiple: true}),
    detach: Flags.boolean({
      description: 'Run it in a tmux session inside that outlives this terminal; prints the session name.',
    }),
  }

  async run(): Promise<void> {
    const {flags} = await this.parse(Exec)
    const {runSession, splitExecArgv} = await import('../lib/lifecycle/session.js')
    const {name, command} = splitExecArgv(this.argv)
    if (flags.detach) {
      const {startDetached} = await import('../lib/lifecycle/detach.js')
      const started = await startDetached(await this.repoman(), {name, command, cwd: flags.cwd, env: flags.env ?? []})
      this.log(started.session)
      this.logToStderr(`Detached; back to it with: repoman attach ${started.name} ${started.session}`)
      return
    }
    const code = await runSession(await this.repoman(), {
      name,
      command,
      cwd: flags.cwd,
      env: flags.env ?? [],
      tty: Boolean(process.stdin.isTTY),
    })
    if (code !== 0) this.exit(code)
  }
}
