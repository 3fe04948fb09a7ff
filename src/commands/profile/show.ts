import {RepomanCommand} from '../../lib/command.js'
import {profileNameArg} from '../../lib/flags.js'
import type {ProfileSpec} from '../../lib/incus/types.js'

export default class ProfileShow extends RepomanCommand<ProfileSpec> {
  static override summary = 'Print a profile as it would be installed (rendered with this host’s values).'
  static override examples = ['<%= config.bin %> profile show llm-share']
  static override args = {name: profileNameArg}

  async run(): Promise<ProfileSpec> {
    const {args} = await this.parse(ProfileShow)
    const {showProfile} = await import('../../lib/profiles/manage.js')
    const {spec, yaml} = await showProfile(args.name, await this.repoman())
    this.log(yaml.trimEnd())
    return spec
  }
}
