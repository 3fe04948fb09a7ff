import {Args, Flags} from '@oclif/core'
import {RepomanCommand} from '../cli/command.js'
import type {CloneUpdate} from '../lib/lifecycle/clone.js'

/** What `--json` prints: the contract of this command (schemas/update.json). */
export type UpdateResult = CloneUpdate

export default class Update extends RepomanCommand<UpdateResult> {
  static override summary = "Bring your branch's newer commits into a --clone project's checkout."
  static override description =
    "The agent's branch is rebased onto the host branch its checkout was made from (or, with --merge, merges it), inside the container, with uncommitted work stashed around it. On a conflict nothing changes, and the line printed says how to resolve it inside."
  static override examples = ['<%= config.bin %> update isurus-a', '<%= config.bin %> update isurus-a --merge']
  static override args = {name: Args.string({description: 'Project name.', required: true})}
  static override flags = {merge: Flags.boolean({description: 'Merge instead of rebasing.'})}

  async run(): Promise<UpdateResult> {
    const {args, flags} = await this.parse(Update)
    const {renderCloneUpdate, updateClone} = await import('../lib/lifecycle/clone.js')
    const update = await updateClone(await this.repoman(), args.name, {merge: flags.merge})
    this.log(renderCloneUpdate(update))
    return update
  }
}
