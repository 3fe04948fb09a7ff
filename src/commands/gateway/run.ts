import {RepomanCommand} from '../../cli/command.js'

/** What `--json` prints: the contract of this command (schemas/gateway-run.json). */
export type GatewayRunResult = {stopped: boolean}

export default class GatewayRun extends RepomanCommand<GatewayRunResult> {
  static override requiresRegistry = false
  static override summary =
    "Run repoman's gateway in the foreground (new, exec and the launchers start it on their own)."
  static override description =
    "The gateway is the containers' one way out: each project's container reaches it on its own loopback (127.0.0.1:3128), through a forwarder inside or an Incus proxy device, and it lets through only what the project's network mode and allow list permit, putting your agents' logins into their API requests on the way. One runs per host user; the systemd user unit `repoman setup` installs runs this."
  static override examples = ['<%= config.bin %> gateway run']

  async run(): Promise<GatewayRunResult> {
    const {runGateway} = await import('../../lib/gateway/daemon.js')
    await runGateway(this.paths, (line) => this.logToStderr(line))
    return {stopped: true}
  }
}
