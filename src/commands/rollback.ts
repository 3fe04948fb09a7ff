import {Args} from '@oclif/core'
import {RepomanCommand} from '../cli/command.js'
import {yesFlag} from '../cli/flags.js'
import {NeedsTtyError} from '../lib/errors.js'
import type {RolledBack} from '../lib/lifecycle/snapshot.js'

/** What `--json` prints: the contract of this command (schemas/rollback.json). */
export type RollbackResult = RolledBack | {cancelled: true}

export default class Rollback extends RepomanCommand<RollbackResult> {
  static override changesState = true
  static override summary = "Return a project's container to a snapshot; the repo is NOT rolled back (see `restore`)."
  static override description =
    'Changes to the container root file system since the snapshot are lost. A running container is stopped for this and started again (Incus does both). The repo is a host mount and is not in the snapshot: `repoman restore` brings it back from the backup.'
  static override examples = ['<%= config.bin %> rollback isurus before-upgrade']
  static override args = {
    name: Args.string({description: 'Project name.', required: true}),
    snapshot: Args.string({description: 'Snapshot name (see `repoman snapshot list NAME`).', required: true}),
  }
  static override flags = {yes: yesFlag}

  async run(): Promise<RollbackResult> {
    const {args, flags} = await this.parse(Rollback)
    const {registry, incus} = await this.repoman()
    const snapshots = await import('../lib/lifecycle/snapshot.js')
    const target = await snapshots.snapshotTarget(registry, incus, args.name)
    const plan = snapshots.planRollback(target, args.snapshot)
    if (!flags.yes) {
      if (!this.interactive)
        throw new NeedsTtyError(
          `rollback asks for confirmation; pass --yes to roll "${args.name}" back to "${args.snapshot}"`,
          {hint: `repoman rollback ${args.name} ${args.snapshot} --yes`},
        )
      this.log(snapshots.describeRollback(target, args.snapshot).join('\n'))
      const {askConfirm} = await import('../cli/ui.js')
      if (!(await askConfirm(`Roll "${args.name}" back to "${args.snapshot}"?`))) {
        this.log('Nothing changed.')
        return {cancelled: true}
      }
    }
    const {steps, result} = snapshots.rollbackSteps(target, plan, incus)
    const {showSteps} = await import('../cli/ui.js')
    await showSteps(steps, {json: this.jsonEnabled()})
    for (const line of snapshots.renderRollback(result)) this.log(line)
    return result
  }
}
