/**
 * Git run on the HOST's repository, the only way repoman runs git. Its git dir is always named
 * (GIT_DIR=<repo>/.git), never discovered, and it is never one the container can write: the
 * container has a git dir of its own (agent-git.ts), so what host git reads as config, hooks
 * and pointers is only what the host wrote.
 */
import {spawn} from 'node:child_process'
import {join} from 'node:path'
import {RepomanError} from '../errors.js'

export class GitError extends RepomanError {
  override readonly code = 'GIT'
}

export interface GitRun {
  stdout: string
  stderr: string
  exitCode: number
}

export interface GitOptions {
  input?: string | Buffer
  /** Extra environment (GIT_INDEX_FILE, GIT_OBJECT_DIRECTORY, ...). */
  env?: Record<string, string>
  /** Exit codes that are answers, not failures (e.g. 1 for `merge-base --is-ancestor`). */
  allow?: number[]
}

/** The environment host git runs with: the user's own, less anything that would point git elsewhere. */
export function gitEnv(repoPath: string, extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {}
  for (const [key, value] of Object.entries(process.env)) if (!key.startsWith('GIT_')) env[key] = value
  return {
    ...env,
    GIT_DIR: join(repoPath, '.git'),
    GIT_WORK_TREE: repoPath,
    // No prompts for credentials or editors from a background import.
    GIT_TERMINAL_PROMPT: '0',
    ...extra,
  }
}

/** Runs `git ARGS` on the host repo at `repoPath`; a failure (an exit code not allowed) is a GitError. */
export function hostGit(repoPath: string, args: string[], options: GitOptions = {}): Promise<GitRun> {
  return new Promise((resolve, reject) => {
    const child = spawn('git', args, {
      cwd: repoPath,
      env: gitEnv(repoPath, options.env),
      stdio: [options.input !== undefined ? 'pipe' : 'ignore', 'pipe', 'pipe'],
    })
    let stdout = ''
    let stderr = ''
    child.stdout?.on('data', (chunk: Buffer) => (stdout += chunk))
    child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk))
    child.on('error', (error) => reject(new GitError(`cannot run git: ${error.message}`, {cause: error})))
    if (child.stdin) {
      child.stdin.on('error', () => {})
      child.stdin.end(options.input)
    }
    child.on('close', (code) => {
      const exitCode = code ?? 128
      if (exitCode === 0 || options.allow?.includes(exitCode)) resolve({stdout, stderr, exitCode})
      else
        reject(
          new GitError(
            `git ${args[0]} failed in ${repoPath}: ${stderr.trim().split('\n').pop() || `exit ${exitCode}`}`,
          ),
        )
    })
  })
}

/** The commit `rev` names in the host's repository, or undefined when it names none. */
export async function commitOf(repoPath: string, rev: string): Promise<string | undefined> {
  const run = await hostGit(repoPath, ['rev-parse', '--verify', '-q', `${rev}^{commit}`], {allow: [1]})
  return run.exitCode === 0 ? run.stdout.trim() : undefined
}
