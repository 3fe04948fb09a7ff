import {RepomanCommand} from '../../cli/command.js'
import {profileNameArg} from '../../cli/flags.js'
import type {ProfileDiff} from '../../lib/profiles/manage.js'

/** What `--json` prints: the contract of this command (schemas/profile-diff.json). */
export type ProfileDiffResult = ProfileDiff

export default class ProfileDiffCommand extends RepomanCommand<ProfileDiffResult> {
  static override summary = 'Show a unified diff between the rendered template and what Incus holds.'
  static override description = 'Compares description, config and devices. Exits 0 when in step, 1 when they differ.'
  static override examples = ['<%= config.bin %> profile diff claude-share']
  static override args = {name: profileNameArg}

  async run(): Promise<ProfileDiffResult> {
    const {args} = await this.parse(ProfileDiffCommand)
    const {diffProfile} = await import('../../lib/profiles/manage.js')
    const result = await diffProfile(args.name, await this.repoman())
    this.log(result.in_step ? `${args.name}: in step` : result.diff.trimEnd())
    if (!result.in_step) process.exitCode = 1
    return result
  }
}
