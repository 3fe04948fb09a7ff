import {Args} from '@oclif/core'
import {RepomanCommand} from '../../cli/command.js'
import type {SnapshotList} from '../../lib/lifecycle/snapshot.js'

/** What `--json` prints: the contract of this command (schemas/snapshot-list.json). */
export type SnapshotListResult = SnapshotList

export default class SnapshotListCommand extends RepomanCommand<SnapshotListResult> {
  static override summary = "List a project's container snapshots, oldest first (the repo is not in them)."
  static override examples = ['<%= config.bin %> snapshot list isurus', '<%= config.bin %> snapshot list isurus --json']
  static override args = {name: Args.string({description: 'Project name.', required: true})}

  async run(): Promise<SnapshotListResult> {
    const {args} = await this.parse(SnapshotListCommand)
    const {registry, incus} = await this.repoman()
    const {listSnapshots, renderSnapshotList, snapshotTarget} = await import('../../lib/lifecycle/snapshot.js')
    const list = listSnapshots(await snapshotTarget(registry, incus, args.name))
    for (const line of await renderSnapshotList(list)) this.log(line)
    return list
  }
}
