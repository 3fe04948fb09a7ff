import {Args} from '@oclif/core'
import {RepomanCommand} from '../lib/command.js'
import {NAME_KINDS, type NameKind} from '../lib/completion.js'

export default class CompletionNames extends RepomanCommand<string[]> {
  static override hidden = true
  static override summary = 'Print project or profile names for shell completion (and refresh their cache).'
  static override args = {kind: Args.string({options: [...NAME_KINDS], required: true})}

  async run(): Promise<string[]> {
    const {args} = await this.parse(CompletionNames)
    const {RegistryStore} = await import('../lib/registry/store.js')
    const {refreshNamesCache} = await import('../lib/completion.js')
    const names = refreshNamesCache(this.paths, await RegistryStore.of(this.paths).read())[args.kind as NameKind]
    if (names.length > 0) this.log(names.join('\n'))
    return names
  }
}
