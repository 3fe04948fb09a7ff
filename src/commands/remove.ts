import {Args, Flags} from '@oclif/core'
import {RepomanCommand} from '../cli/command.js'
import {yesFlag} from '../cli/flags.js'
import {NeedsTtyError, UnsavedWorkError} from '../lib/errors.js'
import type {Removed} from '../lib/lifecycle/remove.js'

/** What `--json` prints: the contract of this command (schemas/remove.json). */
export type RemoveResult = Removed | {cancelled: true}

export default class Remove extends RepomanCommand<RemoveResult> {
  static override changesState = true
  static override summary = "Delete a project's container and forget it; the repo and its backup are never touched."
  static override examples = ['<%= config.bin %> remove isurus', '<%= config.bin %> remove isurus --yes --keep-incus']
  static override args = {name: Args.string({description: 'Project name.', required: true})}
  static override flags = {
    yes: yesFlag,
    'keep-incus': Flags.boolean({description: 'Only forget the registry entry; keep the container.'}),
  }

  async run(): Promise<RemoveResult> {
    const {args, flags} = await this.parse(Remove)
    const context = await this.repoman()
    const {describeRemoval, planRemoval, removalSteps, renderRemoval, unsavedWork} = await import(
      '../lib/lifecycle/remove.js'
    )
    const plan = await planRemoval(
      args.name,
      flags['keep-incus'],
      context.registry,
      context.incus,
      context.paths.stateDir,
    )
    if (!flags.yes) {
      const unsaved = unsavedWork(plan)
      if (unsaved && !this.interactive)
        throw new UnsavedWorkError(
          `${unsaved}; commit it inside (\`repoman exec ${args.name} -- git commit -am wip\`), or pass --yes to lose it`,
        )
      if (!this.interactive)
        throw new NeedsTtyError(`remove asks for confirmation; pass --yes to remove "${args.name}" without a terminal`)
      this.log(describeRemoval(plan).join('\n'))
      const {askConfirm} = await import('../cli/ui.js')
      if (!(await askConfirm(`Remove "${args.name}"?`))) {
        this.log('Nothing removed.')
        return {cancelled: true}
      }
    }
    const {steps, result} = removalSteps(plan, context)
    const {showSteps} = await import('../cli/ui.js')
    await showSteps(steps, {json: this.jsonEnabled()})
    for (const line of renderRemoval(result)) this.log(line)
    return result
  }
}
