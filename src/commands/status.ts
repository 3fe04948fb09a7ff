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
    const {formatAge, gatherStatus} = await import('../lib/lifecycle/status.js')
    const report = await gatherStatus(registry, incus, args.name)
    const b = report.backup_root
    this.log(`backup root ${b.root}: ${b.problem ?? `ok (${b.fsType} at ${b.mountPoint})`}`)
    for (const p of report.projects) {
      const sync = p.backup === false ? 'backup off' : `last sync ${formatAge(p.last_sync_age_seconds)}`
      const mounts = `${p.mounts.length} mount(s), ${p.protected_paths.length} protected, ${p.idmap}, network ${p.network}`
      const problems = p.problems.length > 0 ? `: ${p.problems.join('; ')}` : ''
      this.log(`${p.healthy ? 'ok     ' : 'PROBLEM'} ${p.name}: ${p.state}, ${mounts}, ${sync}${problems}`)
      // The exposure report: what this container can reach on the host.
      if (flags.verbose || !p.healthy || p.exposures.length > 0) {
        for (const m of p.mounts)
          this.log(
            `          ${m.readonly ? 'ro' : 'rw'} ${m.source} -> ${m.path}${m.source_exists ? '' : ' (missing)'}`,
          )
        for (const e of p.exposures) this.log(`          exposes ${e.path}: ${e.why} (${e.where})`)
      }
    }
    if (report.projects.length === 0) this.log('No projects yet.')
    if (!report.healthy) process.exitCode = 1
    return report
  }
}
