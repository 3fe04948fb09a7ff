import {Args, Flags} from '@oclif/core'
import {RepomanCommand} from '../cli/command.js'
import {DEFAULT_SYNC_JOBS, type SyncResult} from '../lib/backup/sync.js'

/** What `--json` prints: the contract of this command (schemas/sync.json). */
export type {SyncResult} from '../lib/backup/sync.js'

export default class Sync extends RepomanCommand<SyncResult> {
  static override summary = 'Mirror repos to the backup root with rsync (every project with backup on, or one).'
  static override description =
    `Refuses, changing nothing, when the backup root is not its own mounted file system (an unmounted NFS share), when a repo is missing or empty, or when a target would leave the backup root.
One project failing does not stop the others; the exit code is 1 if any failed. last_sync is recorded only after a project's rsync succeeded.`
  static override examples = [
    '<%= config.bin %> sync',
    '<%= config.bin %> sync isurus --dry-run',
    '<%= config.bin %> sync --jobs 2 --no-delete',
  ]
  static override args = {name: Args.string({description: 'Only this project.'})}
  static override flags = {
    'dry-run': Flags.boolean({description: 'Change nothing; show what would change.'}),
    'no-delete': Flags.boolean({description: 'Keep files in the backup that are gone from the repo.'}),
    jobs: Flags.integer({description: 'Projects synced at once.', default: DEFAULT_SYNC_JOBS, min: 1}),
    'allow-local': Flags.boolean({
      description: 'Allow a backup root on the same file system as the repos (a local disk is meant).',
    }),
  }

  async run(): Promise<SyncResult> {
    const {args, flags} = await this.parse(Sync)
    const {registry, store, paths} = await this.repoman()
    const {planSync, renderSync, syncDeps, syncSteps} = await import('../lib/backup/sync.js')
    const plan = await planSync(
      {
        name: args.name,
        dryRun: flags['dry-run'],
        delete: !flags['no-delete'],
        jobs: flags.jobs,
        allowLocal: flags['allow-local'],
      },
      {registry, stateDir: paths.stateDir},
    )
    const echo = flags.verbose ? (line: string) => this.logToStderr(line) : undefined
    const {steps, result} = syncSteps(plan, syncDeps(registry, store, paths, echo))
    const {showSteps} = await import('../cli/ui.js')
    await showSteps(steps, {json: this.jsonEnabled()})
    for (const p of result.projects.filter((r) => !r.ok)) this.logToStderr(`${p.name}: ${p.error}`)
    for (const p of result.projects)
      for (const file of p.special_files) this.logToStderr(`${p.name}: flagged ${file.path}: ${file.detail}`)
    for (const line of renderSync(result)) this.log(line)
    if (result.failed > 0) process.exitCode = 1
    return result
  }
}
