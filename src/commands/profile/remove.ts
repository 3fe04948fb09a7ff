import {RepomanCommand} from '../../cli/command.js'
import {profileNameArg} from '../../cli/flags.js'

/** What `--json` prints: the contract of this command (schemas/profile-remove.json). */
export type ProfileRemoveResult = {name: string; removed: true}

export default class ProfileRemove extends RepomanCommand<ProfileRemoveResult> {
  static override changesState = true
  static override summary = 'Delete a profile from the Incus project (refused while containers use it).'
  static override examples = ['<%= config.bin %> profile remove codex-share']
  static override args = {name: profileNameArg}

  async run(): Promise<ProfileRemoveResult> {
    const {args} = await this.parse(ProfileRemove)
    const {removeProfile} = await import('../../lib/profiles/manage.js')
    const result = await removeProfile(args.name, await this.repoman())
    this.log(`Removed profile "${result.name}" from Incus.`)
    return result
  }
}
