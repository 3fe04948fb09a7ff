/**
 * Conversations come back as data: the transcripts Claude Code writes in a container's agent
 * home (`projects/<slug of the repo's path>/<session id>.jsonl`) are copied into the host's
 * `~/.claude/projects/<same slug>/`, so `claude --resume` on the host continues a conversation
 * held inside (the repo has the same path on both sides, hence the same slug).
 *
 * Nothing else comes back: only files named as a session (a UUID and `.jsonl`), regular, read
 * without following a link (untrusted-dir.ts), bounded in size, every line of them JSON, and
 * only from the one directory of this repo (not another project's, where a planted transcript
 * would wait for you). Claude Code reads a transcript as the conversation's history, never as
 * settings, hooks, commands or MCP servers; those live elsewhere in its home and stay inside
 * (docs/safety.md). A transcript you continued on the host is never overwritten by an older one.
 */
import {existsSync, readFileSync} from 'node:fs'
import {chown, mkdir} from 'node:fs/promises'
import {join} from 'node:path'
import {UntrustedDir} from '../git/untrusted-dir.js'
import {compareAscii} from '../names.js'
import {agentHomeDir} from '../paths.js'
import type {HostRecord} from '../registry/schema.js'

/** A Claude Code session's transcript file name. */
export const TRANSCRIPT_NAME = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\.jsonl$/
export const MAX_TRANSCRIPT = 64 * 1024 * 1024

/** Pure: Claude Code's directory name for a working directory (every character but a letter or digit is `-`). */
export function claudeProjectSlug(path: string): string {
  return path.replace(/[^a-zA-Z0-9]/g, '-')
}

export type TranscriptAction = 'copy' | 'same' | 'kept-yours' | 'refused'

/**
 * Pure: what to do with one transcript from inside, given the host's copy (if any). A copy
 * that only adds to the host's replaces it; one that differs otherwise leaves yours alone.
 */
export function decideTranscript(inside: Buffer, host: Buffer | undefined): TranscriptAction {
  if (!isJsonLines(inside)) return 'refused'
  if (host === undefined) return 'copy'
  if (host.equals(inside)) return 'same'
  return inside.subarray(0, host.length).equals(host) ? 'copy' : 'kept-yours'
}

function isJsonLines(data: Buffer): boolean {
  try {
    for (const line of data.toString('utf8').split('\n')) if (line.trim() !== '') JSON.parse(line)
    return true
  } catch {
    return false
  }
}

export interface ConversationsTaken {
  /** Session ids new to the host. */
  added: string[]
  /** Session ids continued inside since they were copied (the host's copy caught up). */
  updated: string[]
  /** Entries that are not a transcript (named, never copied). */
  refused: string[]
  /** Sessions you continued on the host since: yours stays. */
  kept: string[]
}

/** Copies the project's Claude Code transcripts of this repo to the host's `~/.claude/projects/`. */
export async function takeConversations(
  stateDir: string,
  project: string,
  repoPath: string,
  host: Pick<HostRecord, 'home' | 'uid' | 'gid'>,
): Promise<ConversationsTaken> {
  const taken: ConversationsTaken = {added: [], updated: [], refused: [], kept: []}
  const slug = claudeProjectSlug(repoPath)
  const home = UntrustedDir.openIfDir(agentHomeDir(stateDir, project, 'claude'))
  const dir = home?.dir('projects')?.dir(slug)
  home?.close()
  if (!dir) return taken
  try {
    const target = join(host.home, '.claude', 'projects', slug)
    const {default: writeFileAtomic} = await import('write-file-atomic')
    const owner = process.getuid?.() === 0 ? {chown: {uid: host.uid, gid: host.gid}} : {}
    for (const entry of dir.list().sort((a, b) => compareAscii(a.name, b.name))) {
      // Claude Code's own subdirectories (per-session state) are not transcripts: left, unnamed.
      if (entry.isDirectory()) continue
      const inside =
        entry.isFile() && TRANSCRIPT_NAME.test(entry.name) ? dir.readFile(entry.name, MAX_TRANSCRIPT) : undefined
      const file = join(target, entry.name)
      const hostCopy = inside && existsSync(file) ? readFileSync(file) : undefined
      const action = inside ? decideTranscript(inside, hostCopy) : 'refused'
      const session = entry.name.slice(0, -'.jsonl'.length)
      if (action === 'refused') taken.refused.push(entry.name)
      if (action === 'kept-yours') taken.kept.push(session)
      if (action !== 'copy' || !inside) continue
      await makeHostDirs(host, ['.claude', 'projects', slug])
      await writeFileAtomic(file, inside, {mode: 0o600, ...owner})
      ;(hostCopy ? taken.updated : taken.added).push(session)
    }
  } finally {
    dir.close()
  }
  return taken
}

/** Each missing directory on the way, made 0700 and (when repoman runs as root) the user's. */
async function makeHostDirs(host: Pick<HostRecord, 'home' | 'uid' | 'gid'>, parts: string[]): Promise<void> {
  let path = host.home
  for (const part of parts) {
    path = join(path, part)
    if (existsSync(path)) continue
    await mkdir(path, {mode: 0o700})
    if (process.getuid?.() === 0) await chown(path, host.uid, host.gid)
  }
}

/** What a session's end says about them: nothing when nothing new happened. */
export function renderConversations(name: string, taken: ConversationsTaken): string[] {
  const lines: string[] = []
  if (taken.added.length > 0)
    lines.push(
      `repoman: ${taken.added.length} new Claude Code conversation(s) of "${name}" on the host too: \`claude --resume\` in the repo`,
    )
  if (taken.kept.length > 0)
    lines.push(`repoman: kept your own continuation of conversation(s) ${taken.kept.join(', ')} over "${name}"'s`)
  if (taken.refused.length > 0)
    lines.push(
      `repoman: not copied from "${name}"'s conversations (not a transcript): ${taken.refused.slice(0, 5).join(', ')}`,
    )
  return lines
}

/** After a session (and before `remove` deletes the homes): take them, and say what happened; never fails the caller. */
export async function takeConversationsAndReport(
  stateDir: string,
  project: string,
  repoPath: string,
  host: Pick<HostRecord, 'home' | 'uid' | 'gid'>,
): Promise<void> {
  try {
    const lines = renderConversations(project, await takeConversations(stateDir, project, repoPath, host))
    if (lines.length > 0) process.stderr.write(`${lines.join('\n')}\n`)
  } catch (error) {
    process.stderr.write(
      `repoman: could not copy "${project}"'s Claude Code conversations to the host: ${(error as Error).message.split('\n')[0]}\n`,
    )
  }
}
