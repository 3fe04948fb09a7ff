/**
 * Facts about the host: the user repoman acts for and the LAN address profiles point at.
 * Read from the environment, /etc/passwd and the kernel's route table: nothing is sent.
 */
import {readFileSync} from 'node:fs'
import {readFile} from 'node:fs/promises'
import {networkInterfaces, userInfo} from 'node:os'
import {subidFixCommand} from './lifecycle/containers.js'
import type {HostUser} from './registry/schema.js'

interface PasswdEntry {
  user: string
  uid: number
  gid: number
  home: string
}

export function parsePasswd(text: string): PasswdEntry[] {
  return text
    .split('\n')
    .map((line) => line.split(':'))
    .filter((f) => f.length >= 7 && f[0] !== '')
    .map((f) => ({user: f[0] as string, uid: Number(f[2]), gid: Number(f[3]), home: f[5] as string}))
}

/**
 * The user repoman acts for. Under sudo that is the invoking user (SUDO_USER/SUDO_UID), whose
 * repos and agent logins are the ones to share, not root's.
 */
export function hostUserFrom(env: NodeJS.ProcessEnv, passwd: () => string, self: () => HostUser): HostUser {
  const sudoUser = env.SUDO_USER
  if (sudoUser && sudoUser !== 'root') {
    const entry = parsePasswd(passwd()).find((e) => e.user === sudoUser)
    if (entry) return entry
    const uid = Number(env.SUDO_UID)
    const gid = Number(env.SUDO_GID ?? env.SUDO_UID)
    if (Number.isInteger(uid) && Number.isInteger(gid)) return {user: sudoUser, uid, gid, home: `/home/${sudoUser}`}
  }
  return self()
}

export function detectHostUser(env: NodeJS.ProcessEnv = process.env): HostUser {
  return hostUserFrom(
    env,
    () => readFileSync('/etc/passwd', 'utf8'),
    () => {
      const info = userInfo()
      return {user: env.USER || info.username, uid: info.uid, gid: info.gid, home: env.HOME || info.homedir}
    },
  )
}

/** The name of group `gid` in /etc/group's text, if it has one. */
export function groupNameOf(groupText: string, gid: number): string | undefined {
  return groupText
    .split('\n')
    .map((line) => line.split(':'))
    .find((f) => f.length >= 3 && f[0] !== '' && Number(f[2]) === gid)?.[0]
}

/** The host user's primary group name (their user name when /etc/group does not say). */
export function hostGroupName(host: Pick<HostUser, 'user' | 'gid'>): string {
  let text = ''
  try {
    text = readFileSync('/etc/group', 'utf8')
  } catch {
    // No /etc/group (a directory service only): the user's name is the usual private group's.
  }
  return groupNameOf(text, host.gid) ?? host.user
}

/** Interface names of default routes, from /proc/net/route (destination 00000000). */
export function defaultRouteInterfaces(routeTable: string): string[] {
  return routeTable
    .split('\n')
    .slice(1)
    .map((line) => line.trim().split(/\s+/))
    .filter((f) => f.length > 7 && f[1] === '00000000' && f[7] === '00000000')
    .map((f) => f[0] as string)
}

type Interfaces = ReturnType<typeof networkInterfaces>

/**
 * The host's LAN address: the IPv4 address of the default-route interface, else the first
 * private IPv4 address on any interface, else ''. Bridges Incus made (incusbr*) are skipped.
 */
export function pickLanIp(routeInterfaces: string[], interfaces: Interfaces): string {
  const ipv4 = (name: string) => (interfaces[name] ?? []).find((a) => a.family === 'IPv4' && !a.internal)?.address
  for (const name of routeInterfaces) {
    const address = ipv4(name)
    if (address) return address
  }
  const isPrivate = (ip: string) => /^(10\.|192\.168\.|172\.(1[6-9]|2\d|3[01])\.)/.test(ip)
  for (const name of Object.keys(interfaces)) {
    if (/^(incusbr|lxdbr|docker|veth|virbr)/.test(name)) continue
    const address = ipv4(name)
    if (address && isPrivate(address)) return address
  }
  return ''
}

export function detectLanIp(): string {
  let routes = ''
  try {
    routes = readFileSync('/proc/net/route', 'utf8')
  } catch {
    // Not Linux, or /proc hidden: fall back to the interface list.
  }
  return pickLanIp(defaultRouteInterfaces(routes), networkInterfaces())
}

/** What to run so Incus may map the host user's ids with raw.idmap; undefined when nothing is missing. */
export async function missingSubids(host: Pick<HostUser, 'uid' | 'gid'>): Promise<string | undefined> {
  const read = (file: string) => readFile(file, 'utf8').catch(() => '')
  const [subuid, subgid] = await Promise.all([read('/etc/subuid'), read('/etc/subgid')])
  return subidFixCommand(host, subuid, subgid)
}

/**
 * Every IPv4 address on this host with its prefix (`10.213.1.1/24`), bridges without carrier
 * included: Node's networkInterfaces() leaves out interfaces that are not running, such as
 * another Incus daemon's idle bridge, whose subnet is taken all the same. From `ip`, falling
 * back to networkInterfaces() where iproute2 is missing.
 */
export function hostIpv4Cidrs(): string[] {
  try {
    const {execFileSync} = process.getBuiltinModule('node:child_process')
    const out = execFileSync('ip', ['-o', '-4', 'addr', 'show'], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
    })
    return [...out.matchAll(/\binet (\d+\.\d+\.\d+\.\d+\/\d+)/g)].map((m) => m[1] as string)
  } catch {
    return Object.values(networkInterfaces())
      .flat()
      .map((address) => address?.cidr ?? '')
  }
}
