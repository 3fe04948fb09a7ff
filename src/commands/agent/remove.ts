import {Args} from '@oclif/core'
import {RepomanCommand} from '../../cli/command.js'

/** What `--json` prints: the contract of this command (schemas/agent-remove.json). */
export type AgentRemoveResult = {name: string; removed: true}

export default class AgentRemove extends RepomanCommand<AgentRemoveResult> {
  static override requiresRegistry = false
  static override summary = 'Remove an agent launcher (only one repoman wrote).'
  static override examples = ['<%= config.bin %> agent remove claude']
  static override args = {name: Args.string({description: 'Launcher name.', required: true})}

  async run(): Promise<AgentRemoveResult> {
    const {args} = await this.parse(AgentRemove)
    const {removeLauncher} = await import('../../lib/agents/launcher.js')
    const result = removeLauncher(this.paths, args.name)
    this.log(`Removed the ${result.name} launcher.`)
    return result
  }
}
