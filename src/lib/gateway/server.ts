/**
 * One project's side of the gateway: an HTTP proxy on a unix socket that only that project's
 * container reaches (through its forwarder or proxy device, inside.ts). It answers three kinds
 * of request:
 *
 * - `CONNECT host:port`: a TCP tunnel, once the policy allows the name and the addresses it
 *   resolves to; it connects to exactly the address it checked.
 * - `GET http://host/...` (absolute form): plain HTTP forwarded the same way.
 * - `/agents/<agent>/...` (origin form, the agents' base URL): forwarded to the agent's
 *   configured upstream with the placeholder token swapped for the real one, which is read from
 *   the host's login store per request and never sent back.
 *
 * Anything else is refused; every decision is logged for the project.
 */
import {promises as dns} from 'node:dns'
import {
  createServer,
  request as httpRequest,
  type IncomingHttpHeaders,
  type IncomingMessage,
  type Server,
  type ServerResponse,
} from 'node:http'
import {request as httpsRequest} from 'node:https'
import {connect, isIP, type Socket} from 'node:net'
import type {Duplex} from 'node:stream'
import {PLACEHOLDER} from '../agents/credentials.js'
import {type Decision, decideAddresses, decideTarget, type GatewayPolicy, parseAuthority} from './policy.js'

/** Concurrent connections one project may hold: a flood from one container cannot starve another. */
export const MAX_CONNECTIONS_PER_PROJECT = 128
const RESOLVE_TIMEOUT_MS = 5000

export interface GatewayEvent {
  action: 'allowed' | 'refused'
  /** What was asked for: `host:port`, or `agent <name>`. */
  target: string
  reason?: string
}

export interface Login {
  token: string
  /** The agent's API, e.g. https://api.anthropic.com (a path is kept as the prefix). */
  upstream: string
}

export interface GatewayDeps {
  /** The project's policy now (the gateway re-reads it when its config changes). */
  policy(): Promise<GatewayPolicy>
  /** The agent's login and upstream, or undefined when repoman keeps none. */
  login(agent: string): Login | undefined
  log(event: GatewayEvent): void
  resolve?(host: string): Promise<string[]>
}

async function systemResolve(host: string): Promise<string[]> {
  let timer: NodeJS.Timeout | undefined
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error('DNS timed out')), RESOLVE_TIMEOUT_MS)
  })
  try {
    const found = await Promise.race([dns.lookup(host, {all: true, verbatim: true}), timeout])
    return found.map((entry) => entry.address)
  } finally {
    clearTimeout(timer)
  }
}

/** Headers that belong to one hop (RFC 9110 §7.6.1), never forwarded. */
const HOP_BY_HOP = new Set([
  'connection',
  'keep-alive',
  'proxy-authorization',
  'proxy-authenticate',
  'proxy-connection',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
  'host',
])

function forwardHeaders(headers: IncomingHttpHeaders, swap?: string): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {}
  for (const [key, value] of Object.entries(headers)) {
    if (value === undefined || HOP_BY_HOP.has(key)) continue
    out[key] =
      swap === undefined
        ? value
        : Array.isArray(value)
          ? value.map((v) => v.replaceAll(PLACEHOLDER, swap))
          : value.replaceAll(PLACEHOLDER, swap)
  }
  return out
}

/** Where a checked target goes: the address it resolved to, or why not. */
async function admit(
  deps: GatewayDeps,
  host: string,
  port: number,
): Promise<{address: string} | (Decision & {allowed: false})> {
  const policy = await deps.policy()
  const first = decideTarget(policy, host, port)
  if (!first.allowed) return first
  let addresses: string[]
  try {
    addresses = isIP(host) ? [host] : await (deps.resolve ?? systemResolve)(host)
  } catch (error) {
    return {allowed: false, reason: `does not resolve (${(error as Error).message})`}
  }
  const second = decideAddresses(policy, host, port, addresses)
  if (!second.allowed) return second
  return {address: addresses[0] as string}
}

function refuseSocket(socket: Duplex, status: number, reason: string): void {
  socket.end(
    `HTTP/1.1 ${status} Refused\r\ncontent-type: text/plain\r\nconnection: close\r\n\r\nrepoman gateway: ${reason}\n`,
  )
}

function refuseResponse(response: ServerResponse, status: number, reason: string): void {
  response.writeHead(status, {'content-type': 'text/plain', connection: 'close'}).end(`repoman gateway: ${reason}\n`)
}

async function tunnel(deps: GatewayDeps, request: IncomingMessage, client: Duplex, head: Buffer): Promise<void> {
  const authority = request.url ?? ''
  const target = parseAuthority(authority)
  const shown = JSON.stringify(authority.slice(0, 300)).slice(1, -1)
  const refused = (status: number, reason: string) => {
    deps.log({action: 'refused', target: shown, reason})
    refuseSocket(client, status, reason)
  }
  if (!target) return refused(400, 'the CONNECT target must be host:port')
  const host = request.headers.host
  if (host !== undefined && host.toLowerCase() !== authority.toLowerCase())
    return refused(400, 'the Host header differs from the CONNECT target')
  const admitted = await admit(deps, target.host, target.port)
  if ('reason' in admitted) return refused(403, admitted.reason)
  const upstream: Socket = connect({host: admitted.address, port: target.port})
  upstream.once('connect', () => {
    deps.log({action: 'allowed', target: shown})
    client.write('HTTP/1.1 200 Connection Established\r\n\r\n')
    if (head.length > 0) upstream.write(head)
    upstream.pipe(client)
    client.pipe(upstream)
  })
  upstream.once('error', (error) => {
    if (upstream.connecting) refused(502, `could not connect (${error.message})`)
    else client.destroy()
  })
  client.once('error', () => upstream.destroy())
  client.once('close', () => upstream.destroy())
}

function relay(
  request: IncomingMessage,
  response: ServerResponse,
  url: URL,
  options: {address?: string; headers: Record<string, string | string[]>},
  onError: (message: string) => void,
): void {
  const send = url.protocol === 'https:' ? httpsRequest : httpRequest
  const outgoing = send(
    {
      host: options.address ?? url.hostname,
      servername: url.hostname,
      port: url.port || (url.protocol === 'https:' ? 443 : 80),
      method: request.method,
      path: `${url.pathname}${url.search}`,
      headers: {...options.headers, host: url.host},
    },
    (answer) => {
      response.writeHead(answer.statusCode ?? 502, forwardHeaders(answer.headers))
      answer.pipe(response)
    },
  )
  outgoing.once('error', (error) => {
    onError(error.message)
    if (!response.headersSent) refuseResponse(response, 502, `upstream: ${error.message}`)
    else response.destroy()
  })
  request.pipe(outgoing)
}

async function forwardPlain(deps: GatewayDeps, request: IncomingMessage, response: ServerResponse): Promise<void> {
  const raw = request.url ?? ''
  let url: URL
  try {
    url = new URL(raw)
  } catch {
    url = new URL('http://invalid.invalid')
  }
  const target = `${url.hostname}:${url.port || 80}`
  const refused = (status: number, reason: string) => {
    deps.log({action: 'refused', target, reason})
    refuseResponse(response, status, reason)
  }
  if (url.protocol !== 'http:' || url.username || url.password)
    return refused(400, 'only plain http:// URLs are forwarded; use CONNECT for TLS')
  const host = request.headers.host
  if (host !== undefined && host.toLowerCase() !== url.host) return refused(400, 'the Host header differs from the URL')
  const name = url.hostname.replace(/^\[|\]$/g, '')
  const admitted = await admit(deps, name, Number(url.port || 80))
  if ('reason' in admitted) return refused(403, admitted.reason)
  deps.log({action: 'allowed', target})
  relay(request, response, url, {address: admitted.address, headers: forwardHeaders(request.headers)}, (message) =>
    deps.log({action: 'refused', target, reason: `upstream: ${message}`}),
  )
}

/** `/agents/<agent>/<rest>` to the agent's upstream, with the real token in place of the placeholder. */
function forwardAgent(deps: GatewayDeps, request: IncomingMessage, response: ServerResponse): void {
  const match = /^\/agents\/([a-z0-9-]+)(\/[^#]*)?$/.exec(request.url ?? '')
  const agent = match?.[1] ?? ''
  const target = `agent ${agent}`
  const login = match ? deps.login(agent) : undefined
  if (!login) {
    const reason = match
      ? `repoman keeps no login for "${agent}" (on the host: repoman agent login ${agent})`
      : 'unknown path'
    deps.log({action: 'refused', target, reason})
    refuseResponse(response, match ? 401 : 404, reason)
    return
  }
  const base = new URL(login.upstream)
  const url = new URL(`${base.pathname.replace(/\/$/, '')}${match?.[2] ?? '/'}`, base)
  deps.log({action: 'allowed', target: `${target} -> ${base.host}`})
  relay(request, response, url, {headers: forwardHeaders(request.headers, login.token)}, (message) =>
    deps.log({action: 'refused', target, reason: `upstream: ${message}`}),
  )
}

/** The project's gateway server (not yet listening). */
export function projectServer(deps: GatewayDeps): Server {
  const server = createServer({requireHostHeader: false}, (request, response) => {
    const url = request.url ?? ''
    if (url.startsWith('/agents/')) forwardAgent(deps, request, response)
    else if (/^[a-z]+:\/\//i.test(url)) void forwardPlain(deps, request, response)
    else {
      deps.log({action: 'refused', target: JSON.stringify(url.slice(0, 300)), reason: 'not a proxy request'})
      refuseResponse(response, 400, "this is repoman's gateway: use it as HTTP(S)_PROXY")
    }
  })
  server.maxConnections = MAX_CONNECTIONS_PER_PROJECT
  server.on('connect', (request, socket, head) => void tunnel(deps, request, socket, head))
  server.on('clientError', (_error, socket) => {
    deps.log({action: 'refused', target: '?', reason: 'malformed request'})
    if (socket.writable) refuseSocket(socket, 400, 'malformed request')
    else socket.destroy()
  })
  return server
}
