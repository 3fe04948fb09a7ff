/**
 * The second entry path, for the commands typed dozens of times a day: `list`, `status`, `exec`,
 * `shell` and `agent run` (what agent launchers run) in their everyday shapes, `new`, whose
 * speed users notice on a copy-on-write pool, and `gateway run`, which the first session after
 * `new` may wait for, run without loading oclif (whose import alone
 * costs more than the daemon's answer; bundling it was measured slower still). It is an
 * adapter and nothing more: it decides at parse time, from the arguments alone, whether it
 * takes a command (only argument lists it fully understands: no help, unknown flags, or
 * `--json` on a terminal, which oclif colours), and then calls the same function the oclif
 * command calls and prints its output, errors included, so nothing ever runs twice.
 */
import {type CommandOutput, openRepoman} from '../lib/context.js'
import {errorOutput} from '../lib/errors.js'
import type {NewRequest} from '../lib/lifecycle/create.js'
import {LOGIN_SHELL, prepareLaunch, prepareSession, splitExecArgv} from '../lib/lifecycle/session.js'
import {type RepomanPaths, resolvePaths} from '../lib/paths.js'
import type {Registry} from '../lib/registry/schema.js'

export type FastRequest =
  | {command: 'list'; json: boolean}
  | {command: 'status'; json: boolean; name?: string}
  | {command: 'exec' | 'shell'; name?: string; run: string[]; cwd?: string; env: string[]}
  | {command: 'agent run'; agent: string; args: string[]}
  | {command: 'new'; request: NewRequest; json: boolean; verbose: boolean; nonInteractive: boolean}
  | {command: 'gateway run'}

/**
 * The flags of `new` the fast path reads: a switch, one value, or values (repeatable). Anything
 * else (help, the deprecated --yes, a flag oclif adds later) is oclif's; a test holds this
 * table to the oclif command's flags.
 */
export const NEW_FLAGS: Record<string, 'switch' | 'value' | 'values'> = {
  repo: 'value',
  image: 'value',
  profile: 'values',
  'no-default-profiles': 'switch',
  'no-sudo': 'switch',
  'non-interactive': 'switch',
  'allow-sensitive': 'switch',
  clone: 'switch',
  'no-clone': 'switch',
  branch: 'value',
  json: 'switch',
  verbose: 'switch',
}

/** `new NAME [flags]`, or undefined for any shape oclif's parser might read otherwise. */
function parseNewRequest(tokens: string[], stdoutIsTerminal: boolean): FastRequest | undefined {
  const names: string[] = []
  const switches = new Set<string>()
  const values = new Map<string, string[]>()
  for (let i = 0; i < tokens.length; i++) {
    const token = tokens[i] as string
    if (token === '-y') switches.add('non-interactive')
    else if (!token.startsWith('-')) {
      // oclif's repeatable flags take the words that follow as more values.
      if (values.has('profile')) return undefined
      names.push(token)
    } else {
      const eq = token.indexOf('=')
      const flag = token.slice(2, eq < 0 ? undefined : eq)
      // Own keys only: `--constructor` is no flag of `new`.
      const kind = token.startsWith('--') && Object.hasOwn(NEW_FLAGS, flag) ? NEW_FLAGS[flag] : undefined
      if (kind === undefined || (kind === 'switch' && (eq >= 0 || switches.has(flag)))) return undefined
      if (kind === 'switch') switches.add(flag)
      else {
        const value = eq >= 0 ? token.slice(eq + 1) : tokens[++i]
        if (value === undefined || value === '' || value.startsWith('-')) return undefined
        if (kind === 'value' && values.has(flag)) return undefined
        values.set(flag, [...(values.get(flag) ?? []), value])
      }
    }
  }
  const json = switches.has('json')
  if (names.length !== 1 || (json && stdoutIsTerminal)) return undefined
  return {
    command: 'new',
    request: {
      name: names[0] as string,
      repo: values.get('repo')?.[0],
      image: values.get('image')?.[0],
      profiles: values.get('profile'),
      noDefaultProfiles: switches.has('no-default-profiles'),
      sudo: switches.has('no-sudo') ? false : undefined,
      allowSensitive: switches.has('allow-sensitive'),
      clone: switches.has('no-clone') ? false : switches.has('clone') ? true : undefined,
      branch: values.get('branch')?.[0],
    },
    json,
    verbose: switches.has('verbose'),
    nonInteractive: switches.has('non-interactive'),
  }
}

/** What the fast path would do with `argv`, or undefined when it is oclif's to run. */
export function parseFastRequest(argv: string[], stdoutIsTerminal: boolean): FastRequest | undefined {
  const [command, ...rest] = argv
  if (command === 'new') return parseNewRequest(rest, stdoutIsTerminal)
  if (command === 'gateway' && rest.length === 1 && rest[0] === 'run') return {command: 'gateway run'}
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
    if (request.command === 'new') return await runNewHere(request)
    if (request.command === 'gateway run') return await runGatewayHere()
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
      const [exitCode] = await Promise.all([session.run(), refresh(context.paths, context.registry)])
      return exitCode
    }
    // The daemon is already answering (read ahead): meanwhile, what the postrun hook would do.
    const [output] = await Promise.all([
      request.command === 'list'
        ? import('../lib/lifecycle/list.js').then(({runList}) => runList(context, request))
        : import('../lib/lifecycle/status.js').then(({runStatus}) => runStatus(context, request)),
      refresh(context.paths, context.registry),
    ])
    return print(output, json)
  } catch (error) {
    const output = errorOutput(error, json)
    process[output.stream].write(output.text)
    return output.exitCode
  }
}

/** `gateway run` as the oclif command runs it: a session waits for a gateway that `new` started, so its start-up counts. */
async function runGatewayHere(): Promise<number> {
  const {runGateway} = await import('../lib/gateway/daemon.js')
  await runGateway(resolvePaths(), (line) => process.stderr.write(`${line}\n`))
  return 0
}

/** `new` as the oclif command runs it (src/cli/run-new.ts), its run logged and --verbose echoed the same way. */
async function runNewHere(request: Extract<FastRequest, {command: 'new'}>): Promise<number> {
  // Here, not at the top: the sessions' load would otherwise start all of new's modules too.
  const {readAheadForCreate} = await import('../lib/lifecycle/create.js')
  const [{runNew}, {canAsk}, context] = await Promise.all([
    import('./run-new.js'),
    import('./ui.js'),
    openRepoman(resolvePaths(), {
      commandId: 'new',
      changesState: true,
      echo: request.verbose ? (line) => process.stderr.write(`${line}\n`) : undefined,
      readAhead: (incus) => readAheadForCreate(incus, request.request.name),
    }),
  ])
  const ask = canAsk(request.json) && !request.nonInteractive
  const output = await runNew(context, request.request, {ask, json: request.json})
  await refresh(context.paths, await context.store.read())
  return print(output, request.json)
}

/** A command's output as oclif prints it: its lines, or its --json result (uncoloured, as off a terminal). */
function print(output: CommandOutput<unknown>, json: boolean): number {
  // As oclif does: output cut short by a reader that left (`| head`) is no error.
  process.stdout.on('error', (error: NodeJS.ErrnoException) => {
    if (error.code !== 'EPIPE') throw error
  })
  const lines = json ? [JSON.stringify(output.result, null, 2)] : output.lines
  if (lines.length > 0) process.stdout.write(`${lines.join('\n')}\n`)
  return output.exitCode
}

/** What the postrun hook does after a command that read the registry (loaded while Incus works). */
async function refresh(paths: RepomanPaths, registry: Registry): Promise<void> {
  const {refreshAfterCommand} = await import('../lib/completion.js')
  refreshAfterCommand(paths, registry)
}
