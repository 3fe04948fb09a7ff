import {Flags} from '@oclif/core'
import {RepomanCommand} from '../cli/command.js'
import {nonInteractiveFlag} from '../cli/flags.js'
import {parseList} from '../lib/names.js'
import type {AskedValue, SetupResult} from '../lib/setup/setup.js'

/** What `--json` prints: the contract of this command (schemas/setup.json). */
export type {SetupResult} from '../lib/setup/setup.js'

const QUESTIONS: Record<AskedValue, {message: string; flag: string}> = {
  reposRoot: {message: 'Where do your repos live?', flag: '--repos-root'},
  backupRoot: {message: 'Backup root (an NFS mount) for `repoman sync`?', flag: '--backup-root'},
  image: {message: 'Default image for new containers?', flag: '--image'},
  profiles: {message: 'Default profiles for new containers (comma-separated)?', flag: '--profiles'},
}

export default class Setup extends RepomanCommand<SetupResult> {
  static override summary = 'Prepare this host: the Incus project, its default profile, and the registry.'
  static override description =
    `Idempotent: a second run changes nothing and says so; a run with other flags updates just those values.
On a terminal, values that are neither given nor recorded are asked for; without one, pass --non-interactive to take the defaults.`
  static override examples = [
    '<%= config.bin %> setup',
    '<%= config.bin %> setup --non-interactive --repos-root ~/repos --backup-root /nfs/repos --image images:debian/13/cloud',
  ]
  static override requiresRegistry = false

  static override flags = {
    // --yes / -y meant this before --yes meant only "confirm": kept, deprecated, so scripts keep working.
    'non-interactive': Flags.boolean({...nonInteractiveFlag, aliases: ['yes'], char: 'y', deprecateAliases: true}),
    'repos-root': Flags.string({description: 'Directory holding your repos (default ~/repos).'}),
    'backup-root': Flags.string({description: 'Backup mirror root, usually an NFS mount (default /nfs/repos).'}),
    image: Flags.string({description: 'Default image for new containers (default images:ubuntu/26.04/cloud).'}),
    profiles: Flags.string({description: 'Default profiles for new containers, comma-separated (default "default").'}),
    'incus-project': Flags.string({description: 'Incus project that holds repoman containers (default repoman).'}),
    'storage-pool': Flags.string({
      description: 'Storage pool for the root disk (default: the only pool, else "default").',
    }),
    network: Flags.string({
      description:
        'Managed network for the NIC (default: the only managed network; with none at all, setup creates a bridge).',
    }),
    'lan-ip': Flags.string({
      description: "This host's LAN address for profiles (default: detected from the route table).",
    }),
  }

  async run(): Promise<SetupResult> {
    const {flags} = await this.parse(Setup)
    const {BUILTIN_DEFAULTS, currentRegistry, missingValues, planSetup, renderSetup, setupDeps, setupSteps} =
      await import('../lib/setup/setup.js')
    const request = {
      reposRoot: flags['repos-root'],
      backupRoot: flags['backup-root'],
      image: flags.image,
      profiles: flags.profiles === undefined ? undefined : parseList(flags.profiles),
      incusProject: flags['incus-project'],
      storagePool: flags['storage-pool'],
      network: flags.network,
      lanIp: flags['lan-ip'],
    }
    const deps = setupDeps(this.paths, flags.verbose ? (line) => this.logToStderr(line) : undefined)

    const missing = missingValues(request, await currentRegistry(deps.store))
    const answers: Partial<Record<AskedValue, string | string[]>> = {}
    if (missing.length > 0 && !flags['non-interactive']) {
      if (!this.interactive) {
        const {NeedsTtyError} = await import('../lib/errors.js')
        throw new NeedsTtyError(
          `setup needs ${missing.map((key) => QUESTIONS[key].flag).join(', ')} or a terminal to ask on; pass them, or --non-interactive to take the defaults`,
          {hint: 'repoman setup --non-interactive'},
        )
      }
      const {askText} = await import('../cli/ui.js')
      for (const key of missing) {
        const initial = BUILTIN_DEFAULTS[key]
        const answer = await askText(QUESTIONS[key].message, Array.isArray(initial) ? initial.join(',') : initial)
        answers[key] = key === 'profiles' ? parseList(answer) : answer
      }
    }

    const plan = await planSetup(request, answers, deps)
    const {steps, result} = setupSteps(plan, deps)
    const {showSteps} = await import('../cli/ui.js')
    await showSteps(steps, {json: this.jsonEnabled()})
    for (const warning of result.warnings) this.warn(warning)
    for (const line of renderSetup(result)) this.log(line)
    return result
  }
}
