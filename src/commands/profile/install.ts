import {Args, Flags} from '@oclif/core'
import {RepomanCommand} from '../../cli/command.js'
import {allowSensitiveFlag} from '../../cli/flags.js'
import {UsageError} from '../../lib/errors.js'
import type {InstallOutcome} from '../../lib/profiles/manage.js'

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
    const [{installProfiles}, {listTemplates}] = await Promise.all([
      import('../../lib/profiles/manage.js'),
      import('../../lib/profiles/library.js'),
    ])
    const names = flags.all ? listTemplates(context.paths.userProfilesDir).map((t) => t.name) : (argv as string[])
    if (names.length === 0) throw new UsageError('name the profiles to install, or pass --all')
    const outcomes = await installProfiles(names, context, {
      allowSensitive: flags['allow-sensitive'],
      skipMissing: flags.all,
    })
    for (const o of outcomes)
      this.log(
        `${o.name}: ${o.action} (${o.origin})${o.reason ? `: ${o.reason}` : ''}${o.program ? `; ${o.program.command}: ${o.program.state}` : ''}`,
      )
    return outcomes
  }
}
