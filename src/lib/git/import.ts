/**
 * Taking commits from a git dir the host must not trust, as data only: its object files are
 * copied into a quarantine that only the host can write, host git walks them from the given
 * tips and packs what the host lacks, and `index-pack --strict` checks every object and link
 * as it writes them into the host's own repository. Host git never runs with its git dir,
 * object dir or cwd in the untrusted dir; nothing there is followed, executed or read as
 * config. The agent's git dir (agent-git.ts) uses this; so can any other source of commits.
 */
import {spawn} from 'node:child_process'
import {mkdirSync, mkdtempSync, rmSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {GitError, gitEnv, hostGit} from './host-git.js'
import {isObjectId} from './refs.js'
import type {UntrustedDir} from './untrusted-dir.js'

/** What was copied from the source before, so it is not copied again. */
export interface ImportedObjects {
  loose: string[]
  packs: string[]
}

export interface ImportResult {
  /** Objects written into the host's repository. */
  objects: number
  record: ImportedObjects
}

/** No single object or pack repoman takes is larger. */
const OBJECT_LIMIT = 512 * 1024 * 1024
const LOOSE_DIR = /^[0-9a-f]{2}$/
const LOOSE_FILE = /^(?:[0-9a-f]{38}|[0-9a-f]{62})$/
const PACK_FILE = /^pack-(?:[0-9a-f]{40}|[0-9a-f]{64})\.pack$/

/** The tips the host's repository does not have yet. */
export async function missingTips(repoPath: string, tips: string[]): Promise<string[]> {
  const unique = [...new Set(tips.filter(isObjectId))]
  if (unique.length === 0) return []
  const {stdout} = await hostGit(repoPath, ['cat-file', '--batch-check=%(objectname)'], {
    input: `${unique.join('\n')}\n`,
  })
  return stdout
    .split('\n')
    .filter((line) => line.endsWith(' missing'))
    .map((line) => line.slice(0, -' missing'.length))
}

/**
 * Copies the objects the source's `objects` dir has and `known` does not list into a new
 * quarantine under `quarantineParent`: loose object files verbatim, packs as their `.pack`
 * alone (host git makes the index; the source's `.idx` is never read).
 */
function copyToQuarantine(objects: UntrustedDir, known: ImportedObjects, quarantine: string): ImportedObjects {
  const copied: ImportedObjects = {loose: [], packs: []}
  const knownLoose = new Set(known.loose)
  const knownPacks = new Set(known.packs)
  for (const entry of objects.list()) {
    if (!entry.isDirectory() || !LOOSE_DIR.test(entry.name)) continue
    const sub = objects.dir(entry.name)
    if (!sub) continue
    try {
      let made = false
      for (const file of sub.list()) {
        const id = `${entry.name}${file.name}`
        if (!file.isFile() || !LOOSE_FILE.test(file.name) || knownLoose.has(id)) continue
        const content = sub.readFile(file.name, OBJECT_LIMIT)
        if (!content) continue
        if (!made) mkdirSync(join(quarantine, entry.name), {recursive: true})
        made = true
        writeFileSync(join(quarantine, entry.name, file.name), content)
        copied.loose.push(id)
      }
    } finally {
      sub.close()
    }
  }
  const packs = objects.dir('pack')
  if (packs)
    try {
      for (const file of packs.list()) {
        if (!file.isFile() || !PACK_FILE.test(file.name) || knownPacks.has(file.name)) continue
        const content = packs.readFile(file.name, OBJECT_LIMIT)
        if (!content) continue
        writeFileSync(join(quarantine, 'pack', file.name), content)
        copied.packs.push(file.name)
      }
    } finally {
      packs.close()
    }
  return copied
}

/** `from`'s stdout into `to`'s stdin; resolves with `to`'s stdout when both succeeded. */
function pipeGits(repoPath: string, from: {args: string[]; input: string; env: Record<string, string>}, to: string[]) {
  return new Promise<string>((resolve, reject) => {
    const producer = spawn('git', from.args, {cwd: repoPath, env: gitEnv(repoPath, from.env), stdio: 'pipe'})
    const consumer = spawn('git', to, {cwd: repoPath, env: gitEnv(repoPath), stdio: 'pipe'})
    let stderr = ''
    let stdout = ''
    producer.stderr.on('data', (chunk: Buffer) => (stderr += chunk))
    consumer.stderr.on('data', (chunk: Buffer) => (stderr += chunk))
    consumer.stdout.on('data', (chunk: Buffer) => (stdout += chunk))
    producer.stdin.on('error', () => {})
    consumer.stdin.on('error', () => {})
    producer.stdout.pipe(consumer.stdin)
    producer.stdin.end(from.input)
    let pending = 2
    let failed = false
    const done = (what: string) => (code: number | null) => {
      if (code !== 0 && !failed) {
        failed = true
        reject(new GitError(`git ${what} failed: ${stderr.trim().split('\n').pop() || `exit ${code}`}`))
      }
      if (--pending === 0 && !failed) resolve(stdout)
    }
    producer.on('close', done(from.args.find((arg) => /^[a-z-]+$/.test(arg)) as string))
    consumer.on('close', done(to[0] as string))
    producer.on('error', reject)
    consumer.on('error', reject)
  })
}

/**
 * Brings into the host's repository at `repoPath` every object reachable from `tips` that it
 * lacks, from the untrusted git dir's `objects`. Throws a GitError when the objects are broken
 * or incomplete (nothing is written then); `known` grows by what was copied.
 */
export async function importObjects(
  repoPath: string,
  objects: UntrustedDir,
  tips: string[],
  known: ImportedObjects,
  quarantineParent: string,
): Promise<ImportResult> {
  const missing = await missingTips(repoPath, tips)
  if (missing.length === 0) return {objects: 0, record: known}
  mkdirSync(quarantineParent, {recursive: true, mode: 0o700})
  const quarantine = mkdtempSync(join(quarantineParent, 'import-'))
  try {
    mkdirSync(join(quarantine, 'pack'))
    const copied = copyToQuarantine(objects, known, quarantine)
    const quarantined = {
      GIT_OBJECT_DIRECTORY: quarantine,
      GIT_ALTERNATE_OBJECT_DIRECTORIES: join(repoPath, '.git', 'objects'),
    }
    // Host git indexes each copied pack itself, in the quarantine. The tips come through stdin,
    // which the command line's --not does not reach.
    for (const pack of copied.packs)
      await hostGit(repoPath, ['index-pack', join(quarantine, 'pack', pack)], {env: quarantined})
    const {stdout: list} = await hostGit(repoPath, ['rev-list', '--objects', '--not', '--all', '--stdin'], {
      input: `${missing.join('\n')}\n`,
      env: quarantined,
    })
    const count = list.split('\n').filter((line) => line !== '').length
    // No delta search and light compression: that search was most of an import's time, and the
    // host's next gc packs these objects properly anyway.
    await pipeGits(
      repoPath,
      {
        args: ['-c', 'pack.compression=1', 'pack-objects', '--stdout', '-q', '--window=0'],
        input: list,
        env: quarantined,
      },
      ['index-pack', '--strict', '--stdin'],
    )
    return {
      objects: count,
      record: {loose: [...known.loose, ...copied.loose], packs: [...known.packs, ...copied.packs]},
    }
  } finally {
    rmSync(quarantine, {recursive: true, force: true})
  }
}
