/**
 * What cannot be prevented is seen: the repo files host tools run when the user opens the repo
 * (direnv, Claude Code hooks, MCP servers, editor tasks, git hooks and config), fingerprinted
 * when the user last accepted them, and compared with what is there now. Pure functions only;
 * the file system is read by `snapshot.ts`.
 */

/** Files a host tool runs or obeys, relative to the repo. */
export const WATCHED_FILES = [
  '.envrc',
  '.claude/settings.json',
  '.claude/settings.local.json',
  '.mcp.json',
  '.vscode/tasks.json',
  '.vscode/settings.json',
  '.hg/hgrc',
]

/** Directories whose every entry (below them, to a small depth) is watched: hooks live there. */
export const WATCHED_DIRS = ['.husky']

/**
 * The repository directories themselves: swapped for one the attacker made (`mv .hg .hg-old;
 * mkdir .hg`), their contents may look alike, but their identity (device and inode) differs.
 * Not `.git`: the container has a git dir of its own there and never reaches the host's.
 */
export const WATCHED_ROOTS = ['.hg']

/** Baseline entries of paths no longer watched (`.git`, in baselines from before it was the container's own). */
export function isRetiredPath(path: string): boolean {
  return path === '.git' || path.startsWith('.git/')
}

/** Text files up to this size are kept whole in the baseline, so `review` can diff them. */
export const TEXT_LIMIT = 64 * 1024

export type EntryType =
  | 'file'
  | 'dir'
  | 'symlink'
  | 'fifo'
  | 'socket'
  | 'char-device'
  | 'block-device'
  /** repoman may not look (a directory above it is closed to the user). */
  | 'unreadable'

/** One watched path as it was seen. Absent paths have no entry. */
export interface Entry {
  type: EntryType
  /** Permission bits, setuid/setgid/sticky included. */
  mode: number
  /** Bytes, for files. */
  size: number
  /** sha256 of the content (files), or the link's target (symlinks). */
  hash?: string
  /** The content of a small text file. */
  text?: string
  /** `device:inode`, for WATCHED_ROOTS only. */
  identity?: string
  /** inode, size, mtime and ctime of a file, when they are enough to know it is unchanged. */
  signature?: string
}

/** Repo-relative path → what was there. */
export type Fingerprint = Record<string, Entry>

/** The stored baseline of one project: what the user last accepted. */
export interface Baseline {
  version: 1
  repo: string
  accepted: string
  entries: Fingerprint
}

/** The watched paths: as the user accepted them, changed since, or unknown (no baseline). */
export type IntegrityState = 'clean' | 'changed' | 'unknown'

export type ChangeKind = 'added' | 'changed' | 'removed' | 'swapped'

/** One difference between the baseline and now, as `status`, `review` and the session block show it. */
export interface IntegrityChange {
  path: string
  change: ChangeKind
  /** What differs, in a few words. */
  detail: string
}

export type SpecialKind =
  | 'setuid'
  | 'setgid'
  | 'device'
  | 'fifo'
  | 'socket'
  | 'unreadable'
  /** A `.git` below the repo's own: host tools that find it run git with its config. */
  | 'nested-repo'
  /** A symlink into your home outside the repo: a host tool writing there writes your files. */
  | 'symlink-out'

/** A file the full scan flags anywhere in the repo. */
export interface SpecialFile {
  path: string
  kind: SpecialKind
  detail: string
}

const octal = (mode: number) => mode.toString(8).padStart(4, '0')

export function describeEntry(entry: Entry): string {
  switch (entry.type) {
    case 'file':
      return `file, ${entry.size} bytes, mode ${octal(entry.mode)}`
    case 'symlink':
      return `symlink to ${entry.hash}`
    default:
      return `${entry.type}, mode ${octal(entry.mode)}`
  }
}

/** What differs between two entries of one path, or undefined when they are alike. */
function difference(path: string, before: Entry, after: Entry): IntegrityChange | undefined {
  if (before.identity !== after.identity)
    return {
      path,
      change: 'swapped',
      detail: `a different ${after.type} now (was ${before.identity}, now ${after.identity})`,
    }
  if (before.type !== after.type)
    return {path, change: 'changed', detail: `was a ${before.type}, now ${describeEntry(after)}`}
  const what: string[] = []
  if (before.hash !== after.hash) what.push(after.type === 'symlink' ? `now points to ${after.hash}` : 'content')
  if (before.mode !== after.mode) what.push(`mode ${octal(before.mode)} -> ${octal(after.mode)}`)
  return what.length > 0 ? {path, change: 'changed', detail: what.join(', ')} : undefined
}

/** Every watched path that differs from the baseline, sorted by path. */
export function compareFingerprints(baseline: Fingerprint, current: Fingerprint): IntegrityChange[] {
  const changes: IntegrityChange[] = []
  const paths = [...new Set([...Object.keys(baseline), ...Object.keys(current)])].sort()
  for (const path of paths) {
    const before = baseline[path]
    const after = current[path]
    if (!before && after) changes.push({path, change: 'added', detail: describeEntry(after)})
    else if (before && !after) changes.push({path, change: 'removed', detail: `was a ${describeEntry(before)}`})
    else if (before && after) {
      const change = difference(path, before, after)
      if (change) changes.push(change)
    }
  }
  return changes
}

/** True when `path` is `prefix` or lies below it (repo-relative, `/`-separated). */
const covers = (prefix: string, path: string) => path === prefix || path.startsWith(`${prefix}/`)

/**
 * The baseline after the user accepted `paths` (all changes when none are named): those paths,
 * and the ones below them, take their current state; the rest stay as they were accepted.
 * `unknown` is the first named path that matches no change (nothing is accepted then).
 */
export function acceptChanges(
  baseline: Fingerprint,
  current: Fingerprint,
  paths: string[],
): {entries: Fingerprint; accepted: IntegrityChange[]; unknown?: string} {
  const changes = compareFingerprints(baseline, current)
  if (paths.length === 0) return {entries: current, accepted: changes}
  const wanted = paths.map((p) => p.replace(/^(\.\/+)+/, '').replace(/\/+$/, ''))
  const unknown = wanted.find((p) => !changes.some((c) => covers(p, c.path)))
  if (unknown !== undefined) return {entries: baseline, accepted: [], unknown}
  const accepted = changes.filter((c) => wanted.some((p) => covers(p, c.path)))
  const entries: Fingerprint = {...baseline}
  for (const {path} of accepted) {
    const now = current[path]
    if (now) entries[path] = now
    else delete entries[path]
  }
  return {entries, accepted}
}

/** The one block printed on stderr when a session leaves watched files changed. */
export function renderChangeBlock(name: string, changes: IntegrityChange[]): string[] {
  const width = Math.max(...changes.map((c) => c.change.length))
  return [
    `repoman: files your host runs changed in "${name}" since you last accepted them:`,
    ...changes.map((c) => `  ${c.change.padEnd(width)}  ${c.path} (${c.detail})`),
    `Look:   repoman review ${name}`,
    `Accept: repoman accept ${name} [PATH...]`,
  ]
}

/** A status problem for each change and each flagged file. */
export function integrityProblems(name: string, changes: IntegrityChange[], special: SpecialFile[]): string[] {
  return [
    ...changes.map((c) => `${c.path} ${c.change} since accepted (\`repoman review ${name}\`)`),
    ...special.map((s) => `${s.path}: ${s.detail}`),
  ]
}
