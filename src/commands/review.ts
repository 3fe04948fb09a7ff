import {Args} from '@oclif/core'
import {RepomanCommand} from '../cli/command.js'
import type {ReviewResult} from '../lib/integrity/review.js'

/** What `--json` prints: the contract of this command (schemas/review.json). */
export type {ReviewResult} from '../lib/integrity/review.js'

export default class Review extends RepomanCommand<ReviewResult> {
  static override summary =
    'Show what changed in the repo files your host runs (.envrc, hooks, .git, ...) since you accepted them.'
  static override description =
    'A unified diff for small text files, a one-line description for the rest; also the setuid/setgid files, device nodes, FIFOs and sockets anywhere in the repo. Exits 1 when anything is shown.'
  static override examples = ['<%= config.bin %> review isurus', '<%= config.bin %> review isurus --json']
  static override args = {name: Args.string({description: 'Project name.', required: true})}

  async run(): Promise<ReviewResult> {
    const {args} = await this.parse(Review)
    const {registry, paths} = await this.repoman()
    const {renderReview, reviewProject} = await import('../lib/integrity/review.js')
    const result = await reviewProject(registry, paths, args.name)
    if (!this.jsonEnabled()) for (const line of renderReview(result)) this.log(line)
    if (result.problem || result.changes.length > 0 || result.special_files.length > 0) process.exitCode = 1
    return result
  }
}
