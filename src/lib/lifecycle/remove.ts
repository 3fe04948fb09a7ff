/**
 * `repoman remove`: deletes a project's container (and its snapshots) and forgets its registry
 * entry. It never deletes or writes into the repo or its backup.
 */
import {rmSync} from 'node:fs'
import {rmdir} from 'node:fs/promises'
import {join} from 'node:path'
import {deleteProjectHomes} from '../agents/home-steps.js'
import {NotManagedError, ProjectNotFoundError} from '../errors.js'
import {gatewayPid} from '../gateway/daemon.js'
import {hasAgentGit, hostGitKind, importAgentGit, removeAgentGit} from '../git/agent-git.js'
import type {IncusClient} from '../incus/client.js'
import type {IncusInstance} from '../incus/types.js'
import {baselineFile} from '../integrity/snapshot.js'
import {cloneTreeDir, projectHomesDir, type RepomanPaths} from '../paths.js'
import type {HostRecord, ProjectEntry, Registry} from '../registry/schema.js'
import {backupRootOf, repoPathOf} from '../registry/schema.js'
import type {RegistryStore} from '../registry/store.js'
import type {Step} from '../steps.js'
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
  const agentGit = instance !== undefined && !keepIncus && stateDir !== undefined && hasAgentGit(stateDir, name)
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
    host: registry.host,
  }
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
  incus: Pick<IncusClient, 'deleteInstance' | 'deleteNetwork' | 'deleteAcl'>
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
  }
  const steps: Step[] = []
  const {instance, entry} = plan
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
    if (plan.agentGit)
      steps.push({
        title: `Take the agent's last commits, then delete the git dir of "${plan.name}"`,
        async run() {
          await importAgentGit(plan.repoPath, deps.paths.stateDir, plan.name)
          removeAgentGit(deps.paths.stateDir, plan.name)
          if (plan.clone) rmSync(plan.clone.tree, {recursive: true, force: true})
          // The empty `.git` new made as the mount point of a repo without git, if still empty.
          if (hostGitKind(plan.repoPath) === 'none') await rmdir(join(plan.repoPath, '.git')).catch(() => undefined)
          return undefined
        },
      })
    steps.push({
      title: `Delete the agent homes of "${plan.name}"`,
      async run(control) {
        const {renderConversations, takeConversations} = await import('../agents/conversations.js')
        const taken = await takeConversations(deps.paths.stateDir, plan.name, plan.repoPath, plan.host)
        for (const line of renderConversations(plan.name, taken)) control.output(line)
        const left = await deleteProjectHomes(deps.paths.stateDir, plan.name)
        if (left.length > 0)
          control.title(
            `Left ${left.join(', ')} (made by root inside, not yours on the host); \`sudo rm -rf ${projectHomesDir(deps.paths.stateDir, plan.name)}\` deletes it`,
          )
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
  return [`Removed "${result.name}".${result.repo ? ` The repo at ${result.repo} is untouched.` : ''}`]
}
