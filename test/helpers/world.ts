/**
 * A fresh user world for an integration test: its own HOME (so its own registry), repos root,
 * backup root, and Incus project on the shared private daemon. Commands run as a user would
 * run them: the built CLI in a child process.
 */
import {execFileSync, type SpawnSyncReturns, spawn, spawnSync} from 'node:child_process'
import {chownSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync} from 'node:fs'
import {join, resolve} from 'node:path'
import type {Context} from 'mocha'
import {gatewayPid} from '../../src/lib/gateway/daemon.js'
import {BTRFS_POOL, TEST_IMAGE} from './incus-daemon.js'
import type {TestUser} from './test-user.js'

export const BIN = resolve(import.meta.dirname, '../../bin/run.js')

export interface CliResult {
  exitCode: number | null
  stdout: string
  stderr: string
}

export interface World {
  /** The host user the CLI runs as: the non-root test user, or undefined for root. */
  user?: TestUser
  home: string
  reposRoot: string
  backupRoot: string
  incusProject: string
  env: NodeJS.ProcessEnv
  registryFile: string
  /**
   * Runs `repoman ARGS` with this world's environment; stdin is closed unless `input` is given;
   * `timeout` (ms) kills a run that hangs, so the test fails saying what it printed.
   */
  cli(
    args: string[],
    options?: {input?: string; env?: NodeJS.ProcessEnv; cwd?: string; timeout?: number},
  ): Promise<CliResult>
  /** Runs the `incus` CLI against the test daemon, scoped to this world's project. */
  incus(args: string[]): string
  /** GET an Incus API path (with this world's project) and parse the JSON. */
  query<T = Record<string, unknown>>(path: string): T
  /** `setup --non-interactive` for this world; throws when it fails. */
  setup(extra?: string[]): Promise<CliResult>
  /** Makes `<reposRoot>/<name>` with a file in it (and `git init` when asked). */
  makeRepo(name: string, options?: {git?: boolean}): string
  /** Writes the project's `repos.d/<name>.toml`. */
  writeOverride(name: string, toml: string): void
  /** Runs git in a repo as the world's user (git refuses repos owned by another user). */
  git(repo: string, ...args: string[]): string
  registryText(): string
  /** Writes a registry by hand (no Incus needed) with these projects. */
  writeRegistry(projects: Array<{name: string; repo?: string; backup?: boolean}>, defaults?: string): void
  dispose(): void
}

/** Skips the suite, saying why, when there is no daemon; under CI=true that is a failure instead. */
export function requireIncus(context: Context): string {
  const dir = process.env.REPOMAN_TEST_INCUS_DIR
  if (!dir) {
    const why = process.env.REPOMAN_TEST_NO_INCUS ?? 'no test daemon (run the suite with npm test)'
    if (process.env.CI === 'true') throw new Error(`CI=true and there is no Incus to test against: ${why}`)
    console.warn(`      skipped: ${why}`)
    context.skip()
  }
  return dir as string
}

/** Like requireIncus, for suites that need the real Debian image as well. */
export function requireRealImage(context: Context): string {
  const dir = requireIncus(context)
  const why = process.env.REPOMAN_TEST_NO_REAL_IMAGE
  if (why) {
    if (process.env.CI === 'true') throw new Error(`CI=true and the real Debian test image is missing: ${why}`)
    console.warn(`      skipped: no real image (${why})`)
    context.skip()
  }
  return dir
}

/** Skips a test on the btrfs pool, saying why, when the daemon has none; under CI=true that is a failure. */
export function requirePool(context: Context, pool: string): void {
  const why = pool === BTRFS_POOL ? process.env.REPOMAN_TEST_NO_BTRFS : undefined
  if (!why) return
  if (process.env.CI === 'true') throw new Error(`CI=true and the ${pool} pool is missing: ${why}`)
  console.warn(`      skipped: no ${pool} pool (${why})`)
  context.skip()
}

function testUser(): TestUser {
  const user = process.env.REPOMAN_TEST_USER
  if (!user) throw new Error('no test user: run the suite through test/setup.ts (npm test)')
  return JSON.parse(user)
}

let worlds = 0

/**
 * `{user: true}`: the CLI runs as the non-root test user (uid 1001), who owns the world's home
 * and repos, as a real user would; otherwise as root.
 */
export function makeWorld(incusDir: string, options: {user?: boolean} = {}): World {
  const user = options.user ? testUser() : undefined
  // Not under /tmp: systemd images mount a tmpfs there, over the repo's path.
  const home = mkdtempSync('/var/tmp/rm-home-')
  const reposRoot = join(home, 'repos')
  const backupRoot = join(home, 'backup')
  mkdirSync(reposRoot, {recursive: true})
  const incusProject = `t${process.pid}-${++worlds}`
  const env: NodeJS.ProcessEnv = {
    PATH: process.env.PATH,
    HOME: home,
    USER: user?.name ?? 'root',
    LANG: 'C.UTF-8',
    INCUS_DIR: incusDir,
    NO_COLOR: '1',
  }
  if (user) chownSync(home, user.uid, user.gid)
  const chownToUser = (path: string) => {
    if (user) execFileSync('chown', ['-R', `${user.uid}:${user.gid}`, path])
  }
  chownToUser(reposRoot)
  // setpriv keeps the environment as given: HOME and USER are the world's.
  const asUser = (command: string[]) =>
    user ? ['setpriv', `--reuid=${user.uid}`, `--regid=${user.gid}`, '--init-groups', ...command] : command
  const world: World = {
    user,
    home,
    reposRoot,
    backupRoot,
    incusProject,
    env,
    registryFile: join(home, '.config/repoman/repoman.toml'),
    cli(args, options = {}) {
      return new Promise((resolvePromise, reject) => {
        const [command, ...rest] = asUser([process.execPath, BIN, ...args]) as [string, ...string[]]
        const child = spawn(command, rest, {
          env: {...env, ...options.env},
          cwd: options.cwd ?? home,
          stdio: [options.input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'],
          ...(options.timeout ? {timeout: options.timeout, killSignal: 'SIGKILL' as const} : {}),
        })
        let stdout = ''
        let stderr = ''
        child.stdout?.on('data', (d) => (stdout += d))
        child.stderr?.on('data', (d) => (stderr += d))
        child.on('error', reject)
        child.on('close', (exitCode) => resolvePromise({exitCode, stdout, stderr}))
        if (options.input !== undefined) child.stdin?.end(options.input)
      })
    },
    incus(args) {
      const run = incusWhenFree(['--project', incusProject, ...args], env)
      if (run.status === 0) return run.stdout
      throw Object.assign(new Error(`Command failed: incus ${args.join(' ')}\n${run.stderr}`), {
        stdout: run.stdout,
        stderr: run.stderr,
        status: run.status,
      })
    },
    query(path) {
      const scoped = `${path}${path.includes('?') ? '&' : '?'}project=${incusProject}`
      return JSON.parse(
        execFileSync('incus', ['query', scoped], {env, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe']}),
      )
    },
    async setup(extra = []) {
      const args = ['setup', '--non-interactive', '--repos-root', reposRoot, '--backup-root', backupRoot]
      const result = await world.cli([
        ...args,
        '--image',
        TEST_IMAGE,
        '--incus-project',
        incusProject,
        '--lan-ip',
        '192.0.2.10',
        ...extra,
      ])
      if (result.exitCode !== 0) throw new Error(`setup failed: ${result.stderr}`)
      return result
    },
    writeOverride(name, toml) {
      writeFileSync(join(home, '.config/repoman/repos.d', `${name}.toml`), toml)
    },
    makeRepo(name, options = {}) {
      const dir = join(reposRoot, name)
      mkdirSync(dir, {recursive: true})
      execFileSync('sh', ['-c', 'echo "hello" > README.md && mkdir -p src && echo "x=1" > src/main.txt'], {cwd: dir})
      if (options.git) execFileSync('git', ['init', '-q'], {cwd: dir})
      chownToUser(dir)
      return dir
    },
    git(repo, ...args) {
      const [command, ...rest] = asUser(['git', '-C', repo, ...args]) as [string, ...string[]]
      return execFileSync(command, rest, {encoding: 'utf8', env: {...env, GIT_CONFIG_NOSYSTEM: '1'}})
    },
    writeRegistry(projects, defaults = '') {
      mkdirSync(join(home, '.config/repoman'), {recursive: true})
      const entries = projects
        .map(
          (p) =>
            `[[project]]\nname = "${p.name}"\nrepo = "${p.repo ?? p.name}"\ncreated = "2026-01-01T00:00:00Z"\nbackup = ${p.backup ?? true}\n`,
        )
        .join('\n')
      writeFileSync(
        world.registryFile,
        `schema = 3\n[defaults]\nrepos_root = "${reposRoot}"\nbackup_root = "${backupRoot}"\nincus_project = "${incusProject}"\n${defaults}\n${entries}`,
      )
      chownToUser(join(home, '.config'))
    },
    registryText() {
      return readFileSync(world.registryFile, 'utf8')
    },
    dispose() {
      // The gateway new or a session started for this world's user.
      const gateway = gatewayPid(join(home, '.local/state/repoman'))
      if (gateway !== undefined) process.kill(gateway, 'SIGTERM')
      const quiet = {env, encoding: 'utf8' as const, stdio: ['ignore', 'pipe', 'ignore'] as ('ignore' | 'pipe')[]}
      try {
        const instances = JSON.parse(
          execFileSync('incus', ['query', `/1.0/instances?recursion=1&project=${incusProject}`], quiet),
        )
        for (const {name, config} of instances as Array<{name: string; config: Record<string, string>}>) {
          incusWhenFree(['delete', '--force', name, '--project', incusProject], env)
          // An isolated project's own bridge and ACL (what `repoman remove` would delete).
          const bridge = config['user.repoman.network']
          if (bridge) execFileSync('incus', ['network', 'delete', bridge, '--project', incusProject], quiet)
          if (bridge)
            execFileSync('incus', ['network', 'acl', 'delete', `repoman-${name}`, '--project', incusProject], quiet)
        }
        const profiles = JSON.parse(
          execFileSync('incus', ['query', `/1.0/profiles?project=${incusProject}`], quiet),
        ) as string[]
        for (const name of profiles.map((url) => url.split('/').pop() as string).filter((n) => n !== 'default'))
          execFileSync('incus', ['profile', 'delete', name, '--project', incusProject], quiet)
        execFileSync('incus', ['project', 'delete', incusProject], quiet)
      } catch {
        // The project was never created.
      }
      rmSync(home, {recursive: true, force: true})
    },
  }
  return world
}

/** Host git's identity for commits the tests make as the user. */
export const HOST_GIT_ID = ['-c', 'user.name=Host', '-c', 'user.email=host@example.org']
/** git inside, as the agent commits. */
export const AGENT_GIT = 'git -c user.name=Agent -c user.email=agent@example.org'

/** A git repo of the world's user with one commit on main. */
export function committedRepo(world: World, name: string): string {
  const repo = world.makeRepo(name, {git: true})
  world.git(repo, 'symbolic-ref', 'HEAD', 'refs/heads/main')
  world.git(repo, 'add', '.')
  world.git(repo, ...HOST_GIT_ID, 'commit', '-qm', 'init')
  return repo
}

/** Polls `read` until `done` says its value is there (or the time is up): what a background process does. */
export async function eventually<T>(read: () => T, done: (value: T) => boolean, ms = 20_000): Promise<T> {
  const deadline = Date.now() + ms
  let value = read()
  while (!done(value) && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 100))
    value = read()
  }
  return value
}

/**
 * `incus ARGS`, output captured, tried again while Incus says the instance is busy: the gateway
 * holds a container for Incus's second over its proxy device just after `new`.
 */
export function incusWhenFree(args: string[], env: NodeJS.ProcessEnv): SpawnSyncReturns<string> {
  const deadline = Date.now() + 15_000
  for (;;) {
    const run = spawnSync('incus', args, {env, encoding: 'utf8'})
    if (run.status === 0 || !/busy running a|non-reusable/.test(run.stderr) || Date.now() > deadline) return run
    spawnSync('sleep', ['0.2'])
  }
}
