/**
 * Agents from npm for the real-image tests (Claude Code, Codex, opencode, Gemini CLI, pi), installed once per version
 * into the test cache (/var/cache/repoman-test/npm-<agent>-<version>; the registry is slow) and
 * copied into a test user's ~/.local, as `npm i -g --prefix ~/.local <package>` leaves it.
 */
import {execFileSync} from 'node:child_process'
import {existsSync, mkdirSync, readdirSync, renameSync, rmSync} from 'node:fs'
import {join} from 'node:path'

/** The npm package of each agent the tests install. */
const PACKAGES = {
  claude: '@anthropic-ai/claude-code',
  codex: '@openai/codex',
  opencode: 'opencode-ai',
  gemini: '@google/gemini-cli',
  pi: '@mariozechner/pi-coding-agent',
} as const
export type NpmAgent = keyof typeof PACKAGES
const cacheRoot = () => process.env.REPOMAN_TEST_IMAGE_CACHE ?? '/var/cache/repoman-test'
// npm here needs the system CA bundle named (root's npm config has it, a test user's has not).
const npmEnv = () => ({...process.env, npm_config_cafile: '/etc/ssl/certs/ca-certificates.crt'})

/** The newest version the registry offers, or undefined when it cannot be reached. */
function latestVersion(agent: NpmAgent): string | undefined {
  try {
    return execFileSync('npm', ['view', PACKAGES[agent], 'version'], {
      env: npmEnv(),
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
      timeout: 60_000,
    }).trim()
  } catch {
    return undefined
  }
}

/** The cached npm prefix holding the agent, installing it first when needed; throws saying why it cannot. */
export function cachedNpmAgent(agent: NpmAgent): {prefix: string; version: string} {
  const slug = `npm-${agent}-`
  const cached = existsSync(cacheRoot())
    ? readdirSync(cacheRoot())
        .filter((name) => name.startsWith(slug) && /^\d[^.]*(\.\d+)*$/.test(name.slice(slug.length)))
        .sort((a, b) => a.localeCompare(b, 'en', {numeric: true}))
    : []
  const version = latestVersion(agent)
  if (!version) {
    const newest = cached.at(-1)
    if (!newest) throw new Error(`the npm registry is unreachable and ${cacheRoot()} holds no ${slug}* install`)
    return {prefix: join(cacheRoot(), newest), version: newest.slice(slug.length)}
  }
  const prefix = join(cacheRoot(), `${slug}${version}`)
  if (!existsSync(join(prefix, `bin/${agent}`))) {
    // Installed aside, then renamed: a concurrent run never sees half an install.
    const work = `${prefix}.${process.pid}.tmp`
    mkdirSync(cacheRoot(), {recursive: true})
    execFileSync('npm', ['i', '-g', '--prefix', work, `${PACKAGES[agent]}@${version}`, '--no-audit', '--no-fund'], {
      env: npmEnv(),
      stdio: 'ignore',
      timeout: 600_000,
    })
    if (existsSync(prefix)) rmSync(work, {recursive: true, force: true})
    else renameSync(work, prefix)
  }
  return {prefix, version}
}

/** Copies the cached install into `<home>/.local`, owned by the user; returns the version. */
export function installNpmAgentFor(agent: NpmAgent, home: string, uid: number, gid: number): string {
  const {prefix, version} = cachedNpmAgent(agent)
  const local = join(home, '.local')
  mkdirSync(local, {recursive: true})
  execFileSync('cp', ['-a', `${prefix}/.`, `${local}/`])
  execFileSync('chown', ['-R', `${uid}:${gid}`, local])
  return version
}

export const installClaudeCodeFor = (home: string, uid: number, gid: number) =>
  installNpmAgentFor('claude', home, uid, gid)
