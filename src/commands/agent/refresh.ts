import {Args, Flags} from '@oclif/core'
import {RepomanCommand} from '../../cli/command.js'
import type {HomesRefreshed} from '../../lib/agents/home-steps.js'

/** What `--json` prints: the contract of this command (schemas/agent-refresh.json). */
export type AgentRefreshResult = HomesRefreshed

export default class AgentRefresh extends RepomanCommand<AgentRefreshResult> {
  static override changesState = true
  static override summary = "Seed a project's agent homes anew from your host's agent config."
  static override description =
    `Deletes what the agent's home in the container holds and copies your host's settings, instructions, plugins and skills into it again (docs/profiles.md says what is copied). Nothing of the old home is kept or copied back.
A project made before agent homes existed gets its home mounted too, once its profiles are installed again.`
  static override examples = [
    '<%= config.bin %> agent refresh myproject',
    '<%= config.bin %> agent refresh myproject --agent claude',
  ]
  static override args = {name: Args.string({description: 'Project name.', required: true})}
  static override flags = {agent: Flags.string({description: 'Only this agent (claude, codex, ...).'})}

  async run(): Promise<AgentRefreshResult> {
    const {args, flags} = await this.parse(AgentRefresh)
    const context = await this.repoman()
    const [{planRefresh, refreshSteps, renderRefresh}, {showSteps}] = await Promise.all([
      import('../../lib/agents/home-steps.js'),
      import('../../cli/ui.js'),
    ])
    const plan = await planRefresh({name: args.name, agent: flags.agent}, context)
    const {steps, result} = refreshSteps(plan, {
      incus: context.incus,
      host: context.registry.host,
      paths: this.paths,
    })
    await showSteps(steps, {json: this.jsonEnabled()})
    for (const line of renderRefresh(result)) this.log(line)
    return result
  }
}
