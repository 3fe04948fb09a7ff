import {Args, Flags} from '@oclif/core'
import {RepomanCommand} from '../../cli/command.js'
import type {GatewayLogEntry} from '../../lib/gateway/log.js'

/** What `--json` prints: the contract of this command (schemas/gateway-logs.json). */
export type GatewayLogsResult = {name: string; entries: GatewayLogEntry[]}

export default class GatewayLogs extends RepomanCommand<GatewayLogsResult> {
  static override summary = "What a project's container reached through the gateway, and what it was refused."
  static override examples = [
    '<%= config.bin %> gateway logs web',
    '<%= config.bin %> gateway logs web --refused -n 50',
  ]
  static override args = {name: Args.string({description: 'Project name.', required: true})}
  static override flags = {
    lines: Flags.integer({char: 'n', description: 'How many of the last entries.', default: 20, min: 1}),
    refused: Flags.boolean({description: 'Only refusals.'}),
  }

  async run(): Promise<GatewayLogsResult> {
    const {args, flags} = await this.parse(GatewayLogs)
    const {registry} = await this.repoman()
    const [{findProject}, {readGatewayLog, renderGatewayEntry}] = await Promise.all([
      import('../../lib/registry/schema.js'),
      import('../../lib/gateway/log.js'),
    ])
    const {name} = findProject(registry, args.name)
    const entries = readGatewayLog(this.paths.stateDir, name, {count: flags.lines, refusedOnly: flags.refused})
    this.log(entries.length === 0 ? `Nothing logged for "${name}" yet.` : entries.map(renderGatewayEntry).join('\n'))
    return {name, entries}
  }
}
