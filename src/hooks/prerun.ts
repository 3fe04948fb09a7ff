import type {Hook} from '@oclif/core'

/**
 * Validates the registry before any command that needs it, so a broken or missing file stops
 * with one clear line instead of failing half-way through. Commands opt in through
 * `static requiresRegistry` (plugin and help commands never do).
 */
const hook: Hook<'prerun'> = async function ({Command}) {
  if ((Command as {requiresRegistry?: boolean}).requiresRegistry !== true) return
  const [{RegistryStore}, {resolvePaths}, {oneLine, RepomanError}] = await Promise.all([
    import('../lib/registry/store.js'),
    import('../lib/paths.js'),
    import('../lib/errors.js'),
  ])
  try {
    await new RegistryStore(resolvePaths().registryFile).read()
  } catch (error) {
    process.stderr.write(`Error: ${oneLine(error)}\n`)
    this.exit(error instanceof RepomanError ? error.exitCode : 1)
  }
}

export default hook
