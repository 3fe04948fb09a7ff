import {Flags} from '@oclif/core'
import {RepomanCommand} from '../cli/command.js'
import type {ListRow} from '../lib/lifecycle/list.js'

/** What `--json` prints: the contract of this command (schemas/list.json). */
export type ListResult = ListRow[]

export default class List extends RepomanCommand<ListResult> {
  static override summary =
    'List projects: repo, image, live state, created, last sync, backup, changed host-run files.'
  static override description =
    'Also shows drift: a registry entry whose container is gone, and a container in the Incus project that the registry does not know.'
  static override examples = [
    '<%= config.bin %> list',
    '<%= config.bin %> list --json',
    '<%= config.bin %> list --sessions',
  ]
  static override flags = {
    sessions: Flags.boolean({
      description: 'Also show the detached sessions (`exec --detach`) running in each container (slower).',
    }),
  }

  async run(): Promise<ListResult> {
    const {flags} = await this.parse(List)
    const {runList} = await import('../lib/lifecycle/list.js')
    return this.output(await runList(await this.repoman(), {json: this.jsonEnabled(), sessions: flags.sessions}))
  }
}
