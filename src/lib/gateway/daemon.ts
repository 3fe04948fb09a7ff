/**
 * The gateway process: one per host user, listening on one unix socket per project
 * (`gateway/sockets/<hash>/gateway.sock` in the state dir), which that project's container
 * reaches through its forwarder or its Incus proxy device (inside.ts). `new`, sessions and
 * launchers start it on demand (`ensureGateway`), `setup` as a systemd user unit where systemd
 * runs; SIGHUP makes it pick up new and removed projects, and a project's policy is re-read
 * whenever the registry or its repos.d file changes.
 */
import {spawn} from 'node:child_process'
import {createHash} from 'node:crypto'
import {chmodSync, existsSync, mkdirSync, openSync, readFileSync, rmSync, statSync, writeFileSync} from 'node:fs'
import type {Server} from 'node:http'
import {dirname, join} from 'node:path'
import {readLogin} from '../agents/credentials.js'
import {GatewayError, oneLine} from '../errors.js'
import {resolvePolicy} from '../lifecycle/isolation.js'
import {gatewayDir, gatewaySocketsDir, PACKAGE_ROOT, type RepomanPaths} from '../paths.js'
import {readOverride} from '../registry/overrides.js'
import {RegistryStore} from '../registry/store.js'
import {GATEWAY_KEY, gatewayDevice, reachesGateway, SOCKET_NAME} from './inside.js'
import {appendGatewayLog} from './log.js'
import {type GatewayPolicy, parsePolicy} from './policy.js'
import {restartGatewayUnit, startGatewayUnit} from './unit.js'

const START_TIMEOUT_MS = 8000

/**
 * The project's socket, alone in its own directory (which a forwarding container mounts): a hash
 * keeps the path short (a unix socket path has at most 107 bytes).
 */
export function socketFor(stateDir: string, name: string): string {
  const hash = createHash('sha256').update(name).digest('hex').slice(0, 16)
  return join(gatewaySocketsDir(stateDir), hash, SOCKET_NAME)
}

export const pidFileOf = (stateDir: string) => join(gatewayDir(stateDir), 'gateway.pid')
export const daemonLogOf = (stateDir: string) => join(gatewayDir(stateDir), 'gateway.log')

/**
 * Which build of repoman this is: its version, and when it was built (every build writes the
 * manifest anew, so a rebuilt checkout of one version is another build).
 */
export function buildStamp(): string {
  const {version} = JSON.parse(readFileSync(join(PACKAGE_ROOT, 'package.json'), 'utf8')) as {version: string}
  return `${version}@${mtime(join(PACKAGE_ROOT, 'oclif.manifest.json'))}`
}

/** Pure: the pid file's text, its pid line and then the build that runs. */
export const pidFileText = (pid: number, build: string) => `${pid}\n${build}\n`

/** Pure: the pid and build a pid file names (an older repoman wrote the pid alone). */
export function parsePidFile(text: string): {pid: number; build?: string} | undefined {
  const [pidLine, build] = text.split('\n')
  const pid = Number(pidLine)
  if (!Number.isInteger(pid) || pid <= 1) return undefined
  return build ? {pid, build} : {pid}
}

/** The running gateway (its pid, and the build it runs), or undefined (no pid file, or its process is gone). */
function runningGateway(stateDir: string): {pid: number; build?: string} | undefined {
  let running: ReturnType<typeof parsePidFile>
  try {
    running = parsePidFile(readFileSync(pidFileOf(stateDir), 'utf8'))
  } catch {
    return undefined
  }
  if (running === undefined) return undefined
  try {
    process.kill(running.pid, 0)
    return running
  } catch {
    // ESRCH: gone. EPERM: another user's process got the pid; not ours either.
    return undefined
  }
}

/** The running gateway's pid, or undefined. */
export const gatewayPid = (stateDir: string) => runningGateway(stateDir)?.pid

type Paths = Pick<RepomanPaths, 'stateDir' | 'configDir' | 'registryFile' | 'overridesDir'>

const mtime = (file: string) => statSync(file, {throwIfNoEntry: false})?.mtimeMs ?? 0

async function loadPolicy(paths: Paths, name: string): Promise<GatewayPolicy> {
  try {
    const registry = await new RegistryStore(paths.registryFile).read()
    const file = join(paths.overridesDir, `${name}.toml`)
    const resolved = resolvePolicy(registry, await readOverride(paths.overridesDir, name), file)
    return parsePolicy(resolved.mode, resolved.allow)
  } catch (error) {
    // A broken config refuses everything rather than falling open.
    appendGatewayLog(paths.stateDir, name, {action: 'refused', target: 'config', reason: oneLine(error)})
    return {mode: 'allowlist', allow: []}
  }
}

/** The project's policy, re-read when the registry or its repos.d file has changed since. */
function policySource(paths: Paths, name: string): () => Promise<GatewayPolicy> {
  const stampNow = () => `${mtime(paths.registryFile)}/${mtime(join(paths.overridesDir, `${name}.toml`))}`
  let stamp = ''
  let policy: Promise<GatewayPolicy> = Promise.resolve({mode: 'allowlist', allow: []})
  return () => {
    const next = stampNow()
    if (next !== stamp) {
      stamp = next
      policy = loadPolicy(paths, name)
    }
    return policy
  }
}

async function projectNames(paths: Paths): Promise<string[]> {
  try {
    return (await new RegistryStore(paths.registryFile).read()).project.map((p) => p.name)
  } catch {
    return []
  }
}

/**
 * Adds each project's proxy device to its container where it needs one and has none yet: a
 * container with a forwarder (inside.ts) reaches its socket without.
 */
async function attachDevices(paths: Paths, names: string[]): Promise<void> {
  if (names.length === 0) return
  const registry = await new RegistryStore(paths.registryFile).read()
  const [{IncusClient}, {CONFIG_KEYS}] = await Promise.all([
    import('../incus/client.js'),
    import('../lifecycle/containers.js'),
  ])
  const incus = new IncusClient({project: registry.defaults.incus_project})
  const wanted = new Set(names)
  const missing = (await incus.listInstances()).filter(
    (i) =>
      wanted.has(i.name) &&
      i.config[CONFIG_KEYS.managed] === 'true' &&
      !reachesGateway(i, socketFor(paths.stateDir, i.name)),
  )
  // One at a time: each holds its container for Incus's second.
  for (const instance of missing)
    await incus.patchInstance(instance.name, {
      config: {[GATEWAY_KEY]: 'proxy'},
      devices: gatewayDevice(socketFor(paths.stateDir, instance.name)),
    })
}

/**
 * Runs the gateway in this process until SIGTERM or SIGINT. Refuses when another runs for this
 * user (its lock is held).
 */
export async function runGateway(paths: Paths, say: (line: string) => void): Promise<void> {
  const dir = gatewayDir(paths.stateDir)
  mkdirSync(gatewaySocketsDir(paths.stateDir), {recursive: true, mode: 0o700})
  chmodSync(dir, 0o700)
  const lockfile = await import('proper-lockfile')
  let release: () => Promise<void>
  try {
    release = await lockfile.lock(dir, {lockfilePath: join(dir, 'gateway.lock'), stale: 10_000, update: 3000})
  } catch {
    throw new GatewayError(
      `a gateway already runs for you (pid ${gatewayPid(paths.stateDir) ?? '?'}); \`repoman gateway stop\` stops it`,
    )
  }
  writeFileSync(pidFileOf(paths.stateDir), pidFileText(process.pid, buildStamp()))
  // Here, not at the top: sessions and `new` load this module, and the proxy's HTTP, TLS and DNS are the gateway's alone.
  const {projectServer} = await import('./server.js')
  const servers = new Map<string, Server>()

  const reconcile = async () => {
    const names = new Set(await projectNames(paths))
    for (const [name, server] of servers)
      if (!names.has(name)) {
        server.close()
        servers.delete(name)
        rmSync(dirname(socketFor(paths.stateDir, name)), {recursive: true, force: true})
      }
    for (const name of names) {
      if (servers.has(name)) continue
      const policy = policySource(paths, name)
      await policy()
      const server = projectServer({
        policy,
        login: (agent) => readLogin(paths, agent),
        log: (event) => appendGatewayLog(paths.stateDir, name, event),
      })
      const socket = socketFor(paths.stateDir, name)
      // The same directory again, never a new one: a running container has this one mounted.
      mkdirSync(dirname(socket), {recursive: true, mode: 0o700})
      rmSync(socket, {force: true})
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject)
        server.listen(socket, () => {
          server.off('error', reject)
          resolve()
        })
      })
      chmodSync(socket, 0o600)
      servers.set(name, server)
    }
    // In the background, for containers without a forwarder: Incus takes a second to start a
    // proxy device, and the gateway goes on meanwhile. Until it is there the container has no
    // way out (a session that comes first adds it itself). Also for known names: a project made
    // again under one.
    attachDevices(paths, [...names]).catch((error) => say(`gateway: could not add devices: ${oneLine(error)}`))
    say(
      `gateway: ${servers.size} project${servers.size === 1 ? '' : 's'} (${[...servers.keys()].join(', ') || 'none'})`,
    )
  }

  await reconcile()
  let queue = Promise.resolve()
  process.on('SIGHUP', () => {
    queue = queue.then(reconcile).catch((error) => say(`gateway: reload failed: ${oneLine(error)}`))
  })
  await new Promise<void>((resolve) => {
    for (const signal of ['SIGTERM', 'SIGINT'] as const) process.once(signal, () => resolve())
  })
  for (const [name, server] of servers) {
    server.close()
    server.closeAllConnections()
    rmSync(socketFor(paths.stateDir, name), {force: true})
  }
  rmSync(pidFileOf(paths.stateDir), {force: true})
  await release()
}

/**
 * Makes sure the gateway runs and listens for `name`: starts it (detached, its output in
 * gateway.log) when it is not running, or tells it to pick up a project it does not know yet.
 * With `wait` false it returns once that is asked for (`new`: no connection comes before the
 * first session, which waits).
 */
export async function ensureGateway(
  stateDir: string,
  name: string,
  /** `attach`: the container is new, and the gateway is to add its device (a reload even when it listens already). */
  options: {wait: boolean; attach?: boolean},
): Promise<void> {
  const socket = socketFor(stateDir, name)
  let running = runningGateway(stateDir)
  if (running !== undefined && running.build !== buildStamp()) {
    // An older repoman's (it went on running through the upgrade): it may listen elsewhere or
    // answer otherwise. This build's gateway takes over.
    if (!restartGatewayUnit(running.pid)) await stopGateway(stateDir)
    running = runningGateway(stateDir)
  }
  if (running !== undefined && existsSync(socket) && !options.attach) return
  if (running !== undefined) process.kill(running.pid, 'SIGHUP')
  else if (!startGatewayUnit(process.env)) {
    mkdirSync(gatewayDir(stateDir), {recursive: true, mode: 0o700})
    const log = openSync(daemonLogOf(stateDir), 'a', 0o600)
    const child = spawn(process.execPath, [join(PACKAGE_ROOT, 'bin/run.js'), 'gateway', 'run'], {
      detached: true,
      stdio: ['ignore', log, log],
    })
    child.unref()
  }
  if (!options.wait) return
  const deadline = Date.now() + START_TIMEOUT_MS
  while (!existsSync(socket)) {
    if (Date.now() > deadline)
      throw new GatewayError(
        `repoman's gateway did not start listening for "${name}" (see ${daemonLogOf(stateDir)}); \`repoman gateway run\` shows why`,
      )
    await new Promise((resolve) => setTimeout(resolve, 20))
  }
}

/** Stops the running gateway; says whether one ran. */
export async function stopGateway(stateDir: string): Promise<boolean> {
  const pid = gatewayPid(stateDir)
  if (pid === undefined) return false
  process.kill(pid, 'SIGTERM')
  const deadline = Date.now() + 5000
  while (gatewayPid(stateDir) === pid && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20))
  return true
}

export interface GatewayStatus {
  running: boolean
  pid?: number
  /** Each project, and whether the gateway listens for it. */
  projects: Array<{name: string; listening: boolean}>
  log: string
}

export function gatewayStatus(stateDir: string, names: string[]): GatewayStatus {
  const pid = gatewayPid(stateDir)
  return {
    running: pid !== undefined,
    ...(pid === undefined ? {} : {pid}),
    projects: names.map((name) => ({name, listening: pid !== undefined && existsSync(socketFor(stateDir, name))})),
    log: daemonLogOf(stateDir),
  }
}

export function renderGatewayStatus(status: GatewayStatus): string[] {
  if (!status.running)
    return ['The gateway is not running; the next `repoman exec` or `shell` starts it (or: repoman gateway run).']
  const waiting = status.projects.filter((p) => !p.listening).map((p) => p.name)
  return [
    `The gateway runs (pid ${status.pid}), for ${status.projects.length - waiting.length} of ${status.projects.length} projects.`,
    ...(waiting.length > 0 ? [`Not yet listening for: ${waiting.join(', ')} (their next session adds them).`] : []),
    `Its own log: ${status.log}`,
  ]
}
