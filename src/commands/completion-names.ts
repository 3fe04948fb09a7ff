import {Args} from '@oclif/core'
import {RepomanCommand} from '../cli/command.js'
import {NAME_KINDS, type NameKind} from '../lib/completion.js'

/** What `--json` prints: the contract of this command (schemas/completion-names.json). */
export type CompletionNamesResult = string[]

export default class CompletionNames extends RepomanCommand<CompletionNamesResult> {
  static override hidden = true
  static override summary = 'Print project or profile names for shell completion (and refresh their cache).'
  static override args = {kind: Args.string({options: [...NAME_KINDS], required: true})}

  async run(): Promise<CompletionNamesResult> {
    const {args} = await this.parse(CompletionNames)
    const {RegistryStore} = await import('../lib/registry/store.js')
    const {refreshNamesCache} = await import('../lib/completion.js')
    const names = refreshNamesCache(this.paths, await RegistryStore.of(this.paths).read())[args.kind as NameKind]
    if (names.length > 0) this.log(names.join('\n'))
    return names
  }
}
