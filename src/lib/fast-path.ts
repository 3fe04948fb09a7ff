/**
 * The second entry path, for the commands typed dozens of times a day: `list`, `status`, `exec`,
 * `shell` and `agent run` (what agent launchers run) in their everyday shapes, run without
 * loading oclif (whose import alone costs more than the daemon's answer; bundling it was
 * measured slower still). It is an adapter and nothing more: it decides at parse time, from
 * the arguments alone, whether it takes a command (only argument lists it fully understands:
 * no help, --verbose, unknown flags, or `--json` on a terminal, which oclif colours), and then
 * calls the same src/lib function the oclif command calls and prints its output, errors
 * included, so nothing ever runs twice.
 */
import {openRepoman, type RepomanContext} from './context.js'
import {errorOutput} from './errors.js'
import {LOGIN_SHELL, prepareLaunch, prepareSession, splitExecArgv} from './lifecycle/session.js'
import {resolvePaths} from './paths.js'

export type FastRequest =
  | {command: 'list'; json: boolean}
  | {command: 'status'; json: boolean; name?: string}
  | {command: 'exec' | 'shell'; name?: string; run: string[]; cwd?: string; env: string[]}
  | {command: 'agent run'; agent: string; args: string[]}

/** What the fast path would do with `argv`, or undefined when it is oclif's to run. */
export function parseFastRequest(argv: string[], stdoutIsTerminal: boolean): FastRequest | undefined {
  const [command, ...rest] = argv
  // `agent run NAME -- ARGS`, exactly as a launcher writes it.
  if (command === 'agent' && rest[0] === 'run' && rest[2] === '--' && rest[1] && !rest[1].startsWith('-'))
    return {command: 'agent run', agent: rest[1], args: rest.slice(3)}
  if (command === 'exec' || command === 'shell') {
    // `shell [NAME] [--cwd DIR]` is `exec` of a login shell, without --env.
    if (command === 'shell' && rest.includes('--')) return undefined
    try {
      const split = splitExecArgv(command === 'exec' ? rest : [...rest, '--', ...LOGIN_SHELL])
      if (split.otherOptions.length > 0 || (command === 'shell' && split.env.length > 0)) return undefined
      return {command, name: split.name, run: split.command, cwd: split.cwd, env: split.env}
    } catch {
      return undefined
    }
  }
  if (command !== 'list' && command !== 'status') return undefined
  const json = rest.includes('--json')
  const positional = rest.filter((token) => token !== '--json')
  if (json && stdoutIsTerminal) return undefined
  if (rest.length - positional.length > 1 || positional.some((token) => token.startsWith('-'))) return undefined
  if (command === 'list') return positional.length === 0 ? {command, json} : undefined
  return positional.length <= 1 ? {command, json, name: positional[0]} : undefined
}

/**
 * Runs `argv` on the fast path. Returns undefined when the arguments are oclif's to judge
 * (nothing has been read or run then); else the command runs here to its end, failures
 * included, reported as the oclif command would (src/lib/errors.ts `errorOutput`).
 */
export async function runFastPath(argv: string[]): Promise<number | undefined> {
  const request = parseFastRequest(argv, Boolean(process.stdout.isTTY))
  if (!request) return undefined
  // DEBUG=repoman (as DEBUG=oclif* is for oclif) says which path ran.
  if (/(^|,)\s*(repoman|\*)/.test(process.env.DEBUG ?? ''))
    process.stderr.write(`repoman:fast-path ran ${request.command}\n`)
  const json = 'json' in request && request.json
  try {
    const context = await openRepoman(resolvePaths(), {
      commandId: request.command,
      changesState: false,
      readAhead: (incus) => {
        if (request.command === 'list' || request.command === 'status') incus.readAhead(incus.instancesPath())
        else if ('name' in request && request.name !== undefined) incus.readAhead(incus.instancePath(request.name))
      },
    })
    if (request.command !== 'list' && request.command !== 'status') {
      const tty = Boolean(process.stdin.isTTY)
      const session =
        request.command === 'agent run'
          ? await prepareLaunch(context, request.agent, request.args, tty)
          : await prepareSession(context, {...request, command: request.run, tty})
      const [exitCode] = await Promise.all([session.run(), refresh(context)])
      return exitCode
    }
    // The daemon is already answering (read ahead): meanwhile, what the postrun hook would do.
    const [output] = await Promise.all([
      request.command === 'list'
        ? import('./lifecycle/list.js').then(({runList}) => runList(context, request))
        : import('./lifecycle/status.js').then(({runStatus}) => runStatus(context, request)),
      refresh(context),
    ])
    // As oclif does: output cut short by a reader that left (`| head`) is no error.
    process.stdout.on('error', (error: NodeJS.ErrnoException) => {
      if (error.code !== 'EPIPE') throw error
    })
    // oclif's --json output (uncoloured, as off a terminal: on one, oclif answers --json).
    const lines = json ? [JSON.stringify(output.result, null, 2)] : output.lines
    if (lines.length > 0) process.stdout.write(`${lines.join('\n')}\n`)
    return output.exitCode
  } catch (error) {
    const output = errorOutput(error, json)
    process[output.stream].write(output.text)
    return output.exitCode
  }
}

/** What the postrun hook does after a command that read the registry (loaded while Incus works). */
async function refresh(context: RepomanContext): Promise<void> {
  const {refreshAfterCommand} = await import('./completion.js')
  refreshAfterCommand(context.paths, context.registry)
}
