import {RepomanCommand} from '../../cli/command.js'
import type {GatewayStatus} from '../../lib/gateway/daemon.js'

/** What `--json` prints: the contract of this command (schemas/gateway-status.json). */
export type GatewayStatusResult = GatewayStatus

export default class GatewayStatusCommand extends RepomanCommand<GatewayStatusResult> {
  static override summary = "Whether repoman's gateway runs, and which projects it listens for."
  static override examples = ['<%= config.bin %> gateway status', '<%= config.bin %> gateway status --json']

  async run(): Promise<GatewayStatusResult> {
    const {registry} = await this.repoman()
    const {gatewayStatus, renderGatewayStatus} = await import('../../lib/gateway/daemon.js')
    const status = gatewayStatus(
      this.paths.stateDir,
      registry.project.map((p) => p.name),
    )
    this.log(renderGatewayStatus(status).join('\n'))
    if (!status.running) process.exitCode = 1
    return status
  }
}
