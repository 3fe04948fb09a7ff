import {Args, Flags} from '@oclif/core'
import {RepomanCommand} from '../../cli/command.js'
import type {SnapshotResult} from '../../lib/lifecycle/snapshot.js'

/** What `--json` prints: the contract of this command (schemas/snapshot.json). */
export type {SnapshotResult} from '../../lib/lifecycle/snapshot.js'

export default class Snapshot extends RepomanCommand<SnapshotResult> {
  static override changesState = true
  static override aliases = ['snapshot:create']
  static override summary =
    "Snapshot a project's container (packages, its home, /etc); NOT the repo, which is a host mount."
  static override description =
    'An Incus snapshot of the container root volume. The repo is mounted from the host and is never in it: `repoman restore` brings the repo back from the backup. `repoman rollback` returns the container to a snapshot. `snapshot create NAME` is the same command (for a project called "list").'
  static override examples = [
    '<%= config.bin %> snapshot isurus',
    '<%= config.bin %> snapshot isurus --name before-upgrade',
    '<%= config.bin %> snapshot list isurus',
  ]
  static override args = {name: Args.string({description: 'Project name.', required: true})}
  static override flags = {
    name: Flags.string({description: 'Snapshot name (default: snap-YYYYMMDD-HHMMSS, UTC).'}),
  }

  async run(): Promise<SnapshotResult> {
    const {args, flags} = await this.parse(Snapshot)
    const {registry, incus} = await this.repoman()
    const snapshots = await import('../../lib/lifecycle/snapshot.js')
    const target = await snapshots.snapshotTarget(registry, incus, args.name)
    const {steps, result} = snapshots.snapshotSteps(
      target,
      snapshots.planSnapshot(target, flags.name, new Date()),
      incus,
    )
    const {showSteps} = await import('../../cli/ui.js')
    await showSteps(steps, {json: this.jsonEnabled()})
    for (const line of snapshots.renderSnapshot(result)) this.log(line)
    return result
  }
}
