/**
 * `npm run bench`: repoman against the floor it cannot go below (Node's own start-up plus the
 * cheapest Incus call or the bare tool), on a private Incus daemon with many busybox projects.
 * Each pair runs alternately (A B A B ...) and the medians are compared. Also counts the
 * `incus` processes each command starts, and its calls to Incus (socket or CLI), at two world
 * sizes. Writes bench/results.json.
 */
import {execFileSync, spawnSync} from 'node:child_process'
import {chmodSync, chownSync, mkdirSync, mkdtempSync, rmSync, writeFileSync} from 'node:fs'
import {cpus, totalmem} from 'node:os'
import {join, resolve} from 'node:path'
import {containmentSeccompPolicy} from '../src/lib/lifecycle/containment.js'
import {installClaudeCodeFor} from '../test/helpers/claude-npm.js'
import {BTRFS_POOL, REAL_IMAGE, startTestDaemon, TEST_IMAGE, type TestDaemon} from '../test/helpers/incus-daemon.js'
import {mountTmpfs, unmount} from '../test/helpers/mounts.js'
import {BIN, incusWhenFree, makeWorld, type World} from '../test/helpers/world.js'

const RUNS = Number(process.env.BENCH_RUNS ?? 9)

function time(cmd: string[], env: NodeJS.ProcessEnv, cwd?: string): number {
  const started = process.hrtime.bigint()
  const result = spawnSync(cmd[0] as string, cmd.slice(1), {env, cwd, stdio: ['ignore', 'ignore', 'pipe']})
  const ms = Number(process.hrtime.bigint() - started) / 1e6
  if (result.status !== 0) throw new Error(`${cmd.join(' ')} failed: ${result.stderr}`)
  return ms
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b)
  return s[Math.floor(s.length / 2)] as number
}

interface Row {
  what: string
  repoman_ms: number
  floor_ms: number
  floor: string
  ratio: number
  target: number
  ok: boolean
}

/** Runs `a` and the floor's parts alternately; the floor is the sum of its parts' medians. */
function compare(
  what: string,
  a: () => number,
  floorParts: Array<() => number>,
  floor: string,
  target: number,
  setup?: () => void,
  runs = RUNS,
): Row {
  const as: number[] = []
  const bs: number[][] = floorParts.map(() => [])
  for (let i = 0; i < runs; i++) {
    setup?.()
    as.push(a())
    floorParts.forEach((part, j) => {
      setup?.()
      bs[j]?.push(part())
    })
  }
  const repomanMs = median(as)
  const floorMs = bs.reduce((sum, runs) => sum + median(runs), 0)
  const ratio = repomanMs / floorMs
  const row = {
    what,
    repoman_ms: round(repomanMs),
    floor_ms: round(floorMs),
    floor,
    ratio: round(ratio, 2),
    target,
    ok: ratio <= target,
  }
  console.log(
    `${row.ok ? 'ok  ' : 'SLOW'} ${what}: ${row.repoman_ms} ms vs ${row.floor_ms} ms (${row.ratio}x, target <= ${target}x; +${round(repomanMs - floorMs)} ms)`,
  )
  return row
}

const round = (x: number, digits = 1) => Math.round(x * 10 ** digits) / 10 ** digits

/** A PATH whose `incus` logs every invocation before running the real one. */
function countingPath(dir: string): {
  env: (base: NodeJS.ProcessEnv) => NodeJS.ProcessEnv
  count: () => number
  reset: () => void
} {
  const bin = join(dir, 'shim')
  const log = join(dir, 'incus-calls.log')
  mkdirSync(bin, {recursive: true})
  const real = execFileSync('sh', ['-c', 'command -v incus'], {encoding: 'utf8'}).trim()
  writeFileSync(join(bin, 'incus'), `#!/bin/sh\necho "$*" >> "${log}"\nexec ${real} "$@"\n`)
  chmodSync(join(bin, 'incus'), 0o755)
  return {
    env: (base) => ({...base, PATH: `${bin}:${base.PATH}`}),
    count: () => {
      try {
        return execFileSync('wc', ['-l', log], {encoding: 'utf8'}).trim().split(' ')[0] as unknown as number
      } catch {
        return 0
      }
    },
    reset: () => writeFileSync(log, ''),
  }
}

const NEW_RUNS = Number(process.env.BENCH_NEW_RUNS ?? 5)

/**
 * `repoman new` on the real Debian image, acting for uid 1001 (as under `sudo repoman`, so the
 * account is really made), against `incus launch` of the same image on the same pool with the
 * same repo disk plus `systemctl is-system-running --wait` (a container a user can work in):
 * the difference is repoman's own (checks, account, containment, registry). On `pool`.
 */
function newOnRealImage(incusDir: string, pool: string, target: number, clone = false): Row {
  const image = REAL_IMAGE
  const world = makeWorld(incusDir)
  try {
    const {env, repo} = realImageWorld(world, pool)
    // A clone is made from a commit: the repo's files, committed.
    if (clone) commitAll(world, repo)
    const cleanup = () => {
      for (const name of ['realbench', 'rawreal'])
        incusWhenFree(['delete', '--force', name, '--project', world.incusProject], env)
      world.writeRegistry([], `default_image = "${image}"`)
    }
    cleanup()
    return compare(
      `repoman new${clone ? ' --clone' : ''} (Debian 13 image, uid 1001, ${pool} pool)`,
      () => time([process.execPath, BIN, 'new', 'realbench', '--non-interactive', ...(clone ? ['--clone'] : [])], env),
      [() => launchReady(world, repo, 'rawreal')],
      `incus launch (same image, pool, repo disk) + systemctl is-system-running --wait`,
      target,
      cleanup,
      NEW_RUNS,
    )
  } finally {
    world.dispose()
  }
}

function commitAll(world: World, repo: string): void {
  world.git(repo, 'add', '.')
  world.git(repo, '-c', 'user.name=Bench', '-c', 'user.email=bench@example.org', 'commit', '-qm', 'bench')
}

/** A world set up on `pool` for uid 1001 (SUDO_USER, as `sudo repoman`), with a git repo `realbench`. */
function realImageWorld(world: World, pool: string): {env: NodeJS.ProcessEnv; repo: string} {
  const env = {...world.env, SUDO_USER: 'rmtest', SUDO_UID: '1001', SUDO_GID: '1001'}
  const setup = ['setup', '--non-interactive', '--repos-root', world.reposRoot, '--backup-root', world.backupRoot]
  execFileSync(
    process.execPath,
    [BIN, ...setup, '--image', REAL_IMAGE, '--incus-project', world.incusProject, '--storage-pool', pool],
    {env, stdio: 'ignore'},
  )
  return {env, repo: world.makeRepo('realbench', {git: true})}
}

/** `incus launch` of the real image with the repo disk, until systemd is up; its time in ms. */
function launchReady(world: World, repo: string, name: string): number {
  const yaml = `devices:\n  repo:\n    type: disk\n    source: ${repo}\n    path: ${repo}\n    shift: "true"\n`
  const started = process.hrtime.bigint()
  execFileSync('incus', ['launch', REAL_IMAGE, name, '--project', world.incusProject], {
    env: world.env,
    input: yaml,
    stdio: ['pipe', 'ignore', 'ignore'],
  })
  // Degraded is the usual verdict in a container (systemd-modules-load fails): any verdict is ready.
  spawnSync(
    'incus',
    ['exec', name, '--project', world.incusProject, '--', 'systemctl', 'is-system-running', '--wait'],
    {
      env: world.env,
      stdio: 'ignore',
    },
  )
  return Number(process.hrtime.bigint() - started) / 1e6
}

/**
 * Time to an agent prompt: `new` and then the `claude` launcher's `claude --version` (Claude Code
 * from npm in the user's ~/.local, shared by the claude-share profile), against the same launch
 * and then `incus exec ... claude --version` as uid 1001.
 */
function newThenAgent(incusDir: string, pool: string): Row | undefined {
  // As the host user really runs it (uid 1001, its own HOME), so the launcher and the shared
  // ~/.claude are that user's.
  const world = makeWorld(incusDir, {user: true})
  try {
    const asUser = (command: string[]) => ['setpriv', '--reuid=1001', '--regid=1001', '--init-groups', ...command]
    const env = world.env
    const repo = world.makeRepo('realbench', {git: true})
    const run = (command: string[], extra: NodeJS.ProcessEnv = {}) =>
      execFileSync(command[0] as string, command.slice(1), {env: {...env, ...extra}, cwd: repo, stdio: 'ignore'})
    try {
      installClaudeCodeFor(world.home, 1001, 1001)
    } catch (error) {
      console.log(`skipped new + claude --version: ${(error as Error).message}`)
      return undefined
    }
    // What claude-share mounts, and the program on PATH for `profile install` to find.
    mkdirSync(join(world.home, '.claude'))
    writeFileSync(join(world.home, '.claude.json'), '{}\n')
    for (const path of ['.claude', '.claude.json']) chownSync(join(world.home, path), 1001, 1001)
    const setup = ['setup', '--non-interactive', '--repos-root', world.reposRoot, '--backup-root', world.backupRoot]
    run(asUser([process.execPath, BIN, ...setup, '--image', REAL_IMAGE, '--incus-project', world.incusProject]))
    run(asUser([process.execPath, BIN, 'setup', '--storage-pool', pool]))
    run(asUser([process.execPath, BIN, 'profile', 'install', 'claude-share']), {
      PATH: `${join(world.home, '.local/bin')}:${env.PATH}`,
    })
    run(asUser([process.execPath, BIN, 'agent', 'install', 'claude']))
    const launcher = join(world.home, '.local/share/repoman/bin/claude')
    const registry = world.registryText()
    const cleanup = () => {
      for (const name of ['realbench', 'rawreal'])
        incusWhenFree(['delete', '--force', name, '--project', world.incusProject], env)
      writeFileSync(world.registryFile, registry)
    }
    const claudeBin = join(world.home, '.local/bin/claude')
    const shared = `  claude:\n    type: disk\n    source: ${join(world.home, '.local')}\n    path: ${join(world.home, '.local')}\n    readonly: "true"\n    shift: "true"\n`
    cleanup()
    return compare(
      `repoman new + claude launcher --version (${pool} pool)`,
      () => {
        const started = process.hrtime.bigint()
        run(asUser([process.execPath, BIN, 'new', 'realbench', '--non-interactive', '--profile', 'claude-share']))
        run(asUser([launcher, '--version']))
        return Number(process.hrtime.bigint() - started) / 1e6
      },
      [
        () => {
          const yaml = `devices:\n  repo:\n    type: disk\n    source: ${repo}\n    path: ${repo}\n    shift: "true"\n${shared}`
          const started = process.hrtime.bigint()
          execFileSync('incus', ['launch', REAL_IMAGE, 'rawreal', '--project', world.incusProject], {
            env,
            input: yaml,
            stdio: ['pipe', 'ignore', 'ignore'],
          })
          execFileSync(
            'incus',
            ['exec', 'rawreal', '--project', world.incusProject, '--user', '1001', '--', claudeBin, '--version'],
            {env, stdio: 'ignore'},
          )
          return Number(process.hrtime.bigint() - started) / 1e6
        },
      ],
      'incus launch (same image, pool, repo and ~/.local disks) + incus exec claude --version',
      1.5,
      cleanup,
      NEW_RUNS,
    )
  } finally {
    world.dispose()
  }
}

/** The rows of `new` on the real image: btrfs (the bar), the agent prompt, and dir for reference. */
function newRows(daemon: TestDaemon): Row[] {
  if (daemon.realImageMissing) {
    console.log(`skipped repoman new on the real image: ${daemon.realImageMissing}`)
    return []
  }
  const rows: Row[] = []
  if (daemon.btrfsMissing) console.log(`skipped repoman new on btrfs: ${daemon.btrfsMissing}`)
  else {
    // Issue 31's bar for `new` on a copy-on-write pool, with or without a clone.
    rows.push(newOnRealImage(daemon.dir, BTRFS_POOL, 1.3))
    rows.push(newOnRealImage(daemon.dir, BTRFS_POOL, 1.3, true))
    const agent = newThenAgent(daemon.dir, BTRFS_POOL)
    if (agent) rows.push(agent)
  }
  rows.push(newOnRealImage(daemon.dir, 'default', 1.5))
  return rows
}

/**
 * Taking 10k new objects from an agent's git dir (10,000 blobs, their tree and a commit, written
 * loose as git inside writes them) against `git fetch` of the same commit from a local repo:
 * git's own way to move those objects between repositories. Each run starts from fresh repos.
 */
async function importRow(): Promise<Row> {
  const {prepareAgentGit} = await import('../src/lib/git/agent-git.js')
  const root = mkdtempSync('/var/tmp/repoman-bench-import-')
  const git = (cwd: string, args: string[], env: NodeJS.ProcessEnv = {}) =>
    execFileSync('git', ['-c', 'user.name=b', '-c', 'user.email=b@example.org', ...args], {
      cwd,
      env: {...process.env, ...env},
      encoding: 'utf8',
      maxBuffer: 64 * 1024 * 1024,
      // The agent's alternates name its path inside, which host git here says it cannot find.
      stdio: ['ignore', 'pipe', 'pipe'],
    })
  let run = 0
  let current: {repo: string; state: string; source: string} | undefined
  const setup = async () => {
    const dir = join(root, String(run++))
    const repo = join(dir, 'repo')
    mkdirSync(join(repo, 'files'), {recursive: true})
    git(dir, ['init', '-q', '-b', 'main', repo])
    writeFileSync(join(repo, 'README'), 'bench\n')
    git(repo, ['add', 'README'])
    git(repo, ['commit', '-qm', 'init'])
    const state = join(dir, 'state')
    const agentDir = await prepareAgentGit(repo, state, 'bench')
    const agentEnv = {
      GIT_DIR: agentDir,
      GIT_WORK_TREE: repo,
      GIT_ALTERNATE_OBJECT_DIRECTORIES: join(repo, '.git/objects'),
    }
    for (let i = 0; i < 10_000; i++) writeFileSync(join(repo, 'files', String(i)), `file ${i} of run ${run}\n`)
    git(repo, ['add', 'files'], agentEnv)
    git(repo, ['commit', '-qm', '10k files'], agentEnv)
    // The same files committed in a plain clone, for git fetch to take.
    const source = join(dir, 'source')
    git(dir, ['clone', '-q', '--no-local', repo, source])
    mkdirSync(join(source, 'files'))
    for (let i = 0; i < 10_000; i++) writeFileSync(join(source, 'files', String(i)), `file ${i} of run ${run}\n`)
    git(source, ['add', 'files'])
    git(source, ['commit', '-qm', '10k files'])
    git(source, ['branch', 'agent'])
    current = {repo, state, source}
  }
  const importOnce = () => {
    const {repo, state} = current as NonNullable<typeof current>
    const out = execFileSync(
      process.execPath,
      ['--import', 'tsx', resolve(import.meta.dirname, 'import-once.ts'), repo, state, 'bench'],
      {encoding: 'utf8'},
    )
    return Number(out.trim())
  }
  const fetchOnce = () => {
    const {repo, source} = current as NonNullable<typeof current>
    return time(['git', '-C', repo, 'fetch', '-q', source, 'agent:refs/remotes/fetched/agent'], process.env)
  }
  const as: number[] = []
  const bs: number[] = []
  try {
    for (let i = 0; i < Math.min(RUNS, 5); i++) {
      await setup()
      as.push(importOnce())
      await setup()
      bs.push(fetchOnce())
    }
  } finally {
    rmSync(root, {recursive: true, force: true})
  }
  const repomanMs = median(as)
  const floorMs = median(bs)
  const row = {
    what: "import of an agent's 10k new objects",
    repoman_ms: round(repomanMs),
    floor_ms: round(floorMs),
    floor: 'git fetch of the same commit from a local repo',
    ratio: round(repomanMs / floorMs, 2),
    target: 2,
    ok: repomanMs / floorMs <= 2,
  }
  console.log(
    `${row.ok ? 'ok  ' : 'SLOW'} ${row.what}: ${row.repoman_ms} ms vs ${row.floor_ms} ms (${row.ratio}x, target <= 2x)`,
  )
  return row
}

/** BENCH_ONLY=new: just the rows of `new` on the real image. */
async function newOnly(): Promise<void> {
  const daemon = await startTestDaemon()
  process.env.REPOMAN_TEST_USER = JSON.stringify(daemon.user)
  try {
    for (const r of newRows(daemon))
      console.log(`| ${r.what} | ${r.repoman_ms} ms | ${r.floor_ms} ms (${r.floor}) | ${r.ratio}x | <= ${r.target}x |`)
  } finally {
    daemon.stop()
  }
}

async function main(): Promise<void> {
  if (process.env.BENCH_ONLY === 'new') return newOnly()
  // Needs no daemon: first, and alone with BENCH_ONLY=import.
  const importMeasured = await importRow()
  if (process.env.BENCH_ONLY === 'import') return
  const daemon = await startTestDaemon()
  // For worlds whose CLI runs as the test user (makeWorld's {user: true}).
  process.env.REPOMAN_TEST_USER = JSON.stringify(daemon.user)
  const world: World = makeWorld(daemon.dir)
  const rows: Row[] = [importMeasured]
  const processCounts: Record<string, Record<string, number>> = {}
  const incusCalls: Record<string, Record<string, number>> = {}
  try {
    await world.setup()
    const env = world.env
    const node = process.execPath
    const repoman =
      (...args: string[]) =>
      () =>
        time([node, BIN, ...args], env)
    const nodeFloor = () => time([node, '-e', '0'], env)
    const incus =
      (...args: string[]) =>
      () =>
        time(['incus', ...args], env)
    const list = () => time(['incus', 'query', `/1.0/instances?recursion=1&project=${world.incusProject}`], env)

    rows.push(compare('repoman --version', repoman('--version'), [nodeFloor], 'node -e 0', 1.3))
    rows.push(compare('repoman --help', repoman('--help'), [nodeFloor], 'node -e 0', 1.8))

    // Projects: containers made directly (fast) with the repo disk `new` gives, registered by hand.
    const addDisk = (names: string[]) => {
      for (const name of names) {
        const repo = join(world.reposRoot, name)
        world.incus(['config', 'device', 'add', name, 'repo', 'disk', `source=${repo}`, `path=${repo}`, 'shift=true'])
      }
    }
    const registerAll = (count: number) =>
      world.writeRegistry(Array.from({length: count}, (_, i) => ({name: `p${String(i).padStart(3, '0')}`})))

    const counter = countingPath(world.home)
    const countIncus = (label: string, size: number, args: string[]) => {
      counter.reset()
      // Exit codes do not matter here (status is 1 while the world has no backup mount).
      spawnSync(node, [BIN, ...args], {env: counter.env(env), stdio: 'ignore', cwd: world.home})
      processCounts[label] = {...processCounts[label], [`${size} projects`]: Number(counter.count())}
      // Every call to Incus, over the socket or through the CLI, as --verbose lists them (oclif
      // keeps stderr quiet under --json).
      const [command, ...rest] = args.filter((arg) => arg !== '--json')
      const verbose = spawnSync(node, [BIN, command as string, '--verbose', ...rest], {env, encoding: 'utf8'})
      const calls = verbose.stderr.split('\n').filter((line) => line.startsWith('$ incus ')).length
      incusCalls[label] = {...incusCalls[label], [`${size} projects`]: calls}
    }

    /** How many incus processes list, status and exec start at this world size. */
    const countHotPaths = (size: number) => {
      countIncus('list', size, ['list', '--json'])
      countIncus('status', size, ['status', '--json'])
      countIncus('exec', size, ['exec', 'p000', '--', 'true'])
    }
    const launchBatch = (names: string[]) => {
      for (const name of names) world.incus(['start', name])
    }
    const batch = (from: number, to: number) => {
      const names = Array.from({length: to - from}, (_, i) => `p${String(from + i).padStart(3, '0')}`)
      for (const name of names) world.makeRepo(name)
      // With the containment policy `new` gives, or status counts them unhealthy (exit 1).
      const policy = `raw.seccomp=${containmentSeccompPolicy()}`
      for (const name of names) world.incus(['init', TEST_IMAGE, name, '--config', policy])
      addDisk(names)
      launchBatch(names)
    }
    batch(0, 30)
    registerAll(30)
    rows.push(
      compare(
        'repoman list --json (30 projects)',
        repoman('list', '--json'),
        [nodeFloor, list],
        'node -e 0 + incus query instances',
        1.3,
      ),
    )
    countHotPaths(30)

    batch(30, 100)
    registerAll(100)
    rows.push(
      compare(
        'repoman list --json (100 projects)',
        repoman('list', '--json'),
        [nodeFloor, list],
        'node -e 0 + incus query instances',
        1.3,
      ),
    )
    mountTmpfs(world.backupRoot, 'size=256m')
    rows.push(
      compare(
        'repoman status --json (100 projects)',
        repoman('status', '--json'),
        [nodeFloor, list],
        'node -e 0 + incus query instances',
        2.0,
      ),
    )
    rows.push(
      compare(
        'repoman exec p000 -- true',
        repoman('exec', 'p000', '--', 'true'),
        [nodeFloor, incus('exec', 'p000', '--project', world.incusProject, '--', 'true')],
        'node -e 0 + incus exec',
        1.3,
      ),
    )
    // An agent launcher (`repoman agent install`), typed in a repo: sh, then exec's fast path.
    // `true` is also a shell builtin, which agent install rightly says wins in a shell (exit 1);
    // the launcher it wrote is what is timed.
    spawnSync(node, [BIN, 'agent', 'install', 'true'], {env, stdio: 'ignore'})
    rows.push(
      compare(
        'launcher `true` in a repo',
        () => time([join(world.home, '.local/share/repoman/bin/true')], env, join(world.reposRoot, 'p000')),
        [nodeFloor, incus('exec', 'p000', '--project', world.incusProject, '--', 'true')],
        'node -e 0 + incus exec',
        1.6,
      ),
    )
    countHotPaths(100)

    // new: repoman's full create (checks, launch, home, registry) against a bare launch of the same.
    const benchRepo = world.makeRepo('newbench')
    const cleanup = () => {
      for (const name of ['newbench', 'rawbench'])
        incusWhenFree(['delete', '--force', name, '--project', world.incusProject], env)
      world.writeRegistry(Array.from({length: 100}, (_, i) => ({name: `p${String(i).padStart(3, '0')}`})))
    }
    const yaml = `devices:\n  repo:\n    type: disk\n    source: ${benchRepo}\n    path: ${benchRepo}\n    shift: "true"\n`
    const rawLaunch = () => {
      const started = process.hrtime.bigint()
      execFileSync('incus', ['launch', TEST_IMAGE, 'rawbench', '--project', world.incusProject], {
        env,
        input: yaml,
        stdio: ['pipe', 'ignore', 'ignore'],
      })
      return Number(process.hrtime.bigint() - started) / 1e6
    }
    rows.push(
      compare(
        'repoman new',
        () => time([node, BIN, 'new', 'newbench', '--image', TEST_IMAGE, '--non-interactive'], env),
        [rawLaunch],
        'incus launch (same repo disk, image)',
        1.15,
        cleanup,
      ),
    )
    cleanup()

    // The test daemon imports the real image (built once, cached by its recipe).
    rows.push(...newRows(daemon))

    // sync: 50 unchanged repos against one rsync of the whole repos root.
    world.writeRegistry(Array.from({length: 50}, (_, i) => ({name: `p${String(i).padStart(3, '0')}`})))
    execFileSync(node, [BIN, 'sync'], {env, stdio: 'ignore'})
    const rsyncAll = () =>
      time(['rsync', '-a', '--delete', `${world.reposRoot}/`, `${join(world.backupRoot, 'all')}/`], env)
    rsyncAll()
    rows.push(
      compare(
        'repoman sync (50 unchanged repos)',
        repoman('sync'),
        [rsyncAll],
        'one rsync -a --delete of the repos root',
        1.5,
      ),
    )
  } finally {
    unmount(world.backupRoot)
    world.dispose()
    daemon.stop()
  }

  const fixed = Object.fromEntries(
    Object.keys(processCounts).map((label) => [
      label,
      [processCounts[label], incusCalls[label]].every((bySize) => new Set(Object.values(bySize ?? {})).size === 1),
    ]),
  )
  console.log('\nincus processes started per command:', JSON.stringify(processCounts))
  console.log(
    'calls to Incus per command (socket or CLI):',
    JSON.stringify(incusCalls),
    'fixed:',
    JSON.stringify(fixed),
  )
  const machine = {
    node: process.version,
    cpus: cpus().length,
    cpu: cpus()[0]?.model,
    memory_gib: Math.round(totalmem() / 2 ** 30),
    runs: RUNS,
  }
  writeFileSync(
    resolve(import.meta.dirname, 'results.json'),
    `${JSON.stringify({date: new Date().toISOString(), machine, rows, incus_processes: processCounts, incus_calls: incusCalls, fixed_counts: fixed}, null, 2)}\n`,
  )
  console.log(`\n| what | repoman | floor | ratio | target |\n|---|---|---|---|---|`)
  for (const r of rows)
    console.log(
      `| ${r.what} | ${r.repoman_ms} ms | ${r.floor_ms} ms (${r.floor}) | ${r.ratio}x | <= ${r.target}x ${r.ok ? '' : '(missed)'} |`,
    )
}

await main()
