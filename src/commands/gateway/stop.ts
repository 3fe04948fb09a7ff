import {RepomanCommand} from '../../cli/command.js'

/** What `--json` prints: the contract of this command (schemas/gateway-stop.json). */
export type GatewayStopResult = {stopped: boolean}

export default class GatewayStop extends RepomanCommand<GatewayStopResult> {
  static override requiresRegistry = false
  static override summary = "Stop repoman's gateway; the next session starts it again (systemd restarts its unit)."
  static override examples = ['<%= config.bin %> gateway stop']

  async run(): Promise<GatewayStopResult> {
    const {stopGateway} = await import('../../lib/gateway/daemon.js')
    const stopped = await stopGateway(this.paths.stateDir)
    this.log(stopped ? 'Stopped the gateway.' : 'The gateway was not running.')
    return {stopped}
  }
}
