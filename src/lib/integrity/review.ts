/** `repoman review` and `repoman accept`: look at what changed in the watched paths, then acknowledge it. */
import {BaselineMissingError, UsageError} from '../errors.js'
import type {RepomanPaths} from '../paths.js'
import {findProject, type Registry, repoPathOf} from '../registry/schema.js'
import {
  acceptChanges,
  type Fingerprint,
  type IntegrityChange,
  type IntegrityState,
  type SpecialFile,
} from './fingerprint.js'
import {checkWatched, recordBaseline, scanSpecialFiles, writeBaseline} from './snapshot.js'

export interface ReviewedChange extends IntegrityChange {
  /** A unified diff, when both sides are small text files (or one side is absent). */
  diff: string | null
}

/** The `review --json` result. */
export interface ReviewResult {
  name: string
  path: string
  integrity: IntegrityState
  /** Why nothing could be compared (an unreadable baseline), else null. */
  problem: string | null
  changes: ReviewedChange[]
  special_files: SpecialFile[]
}

/** The `accept --json` result. */
export interface AcceptResult {
  name: string
  accepted: IntegrityChange[]
  /** True when the project had no baseline and this recorded its first. */
  baseline_created: boolean
  /** Changes still not accepted (other paths than the ones named). */
  remaining: number
}

/** The text of a path on one side, '' when absent, undefined when not a small text file. */
function textOf(entries: Fingerprint | undefined, path: string): string | undefined {
  const entry = entries?.[path]
  return entry ? entry.text : ''
}

export async function reviewProject(registry: Registry, paths: RepomanPaths, name: string): Promise<ReviewResult> {
  const project = findProject(registry, name)
  const repoPath = repoPathOf(registry, project.repo)
  const check = checkWatched(paths.stateDir, name, repoPath)
  const {createTwoFilesPatch} = await import('diff')
  const changes = check.changes.map((change): ReviewedChange => {
    const before = textOf(check.baseline?.entries, change.path)
    const after = textOf(check.current, change.path)
    const diff =
      before !== undefined && after !== undefined && before !== after
        ? createTwoFilesPatch(`a/${change.path}`, `b/${change.path}`, before, after, 'accepted', 'now')
        : null
    return {...change, diff}
  })
  return {
    name,
    path: repoPath,
    integrity: check.state,
    problem: check.problem ?? null,
    changes,
    special_files: scanSpecialFiles(repoPath, registry.host.home),
  }
}

export function renderReview(result: ReviewResult): string[] {
  const lines: string[] = []
  if (result.problem) lines.push(result.problem)
  else if (result.integrity === 'unknown')
    lines.push(`${result.name}: no baseline yet; \`repoman accept ${result.name}\` records the files as they are`)
  else if (result.changes.length === 0) lines.push(`${result.name}: the files your host runs are as you accepted them`)
  for (const change of result.changes) {
    lines.push(`${change.change} ${change.path}: ${change.detail}`)
    if (change.diff) lines.push(change.diff.trimEnd())
  }
  for (const file of result.special_files) lines.push(`flagged ${file.path}: ${file.detail}`)
  if (result.changes.length > 0)
    lines.push(`Accept: repoman accept ${result.name} (all), or repoman accept ${result.name} PATH...`)
  return lines
}

/**
 * Records the user's acknowledgement: the named paths (and those below them), or every
 * change, become the baseline. A project without a baseline gets one.
 */
export async function acceptProject(
  registry: Registry,
  paths: RepomanPaths,
  name: string,
  named: string[],
): Promise<AcceptResult> {
  const project = findProject(registry, name)
  const repoPath = repoPathOf(registry, project.repo)
  const check = checkWatched(paths.stateDir, name, repoPath)
  // A baseline that cannot be read is replaced only when everything is accepted.
  if (check.problem && named.length > 0) throw new UsageError(check.problem)
  if (!check.baseline || !check.current) {
    if (named.length > 0)
      throw new BaselineMissingError(
        `"${name}" has no baseline yet; \`repoman accept ${name}\` without paths records one`,
        {hint: `repoman accept ${name}`},
      )
    await recordBaseline(paths.stateDir, name, repoPath)
    return {name, accepted: [], baseline_created: true, remaining: 0}
  }
  const {entries, accepted, unknown} = acceptChanges(check.baseline.entries, check.current, named)
  if (unknown !== undefined)
    throw new UsageError(`${unknown} is not a changed path of "${name}"; \`repoman review ${name}\` lists them`, {
      hint: `repoman review ${name}`,
    })
  await writeBaseline(paths.stateDir, name, {...check.baseline, accepted: new Date().toISOString(), entries})
  return {name, accepted, baseline_created: false, remaining: check.changes.length - accepted.length}
}

export function renderAccept(result: AcceptResult): string[] {
  if (result.baseline_created) return [`${result.name}: recorded the files your host runs as they are now`]
  if (result.accepted.length === 0) return [`${result.name}: nothing changed since you last accepted`]
  return [
    ...result.accepted.map((c) => `accepted ${c.change} ${c.path}`),
    ...(result.remaining > 0 ? [`${result.remaining} change(s) not accepted; \`repoman review ${result.name}\``] : []),
  ]
}
