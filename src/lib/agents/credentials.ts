/**
 * Agent logins, kept on the host: one file per agent under repoman's config dir
 * (`credentials/<agent>`, 0600, in a 0700 directory no container mounts), handed to the agent's
 * gateway (src/lib/gateway), which puts it into the agent's API requests on their way out. The
 * container gets only a placeholder token and a base URL pointing at the gateway
 * (`gatewayLoginEnv`): the real token is in no file, environment or memory inside.
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

/** The agent's API: the variable that points it elsewhere, and where it goes by default. */
export const AGENT_APIS: Readonly<Record<string, {baseEnv: string; upstream: string}>> = {
  claude: {baseEnv: 'ANTHROPIC_BASE_URL', upstream: 'https://api.anthropic.com'},
  codex: {baseEnv: 'OPENAI_BASE_URL', upstream: 'https://api.openai.com/v1'},
  gemini: {baseEnv: 'GOOGLE_GEMINI_BASE_URL', upstream: 'https://generativelanguage.googleapis.com'},
}

/** What the container holds instead of a token; the gateway swaps it for the real one. */
export const PLACEHOLDER = 'repoman-gateway-placeholder'

/** Where the gateway listens inside every container (the proxy device's loopback end). */
export const GATEWAY_LISTEN = {host: '127.0.0.1', port: 3128}
export const GATEWAY_URL = `http://${GATEWAY_LISTEN.host}:${GATEWAY_LISTEN.port}`

/** The agent's own command that makes a long-lived token, run on the host by `agent login`. */
export const TOKEN_COMMAND: Readonly<Record<string, string[]>> = {claude: ['claude', 'setup-token']}

export const credentialsDir = (paths: Pick<RepomanPaths, 'configDir'>) => join(paths.configDir, 'credentials')
const credentialFile = (paths: Pick<RepomanPaths, 'configDir'>, agent: string) => join(credentialsDir(paths), agent)
const upstreamFile = (paths: Pick<RepomanPaths, 'configDir'>, agent: string) =>
  join(credentialsDir(paths), `${agent}.upstream`)

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
  upstream?: string,
): Promise<{agent: string; env: string; file: string; upstream: string}> {
  const env = loginEnvOf(agent)
  const normalized = normalizeSecret(secret)
  const checkedUpstream = upstream === undefined ? undefined : checkUpstream(upstream)
  const dir = credentialsDir(paths)
  await mkdir(dir, {recursive: true, mode: 0o700})
  await chmod(dir, 0o700)
  const {default: writeFileAtomic} = await import('write-file-atomic')
  const file = credentialFile(paths, agent)
  await writeFileAtomic(file, `${normalized}\n`, {mode: 0o600})
  if (checkedUpstream !== undefined)
    await writeFileAtomic(upstreamFile(paths, agent), `${checkedUpstream}\n`, {mode: 0o600})
  return {agent, env, file, upstream: upstreamOf(paths, agent)}
}

/** Pure: an upstream URL as stored (http or https, no credentials, no query), or why not. */
export function checkUpstream(text: string): string {
  let url: URL | undefined
  try {
    url = new URL(text.trim())
  } catch {
    url = undefined
  }
  if (!url || !['http:', 'https:'].includes(url.protocol) || url.username || url.password || url.search || url.hash)
    throw new UsageError(
      `--upstream ${text} must be an http(s) URL such as https://litellm.lan:4000 (no user, query or #)`,
    )
  return url.href.replace(/\/$/, '')
}

/** The agent's API upstream: the one `agent login --upstream` stored, else the agent's own. */
export function upstreamOf(paths: Pick<RepomanPaths, 'configDir'>, agent: string): string {
  try {
    return readFileSync(upstreamFile(paths, agent), 'utf8').trim()
  } catch {
    return AGENT_APIS[agent]?.upstream ?? ''
  }
}

/** The real token and upstream, for the gateway only; undefined without a login. */
export function readLogin(
  paths: Pick<RepomanPaths, 'configDir'>,
  agent: string,
): {token: string; upstream: string} | undefined {
  if (!AGENT_APIS[agent]) return undefined
  try {
    const token = readFileSync(credentialFile(paths, agent), 'utf8').trim()
    return token ? {token, upstream: upstreamOf(paths, agent)} : undefined
  } catch {
    return undefined
  }
}

/** Forgets the agent's login; says whether there was one. */
export function deleteCredential(paths: Pick<RepomanPaths, 'configDir'>, agent: string): boolean {
  loginEnvOf(agent)
  const file = credentialFile(paths, agent)
  const existed = statSync(file, {throwIfNoEntry: false}) !== undefined
  rmSync(file, {force: true})
  rmSync(upstreamFile(paths, agent), {force: true})
  return existed
}

/**
 * The environment that logs `agents` in inside a session: for each with a login, the
 * placeholder as its token and the gateway as its API. Nothing for one without (it asks, as
 * it would anywhere). One stat per agent; the token itself is never read here.
 */
export function gatewayLoginEnv(paths: Pick<RepomanPaths, 'configDir'>, agents: string[]): Record<string, string> {
  const env: Record<string, string> = {}
  for (const agent of agents) {
    const name = LOGIN_ENV[agent]
    const api = AGENT_APIS[agent]
    if (!name || !api || statSync(credentialFile(paths, agent), {throwIfNoEntry: false}) === undefined) continue
    env[name] = PLACEHOLDER
    env[api.baseEnv] = `${GATEWAY_URL}/agents/${agent}`
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
