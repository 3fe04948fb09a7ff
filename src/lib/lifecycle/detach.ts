/**
 * Sessions that outlive the terminal: `exec --detach` starts the command in a tmux session inside
 * the container (as the host user, in the repo, with exec's environment), `attach` takes the
 * terminal back to it, and `list --sessions` shows them. repoman's sessions live on their own
 * tmux socket (`tmux -L repoman`), apart from any tmux the user runs in there.
 */
import {basename} from 'node:path'
import {RepomanError, TmuxMissingError} from '../errors.js'
import {importAndReport, refreshAgentGit} from '../git/agent-git.js'
import type {IncusClient} from '../incus/client.js'
import type {IncusInstance} from '../incus/types.js'
import type {RepomanPaths} from '../paths.js'
import type {Registry} from '../registry/schema.js'
import {
  idsInside,
  parseEnvFlags,
  resolveSessionTarget,
  type SessionRequest,
  sessionEnv,
  sessionExecArgs,
} from './session.js'

/** The tmux socket name repoman's sessions use inside the container. */
export const TMUX_SOCKET = 'repoman'
/** What the wrapper exits with when the image has no tmux. */
const NO_TMUX = 127

/** `tmux -L repoman ARGS`, or exit 127 when there is no tmux (told apart from tmux's own failures). */
export function tmuxCommand(args: string[]): string[] {
  return [
    'sh',
    '-c',
    `command -v tmux >/dev/null 2>&1 || exit ${NO_TMUX}; exec tmux -L ${TMUX_SOCKET} "$@"`,
    'tmux',
    ...args,
  ]
}

export function noTmuxError(name: string): TmuxMissingError {
  return new TmuxMissingError(
    `the container of "${name}" has no tmux, which detached sessions need; install it there (e.g. \`apt install tmux\`) or use an image with it`,
  )
}

/** A session name from the command's first word and a random suffix: `claude-3f2a`. */
export function sessionName(command: string[], suffix: string): string {
  const word = basename(command[0] ?? '').replace(/[^A-Za-z0-9_-]/g, '')
  return `${word.slice(0, 24) || 'session'}-${suffix}`
}

/**
 * `tmux new-session` for `command`, detached, in `cwd`. The environment is given with -e too: a
 * tmux server already running gives new sessions its own environment, not the client's.
 */
export function newSessionArgs(session: string, cwd: string, env: Record<string, string>, command: string[]): string[] {
  return [
    'new-session',
    '-d',
    '-s',
    session,
    '-c',
    cwd,
    ...Object.entries(env).flatMap(([key, value]) => ['-e', `${key}=${value}`]),
    '--',
    ...command,
  ]
}

/** What `exec --detach` started. */
export interface DetachedSession {
  name: string
  session: string
}

export async function startDetached(
  context: {registry: Registry; incus: IncusClient; paths: Pick<RepomanPaths, 'stateDir'>},
  request: Omit<SessionRequest, 'tty'>,
): Promise<DetachedSession> {
  const {registry, incus} = context
  const target = resolveSessionTarget(registry, request.name, request.cwd, process.cwd())
  // Its commits come back when you attach and leave, and on status, list and sync.
  await refreshAgentGit(target.repoPath, context.paths.stateDir, target.project.name)
  const env = sessionEnv(registry, parseEnvFlags(request.env))
  const {randomBytes} = await import('node:crypto')
  const session = sessionName(request.command, randomBytes(2).toString('hex'))
  const args = await sessionExecArgs(
    incus,
    registry,
    target,
    tmuxCommand(newSessionArgs(session, target.cwd, env, request.command)),
    {env, tty: false},
  )
  const result = await incus.capture(args)
  if (result.exitCode === NO_TMUX) throw noTmuxError(target.project.name)
  if (result.exitCode !== 0)
    throw new RepomanError(
      `could not start a tmux session in "${target.project.name}": ${result.stderr.trim().split('\n').pop() || `exit ${result.exitCode}`}`,
    )
  return {name: target.project.name, session}
}

/** Takes the terminal to a session (the most recent one when none is named); resolves to its exit code. */
export async function attachSession(
  context: {registry: Registry; incus: IncusClient; paths: Pick<RepomanPaths, 'stateDir'>},
  name: string,
  session: string | undefined,
): Promise<number> {
  const {registry, incus} = context
  const target = resolveSessionTarget(registry, name, undefined, process.cwd())
  // `=NAME` matches the session name exactly (tmux would otherwise take a prefix).
  const command = tmuxCommand(['attach-session', ...(session ? ['-t', `=${session}`] : [])])
  const code = await incus.runAttached(await sessionExecArgs(incus, registry, target, command, {env: {}, tty: true}))
  if (code === NO_TMUX) throw noTmuxError(name)
  await importAndReport(target.repoPath, context.paths.stateDir, target.project.name)
  return code
}

/**
 * The names of repoman's tmux sessions in a running container: [] when there are none, null
 * when it cannot tell (no tmux there, or the call failed). One `incus exec`: `list --sessions` only.
 */
export async function sessionsIn(incus: IncusClient, registry: Registry, instance: IncusInstance) {
  const args = incus.execArgs(instance.name, tmuxCommand(['list-sessions', '-F', '#{session_name}']), {
    ...idsInside(registry, instance),
    env: sessionEnv(registry, {}),
  })
  const result = await incus.capture(args)
  if (result.exitCode === 0) return result.stdout.split('\n').filter(Boolean).sort()
  // tmux says "no server running" (or "error connecting") when it has no sessions.
  return result.exitCode === 1 && /no server running|error connecting/.test(result.stderr) ? [] : null
}
