import {Args} from '@oclif/core'
import {RepomanCommand} from '../../lib/command.js'

export default class AgentRemove extends RepomanCommand<{name: string; removed: true}> {
  static override requiresRegistry = false
  static override summary = 'Remove an agent launcher (only one repoman wrote).'
  static override examples = ['<%= config.bin %> agent remove claude']
  static override args = {name: Args.string({description: 'Launcher name.', required: true})}

  async run(): Promise<{name: string; removed: true}> {
    const {args} = await this.parse(AgentRemove)
    const {removeLauncher} = await import('../../lib/agents/launcher.js')
    const result = removeLauncher(this.paths, args.name)
    this.log(`Removed the ${result.name} launcher.`)
    return result
  }
}
