/**
 * The file-system side of integrity checks: fingerprints of the watched paths (a few stats and
 * small reads, cheap enough to run after every session), the full scan of the repo for files
 * that should never be there, and the baselines under the state dir.
 */
import {
  type Dirent,
  existsSync,
  lstatSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  type Stats,
  writeFileSync,
} from 'node:fs'
import {dirname, join, resolve, sep} from 'node:path'
import {ConfigError} from '../errors.js'
import {compareAscii} from '../names.js'
import {
  type Baseline,
  compareFingerprints,
  type Entry,
  type EntryType,
  type Fingerprint,
  type IntegrityChange,
  type IntegrityState,
  isRetiredPath,
  type SpecialFile,
  TEXT_LIMIT,
  WATCHED_DIRS,
  WATCHED_FILES,
  WATCHED_ROOTS,
} from './fingerprint.js'

/** How deep and how many entries of each watched directory are fingerprinted (hooks are flat). */
const DIR_DEPTH = 3
const DIR_ENTRIES = 2000

function typeOf(stat: Stats): EntryType {
  if (stat.isFile()) return 'file'
  if (stat.isDirectory()) return 'dir'
  if (stat.isSymbolicLink()) return 'symlink'
  if (stat.isFIFO()) return 'fifo'
  if (stat.isSocket()) return 'socket'
  return stat.isCharacterDevice() ? 'char-device' : 'block-device'
}

function lstatOrUndefined(path: string): Stats | Error | undefined {
  try {
    // Absent is the common case here: no exception to build for it.
    return lstatSync(path, {throwIfNoEntry: false})
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code
    if (code === 'ENOENT' || code === 'ENOTDIR') return undefined
    return error as Error
  }
}

/**
 * A file whose inode, size, mtime and ctime are what they were when it was hashed has the same
 * content (only the clock sets ctime, and root in a container cannot set the clock), so its
 * hash is not computed again. Only for files whose ctime was this much older than the reading:
 * a write in the same timestamp tick as the reading could otherwise keep the signature.
 */
const SIGNATURE_MIN_AGE_MS = 2_000

/** Larger watched files are told apart by their signature alone. */
const HASH_LIMIT = 16 * 1024 * 1024

const signatureOf = (stat: Stats) => `${stat.ino}:${stat.size}:${stat.mtimeMs}:${stat.ctimeMs}`

/**
 * One path as it is now; undefined when absent. Reads only regular files (never a FIFO), and
 * not even those when `known` (the same path in the baseline) has the same signature.
 */
function entryOf(path: string, withIdentity: boolean, known: Entry | undefined): Entry | undefined {
  const stat = lstatOrUndefined(path)
  if (stat === undefined) return undefined
  if (stat instanceof Error) return {type: 'unreadable', mode: 0, size: 0, hash: (stat as NodeJS.ErrnoException).code}
  const entry: Entry = {type: typeOf(stat), mode: stat.mode & 0o7777, size: stat.isFile() ? stat.size : 0}
  if (withIdentity) entry.identity = `${stat.dev}:${stat.ino}`
  if (entry.type === 'symlink') entry.hash = readlinkSync(path)
  if (entry.type !== 'file') return entry
  const signature = signatureOf(stat)
  if (known?.signature === signature && known.type === 'file')
    return {...entry, hash: known.hash, text: known.text, signature}
  if (stat.ctimeMs < Date.now() - SIGNATURE_MIN_AGE_MS) entry.signature = signature
  // No host tool reads a config this large; reading it could be the attack. Any write changes ctime.
  if (stat.size > HASH_LIMIT) return {...entry, hash: `not hashed (${signature})`}
  let content: Buffer
  try {
    content = readFileSync(path)
  } catch (error) {
    entry.hash = `unreadable (${(error as NodeJS.ErrnoException).code})`
    return entry
  }
  // node:crypto takes longer to load than the whole check: only when something must be hashed.
  const {createHash} = process.getBuiltinModule('node:crypto')
  entry.hash = createHash('sha256').update(content).digest('hex')
  if (content.length <= TEXT_LIMIT && !content.includes(0)) entry.text = content.toString('utf8')
  return entry
}

/** The entries below a watched directory, to DIR_DEPTH levels and DIR_ENTRIES entries. */
function addDirectory(
  repoPath: string,
  rel: string,
  into: Fingerprint,
  known: Fingerprint,
  depth: number,
  budget = {left: DIR_ENTRIES},
) {
  let dirents: Dirent[]
  try {
    dirents = readdirSync(join(repoPath, rel), {withFileTypes: true})
  } catch {
    return // Absent, or not a directory: its own entry says so.
  }
  for (const dirent of dirents.sort((a, b) => compareAscii(a.name, b.name))) {
    // Git never runs its *.sample hooks (renaming one to run it is an added entry); they are
    // most of a fresh .git/hooks, and every check would read them.
    if (dirent.name.endsWith('.sample')) continue
    if (budget.left-- <= 0) return
    const path = `${rel}/${dirent.name}`
    const entry = entryOf(join(repoPath, path), false, known[path])
    if (!entry) continue
    into[path] = entry
    if (entry.type === 'dir' && depth < DIR_DEPTH) addDirectory(repoPath, path, into, known, depth + 1, budget)
  }
}

/**
 * The watched paths of a repo as they are now, and the directories above them (`.claude`,
 * `.git/info`, ...); `known` (the baseline) spares hashing unchanged files. Nothing is looked
 * at through a symlink or below a non-directory: the entry of what stands there says so.
 */
export function takeFingerprint(repoPath: string, known: Fingerprint = {}): Fingerprint {
  const entries: Fingerprint = {}
  const visited = new Map<string, Entry | undefined>()
  const visit = (rel: string): Entry | undefined => {
    if (visited.has(rel)) return visited.get(rel)
    const slash = rel.lastIndexOf('/')
    const parent = slash > 0 ? visit(rel.slice(0, slash)) : undefined
    const entry =
      slash > 0 && parent?.type !== 'dir'
        ? undefined
        : entryOf(join(repoPath, rel), WATCHED_ROOTS.includes(rel), known[rel])
    visited.set(rel, entry)
    if (entry) entries[rel] = entry
    return entry
  }
  for (const rel of [...WATCHED_ROOTS, ...WATCHED_FILES]) visit(rel)
  for (const rel of WATCHED_DIRS) if (visit(rel)?.type === 'dir') addDirectory(repoPath, rel, entries, known, 1)
  return entries
}

/** How far the scan goes: unbounded for `status`, a bounded pass after each session. */
export interface ScanLimits {
  /** Entries looked at before the scan stops (and says so). */
  entries?: number
  /** Directory names not entered (e.g. node_modules, for the pass after a session). */
  skip?: string[]
}

/** Directories the pass after each session does not enter: large, and written by package managers. */
export const SESSION_SCAN: ScanLimits = {entries: 50_000, skip: ['node_modules', '.venv', 'target']}

/**
 * A submodule checkout's `.git` file as git writes it (`gitdir: ../.git/modules/x`, pointing
 * into the host's own git dir): the host's, not a nested repository.
 */
function isSubmoduleGitFile(repoPath: string, rel: string): boolean {
  let text: string
  try {
    if (lstatSync(join(repoPath, rel)).size > 4096) return false
    text = readFileSync(join(repoPath, rel), 'utf8').trim()
  } catch {
    return false
  }
  if (!text.startsWith('gitdir: ')) return false
  const target = resolve(dirname(join(repoPath, rel)), text.slice('gitdir: '.length))
  return target.startsWith(join(repoPath, '.git', 'modules') + sep) && existsSync(join(target, 'HEAD'))
}

/**
 * Walks the whole repo for setuid/setgid files, device nodes, FIFOs and sockets, nested
 * repositories (a `.git` below the repo's own, but a submodule's), symlinks into the user's
 * home outside the repo, and directories it may not look into (they could hide one). Symlinks
 * are not followed, other file systems mounted below the repo are not entered, nor is the
 * repo's own `.git` (the host's; the container cannot reach it).
 */
export function scanSpecialFiles(repoPath: string, home = '', limits: ScanLimits = {}): SpecialFile[] {
  const found: SpecialFile[] = []
  let rootDevice: number
  try {
    rootDevice = lstatSync(repoPath).dev
  } catch {
    return found // A missing repo is status's problem already.
  }
  const skip = new Set(limits.skip ?? [])
  let budget = limits.entries ?? Number.POSITIVE_INFINITY
  const pending = ['']
  while (pending.length > 0) {
    const rel = pending.pop() as string
    let dirents: Dirent[]
    try {
      dirents = readdirSync(join(repoPath, rel), {withFileTypes: true})
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code
      found.push({
        path: rel,
        kind: 'unreadable',
        detail: `directory repoman may not read (${code}) could hide anything`,
      })
      continue
    }
    budget -= dirents.length
    if (budget < 0) break
    for (const dirent of dirents) {
      const path = rel === '' ? dirent.name : `${rel}/${dirent.name}`
      const full = join(repoPath, path)
      if (dirent.name === '.git') {
        if (rel !== '' && !(dirent.isFile() && isSubmoduleGitFile(repoPath, path)))
          found.push({
            path,
            kind: 'nested-repo',
            detail: `a nested repository (a .git ${dirent.isDirectory() ? 'directory' : 'file'}) host tools would run git in; delete it, or look at it without git`,
          })
      } else if (dirent.isDirectory()) {
        if (skip.has(dirent.name)) continue
        const stat = lstatOrUndefined(full)
        if (stat && !(stat instanceof Error) && stat.dev === rootDevice) pending.push(path)
      } else if (dirent.isFile()) {
        const stat = lstatOrUndefined(full)
        if (!stat || stat instanceof Error) continue
        const mode = (stat.mode & 0o7777).toString(8).padStart(4, '0')
        if (stat.mode & 0o4000)
          found.push({path, kind: 'setuid', detail: `setuid file (mode ${mode}, owner ${stat.uid})`})
        else if (stat.mode & 0o2000)
          found.push({path, kind: 'setgid', detail: `setgid file (mode ${mode}, group ${stat.gid})`})
      } else if (dirent.isSymbolicLink()) {
        const target = symlinkIntoHome(repoPath, full, home)
        if (target)
          found.push({
            path,
            kind: 'symlink-out',
            detail: `symlink to ${target}, in your home outside the repo: a host tool writing here writes there`,
          })
      } else if (dirent.isCharacterDevice() || dirent.isBlockDevice())
        found.push({path, kind: 'device', detail: `${dirent.isBlockDevice() ? 'block' : 'character'} device node`})
      else if (dirent.isFIFO()) found.push({path, kind: 'fifo', detail: 'FIFO (a host tool opening it hangs)'})
      else if (dirent.isSocket()) found.push({path, kind: 'socket', detail: 'socket'})
    }
  }
  return found.sort((a, b) => compareAscii(a.path, b.path))
}

/** Where a symlink leads, when that is in `home` but outside the repo (resolved as text: links are not followed). */
function symlinkIntoHome(repoPath: string, link: string, home: string): string | undefined {
  if (home === '') return undefined
  let target: string
  try {
    target = resolve(dirname(link), readlinkSync(link))
  } catch {
    return undefined
  }
  const within = (path: string, dir: string) => path === dir || path.startsWith(dir.endsWith(sep) ? dir : dir + sep)
  return within(target, home) && !within(target, repoPath) ? target : undefined
}

/** What the last scan of a repo flagged, kept for `list` (which does not walk repos). */
const flaggedFile = (stateDir: string, name: string) => join(stateDir, 'integrity', `${name}.flagged.json`)

export function recordFlagged(stateDir: string, name: string, found: SpecialFile[]): void {
  const text = `${JSON.stringify(found)}\n`
  const file = flaggedFile(stateDir, name)
  // After most sessions nothing changed: then nothing is written (this runs after every exec).
  try {
    if (readFileSync(file, 'utf8') === text) return
  } catch {
    // Not recorded yet.
  }
  mkdirSync(join(stateDir, 'integrity'), {recursive: true, mode: 0o700})
  writeFileSync(file, text, {mode: 0o600})
}

/** How many files the last scan flagged (0 when none was made). */
export function flaggedCount(stateDir: string, name: string): number {
  try {
    const found = JSON.parse(readFileSync(flaggedFile(stateDir, name), 'utf8'))
    return Array.isArray(found) ? found.length : 0
  } catch {
    return 0
  }
}

export function baselineFile(stateDir: string, name: string): string {
  return join(stateDir, 'integrity', `${name}.json`)
}

/** The project's baseline; undefined when it has none, a ConfigError when it cannot be read. */
export function readBaseline(stateDir: string, name: string): Baseline | undefined {
  const file = baselineFile(stateDir, name)
  let text: string
  try {
    text = readFileSync(file, 'utf8')
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined
    throw new ConfigError(
      `cannot read ${file} (${(error as Error).message}); \`repoman accept ${name}\` records a new one`,
      {hint: `repoman accept ${name}`},
    )
  }
  try {
    const baseline = JSON.parse(text) as Baseline
    if (baseline.version === 1 && typeof baseline.entries === 'object') return baseline
  } catch {
    // Reported below.
  }
  throw new ConfigError(`${file} is not a baseline repoman wrote; \`repoman accept ${name}\` records a new one`, {
    hint: `repoman accept ${name}`,
  })
}

export async function writeBaseline(stateDir: string, name: string, baseline: Baseline): Promise<void> {
  const {default: writeFileAtomic} = await import('write-file-atomic')
  mkdirSync(join(stateDir, 'integrity'), {recursive: true, mode: 0o700})
  await writeFileAtomic(baselineFile(stateDir, name), `${JSON.stringify(baseline)}\n`, {mode: 0o600})
}

/** Records the watched paths as they are now as the project's baseline. */
export async function recordBaseline(stateDir: string, name: string, repoPath: string): Promise<Baseline> {
  const baseline: Baseline = {
    version: 1,
    repo: repoPath,
    accepted: new Date().toISOString(),
    entries: takeFingerprint(repoPath),
  }
  await writeBaseline(stateDir, name, baseline)
  return baseline
}

/** What the cheap check found. */
export interface WatchedCheck {
  state: IntegrityState
  changes: IntegrityChange[]
  /** Why nothing could be compared: the baseline cannot be read (state is unknown then). */
  problem?: string
  baseline?: Baseline
  current?: Fingerprint
}

/** The cheap check (watched paths only): what changed since the baseline. */
export function checkWatched(stateDir: string, name: string, repoPath: string): WatchedCheck {
  let baseline: Baseline | undefined
  try {
    baseline = readBaseline(stateDir, name)
  } catch (error) {
    if (error instanceof ConfigError) return {state: 'unknown', changes: [], problem: error.message}
    throw error
  }
  if (!baseline) return {state: 'unknown', changes: []}
  baseline.entries = Object.fromEntries(Object.entries(baseline.entries).filter(([path]) => !isRetiredPath(path)))
  const current = takeFingerprint(repoPath, baseline.entries)
  const changes = compareFingerprints(baseline.entries, current)
  return {state: changes.length > 0 ? 'changed' : 'clean', changes, baseline, current}
}
