import {Args, Flags} from '@oclif/core'
import {RepomanCommand} from '../cli/command.js'
import {allowSensitiveFlag, nonInteractiveFlag} from '../cli/flags.js'
import type {NewRequest, NewResult} from '../lib/lifecycle/create.js'

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
    '<%= config.bin %> new isurus-a --repo isurus --clone',
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
    clone: Flags.boolean({
      description:
        'Give the container a checkout of its own (in repoman\'s state dir) instead of your working tree; its commits come back as refs/remotes/repoman/<name>/<branch>. Several projects can share a repo so. --no-clone overrides `tree = "clone"` in the config.',
      allowNo: true,
    }),
    branch: Flags.string({description: 'In clone mode: the branch the agent works on (default: repoman/<name>).'}),
  }

  async run(): Promise<NewResult> {
    const {args, flags} = await this.parse(New)
    const {runNew} = await import('../cli/run-new.js')
    const request: NewRequest = {
      name: args.name,
      repo: flags.repo,
      image: flags.image,
      profiles: flags.profile,
      noDefaultProfiles: flags['no-default-profiles'],
      sudo: flags['no-sudo'] ? false : undefined,
      allowSensitive: flags['allow-sensitive'],
      clone: flags.clone,
      branch: flags.branch,
    }
    const io = {ask: this.interactive && !flags['non-interactive'], json: this.jsonEnabled()}
    return this.output(await runNew(await this.repoman(), request, io))
  }
}
