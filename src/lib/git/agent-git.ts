/**
 * The agent's git dir: the container never writes the host's `.git`. Each project has a git
 * dir of its own on the host, `<state>/agent-git/<name>`, mounted inside at `<repo>/.git` over
 * the host's (a mount point cannot be renamed, removed or replaced from inside, and
 * containment refuses unmounting it); it borrows the host's objects read-only through
 * `objects/info/alternates`. Host git never runs in it. What crosses between the two is data:
 *
 * - host to agent (at `new` and when a session starts): HEAD, branch tips, the index, written
 *   by repoman into the agent's dir without following anything there (UntrustedDir);
 * - agent to host (when a session ends, on `status`, `list` and `sync`, and while a session
 *   runs whenever the agent's refs change): its objects through import.ts, its branches as
 *   validated ref values into `refs/remotes/repoman/<name>/<branch>`, and, when it is safe, the
 *   host's checked-out branch fast-forwarded (or switched) to the agent's, the index with it.
 */
import {existsSync, lstatSync, mkdirSync, readFileSync, rmSync} from 'node:fs'
import {join} from 'node:path'
import {oneLine} from '../errors.js'
import type {DeviceMap} from '../incus/types.js'
import {agentGitDir} from '../paths.js'
import {deleteTree} from '../trees.js'
import {commitOf, GitError, hostGit} from './host-git.js'
import {type ImportedObjects, importObjects} from './import.js'
import {type Head, headText, isObjectId, isSafeRefName, packedRefsText, readHead, readRefs} from './refs.js'
import {UntrustedDir} from './untrusted-dir.js'

/** Where the host's object store is mounted read-only inside (the agent's alternates name it). */
export const HOST_OBJECTS_INSIDE = '/var/lib/repoman/host-objects'
/** Instance devices: the agent's git dir at `<repo>/.git`, the host's objects read-only. */
export const GIT_DEVICE = 'git'
export const GIT_OBJECTS_DEVICE = 'git-objects'

const recordFile = (stateDir: string, name: string) => join(stateDir, 'agent-git', `${name}.json`)
const objectsFile = (stateDir: string, name: string) => join(stateDir, 'agent-git', `${name}.objects.json`)
const quarantineParent = (stateDir: string) => join(stateDir, 'agent-git', '.import')

/** What the repo's `.git` is on the host. */
export type HostGitKind = 'dir' | 'file' | 'none'

/** `none` also for a `.git` directory with no HEAD: the empty mount point repoman made in a repo without git. */
export function hostGitKind(repoPath: string): HostGitKind {
  const stat = lstatSync(join(repoPath, '.git'), {throwIfNoEntry: false})
  if (!stat) return 'none'
  if (!stat.isDirectory()) return 'file'
  return existsSync(join(repoPath, '.git', 'HEAD')) ? 'dir' : 'none'
}

/**
 * The devices that give the container its own git dir. Without a host repo the git dir is
 * mounted all the same (over an empty `.git` repoman makes), so a `git init` inside never
 * makes a `.git` that host git would read.
 */
export function agentGitDevices(
  repoPath: string,
  agentDir: string,
  hostGit: HostGitKind,
  shift: Record<string, string>,
): DeviceMap {
  const devices: DeviceMap = {[GIT_DEVICE]: {type: 'disk', source: agentDir, path: join(repoPath, '.git'), ...shift}}
  if (hostGit === 'dir')
    devices[GIT_OBJECTS_DEVICE] = {
      type: 'disk',
      source: join(repoPath, '.git', 'objects'),
      path: HOST_OBJECTS_INSIDE,
      readonly: 'true',
      ...shift,
    }
  return devices
}

/** Refs and HEAD as repoman last gave them or took them. */
interface GitState {
  head: Head | null
  /** refs/heads/* → object id. */
  branches: Record<string, string>
}

/** What repoman records between sessions (host-only state dir). */
interface AgentGitRecord {
  version: 1
  /** The host's HEAD and branches, as last seen. */
  host: GitState
  /** The agent's HEAD and branches, as last taken (or given). */
  agent: GitState
  /** Clone mode: the checkout is the container's own, so the host's never follows the agent's, nor the agent's the host's. */
  clone?: true
}

/** The refs that cross both ways: branches, and tags (the host's reach the agent; the agent's own come back). */
const BRANCHES = ['refs/heads/', 'refs/tags/']

function stateOf(dir: UntrustedDir): GitState & {rejected: string[]} {
  const {refs, rejected} = readRefs(dir, BRANCHES)
  return {head: readHead(dir) ?? null, branches: Object.fromEntries(refs), rejected}
}

const sameHead = (a: Head | null, b: Head | null) => a?.branch === b?.branch && a?.detached === b?.detached
function sameState(a: GitState, b: GitState): boolean {
  const keys = Object.keys(a.branches)
  return (
    sameHead(a.head, b.head) &&
    keys.length === Object.keys(b.branches).length &&
    keys.every((k) => a.branches[k] === b.branches[k])
  )
}

function readRecord(stateDir: string, name: string): AgentGitRecord | undefined {
  try {
    const record = JSON.parse(readFileSync(recordFile(stateDir, name), 'utf8')) as AgentGitRecord
    return record.version === 1 ? record : undefined
  } catch {
    return undefined
  }
}

async function writeJson(file: string, value: unknown): Promise<void> {
  const {default: writeFileAtomic} = await import('write-file-atomic')
  await writeFileAtomic(file, `${JSON.stringify(value)}\n`, {mode: 0o600})
}

function readObjectsRecord(stateDir: string, name: string): ImportedObjects {
  try {
    return JSON.parse(readFileSync(objectsFile(stateDir, name), 'utf8')) as ImportedObjects
  } catch {
    return {loose: [], packs: []}
  }
}

/** One import or refresh of a project at a time (sessions, status and sync may overlap). */
async function withLock<T>(stateDir: string, name: string, work: () => Promise<T>): Promise<T> {
  const {lock} = await import('proper-lockfile')
  const file = recordFile(stateDir, name)
  const release = await lock(file, {
    realpath: false,
    lockfilePath: `${file}.lock`,
    stale: 30_000,
    retries: {retries: 100, factor: 1.3, minTimeout: 10, maxTimeout: 500},
  })
  try {
    return await work()
  } finally {
    await release()
  }
}

/** The host repo's git dir, read like any other: it is trusted, but the same reader serves. */
function hostState(repoPath: string): GitState {
  const dir = UntrustedDir.open(join(repoPath, '.git'))
  try {
    return stateOf(dir)
  } finally {
    dir.close()
  }
}

/** `git config` quoting for a value or a subsection name. */
const quote = (text: string) => `"${text.replaceAll('\\', '\\\\').replaceAll('"', '\\"')}"`
/** A remote URL without a password in it: the container does not need the host's. */
const withoutPassword = (url: string) => url.replace(/^([a-z+]+:\/\/[^/@:]*):[^/@]*@/i, '$1@')

/**
 * The agent's config: a plain non-bare repository of the host's object format, with the host's
 * remotes and branch upstreams (so `git log origin/main` and `git push` work as they did), and
 * nothing else of the host's config.
 */
async function agentConfig(repoPath: string): Promise<string> {
  const {stdout} = await hostGit(
    repoPath,
    [
      'config',
      '--local',
      '--get-regexp',
      '^(core\\.repositoryformatversion|extensions\\.objectformat|remote\\..*\\.(url|fetch|pushurl)|branch\\..*\\.(remote|merge))$',
    ],
    {allow: [1]},
  )
  const core = [
    '[core]',
    '\trepositoryformatversion = 0',
    '\tfilemode = true',
    '\tbare = false',
    '\tlogallrefupdates = true',
  ]
  const sections = new Map<string, string[]>()
  for (const line of stdout.split('\n')) {
    const space = line.indexOf(' ')
    if (space < 0) continue
    const key = line.slice(0, space)
    const value = line.slice(space + 1)
    if (value.includes('\n')) continue
    if (key === 'core.repositoryformatversion') core[1] = `\trepositoryformatversion = ${Number(value) || 0}`
    else if (key === 'extensions.objectformat' && /^(sha1|sha256)$/.test(value))
      sections.set('[extensions]', [`\tobjectformat = ${value}`])
    else {
      const first = key.indexOf('.')
      const last = key.lastIndexOf('.')
      const section = `[${key.slice(0, first)} ${quote(key.slice(first + 1, last))}]`
      const variable = key.slice(last + 1)
      const shown = variable === 'url' || variable === 'pushurl' ? withoutPassword(value) : value
      sections.set(section, [...(sections.get(section) ?? []), `\t${variable} = ${quote(shown)}`])
    }
  }
  return `${[...core, ...[...sections].flatMap(([section, lines]) => [section, ...lines])].join('\n')}\n`
}

const MAX_COPIED_FILE = 256 * 1024 * 1024

/**
 * Makes the project's git dir from the host's repository (before the container exists, so
 * nothing in it is the agent's yet): HEAD, every branch, tag and remote-tracking ref (not
 * repoman's own), the index, info/exclude and shallow, the alternates that borrow the host's
 * objects, and repoman's record. Returns the dir; `remove` takes it away again.
 */
export async function prepareAgentGit(repoPath: string, stateDir: string, name: string): Promise<string> {
  makeAgentGitDir(repoPath, stateDir, name)
  await fillAgentGitDir(repoPath, stateDir, name)
  return agentGitDir(stateDir, name)
}

/**
 * The part of `prepareAgentGit` Incus needs before it creates the container (it checks that a
 * disk's source is there): the project's git dir, empty, and for a repo without git the empty
 * `.git` it is mounted over (git takes an empty `.git` for no repository).
 */
export function makeAgentGitDir(repoPath: string, stateDir: string, name: string): void {
  const agentDir = agentGitDir(stateDir, name)
  mkdirSync(join(stateDir, 'agent-git'), {recursive: true, mode: 0o700})
  rmSync(agentDir, {recursive: true, force: true})
  rmSync(recordFile(stateDir, name), {force: true})
  rmSync(objectsFile(stateDir, name), {force: true})
  mkdirSync(agentDir, {mode: 0o755})
  if (hostGitKind(repoPath) === 'none') mkdirSync(join(repoPath, '.git'), {recursive: true})
}

/** The rest: the git dir filled from the host's repository (nothing for a repo without git). */
export async function fillAgentGitDir(repoPath: string, stateDir: string, name: string): Promise<void> {
  if (hostGitKind(repoPath) === 'none') return
  const agentDir = agentGitDir(stateDir, name)
  const dir = UntrustedDir.open(agentDir)
  try {
    const host = UntrustedDir.open(join(repoPath, '.git'))
    try {
      for (const rel of ['refs/heads', 'refs/tags', 'objects/info', 'objects/pack', 'info']) dir.makeDir(rel).close()
      const [{stdout}, config] = await Promise.all([
        hostGit(repoPath, ['for-each-ref', '--format=%(objectname) %(refname)']),
        agentConfig(repoPath),
      ])
      const refs = new Map<string, string>()
      for (const line of stdout.split('\n')) {
        const [oid, ref] = line.split(' ')
        if (oid && ref && isObjectId(oid) && isSafeRefName(ref) && !ref.startsWith('refs/remotes/repoman/'))
          refs.set(ref, oid)
      }
      dir.writeFile('packed-refs', packedRefsText(refs))
      const head = readHead(host)
      dir.writeFile('HEAD', head ? headText(head) : 'ref: refs/heads/main\n')
      dir.writeFile('config', config)
      const objectsInfo = dir.dir('objects/info') as UntrustedDir
      objectsInfo.writeFile('alternates', `${HOST_OBJECTS_INSIDE}\n`)
      objectsInfo.close()
      for (const file of ['index', 'shallow']) {
        const content = host.readFile(file, MAX_COPIED_FILE)
        if (content) dir.writeFile(file, content)
      }
      const hostInfo = host.dir('info')
      const exclude = hostInfo?.readFile('exclude', MAX_COPIED_FILE)
      hostInfo?.close()
      if (exclude) {
        const info = dir.dir('info') as UntrustedDir
        info.writeFile('exclude', exclude)
        info.close()
      }
      const state = stateOf(host)
      const seeded: GitState = {head: state.head, branches: state.branches}
      await writeJson(recordFile(stateDir, name), {version: 1, host: seeded, agent: seeded} satisfies AgentGitRecord)
    } finally {
      host.close()
    }
  } finally {
    dir.close()
  }
}

/**
 * Clone mode, after `fillAgentGitDir`: the agent's git dir on `branch` at the host's HEAD
 * commit, and the files of that commit checked out into `tree` (empty, made by repoman).
 * Host git runs on the host's repository only: its own config, a temporary index, the tree as
 * its work tree; the index is then copied into the agent's dir as data. Returns the commit.
 */
export async function checkoutClone(
  repoPath: string,
  stateDir: string,
  name: string,
  branch: string,
  tree: string,
): Promise<CloneStart> {
  const base = await commitOf(repoPath, 'HEAD')
  if (!base)
    throw new GitError(
      `${repoPath} has no commit yet, which a checkout of its own is made from; commit first, then \`repoman new\` again`,
    )
  const from = hostState(repoPath).head?.branch
  const index = await indexOf(repoPath, stateDir, name, base, tree)
  const dir = UntrustedDir.open(agentGitDir(stateDir, name))
  try {
    writeRef(dir, `refs/heads/${branch}`, base)
    dir.writeFile('HEAD', headText({branch: `refs/heads/${branch}`}))
    dir.writeFile('index', index)
  } finally {
    dir.close()
  }
  const record = readRecord(stateDir, name) as AgentGitRecord
  const head: Head = {branch: `refs/heads/${branch}`}
  await writeJson(recordFile(stateDir, name), {
    ...record,
    agent: {head, branches: {...record.agent.branches, [`refs/heads/${branch}`]: base}},
    clone: true,
  } satisfies AgentGitRecord)
  return {base, ...(from ? {from: from.slice('refs/heads/'.length)} : {})}
}

/**
 * An index of `commit`'s tree, made by host git on the host's repository in a file of its own
 * (and, given `checkout`, its files written into that empty directory): data for the agent's dir.
 */
async function indexOf(
  repoPath: string,
  stateDir: string,
  name: string,
  commit: string,
  checkout?: string,
): Promise<Buffer> {
  const index = join(stateDir, 'agent-git', `${name}.made-index`)
  try {
    const env = {GIT_INDEX_FILE: index, ...(checkout ? {GIT_WORK_TREE: checkout} : {})}
    await hostGit(repoPath, ['read-tree', commit], {env})
    if (checkout) await hostGit(repoPath, ['checkout-index', '-a', '-u'], {env})
    return readFileSync(index)
  } finally {
    rmSync(index, {force: true})
  }
}

/** Where a clone started: the host commit, and the host branch it was on (none on a detached HEAD). */
export interface CloneStart {
  base: string
  from?: string
}

/**
 * Why git inside would not take the project's git dir for a repository (the agent deleted or
 * broke it), or undefined: HEAD unreadable, no objects or refs directory, the alternates that
 * borrow your objects gone. Read without following links.
 */
export function agentGitWreck(stateDir: string, name: string, repoPath: string): string | undefined {
  const dir = UntrustedDir.openIfDir(agentGitDir(stateDir, name))
  if (!dir) return 'it is gone'
  try {
    return wreckOf(dir, repoPath)
  } finally {
    dir.close()
  }
}

function wreckOf(dir: UntrustedDir, repoPath: string): string | undefined {
  if (hostGitKind(repoPath) !== 'dir') return undefined
  if (!readHead(dir)) return 'its HEAD is missing or unreadable'
  for (const sub of ['objects', 'refs']) {
    const found = dir.dir(sub)
    if (!found) return `its ${sub} directory is gone`
    found.close()
  }
  const info = dir.dir('objects/info')
  const alternates = info?.readFile('alternates', 4096)?.toString('utf8')
  info?.close()
  if (!alternates?.split('\n').includes(HOST_OBJECTS_INSIDE))
    return 'it no longer borrows your objects (objects/info/alternates)'
  return undefined
}

/**
 * `status --fix` for a wrecked git dir: what can still be taken is taken, then the dir is made
 * anew from your repository, as at `new`, and given back the agent's branches and tags as your
 * repo holds them (refs/remotes/repoman/<name>/...), its HEAD on the branch it was on (a
 * clone's on its own branch), and an index made from that commit: git inside then shows the
 * working tree's differences as changes not staged, nothing lost.
 */
export async function rebuildAgentGit(
  repoPath: string,
  stateDir: string,
  name: string,
  options: {
    clone?: {branch: string}
    /** Empties the dir in place (it stays mounted): inside the container when it runs, where nothing can race the host. */
    empty: () => Promise<void>
  },
): Promise<void> {
  // What is still there is taken first (a wrecked dir's branches are added, none deleted).
  await importAgentGit(repoPath, stateDir, name).catch(() => undefined)
  await withLock(stateDir, name, () => rebuildLocked(repoPath, stateDir, name, options))
}

async function rebuildLocked(
  repoPath: string,
  stateDir: string,
  name: string,
  options: {clone?: {branch: string}; empty: () => Promise<void>},
): Promise<void> {
  const {clone} = options
  const last = readRecord(stateDir, name)
  const namespace = `refs/remotes/repoman/${name}/`
  const {stdout} = await hostGit(repoPath, ['for-each-ref', '--format=%(objectname) %(refname)', namespace])
  await options.empty()
  rmSync(recordFile(stateDir, name), {force: true})
  rmSync(objectsFile(stateDir, name), {force: true})
  await fillAgentGitDir(repoPath, stateDir, name)
  const dir = UntrustedDir.open(agentGitDir(stateDir, name))
  try {
    for (const line of stdout.split('\n').filter(Boolean)) {
      const [oid, ref] = line.split(' ') as [string, string]
      const rest = ref.slice(namespace.length)
      const target = rest.startsWith('tags/') ? `refs/${rest}` : `refs/heads/${rest}`
      if (isObjectId(oid) && isSafeRefName(target)) writeRef(dir, target, oid)
    }
    const wanted = clone ? `refs/heads/${clone.branch}` : last?.agent.head?.branch
    const state = stateOf(dir)
    const head = wanted && state.branches[wanted] ? {branch: wanted} : state.head
    if (head) dir.writeFile('HEAD', headText(head))
    const host = hostState(repoPath)
    // Your index fits only your HEAD: any other gets one made from its commit.
    if (!sameHead(head, host.head) || clone) {
      const commit = head?.detached ?? state.branches[head?.branch ?? ''] ?? 'HEAD'
      dir.writeFile('index', await indexOf(repoPath, stateDir, name, commit))
    }
    await writeJson(recordFile(stateDir, name), {
      version: 1,
      host,
      agent: {head: head ?? null, branches: stateOf(dir).branches},
      ...(clone || last?.clone ? {clone: true} : {}),
    } satisfies AgentGitRecord)
  } finally {
    dir.close()
  }
}

/** Deletes a project's git dir and record (at `remove`, or when `new` is undone); returns what could not go. */
export async function removeAgentGit(stateDir: string, name: string): Promise<string[]> {
  const left = await deleteTree(agentGitDir(stateDir, name))
  for (const file of [recordFile(stateDir, name), objectsFile(stateDir, name)]) rmSync(file, {force: true})
  return left
}

/** True when the project has a git dir of its own (made by this repoman). */
export function hasAgentGit(stateDir: string, name: string): boolean {
  return existsSync(recordFile(stateDir, name))
}

/** Whether `ancestor` is an ancestor of (or equal to) `commit` in the host's repository. */
async function isAncestor(repoPath: string, ancestor: string, commit: string): Promise<boolean> {
  if (ancestor === commit) return true
  const {exitCode} = await hostGit(repoPath, ['merge-base', '--is-ancestor', ancestor, commit], {allow: [1, 128]})
  return exitCode === 0
}

/** What to do with the host's checkout after the agent's branches came in. */
export type Follow =
  | {kind: 'none'}
  /** The host's branch moves to the agent's tip (and the host checks it out, when `switchTo`). */
  | {kind: 'fast-forward'; branch: string; from?: string; to: string; switchTo: boolean}
  /** The agent's commits are there, but taking them is the user's call. */
  | {kind: 'by-hand'; branch: string; to: string; why: string}

export interface FollowFacts {
  hostHead: Head | null
  /** The agent's HEAD as it was last synced: the host follows only from where both agreed. */
  lastAgentHead: Head | null
  agentHead: Head | null
  /** The agent's tip of its checked-out branch, and the host's tip of the same branch. */
  agentTip?: string
  hostTip?: string
  /** The host's tip is an ancestor of the agent's. */
  fastForward: boolean
  /** The host's index holds nothing of its own (it is the tree of the host's HEAD). */
  indexClean: boolean
}

/** Whether the host's checkout follows the agent's, as a pure decision. */
export function decideFollow(facts: FollowFacts): Follow {
  const branch = facts.agentHead?.branch
  if (!branch || !facts.agentTip) return {kind: 'none'}
  const short = branch.slice('refs/heads/'.length)
  if (!facts.hostHead?.branch)
    return {kind: 'by-hand', branch: short, to: facts.agentTip, why: 'your checkout is not on a branch'}
  const onSameBranch = facts.hostHead.branch === branch
  if (onSameBranch && facts.hostTip === facts.agentTip) return {kind: 'none'}
  const switching = !onSameBranch
  if (switching && !sameHead(facts.hostHead, facts.lastAgentHead))
    return {kind: 'by-hand', branch: short, to: facts.agentTip, why: 'your checkout moved meanwhile'}
  if (!facts.fastForward)
    return {kind: 'by-hand', branch: short, to: facts.agentTip, why: `your ${short} has commits the agent's lacks`}
  if (!facts.indexClean)
    return {kind: 'by-hand', branch: short, to: facts.agentTip, why: 'your index has staged changes'}
  return {kind: 'fast-forward', branch, from: facts.hostTip, to: facts.agentTip, switchTo: switching}
}

export interface ImportReport {
  /** Objects brought into the host's repository. */
  objects: number
  /** Branches updated under refs/remotes/repoman/<name>/. */
  branches: string[]
  follow: Follow
  /** Refs in the agent's git dir that were not taken (invalid names or ids, links). */
  rejected: string[]
  /** What the agent's new commits add that host tools would follow: gitlinks, .gitmodules changes. */
  flagged: string[]
}

const NOTHING: ImportReport = {objects: 0, branches: [], follow: {kind: 'none'}, rejected: [], flagged: []}

/** Paths of the agent's new commits (`from`..`to`) that are gitlinks or `.gitmodules`. */
async function flaggedPaths(repoPath: string, from: string | undefined, to: string): Promise<string[]> {
  const args = from ? ['diff-tree', '-r', '--no-renames', '--raw', from, to] : ['ls-tree', '-r', to]
  const {stdout} = await hostGit(repoPath, args, {allow: [128]})
  const flagged: string[] = []
  for (const line of stdout.split('\n')) {
    const path = line.slice(line.indexOf('\t') + 1)
    if (line.includes('160000')) flagged.push(`${path} (a gitlink: a nested repository)`)
    else if (path === '.gitmodules' || path.endsWith('/.gitmodules')) flagged.push(`${path} (submodule settings)`)
  }
  return flagged
}

/**
 * Takes what the agent committed: objects, branches, and the host's checkout where that is
 * safe. Cheap when nothing changed since the last time (a few small reads).
 */
export async function importAgentGit(repoPath: string, stateDir: string, name: string): Promise<ImportReport> {
  const before = readRecord(stateDir, name)
  if (!before) return NOTHING
  const dir = UntrustedDir.openIfDir(agentGitDir(stateDir, name))
  if (!dir) return NOTHING
  try {
    if (sameState(stateOf(dir), before.agent)) return NOTHING
    return await withLock(stateDir, name, () => importLocked(repoPath, stateDir, name, dir))
  } finally {
    dir.close()
  }
}

async function importLocked(repoPath: string, stateDir: string, name: string, dir: UntrustedDir) {
  const record = readRecord(stateDir, name) as AgentGitRecord
  // From a git dir git itself would not take for one (the agent broke it), what is still there
  // is taken, but no branch already taken is deleted: they are what `status --fix` rebuilds it with.
  const wrecked = wreckOf(dir, repoPath) !== undefined
  const agent = stateOf(dir)
  if (sameState(agent, record.agent)) return NOTHING
  const tips = Object.values(agent.branches)
  if (agent.head?.detached) tips.push(agent.head.detached)
  const objects = dir.dir('objects')
  let imported = 0
  if (objects)
    try {
      const result = await importObjects(
        repoPath,
        objects,
        tips,
        readObjectsRecord(stateDir, name),
        quarantineParent(stateDir),
      )
      imported = result.objects
      if (result.objects > 0) await writeJson(objectsFile(stateDir, name), result.record)
    } finally {
      objects.close()
    }

  // Branches, as refs of their own: refs/remotes/repoman/<name>/<branch>.
  const namespace = `refs/remotes/repoman/${name}/`
  const {stdout: current} = await hostGit(repoPath, ['for-each-ref', '--format=%(objectname) %(refname)', namespace])
  const existing = new Map(
    current
      .split('\n')
      .filter(Boolean)
      .map((line) => line.split(' ') as [string, string])
      .map(([oid, ref]) => [ref, oid]),
  )
  const commands: string[] = []
  const changed: string[] = []
  const hostRefs = hostState(repoPath).branches
  for (const [ref, oid] of Object.entries(agent.branches)) {
    // A tag the host has as it is (seeded from it) is the host's, not the agent's work.
    if (ref.startsWith('refs/tags/') && hostRefs[ref] === oid) continue
    const target = `${namespace}${ref.startsWith('refs/tags/') ? ref.slice('refs/'.length) : ref.slice('refs/heads/'.length)}`
    if (!isSafeRefName(target)) continue
    if (existing.get(target) !== oid) {
      commands.push(`update ${target} ${oid}`)
      changed.push(ref.startsWith('refs/tags/') ? ref.slice('refs/'.length) : ref.slice('refs/heads/'.length))
    }
    existing.delete(target)
  }
  if (!wrecked) for (const ref of existing.keys()) commands.push(`delete ${ref}`)
  if (commands.length > 0) await hostGit(repoPath, ['update-ref', '--stdin'], {input: `${commands.join('\n')}\n`})

  const host = hostState(repoPath)
  const branch = agent.head?.branch
  const agentTip = branch ? agent.branches[branch] : undefined
  const hostTip = branch ? host.branches[branch] : undefined
  let fastForward = false
  let indexClean = false
  if (agentTip) {
    fastForward = hostTip === undefined || (await isAncestor(repoPath, hostTip, agentTip))
    indexClean = await hostIndexClean(repoPath, host)
  }
  const follow: Follow =
    record.clone || wrecked
      ? {kind: 'none'}
      : decideFollow({
          hostHead: host.head,
          lastAgentHead: record.agent.head,
          agentHead: agent.head,
          agentTip,
          hostTip,
          fastForward,
          indexClean,
        })
  if (follow.kind === 'fast-forward') await fastForwardHost(repoPath, follow)
  const flagged =
    agentTip && (changed.length > 0 || follow.kind !== 'none') ? await flaggedPaths(repoPath, hostTip, agentTip) : []
  const after: GitState = {head: agent.head, branches: agent.branches}
  await writeJson(recordFile(stateDir, name), {
    version: 1,
    host: hostState(repoPath),
    agent: after,
    ...(record.clone ? {clone: true} : {}),
  } satisfies AgentGitRecord)
  return {objects: imported, branches: changed, follow, rejected: agent.rejected, flagged}
}

/** The host's index is its HEAD's tree (empty, on a branch with no commit yet). */
async function hostIndexClean(repoPath: string, host: GitState): Promise<boolean> {
  const branch = host.head?.branch
  if (!branch) return false
  if (!host.branches[branch]) return (await hostGit(repoPath, ['ls-files', '--cached'])).stdout === ''
  return (await hostGit(repoPath, ['diff-index', '--cached', '--quiet', 'HEAD', '--'], {allow: [1]})).exitCode === 0
}

/** Moves the host's branch (and checkout) to the agent's tip; the working tree is left as it is, the index follows. */
async function fastForwardHost(repoPath: string, follow: Extract<Follow, {kind: 'fast-forward'}>): Promise<void> {
  const old = follow.from ?? '0'.repeat(follow.to.length)
  await hostGit(repoPath, ['update-ref', '-m', "repoman: the agent's commits", follow.branch, follow.to, old])
  if (follow.switchTo)
    await hostGit(repoPath, ['symbolic-ref', '-m', 'repoman: the agent switched', 'HEAD', follow.branch])
  await hostGit(repoPath, ['read-tree', follow.to])
  await hostGit(repoPath, ['update-index', '-q', '--refresh'], {allow: [1]})
}

/** One line per thing the user should know after an import; nothing when nothing came. */
export function renderImport(name: string, report: ImportReport): string[] {
  const lines: string[] = []
  const {follow} = report
  if (follow.kind === 'fast-forward') {
    const short = follow.branch.slice('refs/heads/'.length)
    lines.push(
      follow.switchTo
        ? `repoman: the agent switched to ${short}; your checkout follows it (${follow.to.slice(0, 7)})`
        : `repoman: your ${short} now has the agent's commits (${follow.from?.slice(0, 7) ?? 'new'}..${follow.to.slice(0, 7)})`,
    )
  } else if (follow.kind === 'by-hand')
    lines.push(
      `repoman: the agent committed on ${follow.branch} (${follow.to.slice(0, 7)}), not taken into your checkout (${follow.why}); take it with \`git merge repoman/${name}/${follow.branch}\``,
    )
  for (const path of report.flagged)
    lines.push(`repoman: warning: the agent's commits add ${path}; read them before you take them`)
  if (report.rejected.length > 0)
    lines.push(
      `repoman: not taken from the agent's git dir (invalid or links): ${report.rejected.slice(0, 5).join(', ')}`,
    )
  return lines
}

/** Imports and reports on stderr; never fails the caller (its exit code is the command's). */
export async function importAndReport(repoPath: string, stateDir: string, name: string): Promise<void> {
  try {
    const lines = renderImport(name, await importAgentGit(repoPath, stateDir, name))
    if (lines.length > 0) process.stderr.write(`${lines.join('\n')}\n`)
  } catch (error) {
    const why = error instanceof GitError ? error.message : oneLine(error)
    process.stderr.write(`repoman: could not take the agent's commits of "${name}": ${why}\n`)
  }
}

/**
 * Before a session: what the host did since the last sync reaches the agent's git dir. A
 * branch the host moved is moved in the agent's dir too when the agent's copy is behind (never
 * over the agent's own commits); when the host's HEAD moved and the agent's had not, the
 * agent's HEAD and index follow. Cheap when the host did nothing.
 */
export async function refreshAgentGit(repoPath: string, stateDir: string, name: string): Promise<void> {
  const record = readRecord(stateDir, name)
  if (!record || hostGitKind(repoPath) !== 'dir') return
  const host = hostState(repoPath)
  if (sameState(host, record.host)) return
  const clone = record.clone === true
  await withLock(stateDir, name, async () => {
    const dir = UntrustedDir.open(agentGitDir(stateDir, name))
    try {
      const agent = stateOf(dir)
      const {host: last} = readRecord(stateDir, name) as AgentGitRecord
      const moved = new Set<string>()
      for (const [ref, oid] of Object.entries(host.branches)) {
        const mine = agent.branches[ref]
        if (oid === last.branches[ref] || oid === mine) continue
        // A clone's checkout is its own: the branch it has checked out moves only by git inside (update).
        if (clone && ref === agent.head?.branch) continue
        if (mine === undefined || mine === last.branches[ref] || (await isAncestor(repoPath, mine, oid))) {
          writeRef(dir, ref, oid)
          moved.add(ref)
        }
      }
      const headMoved =
        !clone && !sameHead(host.head, last.head) && sameHead(agent.head, last.head) && host.head !== null
      if (headMoved && host.head) dir.writeFile('HEAD', headText(host.head))
      const checkedOut = (headMoved ? host.head : agent.head)?.branch
      if (!clone && (headMoved || (checkedOut && moved.has(checkedOut)))) {
        const hostDir = UntrustedDir.open(join(repoPath, '.git'))
        const index = hostDir.readFile('index', MAX_COPIED_FILE)
        hostDir.close()
        if (index) dir.writeFile('index', index)
      }
      // What the agent had is still to be taken: the record moves only by what was written here.
      const record = readRecord(stateDir, name) as AgentGitRecord
      const given: GitState = {
        head: headMoved ? host.head : record.agent.head,
        branches: {
          ...record.agent.branches,
          ...Object.fromEntries([...moved].map((ref) => [ref, host.branches[ref] as string])),
        },
      }
      await writeJson(recordFile(stateDir, name), {
        version: 1,
        host,
        agent: given,
        ...(clone ? {clone: true} : {}),
      } satisfies AgentGitRecord)
    } finally {
      dir.close()
    }
  })
}

/** Writes a loose ref into the agent's dir, making its directories; nothing there is followed. */
function writeRef(dir: UntrustedDir, ref: string, oid: string): void {
  const slash = ref.lastIndexOf('/')
  const parent = dir.makeDir(ref.slice(0, slash))
  try {
    parent.writeFile(ref.slice(slash + 1), `${oid}\n`)
  } finally {
    parent.close()
  }
}

/**
 * While a session runs: imports whenever the agent's refs change (HEAD's reflog, packed-refs
 * and HEAD are looked at every `intervalMs`). The returned stop() ends the watching.
 */
export function watchAgentGit(repoPath: string, stateDir: string, name: string, intervalMs = 1500): () => void {
  const path = agentGitDir(stateDir, name)
  if (!hasAgentGit(stateDir, name)) return () => {}
  const signature = () => {
    const dir = UntrustedDir.openIfDir(path)
    if (!dir) return ''
    try {
      const logs = dir.dir('logs')
      const log = logs?.fileSignature('HEAD')
      logs?.close()
      return `${log}|${dir.fileSignature('HEAD')}|${dir.fileSignature('packed-refs')}`
    } finally {
      dir.close()
    }
  }
  let last = signature()
  let running = false
  const timer = setInterval(() => {
    if (running) return
    const now = signature()
    if (now === last) return
    last = now
    running = true
    importAndReport(repoPath, stateDir, name).finally(() => {
      running = false
    })
  }, intervalMs)
  timer.unref()
  return () => clearInterval(timer)
}
