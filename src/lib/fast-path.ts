/**
 * The fast path for the commands typed dozens of times a day: `list`, `status`, `exec`, `shell`
 * and `agent run` (what agent launchers run) in their everyday shapes, run without loading
 * oclif (whose import alone costs more here than the daemon's answer). It runs the same library functions and prints the same bytes
 * as the oclif commands. It only takes argument lists it fully understands and declines the
 * rest (help, --verbose, unknown flags, `--json` on a terminal, which oclif colours); and when
 * anything fails before it has printed or run something, it declines too: oclif then runs the
 * command from the start and reports the error in its usual form.
 */
import {openRepoman, type RepomanContext} from './context.js'
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
 * Runs `argv` on the fast path. Returns the exit code, or undefined when it declined (nothing
 * has been printed or run then).
 */
export async function runFastPath(argv: string[]): Promise<number | undefined> {
  const request = parseFastRequest(argv, Boolean(process.stdout.isTTY))
  if (!request) return undefined
  // DEBUG=repoman (as DEBUG=oclif* is for oclif) says which path ran, and why it declined.
  const debug = /(^|,)\s*(repoman|\*)/.test(process.env.DEBUG ?? '')
    ? (line: string) => process.stderr.write(`repoman:fast-path ${line}\n`)
    : () => {}
  const paths = resolvePaths()
  let output: {lines: string[]; exitCode: number}
  try {
    const context = await openRepoman(paths, {
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
      // Every check has passed. The command fails only when incus could not be started at all
      // (nothing ran, so oclif may try again and explain); else its exit code is the command's.
      const [exitCode] = await Promise.all([session.run(), refreshCompletion(context)])
      debug(`ran ${request.command}`)
      return exitCode
    }
    // The daemon is already answering (read ahead): meanwhile, what the postrun hook would do.
    const [answer] = await Promise.all([
      request.command === 'list' ? listOutput(context, request) : statusOutput(context, request),
      refreshCompletion(context),
    ])
    output = answer
  } catch (error) {
    debug(`declined ${request.command}: ${(error as Error).message}`)
    return undefined
  }
  debug(`ran ${request.command}`)
  // As oclif does: output cut short by a reader that left (`| head`) is no error.
  process.stdout.on('error', (error: NodeJS.ErrnoException) => {
    if (error.code !== 'EPIPE') throw error
  })
  if (output.lines.length > 0) process.stdout.write(`${output.lines.join('\n')}\n`)
  return output.exitCode
}

/** oclif's `--json` output: the result, pretty-printed (uncoloured, as off a terminal). */
const asJson = (result: unknown) => [JSON.stringify(result, null, 2)]

async function listOutput(context: RepomanContext, request: {json: boolean}) {
  const {listProjects, renderProjectList} = await import('./lifecycle/list.js')
  const rows = await listProjects(context)
  return {lines: request.json ? asJson(rows) : await renderProjectList(rows), exitCode: 0}
}

async function statusOutput(context: RepomanContext, request: {json: boolean; name?: string}) {
  const {gatherStatus, renderStatus} = await import('./lifecycle/status.js')
  const report = await gatherStatus(context, request.name)
  return {lines: request.json ? asJson(report) : renderStatus(report, false), exitCode: report.healthy ? 0 : 1}
}

/** What the postrun hook does after a command that read the registry (loaded while Incus works). */
async function refreshCompletion(context: RepomanContext): Promise<void> {
  try {
    const {refreshNamesCache} = await import('./completion.js')
    refreshNamesCache(context.paths, context.registry)
  } catch {
    // Completion is a convenience: never fail a command over it.
  }
}
