/** `repoman shell` and `repoman exec`: run as the host user, in the repo, inside the project's container. */
import {existsSync} from 'node:fs'
import {takeConversationsAndReport} from '../agents/conversations.js'
import {gatewayLoginEnv} from '../agents/credentials.js'
import {agentHomesOf} from '../agents/home.js'
import {ContainerGoneError, NotInRepoError, oneLine, UsageError} from '../errors.js'
import {GATEWAY_KEY, gatewayDevice, proxyEnvironment, reachesGateway} from '../gateway/inside.js'
import {importAndReport, refreshAgentGit, watchAgentGit} from '../git/agent-git.js'
import type {IncusClient} from '../incus/client.js'
import type {IncusInstance} from '../incus/types.js'
import {renderChangeBlock} from '../integrity/fingerprint.js'
import {
  baselineFile,
  checkWatched,
  recordBaseline,
  recordFlagged,
  SESSION_SCAN,
  scanSpecialFiles,
} from '../integrity/snapshot.js'
import {isWithin, type RepomanPaths, resolvePaths} from '../paths.js'
import {findProject, type ProjectEntry, type Registry, repoPathOf, reposRootOf} from '../registry/schema.js'
import {CONFIG_KEYS, isSetpriv, projectForDirectory, resolveInsideCwd, SETPRIV} from './containers.js'

export interface SessionTarget {
  project: ProjectEntry
  repoPath: string
  /** Working directory inside the container. */
  cwd: string
}

/**
 * Which project, and where inside. Without a name, the project whose repo holds the current
 * directory, at the same path inside (the repo is mounted at its host path).
 */
export function resolveSessionTarget(
  registry: Registry,
  name: string | undefined,
  cwdFlag: string | undefined,
  hostCwd: string,
): SessionTarget {
  let project: ProjectEntry | undefined
  if (name !== undefined) {
    project = findProject(registry, name)
  } else {
    project = projectForDirectory(registry, hostCwd)
    if (!project)
      throw new NotInRepoError(`${hostCwd} is not inside a registered repo; name the project, or cd into its repo`)
  }
  const repoPath = repoPathOf(registry, project.repo)
  const here = isWithin(hostCwd, repoPath) ? hostCwd : repoPath
  return {project, repoPath, cwd: resolveInsideCwd(repoPath, cwdFlag, here)}
}

/** Parses repeated `--env KEY=VALUE` flags. */
export function parseEnvFlags(values: string[]): Record<string, string> {
  const env: Record<string, string> = {}
  for (const value of values) {
    const eq = value.indexOf('=')
    if (eq <= 0) throw new UsageError(`--env ${value} must look like KEY=VALUE`)
    env[value.slice(0, eq)] = value.slice(eq + 1)
  }
  return env
}

/** A login shell: bash where the image has it, else sh. */
export const LOGIN_SHELL = ['sh', '-c', 'if command -v bash >/dev/null 2>&1; then exec bash -l; fi; exec sh -l']

/** A registered project whose container is not in Incus. */
export function containerGone(name: string): ContainerGoneError {
  return new ContainerGoneError(
    `the container of "${name}" is gone; \`repoman remove ${name}\` then \`repoman new ${name}\` makes a new one`,
  )
}

/**
 * The `incus exec` arguments that run `command` in the container as the host user (HOME and
 * USER as on the host), starting the container first if it is stopped (and then checking that
 * the user's account is there).
 */
export async function sessionExecArgs(
  incus: IncusClient,
  registry: Registry,
  target: SessionTarget,
  command: string[],
  options: {env: Record<string, string>; tty: boolean},
): Promise<string[]> {
  const name = target.project.name
  const instance = await incus.getInstance(name)
  if (!instance) throw containerGone(name)
  if (instance.status !== 'Running') {
    await incus.startInstance(name)
    // Only here, not on every exec (its cost is benched): a container that was re-provisioned
    // while stopped gets its account back; in the everyday case this is one exec.
    const {ensureAccount, instanceAccountWant} = await import('./account.js')
    await ensureAccount(incus, name, instanceAccountWant(registry, instance), 'on-change').catch((error: Error) =>
      // The command can still run as the user's uid: say so rather than refuse it.
      process.stderr.write(
        `Warning: your account inside "${name}" could not be checked (${error.message.split('\n')[0]}); \`repoman status ${name} --fix\` retries\n`,
      ),
    )
  }
  const paths = resolvePaths()
  const [withGroups] = await Promise.all([hasSetpriv(incus, instance), reachGateway(incus, instance, paths.stateDir)])
  const ids = idsInside(registry, instance)
  return incus.execArgs(name, withGroups ? asUserWithGroups(ids, command, options.tty) : command, {
    ...(withGroups ? {} : ids),
    cwd: target.cwd,
    // The agents' logins (placeholders the gateway swaps) first: what the user passes with --env wins.
    env: {
      ...gatewayLoginEnv(paths, agentHomesOf(instance.expanded_config ?? instance.config)),
      ...sessionEnv(registry, options.env),
    },
    tty: options.tty,
  })
}

/**
 * Before a session: the project's gateway listens, and the container has its way to it (one
 * without a forwarder and still without a proxy device, e.g. made by an older repoman, gets the
 * device and variables now, hot-plugged). A gateway that cannot start is reported, not fatal:
 * the command still runs, without a way out.
 */
async function reachGateway(incus: IncusClient, instance: IncusInstance, stateDir: string): Promise<void> {
  const {ensureGateway, socketFor} = await import('../gateway/daemon.js')
  const socket = socketFor(stateDir, instance.name)
  try {
    if (!reachesGateway(instance, socket))
      await incus.patchInstance(instance.name, {
        config: {...proxyEnvironment(), [GATEWAY_KEY]: 'proxy'},
        devices: gatewayDevice(socket),
      })
    await ensureGateway(stateDir, instance.name, {wait: true})
  } catch (error) {
    process.stderr.write(`Warning: ${oneLine(error)}; the container has no way out this session\n`)
  }
}

/**
 * `command` as the user with the supplementary groups a login gives (`sudo`, `docker`, ...):
 * `incus exec --user` sets none, so the session starts as root and setpriv becomes the user
 * (initgroups from the container's /etc/group), then runs the command in its place.
 */
export function asUserWithGroups(ids: {uid: number; gid: number}, command: string[], tty: boolean): string[] {
  const become = [SETPRIV, `--reuid=${ids.uid}`, `--regid=${ids.gid}`, '--init-groups', '--', ...command]
  // Incus gives root's terminal to root: the user's programs that open it by name (sudo's
  // prompt, gpg's pinentry) need it to be theirs, as it is after `incus exec --user`.
  return tty
    ? ['/bin/sh', '-c', 'chown "$0" "$(tty)" 2>/dev/null; exec "$@"', `${ids.uid}:${ids.gid}`, ...become]
    : become
}

/** Whether the container has setpriv: recorded by `new` (from its image's record), else asked once (one file stat) and recorded. */
async function hasSetpriv(incus: IncusClient, instance: IncusInstance): Promise<boolean> {
  const recorded = instance.config[CONFIG_KEYS.setpriv]
  if (recorded !== undefined) return recorded === 'true'
  const found = await incus
    .readInstanceFile(instance.name, SETPRIV, {content: false})
    .then(isSetpriv)
    .catch(() => false)
  await incus
    .patchInstance(instance.name, {config: {[CONFIG_KEYS.setpriv]: String(found)}, devices: {}})
    .catch(() => undefined)
  return found
}

/** The host user's ids inside the container (recorded on it when it was made). */
export function idsInside(registry: Registry, instance: IncusInstance): {uid: number; gid: number} {
  return {
    uid: Number(instance.config[CONFIG_KEYS.uid] ?? registry.host.uid),
    gid: Number(instance.config[CONFIG_KEYS.gid] ?? registry.host.gid),
  }
}

/** What every session's environment starts from: HOME and USER as on the host, then `--env`. */
export function sessionEnv(registry: Registry, env: Record<string, string>): Record<string, string> {
  return {HOME: registry.host.home, USER: registry.host.user, ...env}
}

/** `exec`'s raw argv, split at `--`. */
export interface ExecArgv {
  name?: string
  command: string[]
  /** `--cwd DIR` and `--env KEY=VALUE` given as separate words. */
  cwd?: string
  env: string[]
  /** Any other option before `--` (oclif's parser handles those; the fast path declines them). */
  otherOptions: string[]
}

/**
 * Splits `exec`'s raw argv at `--`: the one positional before it is the project name, all
 * after it is the command (oclif alone would take the command's first word as the name).
 */
export function splitExecArgv(raw: string[]): ExecArgv {
  const dash = raw.indexOf('--')
  if (dash < 0) throw new UsageError('put the command after --, e.g. `repoman exec myproject -- make test`')
  const command = raw.slice(dash + 1)
  if (command.length === 0) throw new UsageError('no command after --')
  const split: ExecArgv = {command, env: [], otherOptions: []}
  const positional: string[] = []
  const before = raw.slice(0, dash)
  for (let i = 0; i < before.length; i++) {
    const token = before[i] as string
    const value = before[i + 1]
    if ((token === '--cwd' || token === '--env') && value !== undefined) {
      // A repeated --cwd, or a value that looks like an option, is for oclif's parser to judge.
      if (value.startsWith('-') || (token === '--cwd' && split.cwd !== undefined)) split.otherOptions.push(token, value)
      else if (token === '--cwd') split.cwd = value
      else split.env.push(value)
      i++
    } else if (token.startsWith('-')) split.otherOptions.push(token)
    else positional.push(token)
  }
  if (positional.length > 1) throw new UsageError(`one project name before --, got ${positional.join(' ')}`)
  split.name = positional[0]
  return split
}

export interface SessionRequest {
  name?: string
  command: string[]
  cwd?: string
  env: string[]
  tty: boolean
}

/** A session ready to start: every check has passed and the container is running. */
export interface PreparedSession {
  /** Hands the terminal to the command; resolves to its exit code. */
  run(): Promise<number>
}

type SessionContext = {registry: Registry; incus: IncusClient; paths: RepomanPaths}

export async function prepareSession(context: SessionContext, request: SessionRequest): Promise<PreparedSession> {
  const target = resolveSessionTarget(context.registry, request.name, request.cwd, process.cwd())
  const env = parseEnvFlags(request.env)
  const args = await sessionExecArgs(context.incus, context.registry, target, request.command, {
    env,
    tty: request.tty,
  })
  const {stateDir} = context.paths
  const {name} = target.project
  // A project from before integrity checks gets its baseline before its first session.
  if (!existsSync(baselineFile(stateDir, name)))
    await recordBaseline(stateDir, name, target.repoPath).catch((error) =>
      process.stderr.write(`repoman: could not record the baseline of "${name}": ${oneLine(error)}\n`),
    )
  // The host's commits since the last session reach the agent's git dir before it starts.
  await refreshAgentGit(target.repoPath, stateDir, name).catch((error) =>
    process.stderr.write(`repoman: could not bring your commits into "${name}"'s git dir: ${oneLine(error)}\n`),
  )
  return {
    run: async () => {
      const exited = context.incus.runAttached(args)
      const stopWatching = watchAgentGit(target.repoPath, stateDir, name)
      // While the command runs, the check that follows it runs once ahead, its answer unused:
      // a first run pays for compiling and caching what it touches, and that is better paid
      // during the command than after it. The answer that counts is the one after.
      try {
        checkWatched(stateDir, name, target.repoPath)
      } catch {
        // Reported by the check after the command, if it fails again.
      }
      const exitCode = await exited
      stopWatching()
      await importAndReport(target.repoPath, stateDir, name)
      await takeConversationsAndReport(stateDir, name, target.repoPath, context.registry.host)
      reportSessionChanges(stateDir, name, target.repoPath, context.registry.host.home)
      return exitCode
    },
  }
}

/**
 * After a session: if the files the host runs differ from what the user accepted, one block on
 * stderr says which and what to do. Never fails the session (its exit code is the command's).
 */
export function reportSessionChanges(stateDir: string, name: string, repoPath: string, home: string): void {
  try {
    const {changes, problem} = checkWatched(stateDir, name, repoPath)
    if (problem) process.stderr.write(`repoman: ${problem}\n`)
    if (changes.length > 0) process.stderr.write(`${renderChangeBlock(name, changes).join('\n')}\n`)
    // Nested repositories and links out of the repo, anywhere in it (a bounded pass).
    const flagged = scanSpecialFiles(repoPath, home, SESSION_SCAN)
    recordFlagged(stateDir, name, flagged)
    if (flagged.length > 0)
      process.stderr.write(
        `${[`repoman: flagged in "${name}" (\`repoman status ${name}\` until they are gone):`, ...flagged.map((f) => `  ${f.path || '.'}: ${f.detail}`)].join('\n')}\n`,
      )
  } catch (error) {
    process.stderr.write(`repoman: could not check the files your host runs in "${name}": ${oneLine(error)}\n`)
  }
}

/** A launcher's first argument that runs the host's own program instead (handled in its sh). */
export const HOST_FLAG = '--host'

/**
 * What an agent launcher (`repoman agent install`) runs: `command ARGS` in the container of the
 * repo holding the current directory, at the same path. Outside every repo it refuses: the
 * host's own program runs only when asked (`NAME --host`).
 */
export async function prepareLaunch(
  context: SessionContext,
  command: string,
  args: string[],
  tty: boolean,
): Promise<PreparedSession> {
  const cwd = process.cwd()
  if (!projectForDirectory(context.registry, cwd))
    throw new NotInRepoError(
      `${command}: ${cwd} is not in a registered repo under ${reposRootOf(context.registry)}; cd into one, or run the host's own with \`${command} ${HOST_FLAG}\``,
    )
  return prepareSession(context, {command: [command, ...args], env: [], tty})
}

/** Runs the session's command in the project's container; returns its exit code. */
export async function runSession(context: SessionContext, request: SessionRequest): Promise<number> {
  return (await prepareSession(context, request)).run()
}
