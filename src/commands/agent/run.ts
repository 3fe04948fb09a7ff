import {Args} from '@oclif/core'
import {RepomanCommand} from '../../cli/command.js'

export default class AgentRun extends RepomanCommand<void> {
  static override summary = 'Run NAME in the container of the repo you are in (what a launcher runs).'
  static override description =
    'Refuses outside every registered repo. Launchers made by `agent install` call this; it takes the fast path.'
  static override examples = ['cd ~/repos/isurus && <%= config.bin %> agent run claude -- --version']
  static override strict = false
  static override enableJsonFlag = false
  static override args = {name: Args.string({description: 'The command to run inside.', required: true})}

  async run(): Promise<void> {
    const {args} = await this.parse(AgentRun)
    const {prepareLaunch} = await import('../../lib/lifecycle/session.js')
    const dash = this.argv.indexOf('--')
    const rest = dash < 0 ? [] : this.argv.slice(dash + 1)
    const session = await prepareLaunch(await this.repoman(), args.name, rest, Boolean(process.stdin.isTTY))
    const code = await session.run()
    if (code !== 0) this.exit(code)
  }
}
