import type {Hook} from '@oclif/core'

/**
 * Keeps shell completion current: after a command that read the registry, refresh the name
 * cache; after `autocomplete` generated its scripts, add project and profile names to bash's.
 */
const hook: Hook<'postrun'> = async function ({Command}) {
  try {
    if (Command.id.startsWith('autocomplete')) {
      const {extendBashCompletion} = await import('../lib/completion.js')
      await extendBashCompletion(this.config.cacheDir, this.config.bin)
      return
    }
    if ((Command as {requiresRegistry?: boolean}).requiresRegistry !== true) return
    const [{RegistryStore}, {resolvePaths}, {refreshAfterCommand}] = await Promise.all([
      import('../lib/registry/store.js'),
      import('../lib/paths.js'),
      import('../lib/completion.js'),
    ])
    const paths = resolvePaths()
    refreshAfterCommand(paths, await RegistryStore.of(paths).read())
  } catch {
    // Completion is a convenience: never fail a command over it.
  }
}

export default hook
