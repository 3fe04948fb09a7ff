import {Args, Flags} from '@oclif/core'
import {RepomanCommand} from '../cli/command.js'
import {yesFlag} from '../cli/flags.js'
import type {Restored, RestorePointList} from '../lib/backup/restore.js'
import {NeedsTtyError} from '../lib/errors.js'

/** What `--json` prints: the contract of this command (schemas/restore.json). */
export type RestoreResult = Restored | RestorePointList | {cancelled: true}

export default class Restore extends RepomanCommand<RestoreResult> {
  static override changesState = true
  static override summary =
    'Bring a repo (or some paths) back from the backup mirror or a file-server snapshot; what it replaces is kept.'
  static override description =
    `Points in time: the mirror \`sync\` keeps (--from mirror, the default), and the snapshots the file server exposes read-only under the backup root (<backup_root>/.zfs/snapshot/<snap>/ or <backup_root>/.snapshot/<snap>/). --list shows them, newest first.
Before anything in the repo is replaced or deleted, it is moved to <logdir>/restore/<name>/<timestamp>/, so a restore can be undone. A running container is frozen during the restore and thawed after. Nothing is ever written to the backup root.
Refuses, changing nothing, when the backup root is not mounted, or the point is missing or empty. A point older than the newest copy asks for confirmation (--yes without a terminal).`
  static override examples = [
    '<%= config.bin %> restore isurus --list',
    '<%= config.bin %> restore isurus --dry-run',
    '<%= config.bin %> restore isurus --from nightly-2026-11-22 --path src --yes',
  ]
  static override args = {name: Args.string({description: 'Project name.', required: true})}
  static override flags = {
    from: Flags.string({description: 'Point in time: `mirror` (default) or a snapshot name from --list.'}),
    path: Flags.string({
      description: 'Only this repo-relative path (file or directory; repeatable).',
      multiple: true,
    }),
    list: Flags.boolean({
      description: 'List the points in time, newest first.',
      exclusive: ['from', 'path', 'dry-run'],
    }),
    'dry-run': Flags.boolean({description: 'Change nothing; show what would change.'}),
    yes: yesFlag,
    'allow-local': Flags.boolean({
      description: 'Allow a backup root on the same file system as the repos (a local disk is meant).',
    }),
  }

  async run(): Promise<RestoreResult> {
    const {args, flags} = await this.parse(Restore)
    const {registry, incus, paths, log} = await this.repoman()
    const restore = await import('../lib/backup/restore.js')
    const deps = {registry, paths, incus}
    if (flags.list) {
      const list = await restore.listRestorePoints(args.name, deps)
      if (!this.jsonEnabled()) for (const line of await restore.renderRestorePoints(list)) this.log(line)
      return list
    }
    const request = {
      name: args.name,
      from: flags.from,
      paths: (flags.path ?? []).map(restore.normalizeRestorePath),
      dryRun: Boolean(flags['dry-run']),
      allowLocal: Boolean(flags['allow-local']),
    }
    const plan = restore.planRestore(await restore.gatherRestoreFacts(request, deps), request)
    if (plan.olderThanNewest && !plan.dryRun && !flags.yes) {
      if (!this.interactive) throw new NeedsTtyError(`${plan.olderThanNewest}; pass --yes to restore from it anyway`)
      this.log(plan.olderThanNewest)
      const {askConfirm} = await import('../cli/ui.js')
      if (!(await askConfirm(`Restore ${plan.repoPath} from "${plan.point.name}"?`))) {
        this.log('Nothing restored.')
        return {cancelled: true}
      }
    }
    // changesState: the invocation log is always open here.
    const {steps, result} = restore.restoreSteps(plan, {incus, log: log as NonNullable<typeof log>})
    const {showSteps} = await import('../cli/ui.js')
    await showSteps(steps, {json: this.jsonEnabled()})
    if (!this.jsonEnabled()) for (const line of restore.renderRestore(result)) this.log(line)
    return result
  }
}
