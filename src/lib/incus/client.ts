/**
 * The Incus client. It talks to the daemon `incus` would, with the user's environment
 * (INCUS_DIR, INCUS_SOCKET, INCUS_CONF and remotes all apply). Reads go straight to the local
 * daemon's socket when the CLI would use that socket too (see socket.ts); everything else runs
 * the `incus` CLI. Every call is an argument list (zx quotes each element; nothing is ever a
 * shell string), stdin is closed unless a document is fed (create/launch/edit wait on an open
 * stdin), and JSON goes in and out through `incus query`.
 */
import {IncusError, IncusNotFoundError} from '../errors.js'
import {classifyIncusFailure} from './errors.js'
import {
  hostSocketProbe,
  incusDocument,
  localSocketPath,
  type SocketRawResponse,
  SocketUnavailableError,
  socketGet,
  socketRequest,
} from './socket.js'
import type {
  DeviceMap,
  IncusAcl,
  IncusImage,
  IncusInstance,
  IncusNetwork,
  IncusProfile,
  IncusProject,
  IncusServer,
  IncusSnapshot,
  IncusStoragePool,
  InstanceFile,
  InstanceFileStat,
  InstanceFiles,
  InstanceSpec,
  ProfileSpec,
} from './types.js'

export interface IncusClientOptions {
  /** The Incus project every instance and profile call is scoped to. */
  project: string
  env?: NodeJS.ProcessEnv
  /** Time allowed for a plain API call before the daemon counts as unreachable. */
  timeoutMs?: number
  /** Receives each command run and what it printed, for the invocation log. */
  onCommand?: (entry: IncusCommandEntry) => void
}

/** One call to Incus: a CLI run, or a request over the socket (`via` names it). */
export interface IncusCommandEntry {
  args: string[]
  exitCode: number | null
  stdout: string
  stderr: string
  via?: string
  /** A request over the socket that changes something (else a read). */
  sent?: boolean
}

interface RunOptions {
  input?: string | Buffer
  timeoutMs?: number
}

/** How a command appears in logs and under --verbose. */
export function describeIncusCommand(entry: IncusCommandEntry): string {
  const how = entry.via ? `  (${entry.sent ? 'sent' : 'read'} over ${entry.via})` : ''
  return `$ incus ${entry.args.join(' ')}  [exit ${entry.exitCode}]${how}`
}

/** A read over the socket; `answered` is false when nothing usable answered there. */
type SocketRead = {answered: true; value: unknown} | {answered: false}

const QUERY_TIMEOUT_MS = 15_000
/**
 * Incus refuses an operation on an instance while another holds its lock (e.g. the second it
 * spends starting a proxy device); that ends by itself, so the call is tried again meanwhile.
 * (Or it waited for that operation, and Incus then refuses to start its own: "a matching
 * non-reusable operation has now succeeded".) A profile update that found an instance busy
 * saved the profile but did not apply it there: sent again, it is applied to every instance anew.
 */
const BUSY = /Instance is busy running a "\w+" operation|A matching non-reusable operation has now succeeded/
const BUSY_WAIT_MS = 15_000
const BUSY_RETRY_MS = 200
const isBusy = (text: string) => BUSY.test(text)

/** Launching may download an image from a remote first. */
const LAUNCH_TIMEOUT_MS = 15 * 60_000

export class IncusClient {
  readonly project: string
  private readonly env: NodeJS.ProcessEnv
  private readonly timeoutMs: number
  private readonly onCommand: IncusClientOptions['onCommand']
  /** null until decided; undefined when reads go through the CLI. */
  private socketPath: string | undefined | null = null
  private readonly readsAhead = new Map<string, Promise<SocketRead>>()

  constructor(options: IncusClientOptions) {
    this.project = options.project
    this.env = options.env ?? process.env
    this.timeoutMs = options.timeoutMs ?? QUERY_TIMEOUT_MS
    this.onCommand = options.onCommand
  }

  /** Runs `incus ARGS...` and returns its stdout; a failure becomes a typed IncusError. */
  async run(args: string[], options: RunOptions = {}): Promise<string> {
    const timeoutMs = options.timeoutMs ?? this.timeoutMs
    const deadline = Date.now() + BUSY_WAIT_MS
    for (;;) {
      const result = await this.capture(args, options)
      if (result.exitCode === 0) return result.stdout
      if (!isBusy(result.stderr) || Date.now() > deadline) throw classifyIncusFailure({...result, timeoutMs})
      await new Promise((resolve) => setTimeout(resolve, BUSY_RETRY_MS))
    }
  }

  /**
   * Runs `incus ARGS...` and returns what it printed and its exit code, failing or not: for
   * `incus exec` (from execArgs), whose exit code is the command's.
   */
  async capture(args: string[], options: RunOptions = {}): Promise<IncusCommandEntry & {signal: string | null}> {
    const {$} = await import('zx/core')
    const shell = $({
      env: this.env,
      quiet: true,
      nothrow: true,
      timeout: options.timeoutMs ?? this.timeoutMs,
      ...(options.input === undefined ? {stdio: ['ignore', 'pipe', 'pipe']} : {input: options.input}),
    })
    const output = await shell`incus ${args}`
    const result = {args, exitCode: output.exitCode, stdout: output.stdout, stderr: output.stderr}
    this.onCommand?.(result)
    return {...result, signal: output.signal}
  }

  /**
   * Runs `incus ARGS...` as a dialogue, to decide mid-way without a second process: once stdout
   * holds a line `marker`, `reply` gets what came before it, and its answer is written to the
   * command's stdin, which is then closed. Returns all of stdout; a failure is a typed IncusError.
   */
  dialogue(
    args: string[],
    marker: string,
    reply: (before: string) => string,
    timeoutMs = this.timeoutMs,
  ): Promise<string> {
    const {spawn} = process.getBuiltinModule('node:child_process')
    return new Promise<string>((resolve, reject) => {
      const child = spawn('incus', args, {env: this.env, stdio: ['pipe', 'pipe', 'pipe']})
      let stdout = ''
      let stderr = ''
      let replied = false
      let failure: Error | undefined
      const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs)
      // A command that ends before reading its stdin is no error of ours.
      child.stdin.on('error', () => {})
      child.stdout.on('data', (chunk: Buffer) => {
        stdout += chunk
        const at = stdout.indexOf(`\n${marker}\n`)
        if (replied || at < 0) return
        replied = true
        try {
          child.stdin.end(reply(stdout.slice(0, at + 1)))
        } catch (error) {
          failure = error as Error
          child.kill('SIGKILL')
        }
      })
      child.stderr.on('data', (chunk: Buffer) => {
        stderr += chunk
      })
      child.on('error', (error: NodeJS.ErrnoException) => {
        failure ??=
          error.code === 'ENOENT'
            ? classifyIncusFailure({args, exitCode: 127, stdout: '', stderr: 'incus: not found', timeoutMs: 0})
            : error
      })
      child.on('close', (code, signal) => {
        clearTimeout(timer)
        const result = {args, exitCode: code, stdout, stderr}
        this.onCommand?.(result)
        if (failure) reject(failure)
        else if (code === 0) resolve(stdout)
        else reject(classifyIncusFailure({...result, signal, timeoutMs}))
      })
    })
  }

  /**
   * Runs `incus ARGS...` on the user's terminal (stdin, stdout, stderr passed through); returns
   * the exit code. A plain spawn, not zx: nothing is captured or quoted (no shell is involved),
   * and loading zx would cost more than `incus exec` itself.
   */
  runAttached(args: string[]): Promise<number> {
    const {spawn} = process.getBuiltinModule('node:child_process')
    const {constants} = process.getBuiltinModule('node:os')
    // The child owns the terminal: Ctrl-C is for it, and we exit with its status.
    const ignore = () => {}
    process.on('SIGINT', ignore)
    // Spawned before this returns, so the caller can use the wait for other work.
    const child = spawn('incus', args, {env: this.env, stdio: 'inherit'})
    return new Promise<number>((resolve, reject) => {
      child.on('error', (error: NodeJS.ErrnoException) =>
        reject(
          error.code === 'ENOENT'
            ? classifyIncusFailure({args, exitCode: 127, stdout: '', stderr: 'incus: not found', timeoutMs: 0})
            : error,
        ),
      )
      child.on('close', (code, signal) => {
        const exitCode = code ?? 128 + (signal ? constants.signals[signal] : constants.signals.SIGTERM)
        this.onCommand?.({args, exitCode, stdout: '', stderr: ''})
        resolve(exitCode)
      })
    }).finally(() => process.off('SIGINT', ignore))
  }

  /**
   * Raw REST; returns the parsed JSON body, if any. Reads go straight to the local daemon's
   * socket when the CLI would use it too; everything else goes through `incus query`.
   */
  async query<T>(
    path: string,
    options: {method?: string; body?: unknown; wait?: boolean; timeoutMs?: number} = {},
  ): Promise<T> {
    const read = (options.method ?? 'GET') === 'GET' && options.body === undefined
    if (read && this.socket() !== undefined) {
      const early = this.readsAhead.get(path)
      this.readsAhead.delete(path)
      const answer = await (early ?? this.socketRead(path, options.timeoutMs ?? this.timeoutMs))
      if (answer.answered) return answer.value as T
    }
    const args = ['query']
    if (options.method) args.push('--request', options.method)
    if (options.body !== undefined) args.push('--data', JSON.stringify(options.body))
    if (options.wait) args.push('--wait')
    args.push(path)
    const stdout = await this.run(args, {timeoutMs: options.timeoutMs})
    const text = stdout.trim()
    return (text === '' ? undefined : JSON.parse(text)) as T
  }

  /**
   * Sends a read now, for the next `query` of the same path to use: the daemon works on it while
   * this process does other things. Only over the socket; a no-op otherwise.
   */
  readAhead(path: string): void {
    if (this.socket() === undefined) return
    const pending = this.socketRead(path, this.timeoutMs)
    // Its failure is reported by the query that uses it, if any.
    pending.catch(() => {})
    this.readsAhead.set(path, pending)
  }

  /** The local daemon's socket, when reads can go there (decided once per client). */
  private socket(): string | undefined {
    if (this.socketPath === null) this.socketPath = localSocketPath(hostSocketProbe(this.env))
    return this.socketPath
  }

  private async socketRead(path: string, timeoutMs: number): Promise<SocketRead> {
    const socket = this.socket() as string
    const args = ['query', path]
    try {
      const response = await socketGet(socket, path, timeoutMs)
      const ok = response.status >= 200 && response.status < 300
      const stderr = ok ? '' : `Error: ${response.error ?? `HTTP ${response.status}`}`
      this.onCommand?.({args, exitCode: ok ? 0 : 1, stdout: '', stderr, via: socket})
      if (ok) return {answered: true, value: response.metadata}
      throw classifyIncusFailure({args, exitCode: 1, stdout: '', stderr, timeoutMs})
    } catch (error) {
      if (!(error instanceof SocketUnavailableError)) throw error
      if (error.timedOut) throw classifyIncusFailure({args, exitCode: null, stdout: '', stderr: '', timeoutMs})
      // Let the CLI try, and explain in the daemon's words if it fails too.
      this.socketPath = undefined
      return {answered: false}
    }
  }

  /** An API path with this client's project (or another one) as the `project` parameter. */
  scoped(path: string, project = this.project): string {
    return `${path}${path.includes('?') ? '&' : '?'}project=${encodeURIComponent(project)}`
  }

  server(): Promise<IncusServer> {
    return this.query<IncusServer>('/1.0')
  }

  async getProject(name = this.project): Promise<IncusProject | undefined> {
    return this.orUndefined(this.query<IncusProject>(`/1.0/projects/${encodeURIComponent(name)}`))
  }

  async createProject(name: string, config: Record<string, string>, description: string): Promise<void> {
    await this.query('/1.0/projects', {method: 'POST', body: {name, config, description}})
  }

  async patchProject(name: string, config: Record<string, string>): Promise<void> {
    await this.query(`/1.0/projects/${encodeURIComponent(name)}`, {method: 'PATCH', body: {config}})
  }

  async deleteProject(name: string): Promise<void> {
    await this.query(`/1.0/projects/${encodeURIComponent(name)}`, {method: 'DELETE'})
  }

  storagePools(): Promise<IncusStoragePool[]> {
    return this.list<IncusStoragePool>('/1.0/storage-pools?recursion=1')
  }

  networks(): Promise<IncusNetwork[]> {
    return this.list<IncusNetwork>(this.scoped('/1.0/networks?recursion=1'))
  }

  /** Every instance in the project with status, config and devices: one cheap call (no live state). */
  listInstances(): Promise<IncusInstance[]> {
    return this.list<IncusInstance>(this.instancesPath())
  }

  instancesPath(): string {
    return this.scoped('/1.0/instances?recursion=1')
  }

  instancePath(name: string): string {
    return this.scoped(`/1.0/instances/${encodeURIComponent(name)}`)
  }

  /** A collection; `incus query` prints nothing at all for an empty one. */
  private async list<T>(path: string): Promise<T[]> {
    return (await this.query<T[] | undefined>(path)) ?? []
  }

  async getInstance(name: string): Promise<IncusInstance | undefined> {
    return this.orUndefined(this.query<IncusInstance>(this.instancePath(name)))
  }

  /**
   * Creates and starts an instance, with its config, devices and profiles inline (fed on stdin,
   * which is how the CLI takes devices no profile has; the CLI reads YAML there, and JSON is
   * YAML). `files` are placed into its root file system before the first boot, so it is
   * created, given them, then started; without files it is one `incus launch`.
   */
  async launch(spec: InstanceSpec, files: InstanceFile[] = []): Promise<void> {
    const profileArgs = spec.profiles.length === 0 ? ['--no-profiles'] : spec.profiles.flatMap((p) => ['--profile', p])
    await this.run(
      [files.length === 0 ? 'launch' : 'create', spec.image, spec.name, '--project', this.project, ...profileArgs],
      {
        input: JSON.stringify({config: spec.config, devices: spec.devices}),
        timeoutMs: LAUNCH_TIMEOUT_MS,
      },
    )
    if (files.length === 0) return
    for (const file of files) await this.pushFile(spec.name, file)
    await this.startInstance(spec.name)
  }

  /**
   * Creates a stopped container from a local image (`fingerprint`) in one request, with its
   * config, devices and profiles inline, and waits until its root file system is there.
   */
  async createInstance(spec: InstanceSpec, fingerprint: string): Promise<void> {
    const body = {
      name: spec.name,
      type: 'container',
      source: {type: 'image', fingerprint},
      profiles: spec.profiles,
      config: spec.config,
      devices: spec.devices,
    }
    await this.socketCall('POST', this.scoped('/1.0/instances'), {
      body: JSON.stringify(body),
      timeoutMs: LAUNCH_TIMEOUT_MS,
    })
  }

  /** `patchInstance` over the local socket, as `new`'s other requests go (it waits for the operation). */
  async patchOverSocket(name: string, body: Pick<InstanceSpec, 'config' | 'devices'>): Promise<void> {
    await this.socketCall('PATCH', this.instancePath(name), {body: JSON.stringify(body)})
  }

  /** Starts an instance with one request over the socket, and waits until it runs. */
  async startOverSocket(name: string): Promise<void> {
    await this.socketCall('PUT', this.scoped(`/1.0/instances/${encodeURIComponent(name)}/state`), {
      body: JSON.stringify({action: 'start', timeout: -1}),
      timeoutMs: 5 * 60_000,
    })
  }

  /**
   * A path inside an instance (running or not) through the file API: its owner, mode and
   * content (a directory's names, one a line), or undefined when there is nothing there.
   * `content: false` asks for the stat alone (a HEAD: no bytes of a large file cross).
   */
  async readInstanceFile(
    name: string,
    path: string,
    options: {content?: boolean} = {},
  ): Promise<(InstanceFileStat & {content: string}) | undefined> {
    const method = options.content === false ? 'HEAD' : 'GET'
    try {
      const response = await this.socketCall(method, this.filePath(name, path))
      const stat = {
        type: (response.headers['x-incus-type'] ?? 'file') as InstanceFileStat['type'],
        uid: Number(response.headers['x-incus-uid']),
        gid: Number(response.headers['x-incus-gid']),
        mode: Number.parseInt(response.headers['x-incus-mode'] ?? '0', 8),
      }
      if (method === 'HEAD') return {...stat, content: ''}
      if (stat.type !== 'directory') return {...stat, content: response.body.toString('utf8')}
      const entries = incusDocument(this.socket() as string, path, response).metadata as string[] | null
      return {...stat, content: (entries ?? []).map((entry) => `${entry}\n`).join('')}
    } catch (error) {
      if (error instanceof IncusNotFoundError) return undefined
      throw error
    }
  }

  /**
   * Opens an SFTP session with an instance's file system (running or not): many reads and
   * writes for the cost of one request (sftp.ts says why). Each is logged as the `incus file`
   * command that does the same.
   */
  async openFiles(name: string): Promise<InstanceFiles> {
    const socket = this.socket()
    if (socket === undefined) throw new IncusError(`writing into "${name}" needs the local Incus socket`)
    const path = this.scoped(`/1.0/instances/${encodeURIComponent(name)}/sftp`)
    const {SftpSession} = await import('./sftp.js')
    const session = await this.overSftp(['query', '--request', 'GET', path], socket, () =>
      SftpSession.open(socket, path, this.timeoutMs),
    )
    const via = `${socket}, sftp`
    return {
      read: async (path, options = {}) => {
        const found = await this.overSftp(['file', 'pull', `${name}${path}`, '-'], via, () =>
          session.read(path, options),
        )
        if (!found) return undefined
        // Owner and permission bits, as the file API gives them.
        const {attrs, type, content} = found
        return {type, uid: attrs.uid ?? 0, gid: attrs.gid ?? 0, mode: (attrs.mode ?? 0) & 0o777, content}
      },
      write: async (file) => {
        const directory = file.type === 'directory'
        const attrs = {uid: file.uid ?? 0, gid: file.gid ?? 0, mode: file.mode ?? (directory ? 0o755 : 0o644)}
        const how = ['--uid', String(attrs.uid), '--gid', String(attrs.gid), '--mode', `0${attrs.mode.toString(8)}`]
        const target = `${name}${file.path}`
        await this.overSftp(
          directory ? ['file', 'create', '--type=directory', ...how, target] : ['file', 'push', ...how, '-', target],
          via,
          () =>
            directory
              ? session.makeDirectory(file.path, attrs)
              : session.writeFile(file.path, Buffer.from(file.content ?? '', 'utf8'), attrs),
        )
      },
      close: () => session.close(),
    }
  }

  /**
   * Runs one SFTP step, logged as `args` (a pull is a read, and finding nothing is its exit 1,
   * as for the file API); a failure becomes the typed error the CLI's would.
   */
  private async overSftp<T>(args: string[], via: string, step: () => Promise<T>): Promise<T> {
    const {SftpRefusedError, SftpStatusError, NO_SUCH_FILE} = await import('./sftp.js')
    const sent = args[1] !== 'pull'
    const fail = (message: string, exitCode: number | null = 1) => {
      const stderr = `Error: ${message}`
      this.onCommand?.({args, exitCode, stdout: '', stderr, via, sent})
      return classifyIncusFailure({args, exitCode, stdout: '', stderr, timeoutMs: this.timeoutMs})
    }
    try {
      const value = await step()
      if (value === undefined && !sent) fail('Not Found')
      else this.onCommand?.({args, exitCode: 0, stdout: '', stderr: '', via, sent})
      return value
    } catch (error) {
      if (error instanceof SftpStatusError && error.code === NO_SUCH_FILE) {
        fail(error.message)
        throw new IncusNotFoundError(`${args.at(-1)}: ${error.message}`)
      }
      if (error instanceof SocketUnavailableError) throw fail(error.message, error.timedOut ? null : 1)
      if (error instanceof SftpRefusedError || error instanceof SftpStatusError) throw fail(error.message)
      throw error
    }
  }

  /** The paths an instance's image templates render (its metadata.yaml's `templates`). */
  async instanceTemplates(name: string): Promise<string[]> {
    const metadata = await this.query<{templates?: Record<string, unknown> | null}>(
      this.scoped(`/1.0/instances/${encodeURIComponent(name)}/metadata`),
    )
    return Object.keys(metadata?.templates ?? {})
  }

  private filePath(name: string, path: string): string {
    return this.scoped(`/1.0/instances/${encodeURIComponent(name)}/files?path=${encodeURIComponent(path)}`)
  }

  /**
   * One request over the local socket, logged as the `incus query` it stands for; an async one
   * is waited for (its wait is a request of its own). Daemon errors become the typed errors the
   * CLI's would (src/lib/incus/errors.ts).
   */
  private async socketCall(
    method: string,
    path: string,
    options: {body?: string; raw?: Buffer; headers?: Record<string, string>; timeoutMs?: number} = {},
  ): Promise<SocketRawResponse> {
    const deadline = Date.now() + BUSY_WAIT_MS
    for (;;) {
      const busy = {seen: false}
      try {
        return await this.socketCallOnce(method, path, options, busy)
      } catch (error) {
        if (!busy.seen || Date.now() > deadline) throw error
        await new Promise((resolve) => setTimeout(resolve, BUSY_RETRY_MS))
      }
    }
  }

  private async socketCallOnce(
    method: string,
    path: string,
    options: {body?: string; raw?: Buffer; headers?: Record<string, string>; timeoutMs?: number},
    busy: {seen: boolean},
  ): Promise<SocketRawResponse> {
    const socket = this.socket()
    if (socket === undefined) throw new IncusError(`${method} ${path} needs the local Incus socket`)
    const timeoutMs = options.timeoutMs ?? this.timeoutMs
    const args = ['query', '--request', method, path]
    const fail = (stderr: string, exitCode: number | null = 1) => {
      busy.seen = isBusy(stderr)
      this.onCommand?.({args, exitCode, stdout: '', stderr, via: socket, sent: true})
      return classifyIncusFailure({args, exitCode, stdout: '', stderr, timeoutMs})
    }
    let response: SocketRawResponse
    try {
      response = await socketRequest(
        socket,
        {method, path, headers: options.headers, body: options.body ?? options.raw},
        timeoutMs,
      )
    } catch (error) {
      if (error instanceof SocketUnavailableError && error.timedOut) throw fail('', null)
      if (error instanceof SocketUnavailableError) throw fail(`Error: ${error.message}`)
      throw error
    }
    // A HEAD's answer has headers only.
    const json = response.body.length > 0 && (response.headers['content-type'] ?? '').startsWith('application/json')
    const document = json ? incusDocument(socket, path, response) : undefined
    // An operation's wait answers 200 with an error document when the operation failed.
    if (response.status >= 400 || document?.error)
      throw fail(`Error: ${document?.error ?? (response.status === 404 ? 'Not Found' : `HTTP ${response.status}`)}`)
    this.onCommand?.({args, exitCode: 0, stdout: '', stderr: '', via: socket, sent: true})
    if (document?.operation) {
      const wait = `${document.operation}/wait?timeout=${Math.ceil(timeoutMs / 1000)}`
      const done = await this.socketCall('GET', this.scoped(wait), {timeoutMs: timeoutMs + 5_000})
      const outcome = (incusDocument(socket, wait, done).metadata ?? {}) as {status?: string; err?: string}
      if (outcome.status !== 'Success') throw fail(`Error: ${outcome.err || `operation ${outcome.status}`}`)
    }
    return response
  }

  /**
   * Replaces an instance's own devices (its profiles' stay), as `incus config edit` does: the
   * rest of its writable state is sent back as it was. A running container gets disks
   * hot-plugged and unplugged.
   */
  async setDevices(name: string, devices: DeviceMap): Promise<void> {
    const current = await this.query<IncusInstance & Record<string, unknown>>(this.instancePath(name))
    const {architecture, config, ephemeral, profiles, stateful, description} = current
    await this.query(this.instancePath(name), {
      method: 'PUT',
      body: {architecture, config, devices, ephemeral, profiles, stateful, description},
      wait: true,
    })
  }

  /** Writes a root-owned file into an instance (running or not), making its directories. */
  async pushFile(name: string, file: InstanceFile): Promise<void> {
    const {mkdtemp, rm, writeFile} = await import('node:fs/promises')
    const {tmpdir} = await import('node:os')
    const {join} = await import('node:path')
    const dir = await mkdtemp(join(tmpdir(), 'repoman-push-'))
    try {
      const local = join(dir, 'file')
      await writeFile(local, file.content ?? '')
      const target = `${name}${file.path}`
      await this.run(
        [
          'file',
          'push',
          local,
          target,
          '--project',
          this.project,
          '--create-dirs',
          '--uid',
          '0',
          '--gid',
          '0',
          '--mode',
          '0644',
          '--quiet',
        ],
        {timeoutMs: 60_000},
      )
    } finally {
      await rm(dir, {recursive: true, force: true})
    }
  }

  /** Adds or replaces config keys and devices of an instance (a running one gets a new disk hot-plugged). */
  async patchInstance(name: string, body: Pick<InstanceSpec, 'config' | 'devices'>): Promise<void> {
    await this.query(this.instancePath(name), {method: 'PATCH', body, wait: true})
  }

  async startInstance(name: string): Promise<void> {
    await this.run(['start', name, '--project', this.project], {timeoutMs: 5 * 60_000})
  }

  /** Freezes (`freeze`) or thaws (`unfreeze`) a running instance's processes, and waits for it. */
  async setFrozen(name: string, frozen: boolean): Promise<void> {
    await this.query(this.scoped(`/1.0/instances/${encodeURIComponent(name)}/state`), {
      method: 'PUT',
      body: {action: frozen ? 'freeze' : 'unfreeze', timeout: -1},
      wait: true,
      timeoutMs: 2 * 60_000,
    })
  }

  async deleteInstance(name: string): Promise<void> {
    await this.run(['delete', name, '--project', this.project, '--force'], {timeoutMs: 5 * 60_000})
  }

  /**
   * The properties of `image` (an alias or fingerprint, optionally `remote:`) as this project
   * resolves it, or undefined when there is no such image. A local image is looked up in one
   * read over the socket, and then its fingerprint comes too (what `createInstance` takes).
   */
  async resolveImage(image: string): Promise<{properties: Record<string, string>; fingerprint?: string} | undefined> {
    if (!image.includes(':') && this.socket() !== undefined) {
      const images = await this.list<IncusImage>(this.imagesPath())
      const found =
        images.find((candidate) => candidate.aliases?.some((alias) => alias.name === image)) ??
        (/^[0-9a-f]+$/.test(image) ? images.find((candidate) => candidate.fingerprint.startsWith(image)) : undefined)
      return found && {properties: found.properties ?? {}, fingerprint: found.fingerprint}
    }
    // The YAML library loads while the CLI runs.
    const [yaml, {parse}] = await Promise.all([
      this.orUndefined(this.run(['image', 'show', image, '--project', this.project])),
      import('yaml'),
    ])
    if (yaml === undefined) return undefined
    return {properties: (parse(yaml) as {properties?: Record<string, string>}).properties ?? {}}
  }

  /** Argument list for `incus exec` in this project (for runAttached or run). */
  execArgs(
    name: string,
    command: string[],
    options: {uid?: number; gid?: number; cwd?: string; env?: Record<string, string>; tty?: boolean} = {},
  ): string[] {
    const args = ['exec', name, '--project', this.project]
    if (options.tty !== undefined) args.push(options.tty ? '--force-interactive' : '--force-noninteractive')
    if (options.uid !== undefined) args.push('--user', String(options.uid))
    if (options.gid !== undefined) args.push('--group', String(options.gid))
    if (options.cwd) args.push('--cwd', options.cwd)
    for (const [key, value] of Object.entries(options.env ?? {})) args.push('--env', `${key}=${value}`)
    return [...args, '--', ...command]
  }

  /** An instance's snapshots (of its root volume), oldest first. */
  async snapshots(name: string): Promise<IncusSnapshot[]> {
    const snapshots = await this.list<IncusSnapshot>(
      this.scoped(`/1.0/instances/${encodeURIComponent(name)}/snapshots?recursion=1`),
    )
    return snapshots.sort((a, b) => a.created_at.localeCompare(b.created_at))
  }

  async createSnapshot(name: string, snapshot: string): Promise<void> {
    await this.run(['snapshot', 'create', name, snapshot, '--project', this.project], {timeoutMs: 15 * 60_000})
  }

  /** Incus stops a running container for the restore and starts it again after. */
  async restoreSnapshot(name: string, snapshot: string): Promise<void> {
    await this.run(['snapshot', 'restore', name, snapshot, '--project', this.project], {timeoutMs: 15 * 60_000})
  }

  async getNetwork(name: string): Promise<IncusNetwork | undefined> {
    return this.orUndefined(this.query<IncusNetwork>(this.scoped(`/1.0/networks/${encodeURIComponent(name)}`)))
  }

  async createNetwork(body: {
    name: string
    type: string
    description: string
    config: Record<string, string>
  }): Promise<void> {
    await this.query(this.scoped('/1.0/networks'), {method: 'POST', body})
  }

  async deleteNetwork(name: string): Promise<void> {
    await this.query(this.scoped(`/1.0/networks/${encodeURIComponent(name)}`), {method: 'DELETE'})
  }

  async getAcl(name: string): Promise<IncusAcl | undefined> {
    return this.orUndefined(this.query<IncusAcl>(this.scoped(`/1.0/network-acls/${encodeURIComponent(name)}`)))
  }

  /** Creates the ACL, or replaces its rules when it exists already. */
  async putAcl(acl: Omit<IncusAcl, 'used_by'>): Promise<void> {
    const {name, ...body} = acl
    if (await this.getAcl(name))
      await this.query(this.scoped(`/1.0/network-acls/${encodeURIComponent(name)}`), {method: 'PUT', body})
    else await this.query(this.scoped('/1.0/network-acls'), {method: 'POST', body: acl})
  }

  async deleteAcl(name: string): Promise<void> {
    await this.query(this.scoped(`/1.0/network-acls/${encodeURIComponent(name)}`), {method: 'DELETE'})
  }

  listProfiles(): Promise<IncusProfile[]> {
    return this.list<IncusProfile>(this.profilesPath())
  }

  profilesPath(): string {
    return this.scoped('/1.0/profiles?recursion=1')
  }

  /** The local images, which `resolveImage` looks a name up in (over the socket). */
  imagesPath(): string {
    return this.scoped('/1.0/images?recursion=1')
  }

  async getProfile(name: string): Promise<IncusProfile | undefined> {
    return this.orUndefined(this.query<IncusProfile>(this.scoped(`/1.0/profiles/${encodeURIComponent(name)}`)))
  }

  async createProfile(spec: ProfileSpec): Promise<void> {
    await this.query(this.scoped('/1.0/profiles'), {method: 'POST', body: spec})
  }

  async updateProfile(spec: ProfileSpec): Promise<void> {
    const {name, ...body} = spec
    await this.query(this.scoped(`/1.0/profiles/${encodeURIComponent(name)}`), {method: 'PUT', body})
  }

  async deleteProfile(name: string): Promise<void> {
    await this.query(this.scoped(`/1.0/profiles/${encodeURIComponent(name)}`), {method: 'DELETE'})
  }

  private async orUndefined<T>(call: Promise<T>): Promise<T | undefined> {
    try {
      return await call
    } catch (error) {
      if (error instanceof IncusNotFoundError) return undefined
      throw error
    }
  }
}
