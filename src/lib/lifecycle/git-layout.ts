/**
 * Which git dir a project's container writes: its own (`own`, what `new` makes), or the host's
 * `.git` inside the shared repo mount (`host`, containers made before repoman gave each its
 * own). `status` calls `host` a problem; `status --fix` moves such a container to a git dir of
 * its own, in the plan/steps shape.
 */

import {join} from 'node:path'
import {agentGitDevices, GIT_DEVICE, prepareAgentGit, rebuildAgentGit, removeAgentGit} from '../git/agent-git.js'
import {GitError} from '../git/host-git.js'
import type {IncusClient} from '../incus/client.js'
import type {DeviceMap, IncusInstance} from '../incus/types.js'
import {agentGitDir} from '../paths.js'
import type {Registry} from '../registry/schema.js'
import {repoPathOf} from '../registry/schema.js'
import type {Step} from '../steps.js'
import {emptyInside, emptyTree} from '../trees.js'
import {CONFIG_KEYS} from './containers.js'

/** `wrecked`: its own, broken by the agent (`agentGitWreck`); `status --fix` rebuilds it. */
export type GitLayout = 'own' | 'host' | 'none' | 'wrecked'

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

/** The problem `status` names for a git dir the agent broke. */
export function gitWreckProblem(name: string, why: string): string {
  return `the container's git dir is broken (${why}): git inside finds no repository; \`repoman status ${name} --fix\` rebuilds it from your repo with the agent's branches`
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
  /** `move`: off your `.git` onto a git dir of its own; `rebuild`: its own, broken, made anew. */
  kind: 'move' | 'rebuild'
  /** A clone's branch, which a rebuilt dir is put back on. */
  clone?: {branch: string}
}

/** Pure: the registered projects whose containers still write the host's `.git`. */
export function decideGitFix(
  registry: Registry,
  instances: IncusInstance[],
  facts: {hostGit: (repoPath: string) => 'dir' | 'file' | 'none'; wreck: (name: string, repoPath: string) => unknown},
  name?: string,
): GitFix[] {
  return registry.project
    .filter((p) => name === undefined || p.name === name)
    .flatMap((project): GitFix[] => {
      const instance = instances.find((i) => i.name === project.name)
      const repoPath = repoPathOf(registry, project.repo)
      if (instance?.config[CONFIG_KEYS.managed] !== 'true') return []
      const layout = gitLayoutOf(instance, repoPath, facts.hostGit(repoPath))
      if (layout === 'host') return [{name: project.name, repoPath, instance, kind: 'move'}]
      if (layout === 'own' && facts.wreck(project.name, repoPath))
        return [
          {name: project.name, repoPath, instance, kind: 'rebuild', ...(project.clone ? {clone: project.clone} : {})},
        ]
      return []
    })
}

/** One step per container: its git dir made from the host's repository, then its devices switched (undone: the old devices back). */
export function gitFixSteps(
  plan: GitFix[],
  incus: Pick<IncusClient, 'setDevices' | 'capture' | 'execArgs'>,
  stateDir: string,
): {steps: Step[]; result: string[]} {
  const result: string[] = []
  const steps = plan.map(
    ({name, repoPath, instance, kind, clone}): Step =>
      kind === 'rebuild'
        ? {
            title: `Rebuild the git dir of "${name}" from your repo, with the agent's branches`,
            async run() {
              const empty = async () => {
                // Running, it is emptied from inside (as root there); stopped, nothing runs in it and the host empties it.
                const failed =
                  instance.status === 'Running'
                    ? await emptyInside(incus, name, join(repoPath, '.git'))
                    : await emptyTree(agentGitDir(stateDir, name)).then((left) =>
                        left.length > 0
                          ? `root inside made ${left.join(', ')}; start the container and try again`
                          : undefined,
                      )
                if (failed !== undefined) throw new GitError(`could not empty the git dir of "${name}": ${failed}`)
              }
              await rebuildAgentGit(repoPath, stateDir, name, {...(clone ? {clone} : {}), empty})
              result.push(name)
              return undefined
            },
          }
        : {
            title: `Give "${name}" a git dir of its own`,
            async run(_control, onUndo) {
              onUndo(async () => {
                await removeAgentGit(stateDir, name)
              })
              const agentDir = await prepareAgentGit(repoPath, stateDir, name)
              await incus.setDevices(name, devicesWithOwnGit(instance.devices, repoPath, agentDir))
              onUndo(() => incus.setDevices(name, instance.devices))
              result.push(name)
              return undefined
            },
          },
  )
  return {steps, result}
}
