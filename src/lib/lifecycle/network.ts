/**
 * Network isolation, per project: `open` (whatever the profiles give), `restricted` (the
 * internet yes; RFC 1918, CGNAT, link-local, loopback, IPv6 ULA and link-local no) or
 * `allowlist` (only the listed hosts and CIDRs). An isolated project gets a managed bridge of
 * its own with an Incus network ACL on it: default reject both ways, allow rules for what is
 * allowed. Incus evaluates drop, then reject, then allow, then the default action, so allowed
 * LAN exceptions are allow rules on a default-reject ACL, never rejects with holes. Pure.
 */
import {createHash} from 'node:crypto'
import {UsageError} from '../errors.js'
import {isNamedEntry} from '../gateway/policy.js'

export type NetworkMode = 'open' | 'restricted' | 'allowlist'
export const NETWORK_MODES: readonly NetworkMode[] = ['open', 'restricted', 'allowlist']

/** Never reachable from a restricted project (unless listed as an exception). */
export const BLOCKED_IPV4 = [
  '0.0.0.0/8',
  '10.0.0.0/8',
  '100.64.0.0/10',
  '127.0.0.0/8',
  '169.254.0.0/16',
  '172.16.0.0/12',
  '192.168.0.0/16',
  '224.0.0.0/3',
]
/** IPv6 global unicast: excludes ULA (fc00::/7), link-local (fe80::/10), loopback, multicast. */
export const PUBLIC_IPV6 = ['2000::/3']

export interface AclRule {
  action: 'allow'
  destination: string
  protocol?: 'tcp' | 'udp'
  destination_port?: string
  description?: string
  state: 'enabled'
}

export interface NetworkPolicy {
  mode: NetworkMode
  /** Exceptions, e.g. "192.168.1.42:11434" (tcp), "10.1.2.0/24", "[fd00::1]:8080". */
  allow: string[]
}

const ipv4ToInt = (ip: string) => ip.split('.').reduce((n, part) => n * 256 + Number(part), 0)
const intToIpv4 = (n: number) => [24, 16, 8, 0].map((shift) => Math.floor(n / 2 ** shift) % 256).join('.')

function parseCidr4(cidr: string): {start: number; size: number} {
  const [ip, bits] = cidr.split('/')
  const prefix = Number(bits ?? 32)
  const size = 2 ** (32 - prefix)
  return {start: Math.floor(ipv4ToInt(ip as string) / size) * size, size}
}

/** `universe` minus `blocked`, as the fewest CIDRs (each block split in halves as needed). */
export function subtractCidrs4(universe: string, blocked: string[]): string[] {
  const holes = blocked.map(parseCidr4)
  const out: string[] = []
  const visit = (start: number, size: number) => {
    const end = start + size
    const overlapping = holes.filter((h) => h.start < end && start < h.start + h.size)
    if (overlapping.length === 0) out.push(`${intToIpv4(start)}/${32 - Math.log2(size)}`)
    else if (!overlapping.some((h) => h.start <= start && end <= h.start + h.size) && size > 1) {
      visit(start, size / 2)
      visit(start + size / 2, size / 2)
    }
  }
  const u = parseCidr4(universe)
  visit(u.start, u.size)
  return out
}

/** A dotted IPv4 address, as a pattern to embed (the registry migration finds one in text). */
export const IPV4_PATTERN = '(?:25[0-5]|2[0-4]\\d|1?\\d?\\d)(?:\\.(?:25[0-5]|2[0-4]\\d|1?\\d?\\d)){3}'

const IPV4 = new RegExp(`^${IPV4_PATTERN}$`)

export function isIpv4(value: string): boolean {
  return IPV4.test(value)
}

/** Parses an allow entry: IPv4 or CIDR, or [IPv6] or IPv6 CIDR, each with an optional :port (tcp). */
export function parseAllowEntry(entry: string): AclRule {
  const match =
    /^(?:\[([0-9a-fA-F:]+(?:\/\d{1,3})?)\]|([0-9.]+(?:\/\d{1,2})?|[0-9a-fA-F:]+\/\d{1,3}))(?::(\d{1,5}))?$/.exec(
      entry.trim(),
    )
  const address = match?.[1] ?? match?.[2]
  const port = match?.[3]
  const [ip, bits] = (address ?? '').split('/')
  const v4 = IPV4.test(ip ?? '') && (bits === undefined || Number(bits) <= 32)
  const v6 = (ip ?? '').includes(':') && (bits === undefined || Number(bits) <= 128)
  if (!match || !(v4 || v6) || (port !== undefined && (Number(port) < 1 || Number(port) > 65_535)))
    throw new UsageError(
      `network allow entry "${entry}" must be an IP address or CIDR, optionally with :port (e.g. 192.168.1.42:11434)`,
    )
  const destination = bits === undefined ? `${ip}/${v4 ? 32 : 128}` : `${ip}/${bits}`
  return port === undefined
    ? {action: 'allow', destination, description: entry, state: 'enabled'}
    : {action: 'allow', destination, protocol: 'tcp', destination_port: port, description: entry, state: 'enabled'}
}

/** The egress allow rules of a project's ACL (the default action, reject, covers the rest). */
export function egressRules(policy: NetworkPolicy): AclRule[] {
  // Names and presets are the gateway's to enforce (it resolves them); an ACL takes addresses.
  const exceptions = policy.allow.filter((entry) => !isNamedEntry(entry)).map(parseAllowEntry)
  if (policy.mode !== 'restricted') return exceptions
  const publicRanges = [...subtractCidrs4('0.0.0.0/0', BLOCKED_IPV4), ...PUBLIC_IPV6]
  return [
    {action: 'allow', destination: publicRanges.join(','), description: 'the internet', state: 'enabled'},
    ...exceptions,
  ]
}

const short = (text: string, length: number) => createHash('sha256').update(text).digest('hex').slice(0, length)

/** The project's bridge: interface names are at most 15 characters, so a hash of project and name. */
export function bridgeNameFor(incusProject: string, name: string): string {
  return `rmn${short(`${incusProject}/${name}`, 10)}`
}

export function isProjectBridge(name: string): boolean {
  return /^rmn[0-9a-f]{10}$/.test(name)
}

/** The project's ACL name (at most 63 characters). */
export function aclNameFor(name: string): string {
  const full = `repoman-${name}`
  return full.length <= 63 ? full : `repoman-${name.slice(0, 44)}-${short(name, 10)}`
}

/** A free /24 for a new bridge in 10.213.0.0/16, avoiding every subnet already in use. */
export function chooseSubnet(used: string[]): string {
  const taken = used.filter((c) => IPV4.test(c.split('/')[0] ?? '')).map(parseCidr4)
  for (let third = 1; third < 255; third++) {
    const candidate = parseCidr4(`10.213.${third}.0/24`)
    const clash = taken.some((t) => t.start < candidate.start + candidate.size && candidate.start < t.start + t.size)
    if (!clash) return `10.213.${third}.1/24`
  }
  throw new UsageError('no free /24 left in 10.213.0.0/16 for a project bridge; remove unused repoman networks')
}

export function checkNetworkMode(mode: string, where: string): NetworkMode {
  if (!(NETWORK_MODES as readonly string[]).includes(mode))
    throw new UsageError(`${where}: network mode "${mode}" must be one of ${NETWORK_MODES.join(', ')}`)
  return mode as NetworkMode
}
