/**
 * The credential guard: a profile that would put secrets or the host itself inside a
 * container is refused unless the user says --allow-sensitive. Pure: decided from the
 * rendered profile and a few host facts.
 */

import {resolve} from 'node:path'
import type {ProfileSpec} from '../incus/types.js'
import {containmentState} from '../lifecycle/containment.js'
import {isWithin} from '../paths.js'

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
  ]
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

export function findExposures(spec: ProfileSpec, ctx: GuardContext): Exposure[] {
  const exposures: Exposure[] = []
  const sensitive = sensitivePaths(ctx)
  for (const {where, path} of hostPaths(spec)) {
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
  if (spec.config['security.privileged'] === 'true')
    exposures.push({where: 'security.privileged', path: '/', why: 'a privileged container is root on the host'})
  for (const key of ['raw.lxc', 'raw.apparmor', 'raw.seccomp'])
    if (spec.config[key] && !(key === 'raw.seccomp' && containmentState(spec.config[key]) === 'enforced'))
      exposures.push({where: key, path: key, why: 'raw low-level settings can lift the isolation'})
  return exposures
}
