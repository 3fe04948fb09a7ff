import {RepomanCommand} from '../../cli/command.js'
import {profileNameArg} from '../../cli/flags.js'
import type {ProfileSpec} from '../../lib/incus/types.js'

/** What `--json` prints: the contract of this command (schemas/profile-show.json). */
export type ProfileShowResult = ProfileSpec

export default class ProfileShow extends RepomanCommand<ProfileShowResult> {
  static override summary = 'Print a profile as it would be installed (rendered with this host’s values).'
  static override examples = ['<%= config.bin %> profile show llm-share']
  static override args = {name: profileNameArg}

  async run(): Promise<ProfileShowResult> {
    const {args} = await this.parse(ProfileShow)
    const {showProfile} = await import('../../lib/profiles/manage.js')
    const {spec, yaml} = await showProfile(args.name, await this.repoman())
    this.log(yaml.trimEnd())
    return spec
  }
}
