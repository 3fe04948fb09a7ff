/**
 * `repoman remove`: deletes a project's container (and its snapshots) and forgets its registry
 * entry. It never deletes or writes into the repo or its backup.
 */
import {existsSync, rmSync} from 'node:fs'
import {rmdir} from 'node:fs/promises'
import {join} from 'node:path'
import {NotManagedError, ProjectNotFoundError} from '../errors.js'
import {gatewayPid} from '../gateway/daemon.js'
import {hasAgentGit, hostGitKind, importAgentGit, removeAgentGit} from '../git/agent-git.js'
import type {IncusClient} from '../incus/client.js'
import type {IncusInstance} from '../incus/types.js'
import {baselineFile} from '../integrity/snapshot.js'
import {cloneTreeDir, isWithin, projectHomesDir, projectTreeDirs, type RepomanPaths} from '../paths.js'
import type {HostRecord, ProjectEntry, Registry} from '../registry/schema.js'
import {backupRootOf, repoPathOf} from '../registry/schema.js'
import type {RegistryStore} from '../registry/store.js'
import type {Step} from '../steps.js'
import {deleteTree} from '../trees.js'
import {type InsideGit, uncommittedInside} from './clone.js'
import {CONFIG_KEYS} from './containers.js'
import {removeIsolation} from './isolation.js'

export interface RemovalPlan {
  name: string
  incusProject: string
  entry?: ProjectEntry
  instance?: IncusInstance
  snapshots: string[]
  repoPath: string
  backupPath?: string
  keepIncus: boolean
  /** The container has a git dir of its own, which goes with it (its branches stay in the repo). */
  agentGit: boolean
  /**
   * Clone mode: the container's own checkout, which goes with it, and the paths in it with work
   * not committed (`null` when that cannot be asked: the container is not running).
   */
  clone?: {tree: string; unsaved: string[] | null}
  /** The project has agent homes on the host, which go with it (its conversations are kept). */
  homes: boolean
  /**
   * Running: where its own trees (git dir, checkout, homes) are mounted inside, which root there
   * hands back to you before the container goes (see reclaimCommand).
   */
  reclaim?: {paths: string[]; uid: string}
  /** You on the host: the agent's conversations are copied to your ~/.claude before its homes go. */
  host: Pick<HostRecord, 'home' | 'uid' | 'gid'>
}

/** The `remove --json` result. */
export interface Removed {
  name: string
  container_deleted: boolean
  snapshots_deleted: string[]
  registry_entry_removed: boolean
  /** Untouched, always. */
  repo: string
  backup: string | null
  /** What could not be deleted: made inside where root hid it from the hand-back (`sudo rm -rf` deletes it). */
  left: string[]
}

export async function planRemoval(
  name: string,
  keepIncus: boolean,
  registry: Registry,
  incus: Pick<IncusClient, 'project' | 'getInstance' | 'snapshots'> & InsideGit,
  /** Where the project's git dir would be; without it, none is looked for. */
  stateDir?: string,
): Promise<RemovalPlan> {
  const entry = registry.project.find((p) => p.name === name)
  const instance = await incus.getInstance(name)
  if (!entry && !instance)
    throw new ProjectNotFoundError(`no project "${name}" in the registry or in Incus project "${incus.project}"`)
  if (!entry && instance?.config[CONFIG_KEYS.managed] !== 'true')
    throw new NotManagedError(
      `container "${name}" in Incus project "${incus.project}" was not made by repoman; delete it with incus if you mean to`,
    )
  if (!entry && keepIncus)
    throw new ProjectNotFoundError(`"${name}" is not in the registry; there is nothing to forget`)
  const snapshots = instance && !keepIncus ? (await incus.snapshots(name)).map((s) => s.name) : []
  const repoPath = entry ? repoPathOf(registry, entry.repo) : (instance?.config[CONFIG_KEYS.repo] ?? '')
  const backupPath = entry ? join(backupRootOf(registry), entry.repo) : undefined
  // Without a container too: what a removal that could not finish left is deleted now.
  const agentGit = !keepIncus && stateDir !== undefined && hasAgentGit(stateDir, name)
  const homes = !keepIncus && stateDir !== undefined && existsSync(projectHomesDir(stateDir, name))
  const uid = instance?.config[CONFIG_KEYS.uid]
  const inside =
    instance?.status === 'Running' && stateDir !== undefined && !keepIncus && uid && /^\d+$/.test(uid)
      ? ownTreesInside(instance, stateDir, name)
      : []
  const clone =
    entry?.clone && stateDir !== undefined && !keepIncus
      ? {tree: cloneTreeDir(stateDir, name), unsaved: await uncommittedInside(incus, registry, instance, repoPath)}
      : undefined
  return {
    name,
    incusProject: incus.project,
    entry,
    instance,
    snapshots,
    repoPath,
    backupPath,
    keepIncus,
    agentGit,
    ...(clone ? {clone} : {}),
    homes,
    ...(uid && inside.length > 0 ? {reclaim: {paths: inside, uid}} : {}),
    host: registry.host,
  }
}

/** Pure: where a container mounts the project's own trees (homes, git dir, checkout), outermost only. */
export function ownTreesInside(instance: Pick<IncusInstance, 'devices'>, stateDir: string, name: string): string[] {
  const trees = projectTreeDirs(stateDir, name)
  const paths = Object.values(instance.devices)
    .filter((d) => d.type === 'disk' && d.source && d.path && trees.some((tree) => isWithin(d.source as string, tree)))
    .map((d) => d.path as string)
  return [...new Set(paths)].filter((p) => !paths.some((other) => other !== p && isWithin(p, other))).sort()
}

/**
 * Pure: what root runs inside to hand back to you what it made in those trees. A directory root
 * made there is, on the host, a uid of the container's range: not yours to empty. Owned by you
 * and open to you, everything is, and the host deletes it once the container is gone (then
 * nothing races it). It runs inside, on the container's own view: it can touch nothing root
 * there could not already.
 */
export function reclaimCommand(paths: string[], uid: string): string[] {
  const script = `find "$@" ! -user ${uid} -exec chown -h ${uid} {} + ; find "$@" -type d ! -perm -700 -exec chmod u+rwx {} +`
  return ['sh', '-c', script, 'sh', ...paths]
}

/** The line that names a clone's uncommitted work, or undefined when it has none. */
export function unsavedWork(plan: RemovalPlan): string | undefined {
  const unsaved = plan.clone?.unsaved
  if (!plan.clone || (unsaved && unsaved.length === 0)) return undefined
  if (unsaved === null || unsaved === undefined)
    return `"${plan.name}" is not running, so its checkout ${plan.clone.tree} cannot be asked for work not committed; any there is lost`
  const shown = unsaved.slice(0, 10).join(', ') + (unsaved.length > 10 ? `, and ${unsaved.length - 10} more` : '')
  return `"${plan.name}" has work not committed in its checkout: ${shown}`
}

/** What the confirmation prompt shows: exactly what goes, and what stays. */
export function describeRemoval(plan: RemovalPlan): string[] {
  const goes: string[] = []
  if (plan.instance && !plan.keepIncus) {
    goes.push(
      `container "${plan.name}" in Incus project "${plan.incusProject}" (${plan.instance.status.toLowerCase()})`,
    )
    goes.push(
      plan.snapshots.length > 0
        ? `its ${plan.snapshots.length} snapshot(s): ${plan.snapshots.join(', ')}`
        : 'its snapshots: none',
    )
  }
  if (plan.agentGit) goes.push(`its git dir (the agent's branches stay in your repo as repoman/${plan.name}/<branch>)`)
  if (plan.homes) goes.push(`its agent homes (its Claude Code conversations are copied to your ~/.claude first)`)
  if (plan.clone)
    goes.push(
      `its own checkout ${plan.clone.tree}${unsavedWork(plan) ? ` (LOST: ${unsavedWork(plan)})` : ', all of it committed'}`,
    )
  if (plan.entry) goes.push(`the registry entry "${plan.name}"`)
  const stays = [`the repo at ${plan.repoPath || '(unknown)'} is not touched`]
  if (plan.backupPath) stays.push(`its backup at ${plan.backupPath} is not touched`)
  if (plan.instance && plan.keepIncus) stays.push(`the container "${plan.name}" is kept (--keep-incus)`)
  return [...goes.map((g) => `  remove: ${g}`), ...stays.map((s) => `  keep:   ${s}`)]
}

/** What carrying out a removal changes: Incus, the registry, and the baseline in the state dir. */
export interface RemovalDeps {
  incus: Pick<IncusClient, 'deleteInstance' | 'deleteNetwork' | 'deleteAcl' | 'capture' | 'execArgs'>
  store: Pick<RegistryStore, 'update'>
  paths: Pick<RepomanPaths, 'stateDir'>
}

/**
 * The steps of a removal, container first: if deleting it fails, the registry still knows about
 * it. Nothing is undone on a failure (a deleted container cannot come back); what is left is
 * consistent, and `repoman remove` again finishes the job. The steps fill in the result.
 */
export function removalSteps(plan: RemovalPlan, deps: RemovalDeps): {steps: Step[]; result: Removed} {
  const result: Removed = {
    name: plan.name,
    container_deleted: false,
    snapshots_deleted: [],
    registry_entry_removed: false,
    repo: plan.repoPath,
    backup: plan.backupPath ?? null,
    left: [],
  }
  const steps: Step[] = []
  const {instance, entry, reclaim} = plan
  const leaving = (control: {title(text: string): void}, done: string, left: string[]) => {
    result.left.push(...left)
    if (left.length > 0) control.title(`${done}, but for ${left.join(', ')} (see below)`)
  }
  if (reclaim)
    steps.push({
      title: `Hand back to you what root inside made in the files that go with "${plan.name}"`,
      async run() {
        // Best effort: whatever stays is named once the container is gone.
        await deps.incus.capture(deps.incus.execArgs(plan.name, reclaimCommand(reclaim.paths, reclaim.uid)))
        return undefined
      },
    })
  if (instance && !plan.keepIncus) {
    steps.push({
      title:
        plan.snapshots.length > 0
          ? `Delete container "${plan.name}" and its ${plan.snapshots.length} snapshot(s)`
          : `Delete container "${plan.name}"`,
      async run() {
        await deps.incus.deleteInstance(plan.name)
        result.container_deleted = true
        result.snapshots_deleted = plan.snapshots
        return undefined
      },
    })
    if (instance.config[CONFIG_KEYS.network])
      steps.push({
        title: `Delete the network of "${plan.name}"`,
        async run() {
          await removeIsolation(deps.incus, instance)
          return undefined
        },
      })
  }
  if (plan.agentGit)
    steps.push({
      title: `Take the agent's last commits, then delete the git dir of "${plan.name}"`,
      async run(control) {
        await importAgentGit(plan.repoPath, deps.paths.stateDir, plan.name)
        const left = await removeAgentGit(deps.paths.stateDir, plan.name)
        if (plan.clone) left.push(...(await deleteTree(plan.clone.tree)))
        // The empty `.git` new made as the mount point of a repo without git, if still empty.
        if (hostGitKind(plan.repoPath) === 'none') await rmdir(join(plan.repoPath, '.git')).catch(() => undefined)
        leaving(control, `Took the agent's last commits, deleted the git dir of "${plan.name}"`, left)
        return undefined
      },
    })
  if (plan.homes)
    steps.push({
      title: `Delete the agent homes of "${plan.name}"`,
      async run(control) {
        const {renderConversations, takeConversations} = await import('../agents/conversations.js')
        const taken = await takeConversations(deps.paths.stateDir, plan.name, plan.repoPath, plan.host)
        for (const line of renderConversations(plan.name, taken)) control.output(line)
        leaving(
          control,
          `Deleted the agent homes of "${plan.name}"`,
          await deleteTree(projectHomesDir(deps.paths.stateDir, plan.name)),
        )
        return undefined
      },
    })
  if (entry)
    steps.push(
      {
        title: `Forget "${plan.name}" in the registry`,
        async run(control) {
          await deps.store.update((registry) => {
            const before = registry.project.length
            registry.project = registry.project.filter((p) => p.name !== plan.name)
            result.registry_entry_removed = registry.project.length < before
          })
          if (!result.registry_entry_removed) control.title(`"${plan.name}" was already gone from the registry`)
          return undefined
        },
      },
      {
        // What the user accepted of this repo means nothing to a later project of the same name.
        title: "Forget the baseline of the repo's host-run files, and close its way out",
        async run() {
          if (result.registry_entry_removed) rmSync(baselineFile(deps.paths.stateDir, plan.name), {force: true})
          // The gateway closes the project's socket (it re-reads the registry on SIGHUP).
          const pid = gatewayPid(deps.paths.stateDir)
          if (pid !== undefined) process.kill(pid, 'SIGHUP')
          return undefined
        },
      },
    )
  return {steps, result}
}

/** What `remove` prints once done. */
export function renderRemoval(result: Removed): string[] {
  const lines = [`Removed "${result.name}".${result.repo ? ` The repo at ${result.repo} is untouched.` : ''}`]
  if (result.left.length > 0)
    lines.push(
      `Left what root inside kept from you (a uid of the container's range owns it on the host): \`sudo rm -rf ${result.left.join(' ')}\` deletes it.`,
    )
  return lines
}
