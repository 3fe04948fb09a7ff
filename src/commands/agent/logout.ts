import {Args} from '@oclif/core'
import {RepomanCommand} from '../../cli/command.js'

/** What `--json` prints: the contract of this command (schemas/agent-logout.json). */
export type AgentLogoutResult = {agent: string; removed: boolean}

export default class AgentLogout extends RepomanCommand<AgentLogoutResult> {
  static override requiresRegistry = false
  static override summary = 'Forget the login `agent login` kept; sessions started afterwards no longer get it.'
  static override examples = ['<%= config.bin %> agent logout claude']
  static override args = {agent: Args.string({description: 'Agent: claude, codex or gemini.', required: true})}

  async run(): Promise<AgentLogoutResult> {
    const {args} = await this.parse(AgentLogout)
    const {deleteCredential} = await import('../../lib/agents/credentials.js')
    const removed = deleteCredential(this.paths, args.agent)
    this.log(removed ? `Forgot your ${args.agent} login.` : `There was no ${args.agent} login to forget.`)
    return {agent: args.agent, removed}
  }
}
