import {Args} from '@oclif/core'
import {RepomanCommand} from '../cli/command.js'
import type {AcceptResult} from '../lib/integrity/review.js'

/** What `--json` prints: the contract of this command (schemas/accept.json). */
export type {AcceptResult} from '../lib/integrity/review.js'

export default class Accept extends RepomanCommand<AcceptResult> {
  static override changesState = true
  static override strict = false
  static override summary = 'Accept the changes `repoman review` shows: all of them, or only the paths named.'
  static override description =
    'The accepted state becomes the baseline later sessions, `status` and `list` compare against. A path accepts the paths below it too (`.git/hooks`).'
  static override examples = ['<%= config.bin %> accept isurus', '<%= config.bin %> accept isurus .envrc .git/hooks']
  static override args = {
    name: Args.string({description: 'Project name.', required: true}),
    path: Args.string({description: 'Repo-relative paths to accept (default: every change).'}),
  }

  async run(): Promise<AcceptResult> {
    const {args, argv} = await this.parse(Accept)
    const {registry, paths} = await this.repoman()
    const {acceptProject, renderAccept} = await import('../lib/integrity/review.js')
    const result = await acceptProject(registry, paths, args.name, (argv as string[]).slice(1))
    if (!this.jsonEnabled()) for (const line of renderAccept(result)) this.log(line)
    return result
  }
}
