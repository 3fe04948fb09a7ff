/**
 * Agent logins, kept on the host: one file per agent under repoman's config dir
 * (`credentials/<agent>`, 0600, in a 0700 directory no container mounts), handed to the agent's
 * process inside as the one environment variable it takes a login from. Sessions reach the
 * store only through `credentialEnv`, so a later host-side gateway can hand out a placeholder
 * there and keep the real token out of the container.
 */
import {readFileSync, rmSync, statSync} from 'node:fs'
import {chmod, mkdir} from 'node:fs/promises'
import {join} from 'node:path'
import {UsageError} from '../errors.js'
import type {RepomanPaths} from '../paths.js'

/** How each agent takes a login from its environment. */
export const LOGIN_ENV: Readonly<Record<string, string>> = {
  // A long-lived token from `claude setup-token`: not a rotating OAuth refresh token, so
  // copies in several containers do not log each other out.
  claude: 'CLAUDE_CODE_OAUTH_TOKEN',
  codex: 'OPENAI_API_KEY',
  gemini: 'GEMINI_API_KEY',
}

/** The agent's own command that makes a long-lived token, run on the host by `agent login`. */
export const TOKEN_COMMAND: Readonly<Record<string, string[]>> = {claude: ['claude', 'setup-token']}

export const credentialsDir = (paths: Pick<RepomanPaths, 'configDir'>) => join(paths.configDir, 'credentials')
const credentialFile = (paths: Pick<RepomanPaths, 'configDir'>, agent: string) => join(credentialsDir(paths), agent)

export function loginEnvOf(agent: string): string {
  const name = LOGIN_ENV[agent]
  if (!name)
    throw new UsageError(
      `repoman keeps no login for "${agent}"; it does for ${Object.keys(LOGIN_ENV).join(', ')} (other agents: [container] env in repos.d)`,
    )
  return name
}

/** Pure: a pasted token or key as it is stored (one line, no surrounding space), or why not. */
export function normalizeSecret(text: string): string {
  const secret = text.trim()
  if (secret === '') throw new UsageError('no token given; paste it, or pipe it on stdin')
  if (/\s/.test(secret))
    throw new UsageError('a token is one word without spaces or line breaks; check what you pasted')
  return secret
}

/** Stores the agent's login (atomically, 0600). */
export async function saveCredential(
  paths: Pick<RepomanPaths, 'configDir'>,
  agent: string,
  secret: string,
): Promise<{agent: string; env: string; file: string}> {
  const env = loginEnvOf(agent)
  const dir = credentialsDir(paths)
  await mkdir(dir, {recursive: true, mode: 0o700})
  await chmod(dir, 0o700)
  const {default: writeFileAtomic} = await import('write-file-atomic')
  const file = credentialFile(paths, agent)
  await writeFileAtomic(file, `${normalizeSecret(secret)}\n`, {mode: 0o600})
  return {agent, env, file}
}

/** Forgets the agent's login; says whether there was one. */
export function deleteCredential(paths: Pick<RepomanPaths, 'configDir'>, agent: string): boolean {
  loginEnvOf(agent)
  const file = credentialFile(paths, agent)
  const existed = statSync(file, {throwIfNoEntry: false}) !== undefined
  rmSync(file, {force: true})
  return existed
}

/**
 * The environment that logs `agents` in inside a session: one small file read per agent with
 * a login; nothing for one without. This is the seam for a gateway (a placeholder instead).
 */
export function credentialEnv(paths: Pick<RepomanPaths, 'configDir'>, agents: string[]): Record<string, string> {
  const env: Record<string, string> = {}
  for (const agent of agents) {
    const name = LOGIN_ENV[agent]
    if (!name) continue
    try {
      env[name] = readFileSync(credentialFile(paths, agent), 'utf8').trim()
    } catch {
      // Not logged in: the agent inside asks, as it would anywhere.
    }
  }
  return env
}

/**
 * Runs the agent's own token command on the host with the terminal (`claude setup-token`
 * signs in through the browser and prints a long-lived token); returns false when the agent
 * has none (an API-key agent: the key is pasted instead).
 */
export async function runTokenCommand(agent: string): Promise<boolean> {
  const command = TOKEN_COMMAND[agent]
  if (!command) return false
  const {spawnSync} = await import('node:child_process')
  const run = spawnSync(command[0] as string, command.slice(1), {stdio: 'inherit'})
  if (run.error || run.status !== 0)
    throw new UsageError(
      `\`${command.join(' ')}\` ${run.error ? `could not run (${run.error.message})` : `exited ${run.status}`}; run it yourself and pipe its token in: \`repoman agent login ${agent} < token-file\``,
    )
  return true
}

/** All of stdin, for a token piped in. */
export async function readStdin(): Promise<string> {
  const chunks: Buffer[] = []
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer)
  return Buffer.concat(chunks).toString('utf8')
}
