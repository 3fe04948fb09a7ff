/**
 * Pure decisions about project containers: how ids are mapped, what the instance looks like,
 * how registry and Incus line up, and which project a directory belongs to. No I/O.
 */
import {dirname, isAbsolute, join, normalize, relative} from 'node:path'
import {UsageError} from '../errors.js'
import {GATEWAY_KEY, gatewaySocketDevice, proxyEnvironment} from '../gateway/inside.js'
import {agentGitDevices, type HostGitKind} from '../git/agent-git.js'
import type {DeviceMap, IncusInstance, IncusProfile, InstanceSpec} from '../incus/types.js'
import {compareAscii} from '../names.js'
import {expandHome, isWithin, type RepomanPaths} from '../paths.js'
import type {GuardContext} from '../profiles/guard.js'
import type {ProjectOverride} from '../registry/overrides.js'
import {type HostRecord, type ProjectEntry, type Registry, repoPathOf, reposRootOf} from '../registry/schema.js'
import {containmentSeccompPolicy} from './containment.js'

/** Keys repoman records on each container it makes. */
export const CONFIG_KEYS = {
  managed: 'user.repoman.managed',
  repo: 'user.repoman.repo',
  uid: 'user.repoman.uid',
  gid: 'user.repoman.gid',
  /** Random per `new`: rollback deletes a container only if it carries this run's token. */
  token: 'user.repoman.token',
  /** The project's own bridge (isolated projects only). */
  network: 'user.repoman.network',
  networkMode: 'user.repoman.network_mode',
  /** `true` or `false`: whether the host user has passwordless sudo inside. */
  sudo: 'user.repoman.sudo',
  /** `true` or `false`: whether the image has setpriv, which sessions become the user with (session.ts). */
  setpriv: 'user.repoman.setpriv',
} as const

/** What sessions become the user with, keeping the groups a login gives (session.ts). */
export const SETPRIV = '/usr/bin/setpriv'

/** Pure: whether a stat of SETPRIV found a program (undefined or null: nothing there). */
export const isSetpriv = (stat: {type: string} | null | undefined) => stat?.type === 'file' || stat?.type === 'symlink'

/**
 * Whether /etc/subuid (or subgid) lets root map `id`: raw.idmap needs `root:<id>:1` (or a range
 * holding it) there, and Incus refuses an id inside root's own container range.
 */
export function subidAllows(text: string, id: number): boolean {
  const ranges = text
    .split('\n')
    .map((line) => line.trim().split(':'))
    .filter(([user]) => user === 'root' || user === '0')
    .map(([, start, count]) => ({start: Number(start), count: Number(count)}))
    .filter((r) => r.start <= id && id < r.start + r.count)
  return ranges.some((r) => r.count < CONTAINER_ID_RANGE) && !ranges.some((r) => r.count >= CONTAINER_ID_RANGE)
}

/**
 * The command that adds what /etc/subuid and /etc/subgid lack for raw.idmap to map these host
 * ids, or undefined when nothing is missing.
 */
export function subidFixCommand(host: Pick<HostRecord, 'uid' | 'gid'>, subuid: string, subgid: string) {
  const missing = [
    ...(subidAllows(subuid, host.uid) ? [] : [`echo root:${host.uid}:1 | sudo tee -a /etc/subuid`]),
    ...(subidAllows(subgid, host.gid) ? [] : [`echo root:${host.gid}:1 | sudo tee -a /etc/subgid`]),
  ]
  return missing.length > 0 ? missing.join(' && ') : undefined
}

/** Ids an unprivileged Incus container maps by default (0 to 65535). */
export const CONTAINER_ID_RANGE = 65_536
/** The uid cloud images give their first user; used inside when the host uid cannot be. */
export const DEFAULT_CONTAINER_ID = 1000

export type IdmapMode = 'raw.idmap' | 'shift'

export interface IdmapPlan {
  /** `raw.idmap`: only the host user's ids are mapped, onto `uid`/`gid` inside. `shift`: idmapped mounts. */
  mode: IdmapMode
  uid: number
  gid: number
  rawIdmap?: string
}

/**
 * How the host user's files appear inside, decided in one place.
 *
 * `raw.idmap` (the default): only the host user's uid and gid are mapped into the container,
 * onto the same ids inside (or onto 1000 when they do not fit the container's range, e.g. a
 * directory-service uid of 1234567). Every other id inside, root included, is a host id in the
 * container's own range, so nothing made inside, even by root with setuid bits, is owned by
 * host root or another host user; the repo is mounted without shifting.
 *
 * `shift` (only when asked for, and only when the ids fit): idmapped mounts, the same ids inside
 * and out. Simpler (no /etc/subuid lines) but container root writes as host root through them.
 * It is also what a host user who is root gets: mapping host root into a container is what
 * raw.idmap must never do, and without a mapping root's own repo would be read-only inside.
 */
export function planIdmap(host: Pick<HostRecord, 'uid' | 'gid'>, requested: IdmapMode = 'raw.idmap'): IdmapPlan {
  const fits = host.uid < CONTAINER_ID_RANGE && host.gid < CONTAINER_ID_RANGE
  if ((requested === 'shift' || host.uid === 0) && fits) return {mode: 'shift', uid: host.uid, gid: host.gid}
  const uid = host.uid < CONTAINER_ID_RANGE ? host.uid : DEFAULT_CONTAINER_ID
  const gid = host.gid < CONTAINER_ID_RANGE ? host.gid : DEFAULT_CONTAINER_ID
  return {mode: 'raw.idmap', uid, gid, rawIdmap: `uid ${host.uid} ${uid}\ngid ${host.gid} ${gid}`}
}

/**
 * Paths inside a repo whose contents the host runs without asking: Mercurial's hooks, direnv,
 * husky, editor tasks, agent hooks and MCP servers. They are mounted read-only over the repo
 * mount. Nothing under `.git` is listed: the container has a git dir of its own there
 * (git/agent-git.ts), so no write inside reaches the host's.
 */
export const DEFAULT_PROTECTED_PATHS = [
  '.hg/hgrc',
  '.envrc',
  '.husky',
  '.vscode',
  '.claude/settings.json',
  '.claude/settings.local.json',
  '.mcp.json',
]

/** Inside `.hg` a missing path is created on the host, so it cannot be created from inside. */
const CREATE_AS_FILE = new Set(['.hg/hgrc'])

export interface ProtectionPlan {
  /** Repo-relative paths to mount read-only. */
  mount: string[]
  /** Repo-relative paths to create on the host first (inside .hg only). */
  create: Array<{path: string; kind: 'dir' | 'file'}>
}

export function checkProtectedPath(rel: string): void {
  if (rel === '' || isAbsolute(rel) || normalize(rel).split('/').includes('..') || normalize(rel) === '.')
    throw new UsageError(`protected path "${rel}" must be a relative path inside the repo`)
}

/**
 * Which protected paths to mount read-only, and which to create first. Outside `.git`/`.hg`
 * only what exists is protected: the host tools that would run a new `.envrc` or `.mcp.json`
 * ask first, and placeholder files would litter the user's tree and `git status`.
 */
export function planProtection(paths: string[], exists: (rel: string) => boolean, vcs: {hg: boolean}): ProtectionPlan {
  const plan: ProtectionPlan = {mount: [], create: []}
  for (const raw of paths) {
    checkProtectedPath(raw)
    const rel = normalize(raw).replace(/\/$/, '')
    // The container's `.git` is its own git dir: a host path mounted there would only hide it.
    if (rel === '.git' || rel.startsWith('.git/')) continue
    const inVcsDir = rel.startsWith('.hg/') && vcs.hg
    if (exists(rel)) plan.mount.push(rel)
    else if (inVcsDir) {
      plan.create.push({path: rel, kind: CREATE_AS_FILE.has(rel) ? 'file' : 'dir'})
      plan.mount.push(rel)
    }
  }
  return plan
}

/** Device name for a protected path: `ro-git-hooks` for `.git/hooks`. */
export function protectDeviceName(rel: string): string {
  return `ro-${rel.replace(/[^A-Za-z0-9]+/g, '-').replace(/^-+|-+$/g, '')}`
}

export interface InstancePlan {
  name: string
  image: string
  profiles: string[]
  repoPath: string
  host: HostRecord
  idmap: IdmapPlan
  override: ProjectOverride
  token: string
  /** Repo-relative paths to mount read-only over the repo. */
  protectedPaths?: string[]
  /** Passwordless sudo for the host user inside (recorded on the container). */
  sudo?: boolean
  /** The container's own git dir (on the host) and what the repo's `.git` is there. */
  agentGit?: {dir: string; host: HostGitKind}
  /**
   * Sessions reach the gateway at `socket`: the proxy variables, and with `forwarder` the socket's
   * directory for the forwarder that `new` writes (gateway/inside.ts). Without it the gateway
   * adds a proxy device once the container runs: Incus spends a second starting one.
   */
  gateway?: {socket: string; forwarder: boolean}
  /** Clone mode: the container's own checkout, mounted at the repo's path instead of the repo. */
  treeSource?: string
}

/** Everything the container needs, for one create-and-start request. */
export function buildInstanceSpec(plan: InstancePlan): InstanceSpec {
  const shift: Record<string, string> = plan.idmap.mode === 'shift' ? {shift: 'true'} : {}
  const config: Record<string, string> = {
    [CONFIG_KEYS.managed]: 'true',
    [CONFIG_KEYS.repo]: plan.repoPath,
    [CONFIG_KEYS.uid]: String(plan.idmap.uid),
    [CONFIG_KEYS.gid]: String(plan.idmap.gid),
    [CONFIG_KEYS.token]: plan.token,
  }
  if (plan.sudo !== undefined) config[CONFIG_KEYS.sudo] = String(plan.sudo)
  if (plan.idmap.rawIdmap) config['raw.idmap'] = plan.idmap.rawIdmap
  config['raw.seccomp'] = containmentSeccompPolicy()
  if (plan.gateway)
    Object.assign(config, proxyEnvironment(), {[GATEWAY_KEY]: plan.gateway.forwarder ? 'forwarder' : 'proxy'})
  for (const [key, value] of Object.entries(plan.override.env)) config[`environment.${key}`] = value

  // The repo sits at the same absolute path inside as on the host: agents key state on it.
  const devices: InstanceSpec['devices'] = {
    repo: {type: 'disk', source: plan.treeSource ?? plan.repoPath, path: plan.repoPath, ...shift},
  }
  // Same shift as the repo: Incus mounts shifted sub-mounts after the repo, so they stay on top.
  if (plan.agentGit)
    Object.assign(devices, agentGitDevices(plan.repoPath, plan.agentGit.dir, plan.agentGit.host, shift))
  if (plan.gateway?.forwarder) Object.assign(devices, gatewaySocketDevice(plan.gateway.socket, shift))
  for (const rel of plan.protectedPaths ?? []) {
    const path = join(plan.repoPath, rel)
    devices[protectDeviceName(rel)] = {type: 'disk', source: path, path, readonly: 'true', ...shift}
  }
  plan.override.mounts.forEach((mount, i) => {
    devices[`mount${i}`] = {
      type: 'disk',
      source: expandHome(mount.source, plan.host.home),
      path: mount.path,
      ...shift,
      ...(mount.readonly ? {readonly: 'true'} : {}),
    }
  })
  return {name: plan.name, image: plan.image, profiles: plan.profiles, config, devices}
}

/**
 * The devices a container needs that its profiles do not give it: a root disk when none of
 * them has one (profiles such as claude-share carry only mounts), and then also a NIC when
 * none has one. Both are copied from the project's default profile, where `repoman setup` put
 * the root disk on the pool it chose and eth0 on the network it chose (only when it chose one).
 */
export function missingBaseDevices(installed: IncusProfile[], selected: string[]): DeviceMap {
  const chosen = selected.map((name) => installed.find((p) => p.name === name)).filter((p) => p !== undefined)
  const devicesOf = (profiles: IncusProfile[]) => profiles.flatMap((p) => Object.entries(p.devices ?? {}))
  const isRoot = ([, d]: [string, Record<string, string>]) => d.type === 'disk' && d.path === '/'
  const isNic = ([, d]: [string, Record<string, string>]) => d.type === 'nic'
  if (devicesOf(chosen).some(isRoot)) return {}
  const base = devicesOf(installed.filter((p) => p.name === 'default'))
  const root = base.find(isRoot)
  if (!root)
    throw new UsageError(
      `none of the profiles (${selected.join(', ') || 'none'}) has a root disk, and the default profile has none to copy; run \`repoman setup\`, or add a profile with a root disk`,
    )
  const devices: DeviceMap = {root: {...root[1]}}
  const nic = base.find(isNic)
  if (nic && !devicesOf(chosen).some(isNic)) devices[nic[0]] = {...nic[1]}
  return devices
}

/**
 * Paths that systemd images mount file systems over at boot (a tmpfs on /tmp and /run), hiding
 * a repo mounted beneath them; and the kernel's own.
 */
const HIDDEN_INSIDE = ['/tmp', '/run', '/dev', '/proc', '/sys']

/** Why a repo cannot be mounted at its own path inside, or undefined when it can. */
export function repoPathProblem(repoPath: string): string | undefined {
  const under = HIDDEN_INSIDE.find((dir) => isWithin(repoPath, dir))
  return under
    ? `repo ${repoPath} is under ${under}, which the container's system mounts over at boot; keep repos_root elsewhere (e.g. ~/repos)`
    : undefined
}

/** repoman's own directories, which the credential guard keeps out of containers. */
export type GuardPaths = 'configDir' | 'stateDir' | 'cacheDir' | 'launcherDir'

/** What the credential guard judges exposures against: this host user, repos root and repoman's own dirs. */
export function guardContextOf(registry: Registry, paths: Pick<RepomanPaths, GuardPaths>): GuardContext {
  return {
    home: registry.host.home,
    uid: registry.host.uid,
    reposRoot: reposRootOf(registry),
    repoman: {config: paths.configDir, state: paths.stateDir, cache: paths.cacheDir, data: dirname(paths.launcherDir)},
  }
}

/** One line of `repoman list`, and its `--json` shape. */
export interface ProjectRow {
  name: string
  /** Repo directory name under repos_root. */
  repo: string
  path: string
  image: string
  /** Live state: running, stopped, frozen, error; `missing` when the container is gone. */
  state: string
  created: string | null
  last_sync: string | null
  backup: boolean | null
  /** False for a container in the Incus project that the registry does not know. */
  registered: boolean
  /** What is out of step between registry and Incus, if anything. */
  drift: string | null
  /** Only with `list --sessions`: its detached sessions (null: cannot tell, e.g. no tmux there). */
  sessions?: string[] | null
}

/** Registry entries joined with the project's containers, drift both ways. */
export function projectRows(registry: Registry, instances: IncusInstance[]): ProjectRow[] {
  const byName = new Map(instances.map((i) => [i.name, i]))
  const rows: ProjectRow[] = registry.project.map((p) => {
    const instance = byName.get(p.name)
    return {
      name: p.name,
      repo: p.repo,
      path: repoPathOf(registry, p.repo),
      image: p.image,
      state: instance ? instance.status.toLowerCase() : 'missing',
      created: p.created,
      last_sync: p.last_sync ?? null,
      backup: p.backup,
      registered: true,
      drift: instance ? null : 'container is gone (`repoman remove` forgets the entry)',
    }
  })
  const known = new Set(registry.project.map((p) => p.name))
  for (const instance of instances) {
    if (known.has(instance.name)) continue
    const path = instance.config[CONFIG_KEYS.repo] ?? ''
    rows.push({
      name: instance.name,
      repo: path.split('/').pop() ?? '',
      path,
      image: instance.config['image.description'] ?? instance.config['volatile.base_image']?.slice(0, 12) ?? '',
      state: instance.status.toLowerCase(),
      created: instance.created_at,
      last_sync: null,
      backup: null,
      registered: false,
      drift: 'not in the registry (an interrupted `repoman new`? `repoman remove` deletes it)',
    })
  }
  return rows.sort((a, b) => compareAscii(a.name, b.name))
}

/** The project whose repo holds `dir` (the same path exists inside the container). */
export function projectForDirectory(registry: Registry, dir: string): ProjectEntry | undefined {
  const matches = registry.project
    .filter((p) => isWithin(dir, repoPathOf(registry, p.repo)))
    .sort((a, b) => b.repo.length - a.repo.length)
  const sameRepo = matches.filter((p) => p.repo === matches[0]?.repo)
  // The repo's own working tree is the shared-mode project's; clones have checkouts elsewhere.
  const shared = sameRepo.find((p) => !p.clone)
  if (shared || sameRepo.length <= 1) return shared ?? sameRepo[0]
  throw new UsageError(
    `several projects work on ${repoPathOf(registry, sameRepo[0]?.repo as string)} (${sameRepo.map((p) => p.name).join(', ')}); name one, e.g. \`repoman exec ${sameRepo[0]?.name} -- ...\``,
  )
}

/** The working directory inside: `--cwd` relative to the repo or absolute, else `fallback`. */
export function resolveInsideCwd(repoPath: string, cwdFlag: string | undefined, fallback: string): string {
  if (cwdFlag === undefined) return fallback
  if (isAbsolute(cwdFlag)) return normalize(cwdFlag)
  const inside = join(repoPath, cwdFlag)
  if (relative(repoPath, inside).startsWith('..'))
    throw new UsageError(`--cwd ${cwdFlag} leads out of the repo; give a path inside it, or an absolute path`)
  return inside
}
