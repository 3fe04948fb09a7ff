/**
 * Which git dir a project's container writes: its own (`own`, what `new` makes), or the host's
 * `.git` inside the shared repo mount (`host`, containers made before repoman gave each its
 * own). `status` calls `host` a problem; `status --fix` moves such a container to a git dir of
 * its own, in the plan/steps shape.
 */
import {join} from 'node:path'
import {agentGitDevices, GIT_DEVICE, hostGitKind, prepareAgentGit, removeAgentGit} from '../git/agent-git.js'
import type {IncusClient} from '../incus/client.js'
import type {DeviceMap, IncusInstance} from '../incus/types.js'
import type {Registry} from '../registry/schema.js'
import {repoPathOf} from '../registry/schema.js'
import type {Step} from '../steps.js'
import {CONFIG_KEYS} from './containers.js'

export type GitLayout = 'own' | 'host' | 'none'

/** Pure: the layout of a container's git dir, from its devices and what the repo's `.git` is on the host. */
export function gitLayoutOf(instance: IncusInstance, repoPath: string, hostGit: 'dir' | 'file' | 'none'): GitLayout {
  const own = instance.devices[GIT_DEVICE]
  if (own?.type === 'disk' && own.path === join(repoPath, '.git')) return 'own'
  return hostGit === 'dir' ? 'host' : 'none'
}

/** The problem `status` names for a container that writes the host's `.git`. */
export function gitLayoutProblem(name: string): string {
  return `the container writes your repo's .git (made by an older repoman): what it writes there host git runs; \`repoman status ${name} --fix\` gives it a git dir of its own`
}

/** Pure: the devices after the move: the git dir's added, the read-only mounts into the host's `.git` gone. */
export function devicesWithOwnGit(devices: DeviceMap, repoPath: string, agentDir: string): DeviceMap {
  const hostGitDir = join(repoPath, '.git')
  const shift: Record<string, string> = devices.repo?.shift === 'true' ? {shift: 'true'} : {}
  const kept = Object.entries(devices).filter(
    ([, d]) =>
      !(d.type === 'disk' && d.path !== undefined && (d.path === hostGitDir || d.path.startsWith(`${hostGitDir}/`))),
  )
  return {...Object.fromEntries(kept), ...agentGitDevices(repoPath, agentDir, 'dir', shift)}
}

export interface GitFix {
  name: string
  repoPath: string
  instance: IncusInstance
}

/** Pure: the registered projects whose containers still write the host's `.git`. */
export function decideGitFix(
  registry: Registry,
  instances: IncusInstance[],
  hostGit: (repoPath: string) => 'dir' | 'file' | 'none',
  name?: string,
): GitFix[] {
  return registry.project
    .filter((p) => name === undefined || p.name === name)
    .flatMap((project) => {
      const instance = instances.find((i) => i.name === project.name)
      const repoPath = repoPathOf(registry, project.repo)
      if (instance?.config[CONFIG_KEYS.managed] !== 'true') return []
      return gitLayoutOf(instance, repoPath, hostGit(repoPath)) === 'host'
        ? [{name: project.name, repoPath, instance}]
        : []
    })
}

export async function planGitFix(
  registry: Registry,
  incus: Pick<IncusClient, 'listInstances'>,
  name?: string,
): Promise<GitFix[]> {
  return decideGitFix(registry, await incus.listInstances(), hostGitKind, name)
}

/** One step per container: its git dir made from the host's repository, then its devices switched (undone: the old devices back). */
export function gitFixSteps(
  plan: GitFix[],
  incus: Pick<IncusClient, 'setDevices'>,
  stateDir: string,
): {steps: Step[]; result: string[]} {
  const result: string[] = []
  const steps = plan.map(
    ({name, repoPath, instance}): Step => ({
      title: `Give "${name}" a git dir of its own`,
      async run(_control, onUndo) {
        onUndo(async () => removeAgentGit(stateDir, name))
        const agentDir = await prepareAgentGit(repoPath, stateDir, name)
        await incus.setDevices(name, devicesWithOwnGit(instance.devices, repoPath, agentDir))
        onUndo(() => incus.setDevices(name, instance.devices))
        result.push(name)
        return undefined
      },
    }),
  )
  return {steps, result}
}
