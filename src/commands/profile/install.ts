import {Args, Flags} from '@oclif/core'
import {RepomanCommand} from '../../cli/command.js'
import {allowSensitiveFlag} from '../../cli/flags.js'
import {UsageError} from '../../lib/errors.js'
import type {InstallOutcome} from '../../lib/profiles/install.js'

/** What `--json` prints: the contract of this command (schemas/profile-install.json). */
export type ProfileInstallResult = InstallOutcome[]

export default class ProfileInstall extends RepomanCommand<ProfileInstallResult> {
  static override changesState = true
  static override summary = 'Render profiles from the library and create or update them in the Incus project.'
  static override description =
    'Running containers pick the change up. A profile that mounts a path missing on this host, or exposes credentials, is refused; with --all, profiles for agents this host does not have are skipped.'
  static override examples = [
    '<%= config.bin %> profile install claude-share',
    '<%= config.bin %> profile install --all',
  ]
  static override strict = false
  static override args = {name: Args.string({description: 'Profile name(s).'})}
  static override flags = {
    all: Flags.boolean({description: 'Install every profile in the library.'}),
    'allow-sensitive': allowSensitiveFlag,
  }

  async run(): Promise<ProfileInstallResult> {
    const {argv, flags} = await this.parse(ProfileInstall)
    const context = await this.repoman()
    const [{planProfileInstall, profileInstallSteps, renderProfileInstall}, {listTemplates}, {showSteps}] =
      await Promise.all([
        import('../../lib/profiles/install.js'),
        import('../../lib/profiles/library.js'),
        import('../../cli/ui.js'),
      ])
    const names = flags.all ? listTemplates(context.paths.userProfilesDir).map((t) => t.name) : (argv as string[])
    if (names.length === 0)
      throw new UsageError('name the profiles to install, or pass --all', {hint: 'repoman profile list'})
    const plan = await planProfileInstall(names, context, {
      allowSensitive: flags['allow-sensitive'],
      skipMissing: flags.all,
    })
    const {steps, result} = profileInstallSteps(plan, context.incus)
    await showSteps(steps, {json: this.jsonEnabled()})
    for (const line of renderProfileInstall(result)) this.log(line)
    return result
  }
}
