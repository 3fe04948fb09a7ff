import {Args} from '@oclif/core'
import {RepomanCommand} from '../lib/command.js'
import type {StatusReport} from '../lib/lifecycle/status.js'

export default class Status extends RepomanCommand<StatusReport> {
  static override summary = 'Health check: containers, their mounts, the backup root, and the last sync.'
  static override description =
    'Exits 0 when everything is healthy and 1 when anything is wrong, with the reason on the line.'
  static override examples = ['<%= config.bin %> status', '<%= config.bin %> status isurus --json']
  static override args = {name: Args.string({description: 'Only this project.'})}

  async run(): Promise<StatusReport> {
    const {args, flags} = await this.parse(Status)
    const {registry, incus} = await this.repoman()
    const {gatherStatus, renderStatus} = await import('../lib/lifecycle/status.js')
    const report = await gatherStatus(registry, incus, args.name)
    if (!this.jsonEnabled()) for (const line of renderStatus(report, flags.verbose)) this.log(line)
    if (!report.healthy) process.exitCode = 1
    return report
  }
}
