import {Args, Flags} from '@oclif/core'
import {RepomanCommand} from '../cli/command.js'
import {allowSensitiveFlag, nonInteractiveFlag} from '../cli/flags.js'
import type {NewRequest, NewResult} from '../lib/lifecycle/create.js'
import {parseList} from '../lib/names.js'

/** What `--json` prints: the contract of this command (schemas/new.json). */
export type {NewResult} from '../lib/lifecycle/create.js'

export default class New extends RepomanCommand<NewResult> {
  static override changesState = true
  static override summary = "Create a project's container, with its repo mounted at the same path inside."
  static override description =
    `The repo is <repos_root>/<name> (or --repo DIR) and must exist. Image and profiles come from the flags, then repos.d/<name>.toml, then the registry defaults.
The container is created, given your account and repoman's files before its first boot, then started (docs/new.md); if anything fails, it is deleted again and the registry is left as it was.
Inside, you exist: your user name, uid and group, your home path, bash as login shell where the image has it, and passwordless sudo (unless --no-sudo).`
  static override examples = [
    '<%= config.bin %> new isurus',
    '<%= config.bin %> new isurus --repo isurus-project --image images:debian/13/cloud --profile claude-share',
    '<%= config.bin %> new scratch --no-sudo --no-default-profiles --profile claude-share',
  ]

  static override args = {name: Args.string({description: 'Project (and container) name.', required: true})}
  static override flags = {
    repo: Flags.string({description: 'Repo directory name under repos_root (default: the project name).'}),
    image: Flags.string({description: 'Image to create the container from (default: [defaults].default_image).'}),
    profile: Flags.string({
      description:
        "Incus profile to add (repeatable): added to [defaults].profiles (or repos.d/<name>.toml's), duplicates dropped, order kept.",
      multiple: true,
    }),
    'no-default-profiles': Flags.boolean({
      description:
        'Apply exactly the --profile profiles, without [defaults].profiles (a root disk is added if none has one).',
    }),
    'no-sudo': Flags.boolean({
      description: 'No passwordless sudo for you inside (default: on, unless [defaults] sudo = false).',
    }),
    'non-interactive': Flags.boolean({
      ...nonInteractiveFlag,
      description: `${nonInteractiveFlag.description} --yes (-y) is its old name, still accepted.`,
      aliases: ['yes'],
      char: 'y',
      deprecateAliases: true,
    }),
    'allow-sensitive': allowSensitiveFlag,
  }

  async run(): Promise<NewResult> {
    const {args, flags} = await this.parse(New)
    const {createSteps, openChoices, planCreate, renderCreate} = await import('../lib/lifecycle/create.js')
    const context = await this.repoman()
    let request: NewRequest = {
      name: args.name,
      repo: flags.repo,
      image: flags.image,
      profiles: flags.profile,
      noDefaultProfiles: flags['no-default-profiles'],
      sudo: flags['no-sudo'] ? false : undefined,
      allowSensitive: flags['allow-sensitive'],
    }
    if (this.interactive && !flags['non-interactive']) {
      const open = await openChoices(request, context)
      const {askText} = await import('../cli/ui.js')
      if (open.image !== undefined) request = {...request, image: await askText('Image?', open.image)}
      // The answer is the whole list: a default left out is left out.
      if (open.profiles !== undefined)
        request = {
          ...request,
          profiles: parseList(await askText('Profiles (comma-separated)?', open.profiles.join(','))),
          noDefaultProfiles: true,
        }
    }
    const plan = await planCreate(request, context)
    const {steps, result} = createSteps(plan, context)
    const {showSteps} = await import('../cli/ui.js')
    await showSteps(steps, {json: this.jsonEnabled()})
    for (const warning of result.warnings) this.warn(warning)
    for (const line of renderCreate(result)) this.log(line)
    return result
  }
}
