import {Flags} from '@oclif/core'
import {RepomanCommand} from '../cli/command.js'
import {parseList} from '../lib/names.js'
import type {SetupResult} from '../lib/setup.js'

/** What `--json` prints: the contract of this command (schemas/setup.json). */
export type {SetupResult} from '../lib/setup.js'

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
    'non-interactive': Flags.boolean({
      aliases: ['yes'],
      char: 'y',
      description: 'Never prompt; unset values take their defaults.',
    }),
    'repos-root': Flags.string({description: 'Directory holding your repos (default ~/repos).'}),
    'backup-root': Flags.string({description: 'Backup mirror root, usually an NFS mount (default /nfs/repos).'}),
    image: Flags.string({description: 'Default image for new containers (default images:ubuntu/26.04/cloud).'}),
    profiles: Flags.string({description: 'Default profiles for new containers, comma-separated (default "default").'}),
    'incus-project': Flags.string({description: 'Incus project that holds repoman containers (default repoman).'}),
    'storage-pool': Flags.string({
      description: 'Storage pool for the root disk (default: the only pool, else "default").',
    }),
    network: Flags.string({description: 'Managed network for the NIC (default: the only managed network, else none).'}),
    'lan-ip': Flags.string({
      description: "This host's LAN address for profiles (default: detected from the route table).",
    }),
  }

  async run(): Promise<SetupResult> {
    const {flags} = await this.parse(Setup)
    const {runSetup} = await import('../lib/setup.js')
    const result = await runSetup({
      request: {
        reposRoot: flags['repos-root'],
        backupRoot: flags['backup-root'],
        image: flags.image,
        profiles: flags.profiles === undefined ? undefined : parseList(flags.profiles),
        incusProject: flags['incus-project'],
        storagePool: flags['storage-pool'],
        network: flags.network,
        lanIp: flags['lan-ip'],
      },
      paths: this.paths,
      interactive: this.interactive && !flags['non-interactive'],
      nonInteractive: flags['non-interactive'],
      json: this.jsonEnabled(),
      verbose: flags.verbose ? (line) => this.logToStderr(line) : undefined,
    })
    for (const warning of result.warnings) this.warn(warning)
    for (const note of result.notes) this.log(`Note: ${note}`)
    if (result.changes.length === 0) this.log('Nothing to change: repoman is already set up.')
    else this.log(`Set up: ${result.changes.length} change(s). Next: repoman new <name>`)
    return result
  }
}
