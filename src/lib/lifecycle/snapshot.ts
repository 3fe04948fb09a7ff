/**
 * `repoman snapshot`, `snapshot list` and `rollback`: Incus snapshots of a project's container
 * root volume (the packages an agent installed, its home, /etc). The repo is a host directory
 * mounted in, so it is never in them: `repoman restore` brings the repo back from the backup.
 */
import {selectProjects} from '../backup/sync.js'
import {SnapshotExistsError, SnapshotNotFoundError, UsageError} from '../errors.js'
import type {IncusClient} from '../incus/client.js'
import type {IncusInstance, IncusSnapshot} from '../incus/types.js'
import type {Registry} from '../registry/schema.js'
import {repoPathOf} from '../registry/schema.js'
import type {Step} from '../steps.js'
import {containerGone} from './session.js'

export interface SnapshotRow {
  name: string
  created: string
}

/** The `snapshot --json` result. */
export interface SnapshotResult {
  name: string
  snapshot: string
  /** The repo is a host mount: never in a container snapshot. */
  repo: string
  repo_included: false
}

/** The `snapshot list --json` result, oldest first. */
export interface SnapshotList {
  name: string
  snapshots: SnapshotRow[]
  repo: string
  repo_included: false
}

/** The `rollback --json` result. */
export interface RolledBack {
  name: string
  snapshot: string
  /** The container's status before and after (Incus stops a running one for the restore, and starts it again). */
  state_before: string
  state_after: string
  repo: string
  repo_restored: false
}

/** What every snapshot command says, so nobody takes a container snapshot for a repo backup. */
export function repoNotIncluded(name: string, repo: string): string {
  return `The repo at ${repo} is NOT in container snapshots (it is a host mount); \`repoman restore ${name}\` brings it back from the backup.`
}

/** Incus snapshot names: no slash, not empty; kept to what is safe in a shell and a URL. */
const SNAPSHOT_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/

/** The name a new snapshot gets: the one asked for, else `snap-YYYYMMDD-HHMMSS` (UTC). */
export function chooseSnapshotName(requested: string | undefined, existing: string[], now: Date): string {
  const name = requested ?? `snap-${now.toISOString().replace(/[-:]/g, '').replace('T', '-').slice(0, 15)}`
  if (!SNAPSHOT_NAME.test(name))
    throw new UsageError(`snapshot name "${name}" must be letters, digits, ".", "_" or "-" (at most 63)`)
  if (existing.includes(name))
    throw new SnapshotExistsError(`the container already has a snapshot "${name}"; pick another --name`)
  return name
}

export interface SnapshotTarget {
  name: string
  repo: string
  instance: IncusInstance
  snapshots: IncusSnapshot[]
}

/** The registered project, its container and that container's snapshots. */
export async function snapshotTarget(registry: Registry, incus: IncusClient, name: string): Promise<SnapshotTarget> {
  const [project] = selectProjects(registry, name)
  const instance = await incus.getInstance(name)
  if (!project || !instance) throw containerGone(name)
  return {name, repo: repoPathOf(registry, project.repo), instance, snapshots: await incus.snapshots(name)}
}

const rows = (snapshots: IncusSnapshot[]): SnapshotRow[] =>
  snapshots.map((s) => ({name: s.name, created: s.created_at.replace(/\.\d+Z$/, 'Z')}))

/** The snapshot to make: its name, chosen and checked before anything changes. */
export function planSnapshot(target: SnapshotTarget, requested: string | undefined, now: Date): {snapshot: string} {
  return {
    snapshot: chooseSnapshotName(
      requested,
      target.snapshots.map((s) => s.name),
      now,
    ),
  }
}

export function snapshotSteps(
  target: SnapshotTarget,
  plan: {snapshot: string},
  incus: Pick<IncusClient, 'createSnapshot'>,
): {steps: Step[]; result: SnapshotResult} {
  const result: SnapshotResult = {name: target.name, snapshot: plan.snapshot, repo: target.repo, repo_included: false}
  const steps: Step[] = [
    {
      title: `Snapshot container "${target.name}" as "${plan.snapshot}"`,
      run: async () => {
        await incus.createSnapshot(target.name, plan.snapshot)
        return undefined
      },
    },
  ]
  return {steps, result}
}

export function renderSnapshot(result: SnapshotResult): string[] {
  return [
    `Snapshot "${result.snapshot}" of container "${result.name}" made.`,
    repoNotIncluded(result.name, result.repo),
  ]
}

export function listSnapshots(target: SnapshotTarget): SnapshotList {
  return {name: target.name, snapshots: rows(target.snapshots), repo: target.repo, repo_included: false}
}

/** Refuses a rollback to a snapshot the container does not have, naming those it has. */
export function planRollback(target: SnapshotTarget, snapshot: string): {snapshot: string; stateBefore: string} {
  if (!target.snapshots.some((s) => s.name === snapshot)) {
    const names = target.snapshots.map((s) => s.name).join(', ') || 'none'
    throw new SnapshotNotFoundError(
      `"${target.name}" has no snapshot "${snapshot}" (it has: ${names}); nothing was changed`,
      {hint: `repoman snapshot list ${target.name}`},
    )
  }
  return {snapshot, stateBefore: target.instance.status}
}

/** What the confirmation shows: what is lost, and what is not touched. */
export function describeRollback(target: SnapshotTarget, snapshot: string): string[] {
  const running = target.instance.status === 'Running'
  return [
    `  roll back: container "${target.name}" to snapshot "${snapshot}"; changes to its root file system since then are lost${running ? ' (it is stopped for this and started again)' : ''}`,
    `  keep:      the repo at ${target.repo} (a host mount, not in the snapshot)`,
  ]
}

export function rollbackSteps(
  target: SnapshotTarget,
  plan: {snapshot: string; stateBefore: string},
  incus: Pick<IncusClient, 'restoreSnapshot' | 'getInstance'>,
): {steps: Step[]; result: RolledBack} {
  const result: RolledBack = {
    name: target.name,
    snapshot: plan.snapshot,
    state_before: plan.stateBefore,
    state_after: plan.stateBefore,
    repo: target.repo,
    repo_restored: false,
  }
  const steps: Step[] = [
    {
      title: `Roll container "${target.name}" back to "${plan.snapshot}"`,
      run: async () => {
        await incus.restoreSnapshot(target.name, plan.snapshot)
        result.state_after = (await incus.getInstance(target.name))?.status ?? 'Gone'
        return undefined
      },
    },
  ]
  return {steps, result}
}

export function renderRollback(result: RolledBack): string[] {
  return [
    `Container "${result.name}" rolled back to "${result.snapshot}" (${result.state_after.toLowerCase()}).`,
    repoNotIncluded(result.name, result.repo),
  ]
}

export async function renderSnapshotList(list: SnapshotList): Promise<string[]> {
  const note = repoNotIncluded(list.name, list.repo)
  if (list.snapshots.length === 0) return [`"${list.name}" has no snapshots.`, note]
  const {renderTable} = await import('../table.js')
  return [
    await renderTable(
      ['SNAPSHOT', 'CREATED'],
      list.snapshots.map((s) => [s.name, s.created.slice(0, 16).replace('T', ' ')]),
    ),
    note,
  ]
}
