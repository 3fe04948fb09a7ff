import {Args, Flags} from '@oclif/core'
import {RepomanCommand} from '../cli/command.js'
import type {CloneDiff} from '../lib/lifecycle/clone.js'

/** What `--json` prints: the contract of this command (schemas/diff.json). */
export type DiffResult = CloneDiff

export default class Diff extends RepomanCommand<DiffResult> {
  static override summary =
    "What a --clone project's agent changed: its commits and its uncommitted work, against where it started."
  static override description =
    'Its commits come back into your repo as refs/remotes/repoman/<name>/<branch> (git log, git merge, git cherry-pick take them from there); the uncommitted part is read from inside the container.'
  static override examples = ['<%= config.bin %> diff isurus-a', '<%= config.bin %> diff isurus-a --stat']
  static override args = {name: Args.string({description: 'Project name.', required: true})}
  static override flags = {stat: Flags.boolean({description: 'Files and line counts only.'})}

  async run(): Promise<DiffResult> {
    const {args, flags} = await this.parse(Diff)
    const {cloneDiff, renderCloneDiff} = await import('../lib/lifecycle/clone.js')
    const diff = await cloneDiff(await this.repoman(), args.name, {stat: flags.stat})
    if (!this.jsonEnabled())
      this.log(renderCloneDiff(diff, {stat: flags.stat, colour: process.stdout.isTTY === true}).join('\n'))
    return diff
  }
}
