/**
 * Git refs read as data: ref names and object ids checked before anything on the host uses
 * them, HEAD and packed-refs parsed without git. Pure, but for `readRefs`, which reads a git
 * dir through UntrustedDir (so a symlink planted among the refs is a rejected entry, never
 * followed).
 */
import type {UntrustedDir} from './untrusted-dir.js'

/** A SHA-1 or SHA-256 object id, as git writes them (lowercase hex). */
export function isObjectId(text: string): boolean {
  return /^(?:[0-9a-f]{40}|[0-9a-f]{64})$/.test(text)
}

/**
 * A full ref name repoman accepts (`refs/heads/feature/x`): git's check-ref-format rules, and
 * stricter (a conservative character set, bounded length and depth), since a name that passes
 * is used on the host in `refs/remotes/repoman/<project>/<branch>` and in messages.
 */
export function isSafeRefName(name: string): boolean {
  if (name.length > 200 || !name.startsWith('refs/')) return false
  if (!/^[A-Za-z0-9._/+-]+$/.test(name)) return false
  const parts = name.split('/')
  if (parts.length < 3 || parts.length > 12) return false
  return (
    parts.every(
      (part) =>
        part !== '' && !part.startsWith('.') && !part.startsWith('-') && !part.endsWith('.lock') && !part.endsWith('.'),
    ) &&
    !name.includes('..') &&
    !name.includes('@{')
  )
}

export interface Head {
  /** `refs/heads/x` when HEAD names a branch. */
  branch?: string
  /** The commit when HEAD is detached. */
  detached?: string
}

/** HEAD's content, or undefined when it is neither a valid symbolic ref nor an object id. */
export function parseHead(text: string): Head | undefined {
  const line = text.trim()
  if (line.startsWith('ref: ')) {
    const ref = line.slice(5).trim()
    return ref.startsWith('refs/heads/') && isSafeRefName(ref) ? {branch: ref} : undefined
  }
  return isObjectId(line) ? {detached: line} : undefined
}

export function headText(head: Head): string {
  return head.branch ? `ref: ${head.branch}\n` : `${head.detached}\n`
}

/** What was read: the refs that passed, and the names (as read) of those that did not. */
export interface RefRead {
  refs: Map<string, string>
  rejected: string[]
}

/** packed-refs' `<oid> <ref>` lines (peeled `^` lines and comments skipped), the invalid ones rejected. */
export function parsePackedRefs(text: string, prefixes: string[]): RefRead {
  const refs = new Map<string, string>()
  const rejected: string[] = []
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#') || line.startsWith('^')) continue
    const space = line.indexOf(' ')
    const oid = line.slice(0, space)
    const ref = line.slice(space + 1)
    if (!prefixes.some((p) => ref.startsWith(p))) continue
    if (space > 0 && isObjectId(oid) && isSafeRefName(ref)) refs.set(ref, oid)
    else rejected.push(ref || line)
  }
  return {refs, rejected}
}

/** packed-refs for these refs, sorted as git sorts them (plain byte order). */
export function packedRefsText(refs: Map<string, string>): string {
  const names = [...refs.keys()].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0))
  return `# pack-refs with: sorted \n${names.map((name) => `${refs.get(name)} ${name}\n`).join('')}`
}

/** Bounds on what is read from a git dir the container writes: refs are tiny, and there are not millions. */
const REF_FILE_LIMIT = 1024
const PACKED_REFS_LIMIT = 64 * 1024 * 1024
const MAX_LOOSE_REFS = 20_000

/**
 * The refs under `prefixes` (e.g. `refs/heads/`) of the git dir `dir`: packed-refs, then loose
 * ref files, which win. Nothing is followed: a symlink, FIFO or oversized file among the refs,
 * an invalid name or an invalid id is rejected and named.
 */
export function readRefs(dir: UntrustedDir, prefixes: string[]): RefRead {
  const packed = dir.readFile('packed-refs', PACKED_REFS_LIMIT)
  const result: RefRead = packed ? parsePackedRefs(packed.toString('utf8'), prefixes) : {refs: new Map(), rejected: []}
  let budget = MAX_LOOSE_REFS
  const walk = (from: UntrustedDir, prefix: string, depth: number) => {
    for (const entry of from.list()) {
      if (entry.name.startsWith('.repoman-')) continue // a write of ours, in flight
      const ref = `${prefix}${entry.name}`
      if (budget-- <= 0 || depth > 12) {
        result.rejected.push(ref)
        continue
      }
      if (entry.isDirectory()) {
        const sub = from.dir(entry.name)
        if (!sub) {
          result.rejected.push(ref)
          continue
        }
        try {
          walk(sub, `${ref}/`, depth + 1)
        } finally {
          sub.close()
        }
        continue
      }
      // git's own lock files while it updates a ref: the ref's old value is still what counts.
      if (entry.name.endsWith('.lock')) continue
      const content = entry.isFile() ? readRef(from, entry.name) : undefined
      if (content !== undefined && isSafeRefName(ref)) result.refs.set(ref, content)
      else result.rejected.push(ref)
    }
  }
  for (const prefix of prefixes) {
    const path = prefix.replace(/\/$/, '')
    const sub = dir.dir(path)
    if (!sub) continue
    try {
      walk(sub, `${path}/`, path.split('/').length)
    } finally {
      sub.close()
    }
  }
  return result
}

function readRef(dir: UntrustedDir, name: string): string | undefined {
  let content: Buffer | undefined
  try {
    content = dir.readFile(name, REF_FILE_LIMIT)
  } catch {
    return undefined
  }
  const oid = content?.toString('utf8').trim()
  return oid !== undefined && isObjectId(oid) ? oid : undefined
}

/** The git dir's HEAD, read as data. */
export function readHead(dir: UntrustedDir): Head | undefined {
  let content: Buffer | undefined
  try {
    content = dir.readFile('HEAD', REF_FILE_LIMIT)
  } catch {
    return undefined
  }
  return content ? parseHead(content.toString('utf8')) : undefined
}
