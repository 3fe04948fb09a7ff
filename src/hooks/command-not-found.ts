import type {Hook} from '@oclif/core'

/**
 * A mistyped command ends like every other usage error: one `Error:` line (naming the likely
 * command) on stderr, or the error document under --json, and exit 2. Never a prompt: a
 * script's typo must not run another command.
 */
const hook: Hook<'command_not_found'> = async function ({id, argv, config}) {
  const [{errorOutput}, {unknownCommand}] = await Promise.all([import('../lib/errors.js'), import('../lib/suggest.js')])
  const typed = (id: string) => id.replaceAll(':', ' ')
  const commands = config.commands.filter((c) => !c.hidden).map((c) => typed(c.id))
  const output = errorOutput(unknownCommand(typed(id), commands, config.bin), Boolean(argv?.includes('--json')))
  process[output.stream].write(output.text)
  this.exit(output.exitCode)
}

export default hook
