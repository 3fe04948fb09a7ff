/**
 * Claude Code from npm for the real-image tests, installed once per version into the test cache
 * (/var/cache/repoman-test/npm-claude-<version>; the registry is slow) and copied into a test
 * user's ~/.local, as `npm i -g --prefix ~/.local @anthropic-ai/claude-code` leaves it.
 */
import {execFileSync} from 'node:child_process'
import {existsSync, mkdirSync, readdirSync, renameSync, rmSync} from 'node:fs'
import {join} from 'node:path'

const PACKAGE = '@anthropic-ai/claude-code'
const cacheRoot = () => process.env.REPOMAN_TEST_IMAGE_CACHE ?? '/var/cache/repoman-test'
// npm here needs the system CA bundle named (root's npm config has it, a test user's has not).
const npmEnv = () => ({...process.env, npm_config_cafile: '/etc/ssl/certs/ca-certificates.crt'})

/** The newest version the registry offers, or undefined when it cannot be reached. */
function latestVersion(): string | undefined {
  try {
    return execFileSync('npm', ['view', PACKAGE, 'version'], {
      env: npmEnv(),
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
      timeout: 60_000,
    }).trim()
  } catch {
    return undefined
  }
}

/** The cached npm prefix holding Claude Code, installing it first when needed; throws saying why it cannot. */
export function cachedClaudeCode(): {prefix: string; version: string} {
  const cached = existsSync(cacheRoot())
    ? readdirSync(cacheRoot())
        .filter((name) => /^npm-claude-\d/.test(name))
        .sort((a, b) => a.localeCompare(b, 'en', {numeric: true}))
    : []
  const version = latestVersion()
  if (!version) {
    const newest = cached.at(-1)
    if (!newest) throw new Error(`the npm registry is unreachable and ${cacheRoot()} holds no npm-claude-* install`)
    return {prefix: join(cacheRoot(), newest), version: newest.slice('npm-claude-'.length)}
  }
  const prefix = join(cacheRoot(), `npm-claude-${version}`)
  if (!existsSync(join(prefix, 'bin/claude'))) {
    // Installed aside, then renamed: a concurrent run never sees half an install.
    const work = `${prefix}.${process.pid}.tmp`
    mkdirSync(cacheRoot(), {recursive: true})
    execFileSync('npm', ['i', '-g', '--prefix', work, `${PACKAGE}@${version}`, '--no-audit', '--no-fund'], {
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
export function installClaudeCodeFor(home: string, uid: number, gid: number): string {
  const {prefix, version} = cachedClaudeCode()
  const local = join(home, '.local')
  mkdirSync(local, {recursive: true})
  execFileSync('cp', ['-a', `${prefix}/.`, `${local}/`])
  execFileSync('chown', ['-R', `${uid}:${gid}`, local])
  return version
}
