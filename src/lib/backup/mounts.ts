/**
 * Is the backup root really the NFS share? If the share is not mounted, the mount point is an
 * empty directory on the local disk, and a mirror into it would fill that disk (and `--delete`
 * against it proves nothing). Decided from /proc/self/mountinfo; autofs mounts are triggered
 * by touching the path and waited for a bounded time.
 */
import {constants} from 'node:fs'
import {access, readFile, stat} from 'node:fs/promises'
import {resolve} from 'node:path'

export interface MountEntry {
  mountPoint: string
  fsType: string
  source: string
}

const unescapeOctal = (field: string) =>
  field.replace(/\\([0-7]{3})/g, (_, oct: string) => String.fromCharCode(Number.parseInt(oct, 8)))

export function parseMountInfo(text: string): MountEntry[] {
  const entries: MountEntry[] = []
  for (const line of text.split('\n')) {
    const [left, right] = line.split(' - ')
    if (!left || !right) continue
    const fields = left.split(' ')
    const [fsType, source] = right.split(' ')
    if (fields[4] && fsType)
      entries.push({mountPoint: unescapeOctal(fields[4]), fsType, source: unescapeOctal(source ?? '')})
  }
  return entries
}

/** The mount that holds `path`: the longest mount point that is `path` or a parent of it (the last one mounted wins). */
export function mountOf(path: string, mounts: MountEntry[]): MountEntry | undefined {
  const target = resolve(path)
  let best: MountEntry | undefined
  for (const m of mounts) {
    const inside = m.mountPoint === '/' || target === m.mountPoint || target.startsWith(`${m.mountPoint}/`)
    if (inside && (!best || m.mountPoint.length >= best.mountPoint.length)) best = m
  }
  return best
}

/** The backup root's state, part of `status --json` and of every sync refusal. */
export interface BackupRootState {
  root: string
  exists: boolean
  /** Mount point holding the backup root, and its file system type. */
  mount_point: string | null
  fs_type: string | null
  /** On another mount than the repos (what a backup must be, unless a local disk is meant). */
  separate: boolean
  writable: boolean
  /** Why a mirror there is refused; null when it is fine. */
  problem: string | null
}

export interface BackupRootFacts {
  exists: boolean
  writable: boolean
  mounts: MountEntry[]
}

/** Pure judgement of the backup root from gathered facts. */
export function judgeBackupRoot(
  root: string,
  reposRoot: string,
  facts: BackupRootFacts,
  allowLocal: boolean,
  /** `read`: a restore only reads from the root (a read-only share is fine then). */
  access: 'read' | 'write' = 'write',
): BackupRootState {
  const backupMount = mountOf(root, facts.mounts)
  const reposMount = mountOf(reposRoot, facts.mounts)
  const separate = Boolean(backupMount && reposMount && backupMount.mountPoint !== reposMount.mountPoint)
  const state: BackupRootState = {
    root,
    exists: facts.exists,
    mount_point: backupMount?.mountPoint ?? null,
    fs_type: backupMount?.fsType ?? null,
    separate,
    writable: facts.writable,
    problem: null,
  }
  if (!facts.exists)
    state.problem = `backup root ${root} does not exist; mount the backup share there (or fix [defaults].backup_root)`
  else if (backupMount?.fsType === 'autofs')
    state.problem = `backup root ${root} is an autofs mount point that did not mount; check the NFS server and the automounter`
  else if (!separate && !allowLocal)
    state.problem = `backup root ${root} is not a separate mount (it is on the repos' own file system at ${backupMount?.mountPoint ?? '/'}), so the NFS share looks unmounted; mount it, or pass --allow-local if a local disk is meant`
  else if (!facts.writable && access === 'write')
    state.problem = `backup root ${root} is not writable (read-only mount or permissions)`
  return state
}

async function readMounts(): Promise<MountEntry[]> {
  return parseMountInfo(await readFile('/proc/self/mountinfo', 'utf8'))
}

/**
 * Gathers the facts (touching the root first, which triggers an autofs mount) and judges them.
 * While the root is still an untriggered autofs mount, polls up to `autofsWaitMs`.
 */
export async function inspectBackupRoot(
  root: string,
  reposRoot: string,
  options: {allowLocal: boolean; autofsWaitMs?: number; access?: 'read' | 'write'},
): Promise<BackupRootState> {
  const deadline = Date.now() + (options.autofsWaitMs ?? 10_000)
  for (;;) {
    const exists = await stat(root).then(
      (s) => s.isDirectory(),
      () => false,
    )
    const mounts = await readMounts()
    const pending = exists && mountOf(root, mounts)?.fsType === 'autofs'
    if (!pending || Date.now() >= deadline) {
      const writable =
        exists &&
        (await access(root, constants.W_OK).then(
          () => true,
          () => false,
        ))
      return judgeBackupRoot(root, reposRoot, {exists, writable, mounts}, options.allowLocal, options.access)
    }
    await new Promise((r) => setTimeout(r, 200))
  }
}
