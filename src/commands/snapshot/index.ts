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
    const {createSnapshot, repoNotIncluded, snapshotTarget} = await import('../../lib/lifecycle/snapshot.js')
    const result = await createSnapshot(await snapshotTarget(registry, incus, args.name), incus, flags.name)
    this.log(`Snapshot "${result.snapshot}" of container "${result.name}" made.`)
    this.log(repoNotIncluded(result.name, result.repo))
    return result
  }
}
