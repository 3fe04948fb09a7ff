/**
 * `repoman remove`: deletes a project's container (and its snapshots) and forgets its registry
 * entry. It never deletes or writes into the repo or its backup.
 */
import {rmSync} from 'node:fs'
import {join} from 'node:path'
import {CONFIG_KEYS} from '../containers.js'
import {ProjectNotFoundError, SafetyError} from '../errors.js'
import type {IncusClient} from '../incus/client.js'
import type {IncusInstance} from '../incus/types.js'
import {baselineFile} from '../integrity/snapshot.js'
import type {ProjectEntry, Registry} from '../registry/schema.js'
import {backupRootOf, repoPathOf} from '../registry/schema.js'
import type {RegistryStore} from '../registry/store.js'
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
  incus: IncusClient,
): Promise<RemovalPlan> {
  const entry = registry.project.find((p) => p.name === name)
  const instance = await incus.getInstance(name)
  if (!entry && !instance)
    throw new ProjectNotFoundError(`no project "${name}" in the registry or in Incus project "${incus.project}"`)
  if (!entry && instance?.config[CONFIG_KEYS.managed] !== 'true')
    throw new SafetyError(
      `container "${name}" in Incus project "${incus.project}" was not made by repoman; delete it with incus if you mean to`,
    )
  if (!entry && keepIncus)
    throw new ProjectNotFoundError(`"${name}" is not in the registry; there is nothing to forget`)
  const snapshots = instance && !keepIncus ? (await incus.snapshots(name)).map((s) => s.name) : []
  const repoPath = entry ? repoPathOf(registry, entry.repo) : (instance?.config[CONFIG_KEYS.repo] ?? '')
  const backupPath = entry ? join(backupRootOf(registry), entry.repo) : undefined
  return {name, incusProject: incus.project, entry, instance, snapshots, repoPath, backupPath, keepIncus}
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
  if (plan.entry) goes.push(`the registry entry "${plan.name}"`)
  const stays = [`the repo at ${plan.repoPath || '(unknown)'} is not touched`]
  if (plan.backupPath) stays.push(`its backup at ${plan.backupPath} is not touched`)
  if (plan.instance && plan.keepIncus) stays.push(`the container "${plan.name}" is kept (--keep-incus)`)
  return [...goes.map((g) => `  remove: ${g}`), ...stays.map((s) => `  keep:   ${s}`)]
}

export async function executeRemoval(
  plan: RemovalPlan,
  incus: IncusClient,
  store: RegistryStore,
  stateDir: string,
): Promise<Removed> {
  // Container first: if deleting it fails, the registry still knows about it.
  const deleteContainer = Boolean(plan.instance && !plan.keepIncus)
  if (deleteContainer && plan.instance) {
    await incus.deleteInstance(plan.name)
    await removeIsolation(incus, plan.instance)
  }
  let removed = false
  if (plan.entry)
    await store.update((registry) => {
      const before = registry.project.length
      registry.project = registry.project.filter((p) => p.name !== plan.name)
      removed = registry.project.length < before
    })
  // What the user accepted of this repo means nothing to a later project of the same name.
  if (removed) rmSync(baselineFile(stateDir, plan.name), {force: true})
  return {
    name: plan.name,
    container_deleted: deleteContainer,
    snapshots_deleted: deleteContainer ? plan.snapshots : [],
    registry_entry_removed: removed,
    repo: plan.repoPath,
    backup: plan.backupPath ?? null,
  }
}
