/**
 * Clone mode: a project whose container has a checkout of its own (in repoman's state dir)
 * instead of the host's working tree. Its commits reach the host repo only through the
 * data-only import (refs/remotes/repoman/<name>/<branch>). What is asked inside (uncommitted
 * work, diffs) runs there as the user, and its output is only printed, cleaned of control
 * characters: never run, applied or read as config on the host.
 */
import {RepomanError, UsageError} from '../errors.js'
import {importAndReport, refreshAgentGit} from '../git/agent-git.js'
import {commitOf, hostGit} from '../git/host-git.js'
import type {IncusClient} from '../incus/client.js'
import type {IncusInstance} from '../incus/types.js'
import type {RepomanPaths} from '../paths.js'
import {type CloneEntry, findProject, type ProjectEntry, type Registry, repoPathOf} from '../registry/schema.js'
import {containerGone, idsInside, sessionEnv, sessionExecArgs} from './session.js'

type Context = {registry: Registry; incus: IncusClient; paths: RepomanPaths}
/** What asking git inside takes of the Incus client. */
export type InsideGit = Pick<IncusClient, 'capture' | 'execArgs'>

/** The host's commits would not go onto the agent's without conflicts: nothing was changed. */
export class UpdateConflictError extends RepomanError {
  override readonly code = 'UPDATE_CONFLICT'
}

export interface FileChange {
  path: string
  /** Lines added and removed; null for a binary file. */
  added: number | null
  removed: number | null
}

/** The `diff --json` result. */
export interface CloneDiff {
  name: string
  branch: string
  base: string
  /** The agent's commits on its branch since the base, as imported into your repo. */
  commits: number
  committed: FileChange[]
  /** Changes in its checkout not committed yet (null when the container is not running). */
  uncommitted: FileChange[] | null
  untracked: string[] | null
  /** The patch text, committed then uncommitted (empty with --stat). */
  patch: string
}

/** Text from inside, safe to print: no escape sequences or other control characters but tab and newline. */
export function clean(text: string): string {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: these are what is taken out
  return text.replace(/[\x00-\x08\x0b-\x1f\x7f]/g, '?')
}

/** Pure: `git diff --numstat` lines as changes. */
export function parseNumstat(text: string): FileChange[] {
  return text
    .split('\n')
    .filter(Boolean)
    .map((line) => {
      const [added, removed, ...path] = line.split('\t')
      const count = (n: string | undefined) => (n === '-' || n === undefined ? null : Number(n))
      return {path: clean(path.join('\t')), added: count(added), removed: count(removed)}
    })
}

/** Pure: the paths `git status --porcelain` names (renames by their new name). */
export function parsePorcelain(text: string): string[] {
  return text
    .split('\n')
    .filter((line) => line.length > 3)
    .map((line) => clean(line.slice(3).replace(/^.* -> /, '')))
}

/** The project, which must be in clone mode. */
function cloneProject(registry: Registry, name: string, what: string): ProjectEntry & {clone: CloneEntry} {
  const project = findProject(registry, name)
  if (!project.clone)
    throw new UsageError(
      `"${name}" works in your own working tree (shared mode), where \`git\` shows its changes; repoman ${what} is for projects made with --clone`,
    )
  return project as ProjectEntry & {clone: CloneEntry}
}

/** git in the clone inside, as the user (never as root: the repo's config is the agent's). */
function gitInside(incus: InsideGit, registry: Registry, instance: IncusInstance, repoPath: string, args: string[]) {
  return incus.capture(
    // Without the agent's fsmonitor: a question about the checkout should not run its commands.
    incus.execArgs(instance.name, ['git', '--no-pager', '-c', 'core.fsmonitor=false', '-C', repoPath, ...args], {
      ...idsInside(registry, instance),
      cwd: repoPath,
      env: sessionEnv(registry, {GIT_OPTIONAL_LOCKS: '0'}),
    }),
  )
}

/**
 * The paths with work not committed in a clone, from `git status` inside; null when that
 * cannot be asked (the container is not running). A lying container can only hide its own work.
 */
export async function uncommittedInside(
  incus: InsideGit,
  registry: Registry,
  instance: IncusInstance | undefined,
  repoPath: string,
): Promise<string[] | null> {
  if (instance?.status !== 'Running') return null
  const status = await gitInside(incus, registry, instance, repoPath, [
    'status',
    '--porcelain',
    '--untracked-files=all',
  ])
  return status.exitCode === 0 ? parsePorcelain(status.stdout) : null
}

/** How a clone stands against the host branch it started from, in `list`. */
export interface CloneStanding {
  branch: string
  /** The host branch it was made from (null: a detached HEAD, compared with its base commit). */
  from: string | null
  /** Its commits the host branch does not have, and the host branch's it does not have. */
  ahead: number
  behind: number
  /** Paths with uncommitted work (null when the container is not running). */
  uncommitted: number | null
}

/** Host git on the imported refs (after the import), and one `git status` inside when running. */
export async function cloneStanding(
  incus: IncusClient,
  registry: Registry,
  project: ProjectEntry & {clone: CloneEntry},
  instance: IncusInstance | undefined,
): Promise<CloneStanding> {
  const repoPath = repoPathOf(registry, project.repo)
  const {branch, base, from} = project.clone
  const [host, agent] = await Promise.all([
    from ? commitOf(repoPath, `refs/heads/${from}`) : base,
    commitOf(repoPath, agentRef(project.name, branch)),
  ])
  const [counts, uncommitted] = await Promise.all([
    hostGit(repoPath, ['rev-list', '--left-right', '--count', `${host ?? base}...${agent ?? base}`], {allow: [128]}),
    uncommittedInside(incus, registry, instance, repoPath),
  ])
  const [behind = 0, ahead = 0] = counts.exitCode === 0 ? counts.stdout.trim().split(/\s+/).map(Number) : []
  return {branch, from: from ?? null, ahead, behind, uncommitted: uncommitted?.length ?? null}
}

/** Where a clone's branch lands in the host repo. */
export function agentRef(name: string, branch: string): string {
  return `refs/remotes/repoman/${name}/${branch}`
}

/** `repoman diff NAME`: the agent's commits against its base (host git), then its uncommitted work (git inside). */
export async function cloneDiff(context: Context, name: string, options: {stat: boolean}): Promise<CloneDiff> {
  const project = cloneProject(context.registry, name, 'diff')
  const repoPath = repoPathOf(context.registry, project.repo)
  await importAndReport(repoPath, context.paths.stateDir, name)
  const {branch, base} = project.clone
  const head = (await commitOf(repoPath, agentRef(name, branch))) ?? base
  const [count, numstat, patch] = await Promise.all([
    hostGit(repoPath, ['rev-list', '--count', `${base}..${head}`]),
    hostGit(repoPath, ['diff', '--numstat', '--no-ext-diff', '--no-textconv', base, head]),
    options.stat ? undefined : hostGit(repoPath, ['diff', '--no-color', '--no-ext-diff', '--no-textconv', base, head]),
  ])
  const instance = await context.incus.getInstance(name)
  if (!instance) throw containerGone(name)
  let uncommitted: FileChange[] | null = null
  let untracked: string[] | null = null
  let insidePatch = ''
  if (instance.status === 'Running') {
    const git = (...args: string[]) => gitInside(context.incus, context.registry, instance, repoPath, args)
    const [stat, others, text] = await Promise.all([
      git('diff', '--numstat', '--no-ext-diff', '--no-textconv', 'HEAD'),
      git('ls-files', '--others', '--exclude-standard'),
      options.stat ? undefined : git('diff', '--no-color', '--no-ext-diff', '--no-textconv', 'HEAD'),
    ])
    if (stat.exitCode === 0) uncommitted = parseNumstat(stat.stdout)
    if (others.exitCode === 0) untracked = others.stdout.split('\n').filter(Boolean).map(clean)
    insidePatch = text?.exitCode === 0 ? clean(text.stdout) : ''
  }
  return {
    name,
    branch,
    base,
    commits: Number(count.stdout.trim()),
    committed: parseNumstat(numstat.stdout),
    uncommitted,
    untracked,
    patch: `${patch?.stdout ?? ''}${insidePatch}`,
  }
}

const COLOURS: Array<[RegExp, string]> = [
  [/^(\+\+\+|---) /, '1'],
  [/^\+/, '32'],
  [/^-/, '31'],
  [/^@@/, '36'],
]

/** The human view: a summary line per part, then the patch (coloured on a terminal) or the stat. */
export function renderCloneDiff(diff: CloneDiff, options: {stat: boolean; colour: boolean}): string[] {
  const rows = (changes: FileChange[]) =>
    changes.map((c) => `  ${c.path} | ${c.added === null ? 'binary' : `+${c.added} -${c.removed}`}`)
  const short = diff.base.slice(0, 12)
  const lines = [
    `${diff.name}: ${diff.commits} commit(s) on ${diff.branch} since ${short} (git log ${short}..repoman/${diff.name}/${diff.branch})`,
  ]
  if (options.stat) lines.push(...rows(diff.committed))
  if (diff.uncommitted === null) lines.push(`"${diff.name}" is not running: its uncommitted work is not shown`)
  else {
    lines.push(`not committed: ${diff.uncommitted.length} file(s) changed, ${diff.untracked?.length ?? 0} untracked`)
    if (options.stat) lines.push(...rows(diff.uncommitted))
    for (const path of diff.untracked ?? []) lines.push(`  ${path} (untracked)`)
  }
  if (!options.stat && diff.patch !== '')
    for (const line of diff.patch.replace(/\n$/, '').split('\n')) {
      const colour = options.colour ? COLOURS.find(([pattern]) => pattern.test(line))?.[1] : undefined
      lines.push(colour ? `\x1b[${colour}m${line}\x1b[0m` : line)
    }
  return lines
}

/** The `update --json` result. */
export interface CloneUpdate {
  name: string
  branch: string
  /** The host branch (or commit) brought in. */
  onto: string
  commit: string
  /** rebase or merge as asked; `none` when the clone had it already. */
  method: 'rebase' | 'merge' | 'none'
}

/**
 * `repoman update NAME`: the host's newer commits into the clone. They are there as data
 * already (the host's objects are borrowed read-only; its branches are given at each session);
 * git inside, as the user, rebases the agent's branch onto the host's tip (or merges it),
 * stashing uncommitted work around it. A conflict is undone inside and reported.
 */
export async function updateClone(context: Context, name: string, options: {merge: boolean}): Promise<CloneUpdate> {
  const project = cloneProject(context.registry, name, 'update')
  const repoPath = repoPathOf(context.registry, project.repo)
  const {branch, base, from} = project.clone
  const onto = from ?? base
  const commit = (await commitOf(repoPath, from ? `refs/heads/${from}` : base)) ?? base
  await refreshAgentGit(repoPath, context.paths.stateDir, name)
  // As a session would: the container started if stopped, as the user, with their git identity.
  const target = {project, repoPath, cwd: repoPath}
  const env = await updateIdentity(repoPath, context.registry, options.merge)
  const run = async (...args: string[]) =>
    context.incus.capture(
      await sessionExecArgs(context.incus, context.registry, target, ['git', ...args], {env, tty: false}),
    )
  const contains = await run('merge-base', '--is-ancestor', commit, 'HEAD')
  let method: CloneUpdate['method'] = 'none'
  if (contains.exitCode !== 0) {
    method = options.merge ? 'merge' : 'rebase'
    const done = options.merge
      ? await run(
          'merge',
          '--autostash',
          '--no-edit',
          '-m',
          `Merge ${onto} (${commit.slice(0, 12)}) from the host`,
          commit,
        )
      : await run('rebase', '--autostash', commit)
    if (done.exitCode !== 0) {
      await run(method, '--abort')
      throw new UpdateConflictError(
        `the host's ${onto} (${commit.slice(0, 12)}) conflicts with "${name}"'s work, so nothing was changed; resolve it inside: \`repoman exec ${name} -- git ${method} ${commit.slice(0, 12)}\``,
      )
    }
  }
  await importAndReport(repoPath, context.paths.stateDir, name)
  return {name, branch, onto, commit, method}
}

/**
 * Who the rebased (or merge) commits are by: you, as your host git knows you (read from host
 * git's own config), else your user name; the agent's commits keep it as their author.
 */
async function updateIdentity(repoPath: string, registry: Registry, merge: boolean): Promise<Record<string, string>> {
  const read = async (key: string) =>
    (await hostGit(repoPath, ['config', '--get', key], {allow: [1]})).stdout.trim() || undefined
  const [name = registry.host.user, email = `${registry.host.user}@localhost`] = await Promise.all([
    read('user.name'),
    read('user.email'),
  ])
  const committer = {GIT_COMMITTER_NAME: name, GIT_COMMITTER_EMAIL: email}
  return merge ? {...committer, GIT_AUTHOR_NAME: name, GIT_AUTHOR_EMAIL: email} : committer
}

export function renderCloneUpdate(update: CloneUpdate): string {
  if (update.method === 'none') return `"${update.name}" has ${update.onto} (${update.commit.slice(0, 12)}) already.`
  const host = `the host's ${update.onto} (${update.commit.slice(0, 12)})`
  return update.method === 'rebase'
    ? `"${update.name}": rebased ${update.branch} onto ${host}.`
    : `"${update.name}": merged ${host} into ${update.branch}.`
}
