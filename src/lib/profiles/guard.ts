/**
 * The credential guard: a profile that would put secrets or the host itself inside a
 * container is refused unless the user says --allow-sensitive. Pure: decided from the
 * rendered profile and a few host facts.
 */

import {resolve} from 'node:path'
import {AGENT_HOMES, CLAUDE_USER_CONFIG} from '../agents/home.js'
import {GATEWAY_DEVICE, GATEWAY_SOCKET_DEVICE} from '../gateway/inside.js'
import type {ProfileSpec} from '../incus/types.js'
import {containmentState} from '../lifecycle/containment.js'
import {gatewaySocketsDir, isWithin, projectTreeDirs} from '../paths.js'

export interface Exposure {
  /** Device (or config key) that exposes it. */
  where: string
  path: string
  why: string
}

export interface GuardContext {
  home: string
  reposRoot: string
  uid: number
  /** repoman's own directories (RepomanPaths; `data` holds the launchers and program links). */
  repoman: {config: string; state: string; cache: string; data: string}
}

/** Host paths that hold credentials or control the host, with the reason each matters. */
export function sensitivePaths(ctx: GuardContext): Array<{path: string; why: string}> {
  const h = (p: string) => resolve(ctx.home, p)
  return [
    {path: h('.ssh'), why: 'SSH keys'},
    {path: h('.gnupg'), why: 'GnuPG keys'},
    {path: h('.aws'), why: 'AWS credentials'},
    {path: h('.config/gh'), why: 'GitHub CLI token'},
    {path: h('.netrc'), why: 'stored passwords'},
    {path: h('.git-credentials'), why: 'stored git passwords'},
    {path: h('.docker'), why: 'container registry credentials'},
    {path: h('.kube'), why: 'Kubernetes credentials'},
    {path: h('.password-store'), why: 'password store'},
    {path: '/etc', why: "the host's configuration"},
    {path: '/var/run/docker.sock', why: 'the Docker socket (root on the host)'},
    {path: '/run/docker.sock', why: 'the Docker socket (root on the host)'},
    {path: '/run/podman', why: 'the Podman socket'},
    {path: `/run/user/${ctx.uid}/podman`, why: 'the Podman socket'},
    {path: '/var/lib/incus', why: 'the Incus socket (root on the host)'},
    {path: '/run/incus', why: 'the Incus socket (root on the host)'},
    {path: '/var/lib/lxd', why: 'the LXD socket (root on the host)'},
    {path: ctx.repoman.config, why: "repoman's registry and your agents' logins"},
    {path: ctx.repoman.state, why: "every project's agent homes, git dirs and way out"},
  ]
}

/**
 * Where repoman keeps what it runs, or trusts as its own: written from a container, any would be
 * code or config on the host (its code cache and registry cache, your launchers). Read-only is
 * fine: the profiles mount the program links under `data` so.
 */
function repomanCodePaths(ctx: GuardContext): Array<{path: string; why: string}> {
  return [
    {path: ctx.repoman.cache, why: "repoman's caches, which it runs code from"},
    {path: ctx.repoman.data, why: 'your launchers and plugins, which your shell and repoman run'},
  ]
}

/**
 * Pure: what in repoman's state dir a project's own container mounts by design: its homes, git
 * dir and checkout, and its way out (the gateway's devices, by name: an instance's own device
 * of that name is the one Incus uses).
 */
function ownMount(where: string, path: string, name: string, state: string): boolean {
  if (projectTreeDirs(state, name).some((dir) => isWithin(path, dir))) return true
  return (where === GATEWAY_DEVICE || where === GATEWAY_SOCKET_DEVICE) && isWithin(path, gatewaySocketsDir(state))
}

/** Host paths a profile's devices reach: disk sources and the host end of proxy devices. */
function hostPaths(spec: ProfileSpec): Array<{where: string; path: string}> {
  const paths: Array<{where: string; path: string}> = []
  for (const [name, device] of Object.entries(spec.devices)) {
    if (device.type === 'disk' && device.source?.startsWith('/'))
      paths.push({where: name, path: resolve(device.source)})
    if (device.type === 'proxy') {
      const hostEnd = device.bind === 'container' ? device.listen : device.connect
      const socket = /^unix:(.+)$/.exec(hostEnd ?? '')?.[1]
      if (socket) paths.push({where: name, path: resolve(socket)})
    }
  }
  return paths
}

/**
 * The agents' own state on the host: each keeps, in the files it rewrites while it works, config
 * that makes it run commands on its next start on the host (docs/safety.md). Read-only is fine.
 */
export function agentStatePaths(home: string): Array<{path: string; why: string}> {
  const h = (p: string) => resolve(home, p)
  return [
    ...AGENT_HOMES.map((kind) => ({
      path: h(kind.hostDir),
      why: `${kind.agent}'s config, which your host's ${kind.agent} runs commands from`,
    })),
    {path: h(CLAUDE_USER_CONFIG), why: "claude's user config, which your host's claude runs commands from"},
    {path: h('.pi'), why: "pi's state, which your host's pi loads extensions from"},
    {path: h('.local/share/opencode'), why: "opencode's state and login"},
  ]
}

/** Disk devices that mount an agent's host state read-write. */
export function writableAgentState(spec: Pick<ProfileSpec, 'devices'>, home: string): Exposure[] {
  return writable(spec, agentStatePaths(home))
}

/** Disk devices that mount one of `state` (or a directory holding one) read-write. */
function writable(spec: Pick<ProfileSpec, 'devices'>, state: Array<{path: string; why: string}>): Exposure[] {
  const found: Exposure[] = []
  for (const [where, device] of Object.entries(spec.devices)) {
    if (device.type !== 'disk' || !device.source?.startsWith('/') || device.readonly === 'true') continue
    const path = resolve(device.source)
    const hit = state.find((s) => isWithin(path, s.path) || isWithin(s.path, path))
    if (hit) found.push({where, path, why: `read-write: ${hit.why}`})
  }
  return found
}

export function findExposures(spec: ProfileSpec, ctx: GuardContext): Exposure[] {
  const exposures: Exposure[] = []
  const sensitive = sensitivePaths(ctx)
  for (const {where, path} of hostPaths(spec)) {
    if (ownMount(where, path, spec.name, ctx.repoman.state)) continue
    if (path === '/') exposures.push({where, path, why: "the host's whole file system"})
    else if (path === resolve(ctx.home))
      exposures.push({where, path, why: 'your whole home directory, credentials included'})
    else if (isWithin(resolve(ctx.reposRoot), path))
      exposures.push({where, path, why: 'it holds the repos root, so every project would see every other'})
    else {
      const hit = sensitive.find((s) => isWithin(path, s.path) || isWithin(s.path, path))
      if (hit)
        exposures.push({where, path, why: isWithin(path, hit.path) ? hit.why : `it contains ${hit.path} (${hit.why})`})
    }
  }
  for (const exposure of [...writableAgentState(spec, ctx.home), ...writable(spec, repomanCodePaths(ctx))])
    if (!exposures.some((e) => e.where === exposure.where)) exposures.push(exposure)
  if (spec.config['security.privileged'] === 'true')
    exposures.push({where: 'security.privileged', path: '/', why: 'a privileged container is root on the host'})
  for (const key of ['raw.lxc', 'raw.apparmor', 'raw.seccomp'])
    if (spec.config[key] && !(key === 'raw.seccomp' && containmentState(spec.config[key]) === 'enforced'))
      exposures.push({where: key, path: key, why: 'raw low-level settings can lift the isolation'})
  return exposures
}
