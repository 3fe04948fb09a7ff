/**
 * `status --fix`: every repair, planned from one listing of the containers and profiles, and run
 * as one list of steps (each with its own undo): a container made by an older repoman gets a git
 * dir of its own (git-layout.ts) and agent homes of its own (agents/share-fix.ts), a git dir the
 * agent wrecked is rebuilt, and each running container gets your account back (status.ts).
 */
import type {HomesRefreshed} from '../agents/home-steps.js'
import {planShareFix, renderShareFix, shareFixSteps} from '../agents/share-fix.js'
import type {RepomanContext} from '../context.js'
import {agentGitWreck, hostGitKind} from '../git/agent-git.js'
import type {InstallOutcome} from '../profiles/install.js'
import type {Step} from '../steps.js'
import {decideGitFix, type GitFix, gitFixSteps} from './git-layout.js'
import {type AccountFix, type AccountFixPlan, accountFixSteps, decideAccountFix} from './status.js'

export interface FixPlan {
  git: GitFix[]
  shares: Awaited<ReturnType<typeof planShareFix>>
  accounts: AccountFixPlan
}

export async function planFixes(context: RepomanContext, name?: string): Promise<FixPlan> {
  const {registry, incus, paths} = context
  const [instances, profiles] = await Promise.all([incus.listInstances(), incus.listProfiles()])
  const wreck = (project: string, repoPath: string) => agentGitWreck(paths.stateDir, project, repoPath)
  return {
    git: decideGitFix(registry, instances, {hostGit: hostGitKind, wreck}, name),
    shares: await planShareFix(context, instances, profiles, name),
    accounts: decideAccountFix(registry, instances, name),
  }
}

export interface FixResult {
  accounts: AccountFix[]
  shares: {profiles: InstallOutcome[]; homes: HomesRefreshed[]}
}

/** The git dirs first (a container's devices switch), then the shares, then the accounts. */
export function fixSteps(plan: FixPlan, context: RepomanContext): {steps: Step[]; result: FixResult} {
  const git = gitFixSteps(plan.git, context.incus, context.paths.stateDir)
  const shares = shareFixSteps(plan.shares, context)
  const accounts = accountFixSteps(plan.accounts, context.registry, context.incus)
  return {
    steps: [...git.steps, ...shares.steps, ...accounts.steps],
    result: {accounts: accounts.result, shares: shares.result},
  }
}

/** What the fixes say they changed, beyond the accounts (which the status report renders). */
export const renderFixResult = (result: FixResult): string[] => renderShareFix(result.shares)
