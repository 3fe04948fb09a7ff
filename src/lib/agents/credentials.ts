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

/** What the container holds instead of a token; the gateway swaps it for the real one. */
export const PLACEHOLDER = 'repoman-gateway-placeholder'

/** Where the gateway listens inside every container (on its loopback: gateway/inside.ts). */
export const GATEWAY_LISTEN = {host: '127.0.0.1', port: 3128}
export const GATEWAY_URL = `http://${GATEWAY_LISTEN.host}:${GATEWAY_LISTEN.port}`

/** How an agent is pointed at the gateway with the placeholder, and where its API is. */
export interface AgentLogin {
  /** The agent's API by default (the gateway's upstream without `--upstream`). */
  upstream: string
  /** What the login is: asked for by this name. */
  secret: string
  /** What carries the placeholder inside: the variable, or the file. */
  carrier: string
  /** The session environment, given the agent's gateway URL. */
  env: (base: string) => Record<string, string>
  /** JSON merged into a file of the agent's home at seeding, for what it takes from no variable. */
  homeFile?: {name: string; merge: (base: string) => Record<string, unknown>}
}

export const AGENT_LOGINS: Readonly<Record<string, AgentLogin>> = {
  claude: {
    upstream: 'https://api.anthropic.com',
    secret: 'token `claude setup-token` printed',
    // A long-lived token from `claude setup-token`: not a rotating OAuth refresh token, so
    // copies in several containers do not log each other out.
    carrier: 'CLAUDE_CODE_OAUTH_TOKEN',
    env: (base) => ({CLAUDE_CODE_OAUTH_TOKEN: PLACEHOLDER, ANTHROPIC_BASE_URL: base}),
  },
  codex: {
    upstream: 'https://api.openai.com/v1',
    secret: 'OpenAI API key',
    carrier: 'OPENAI_API_KEY',
    env: (base) => ({OPENAI_API_KEY: PLACEHOLDER, OPENAI_BASE_URL: base}),
  },
  gemini: {
    upstream: 'https://generativelanguage.googleapis.com',
    secret: 'Gemini API key',
    carrier: 'GEMINI_API_KEY',
    env: (base) => ({GEMINI_API_KEY: PLACEHOLDER, GOOGLE_GEMINI_BASE_URL: base}),
    // With a base URL alone it picks its "gateway" auth, which its key check then refuses.
    homeFile: {name: 'settings.json', merge: () => ({security: {auth: {selectedType: 'gemini-api-key'}}})},
  },
  // An Anthropic API key, through opencode's own inline config: ANTHROPIC_* variables would
  // also reach Claude Code, which prefers an API key to its login.
  opencode: {
    upstream: 'https://api.anthropic.com/v1',
    secret: 'Anthropic API key',
    carrier: 'OPENCODE_CONFIG_CONTENT',
    env: (base) => ({
      OPENCODE_CONFIG_CONTENT: JSON.stringify({provider: {anthropic: {options: {apiKey: PLACEHOLDER, baseURL: base}}}}),
    }),
  },
  // An Anthropic API key, through pi's models.json: pi reads its API's address from no variable.
  pi: {
    upstream: 'https://api.anthropic.com',
    secret: 'Anthropic API key',
    carrier: 'models.json',
    env: () => ({}),
    homeFile: {name: 'models.json', merge: (base) => ({providers: {anthropic: {baseUrl: base, apiKey: PLACEHOLDER}}})},
  },
}

const gatewayBase = (agent: string) => `${GATEWAY_URL}/agents/${agent}`

/** The agent's own command that makes a long-lived token, run on the host by `agent login`. */
export const TOKEN_COMMAND: Readonly<Record<string, string[]>> = {claude: ['claude', 'setup-token']}

export const credentialsDir = (paths: Pick<RepomanPaths, 'configDir'>) => join(paths.configDir, 'credentials')
const credentialFile = (paths: Pick<RepomanPaths, 'configDir'>, agent: string) => join(credentialsDir(paths), agent)
const upstreamFile = (paths: Pick<RepomanPaths, 'configDir'>, agent: string) =>
  join(credentialsDir(paths), `${agent}.upstream`)

const hasLogin = (paths: Pick<RepomanPaths, 'configDir'>, agent: string) =>
  statSync(credentialFile(paths, agent), {throwIfNoEntry: false}) !== undefined

/** The agent's login kind, or a usage error for an agent repoman keeps none for. */
export function loginOf(agent: string): AgentLogin {
  const login = AGENT_LOGINS[agent]
  if (!login)
    throw new UsageError(
      `repoman keeps no login for "${agent}"; it does for ${Object.keys(AGENT_LOGINS).join(', ')} (other agents: [container] env in repos.d)`,
    )
  return login
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
  const env = loginOf(agent).carrier
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
    return AGENT_LOGINS[agent]?.upstream ?? ''
  }
}

/** The real token and upstream, for the gateway only; undefined without a login. */
export function readLogin(
  paths: Pick<RepomanPaths, 'configDir'>,
  agent: string,
): {token: string; upstream: string} | undefined {
  if (!AGENT_LOGINS[agent]) return undefined
  try {
    const token = readFileSync(credentialFile(paths, agent), 'utf8').trim()
    return token ? {token, upstream: upstreamOf(paths, agent)} : undefined
  } catch {
    return undefined
  }
}

/** Forgets the agent's login; says whether there was one. */
export function deleteCredential(paths: Pick<RepomanPaths, 'configDir'>, agent: string): boolean {
  loginOf(agent)
  const existed = hasLogin(paths, agent)
  rmSync(credentialFile(paths, agent), {force: true})
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
    const login = AGENT_LOGINS[agent]
    if (login && hasLogin(paths, agent)) Object.assign(env, login.env(gatewayBase(agent)))
  }
  return env
}

/** The JSON a seeded home of `agent` gets merged into one of its files, when it has a login and needs one. */
export function loginHomeFile(
  paths: Pick<RepomanPaths, 'configDir'>,
  agent: string,
): {name: string; merge: Record<string, unknown>} | undefined {
  const file = AGENT_LOGINS[agent]?.homeFile
  if (!file || !hasLogin(paths, agent)) return undefined
  return {name: file.name, merge: file.merge(gatewayBase(agent))}
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
