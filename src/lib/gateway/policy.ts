/**
 * What the gateway lets a project reach, decided from the project's network mode and its allow
 * list. Pure: the server asks twice per connection, once for the name it was given (before any
 * DNS) and once for the addresses that name resolved to (it then connects to exactly those, so a
 * name cannot resolve to one address for the check and another for the connection).
 *
 * - `open`: any public or LAN name or address; loopback only when listed (the gateway runs on
 *   the host, so without this rule it would hand the container the host's own services).
 * - `restricted`: public addresses only; LAN, loopback and link-local only when listed.
 * - `allowlist`: only listed names (exact, `*.domain`, or a preset's) and listed IPs/CIDRs; a
 *   listed name that resolves to a private address is allowed, since the user named it.
 */
import {BlockList, isIP} from 'node:net'
import {UsageError} from '../errors.js'
import type {NetworkMode} from '../lifecycle/network.js'

/** Hostnames each preset allows (on ports 443 and 80). */
export const PRESETS: Readonly<Record<string, readonly string[]>> = {
  claude: ['api.anthropic.com', 'statsig.anthropic.com', 'claude.ai', 'console.anthropic.com'],
  codex: ['api.openai.com', 'chatgpt.com', 'auth.openai.com'],
  gemini: ['generativelanguage.googleapis.com', 'oauth2.googleapis.com', 'cloudcode-pa.googleapis.com'],
  opencode: ['opencode.ai', 'models.dev'],
  pi: ['api.anthropic.com', 'api.openai.com'],
  apt: ['deb.debian.org', 'security.debian.org', '*.debian.org'],
  npm: ['registry.npmjs.org', 'registry.yarnpkg.com'],
  pypi: ['pypi.org', 'files.pythonhosted.org'],
  github: ['github.com', '*.github.com', '*.githubusercontent.com', 'ghcr.io'],
}

export const MAX_HOSTNAME = 253
const LABEL = /^(?!-)[a-z0-9-]{1,63}(?<!-)$/
const WEB_PORTS = [80, 443]

/** One parsed allow entry. */
export type AllowTarget =
  | {kind: 'host'; name: string; ports: number[]}
  | {kind: 'domain'; suffix: string; ports: number[]}
  | {kind: 'cidr'; address: string; prefix: number; family: 'ipv4' | 'ipv6'; ports?: number[]}

export interface GatewayPolicy {
  mode: NetworkMode
  allow: AllowTarget[]
}

export type Decision = {allowed: true} | {allowed: false; reason: string}
const refuse = (reason: string): Decision => ({allowed: false, reason})
const ALLOWED: Decision = {allowed: true}

/** Whether `name` is a well-formed DNS name (lower case, no trailing dot, at most 253 characters). */
export function isHostname(name: string): boolean {
  return name.length <= MAX_HOSTNAME && name.includes('.') && name.split('.').every((label) => LABEL.test(label))
}

function parsePort(text: string | undefined, entry: string): number[] | undefined {
  if (text === undefined) return undefined
  const port = Number(text)
  if (!/^\d{1,5}$/.test(text) || port < 1 || port > 65_535)
    throw new UsageError(`network allow entry "${entry}": port ${text} must be 1-65535`)
  return [port]
}

/**
 * Parses an allow entry: a preset (`claude`, `npm`, ...), a hostname or `*.domain` (ports 443
 * and 80, or the one given as `:port`), or an IP/CIDR (`[v6]` in brackets when a port follows).
 */
export function parseAllowTarget(entry: string): AllowTarget[] {
  const text = entry.trim().toLowerCase()
  const preset = PRESETS[text]
  if (preset) return preset.flatMap((name) => parseAllowTarget(name))
  const address =
    /^\[([0-9a-f:.]+)(?:\/(\d{1,3}))?\](?::(\d+))?$/.exec(text) ??
    /^(\d+\.\d+\.\d+\.\d+)(?:\/(\d{1,2}))?(?::(\d+))?$/.exec(text) ??
    /^([0-9a-f:]*:[0-9a-f:.]*)(?:\/(\d{1,3}))?()$/.exec(text)
  if (address) {
    const ip = address[1] as string
    const version = isIP(ip)
    if (version === 0) throw new UsageError(`network allow entry "${entry}": ${ip} is not an IP address`)
    const family = version === 4 ? 'ipv4' : 'ipv6'
    const max = version === 4 ? 32 : 128
    const prefix = address[2] === undefined ? max : Number(address[2])
    if (prefix > max) throw new UsageError(`network allow entry "${entry}": /${prefix} is longer than /${max}`)
    const ports = parsePort(address[3] || undefined, entry)
    return [{kind: 'cidr', address: ip, prefix, family, ...(ports ? {ports} : {})}]
  }
  const named = /^(\*\.)?([^:]+)(?::(\d+))?$/.exec(text)
  const name = named?.[2] ?? ''
  if (!named || !isHostname(name))
    throw new UsageError(
      `network allow entry "${entry}" must be a hostname (api.example.com), *.domain, an IP or CIDR (optionally :port), or a preset (${Object.keys(PRESETS).join(', ')})`,
    )
  const ports = parsePort(named[3], entry) ?? WEB_PORTS
  return [named[1] ? {kind: 'domain', suffix: name, ports} : {kind: 'host', name, ports}]
}

export function parsePolicy(mode: NetworkMode, entries: string[]): GatewayPolicy {
  return {mode, allow: entries.flatMap(parseAllowTarget)}
}

/** Whether an allow entry is one the gateway alone enforces (a name or preset), not an ACL rule. */
export function isNamedEntry(entry: string): boolean {
  return parseAllowTarget(entry).some((target) => target.kind !== 'cidr')
}

const portAllowed = (ports: number[] | undefined, port: number) => ports === undefined || ports.includes(port)

function listedName(policy: GatewayPolicy, host: string, port: number): boolean {
  return policy.allow.some(
    (target) =>
      (target.kind === 'host' && target.name === host && portAllowed(target.ports, port)) ||
      (target.kind === 'domain' && host.endsWith(`.${target.suffix}`) && portAllowed(target.ports, port)),
  )
}

function listedAddress(policy: GatewayPolicy, address: string, port: number): boolean {
  const family = isIP(address) === 4 ? 'ipv4' : 'ipv6'
  return policy.allow.some((target) => {
    if (target.kind !== 'cidr' || target.family !== family || !portAllowed(target.ports, port)) return false
    const list = new BlockList()
    list.addSubnet(target.address, target.prefix, family)
    return list.check(address, family)
  })
}

const LOOPBACK = new BlockList()
LOOPBACK.addSubnet('127.0.0.0', 8, 'ipv4')
LOOPBACK.addAddress('::1', 'ipv6')
LOOPBACK.addAddress('::', 'ipv6')
LOOPBACK.addSubnet('0.0.0.0', 8, 'ipv4')

const NOT_PUBLIC = new BlockList()
for (const [net, bits] of [
  ['10.0.0.0', 8],
  ['100.64.0.0', 10],
  ['169.254.0.0', 16],
  ['172.16.0.0', 12],
  ['192.168.0.0', 16],
  ['192.0.0.0', 24],
  ['198.18.0.0', 15],
  ['224.0.0.0', 3],
] as const)
  NOT_PUBLIC.addSubnet(net, bits, 'ipv4')
for (const [net, bits] of [
  ['fc00::', 7],
  ['fe80::', 10],
  ['ff00::', 8],
  ['64:ff9b::', 96],
] as const)
  NOT_PUBLIC.addSubnet(net, bits, 'ipv6')

/** An IPv4-mapped IPv6 address (`::ffff:127.0.0.1`) as the IPv4 address it is. */
export function unmapped(address: string): string {
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address)
  return mapped ? (mapped[1] as string) : address
}

function addressClass(address: string): 'loopback' | 'private' | 'public' {
  const ip = unmapped(address)
  const family = isIP(ip) === 4 ? 'ipv4' : 'ipv6'
  if (LOOPBACK.check(ip, family)) return 'loopback'
  return NOT_PUBLIC.check(ip, family) ? 'private' : 'public'
}

/**
 * The first question: may the project ask for `host:port` at all? `host` is what the client
 * sent (a name, or an IP literal, IPv6 without brackets).
 */
export function decideTarget(policy: GatewayPolicy, host: string, port: number): Decision {
  if (!Number.isInteger(port) || port < 1 || port > 65_535) return refuse('bad port')
  if (isIP(host)) {
    const ip = unmapped(host)
    if (listedAddress(policy, ip, port)) return ALLOWED
    if (policy.mode === 'allowlist') return refuse('IP address not listed (name the host instead)')
    return decideAddresses(policy, host, port, [ip])
  }
  if (host.length > MAX_HOSTNAME) return refuse('name too long')
  if (!isHostname(host)) return refuse('not a hostname')
  if (policy.mode === 'allowlist' && !listedName(policy, host, port)) return refuse('not on the allow list')
  return ALLOWED
}

/** The second question: may the connection go to what `host` resolved to? All must pass. */
export function decideAddresses(policy: GatewayPolicy, host: string, port: number, addresses: string[]): Decision {
  if (addresses.length === 0) return refuse('name does not resolve')
  const named = !isIP(host) && listedName(policy, host, port)
  for (const address of addresses) {
    const ip = unmapped(address)
    if (named || listedAddress(policy, ip, port)) continue
    const kind = addressClass(ip)
    if (kind === 'loopback') return refuse(`resolves to loopback ${ip} (list it to allow)`)
    if (kind === 'private' && policy.mode !== 'open') return refuse(`resolves to private ${ip} (list it to allow)`)
  }
  return ALLOWED
}

/**
 * Splits a CONNECT target `host:port` (IPv6 as `[addr]:port`), lower-casing the name; undefined
 * when it is not one (a NUL byte, a space, no port, a user part, ...).
 */
export function parseAuthority(authority: string): {host: string; port: number} | undefined {
  const match = /^(?:\[([0-9a-fA-F:.]+)\]|([^:[\]\s/@\\\0]+)):(\d{1,5})$/.exec(authority)
  if (!match) return undefined
  const host = (match[1] ?? (match[2] as string)).toLowerCase()
  if (match[1] && isIP(host) !== 6) return undefined
  return {host, port: Number(match[3])}
}
