/**
 * Reads from the local Incus daemon's REST API over its unix socket. A read through `incus
 * query` costs a process, and loading zx to start it costs more than the daemon's own work; the
 * socket costs neither. Only reads go this way, and only when the `incus` CLI would itself talk
 * to that socket: with a remote as the default, or incus-user's restricted socket, the CLI is
 * used, so repoman always sees the daemon `incus` sees.
 */
import {accessSync, constants, existsSync, readFileSync} from 'node:fs'
import {homedir} from 'node:os'
import {join} from 'node:path'

export interface SocketProbe {
  env: NodeJS.ProcessEnv
  exists(path: string): boolean
  writable(path: string): boolean
  /** The CLI's config.yml, or undefined when there is none. */
  cliConfig(): string | undefined
}

/** The remote the `incus` CLI uses by default: INCUS_REMOTE, else config.yml's default-remote, else local. */
export function defaultRemote(env: NodeJS.ProcessEnv, cliConfig: string | undefined): string {
  if (env.INCUS_REMOTE) return env.INCUS_REMOTE
  const configured = cliConfig && /^default-remote:\s*["']?([^"'\s#]+)/m.exec(cliConfig)?.[1]
  return configured || 'local'
}

/**
 * The socket the `incus` CLI would connect to for the `local` remote (the order of the Go
 * client's ConnectIncusUnix), or undefined when the CLI would go elsewhere.
 */
export function localSocketPath(probe: SocketProbe): string | undefined {
  if (defaultRemote(probe.env, probe.cliConfig()) !== 'local') return undefined
  if (probe.env.INCUS_SOCKET) return probe.env.INCUS_SOCKET
  const dir = probe.env.INCUS_DIR || (probe.exists('/run/incus/unix.socket') ? '/run/incus' : '/var/lib/incus')
  const socket = join(dir, 'unix.socket')
  // incus-user's socket is confined to a per-user project: leave that case to the CLI.
  if (!probe.writable(socket) && probe.writable(join(dir, 'unix.socket.user'))) return undefined
  return socket
}

export function hostSocketProbe(env: NodeJS.ProcessEnv): SocketProbe {
  return {
    env,
    exists: existsSync,
    writable(path) {
      try {
        accessSync(path, constants.W_OK)
        return true
      } catch {
        return false
      }
    },
    cliConfig() {
      const dir = env.INCUS_CONF || join(env.HOME || homedir(), '.config/incus')
      try {
        return readFileSync(join(dir, 'config.yml'), 'utf8')
      } catch {
        return undefined
      }
    },
  }
}

/** What the daemon answered: its status code and, for an error, its message. */
export interface SocketResponse {
  status: number
  /** `metadata` of a sync response. */
  metadata: unknown
  error?: string
  /** An async request's operation (`/1.0/operations/ID`), to wait for. */
  operation?: string
}

/**
 * Nothing usable answered on the socket. The caller falls back to the CLI, which explains why
 * in the daemon's words, unless the daemon was there but too slow (then asking again is no use).
 */
export class SocketUnavailableError extends Error {
  constructor(
    message: string,
    readonly timedOut = false,
  ) {
    super(message)
  }
}

/** A request to the daemon: a method, an API path with its query string, and what it carries. */
export interface SocketRequest {
  method: string
  path: string
  /** Extra headers (the file API's X-Incus-uid, -gid, -mode, -type). */
  headers?: Record<string, string>
  /** JSON (sent as such) or the raw bytes of a file. */
  body?: string | Buffer
}

/** The daemon's answer as it came: status, headers (lower-cased names) and the raw body. */
export interface SocketRawResponse {
  status: number
  headers: Record<string, string>
  body: Buffer
}

/**
 * One HTTP/1.0 request on a plain socket: the daemon answers it whole and closes, so there are
 * no chunks or keep-alive to handle. node:http would do the same at several times the start-up
 * cost (its module graph, ~7 ms), which here is on the critical path of every `exec`. Anything
 * unexpected is a SocketUnavailableError, and the caller falls back to the CLI.
 */
export function socketRequest(socket: string, request: SocketRequest, timeoutMs: number): Promise<SocketRawResponse> {
  const {createConnection} = process.getBuiltinModule('node:net')
  return new Promise((resolve, reject) => {
    const connection = createConnection(socket)
    const chunks: Buffer[] = []
    connection.setTimeout(timeoutMs, () =>
      connection.destroy(new SocketUnavailableError(`${socket} did not answer within ${timeoutMs} ms`, true)),
    )
    connection.on('data', (chunk: Buffer) => chunks.push(chunk))
    connection.on('error', (error) =>
      reject(error instanceof SocketUnavailableError ? error : new SocketUnavailableError(error.message)),
    )
    connection.on('end', () => {
      const response = splitResponse(Buffer.concat(chunks))
      if (response) resolve(response)
      else reject(new SocketUnavailableError(`${socket} answered ${request.path} with something other than HTTP`))
    })
    const body = request.body === undefined ? undefined : Buffer.from(request.body)
    const headers = {
      Host: 'incus',
      'User-Agent': 'repoman',
      // Without a type, Go's server takes a body for a form and reads it away.
      ...(body === undefined
        ? {}
        : {
            'Content-Type': typeof request.body === 'string' ? 'application/json' : 'application/octet-stream',
            'Content-Length': String(body.length),
          }),
      ...request.headers,
    }
    const head = Object.entries(headers)
      .map(([key, value]) => `${key}: ${value}\r\n`)
      .join('')
    // Not end(): a half-closed connection makes the daemon cancel the request.
    connection.write(`${request.method} ${request.path} HTTP/1.0\r\n${head}\r\n`)
    if (body !== undefined) connection.write(body)
  })
}

/** Status line, headers and body of a raw HTTP response, or undefined when it is none. */
function splitResponse(raw: Buffer): SocketRawResponse | undefined {
  const headEnd = raw.indexOf('\r\n\r\n')
  if (headEnd < 0) return undefined
  const [statusLine, ...lines] = raw.subarray(0, headEnd).toString('latin1').split('\r\n')
  const status = /^HTTP\/1\.[01] (\d{3})/.exec(statusLine ?? '')?.[1]
  if (status === undefined) return undefined
  const headers = Object.fromEntries(
    lines.map((line) => [
      line.slice(0, line.indexOf(':')).trim().toLowerCase(),
      line.slice(line.indexOf(':') + 1).trim(),
    ]),
  )
  return {status: Number(status), headers, body: raw.subarray(headEnd + 4)}
}

/** GET `path` (an API path with its query string) from the daemon on `socket`: its JSON document. */
export async function socketGet(socket: string, path: string, timeoutMs: number): Promise<SocketResponse> {
  return incusDocument(socket, path, await socketRequest(socket, {method: 'GET', path}, timeoutMs))
}

/** The Incus JSON document a response carries; a SocketUnavailableError when it carries none. */
export function incusDocument(socket: string, path: string, response: SocketRawResponse): SocketResponse {
  const document = parseDocument(response.status, response.body.toString('utf8'))
  if (!document) throw new SocketUnavailableError(`${socket} answered ${path} with something other than Incus JSON`)
  return document
}

/** An HTTP response carrying an Incus JSON document, or undefined. */
export function parseResponse(raw: string): SocketResponse | undefined {
  const response = splitResponse(Buffer.from(raw, 'utf8'))
  return response && parseDocument(response.status, response.body.toString('utf8'))
}

function parseDocument(status: number, text: string): SocketResponse | undefined {
  try {
    const body = JSON.parse(text) as {metadata?: unknown; error?: string; operation?: string}
    const document: SocketResponse = {status, metadata: body.metadata, error: body.error || undefined}
    if (body.operation) document.operation = body.operation
    return document
  } catch {
    return undefined
  }
}
