import type {Hook} from '@oclif/core'

/**
 * Validates the registry before any command that needs it, so a broken or missing file stops
 * with one clear line instead of failing half-way through. Commands opt in through
 * `static requiresRegistry` (plugin and help commands never do).
 */
const hook: Hook<'prerun'> = async function ({argv, Command}) {
  if ((Command as {requiresRegistry?: boolean}).requiresRegistry !== true) return
  const [{RegistryStore}, {resolvePaths}, {errorOutput}] = await Promise.all([
    import('../lib/registry/store.js'),
    import('../lib/paths.js'),
    import('../lib/errors.js'),
  ])
  try {
    await RegistryStore.of(resolvePaths()).read()
  } catch (error) {
    // Under --json the error is a JSON document on stdout, as every command's own errors are.
    const output = errorOutput(error, Boolean(Command.enableJsonFlag && argv.includes('--json')))
    process[output.stream].write(output.text)
    this.exit(output.exitCode)
  }
}

export default hook
