import {spawnSync} from 'node:child_process'
import {existsSync, readdirSync, readFileSync, writeFileSync} from 'node:fs'
import nodeModule from 'node:module'
import {join} from 'node:path'
import {expect} from 'chai'
import {CONFIG_KEYS} from '../../src/lib/lifecycle/containers.js'
import {BIN, type CliResult, makeWorld, requireIncus, type World} from '../helpers/world.js'

const FAST = {DEBUG: 'repoman'}
const OCLIF = {REPOMAN_NO_FAST_PATH: '1'}

describe('the fast path (real Incus)', () => {
  let world: World
  let repo: string
  before(async function () {
    world = makeWorld(requireIncus(this))
    await world.setup()
    repo = world.makeRepo('alpha', {git: true})
    world.makeRepo('beta')
    for (const name of ['alpha', 'beta']) expect((await world.cli(['new', name])).exitCode).to.equal(0)
  })
  after(() => world?.dispose())

  /** Runs `args` both ways; the fast path must have run, and the user must see the same. */
  async function both(args: string[], options: {cwd?: string; input?: string} = {}): Promise<CliResult> {
    const fast = await world.cli(args, {...options, env: FAST})
    const oclif = await world.cli(args, {...options, env: OCLIF})
    expect(fast.stderr, args.join(' ')).to.include(`repoman:fast-path ran ${args[0]}\n`)
    expect(fast.stdout, args.join(' ')).to.equal(oclif.stdout)
    expect(fast.stderr.replace(/^repoman:fast-path .*\n/m, ''), args.join(' ')).to.equal(oclif.stderr)
    expect(fast.exitCode, args.join(' ')).to.equal(oclif.exitCode)
    return fast
  }

  it('list and status print what the oclif commands print, byte for byte, with the same exit code', async () => {
    const list = JSON.parse((await both(['list', '--json'])).stdout)
    expect(list.map((row: {name: string; state: string}) => `${row.name} ${row.state}`)).to.deep.equal([
      'alpha running',
      'beta running',
    ])
    expect((await both(['list'])).stdout).to.match(/^NAME +REPO +IMAGE +STATE/)
    // No backup mount in this world: status is unhealthy (exit 1) both ways.
    const status = await both(['status', '--json'])
    expect(status.exitCode).to.equal(1)
    expect(JSON.parse(status.stdout).projects).to.have.length(2)
    expect((await both(['status', 'beta'])).stdout).to.match(/ beta: running, /)

    world.incus(['delete', '--force', 'beta'])
    expect((await both(['list'])).stdout).to.include('(!) beta: container is gone')
  })

  it('exec passes stdin, stdout, stderr, the working directory, the environment and the exit code through', async () => {
    const result = await both(
      ['exec', '--cwd', 'src', '--env', 'A=1', '--', 'sh', '-c', 'pwd; echo $A; cat; echo e >&2; exit 3'],
      {
        cwd: repo,
        input: 'in\n',
      },
    )
    expect(result.exitCode).to.equal(3)
    expect(result.stdout).to.equal(`${join(repo, 'src')}\n1\nin\n`)
  })

  it('shell runs a login shell in the repo, reading commands from stdin off a terminal', async () => {
    const result = await both(['shell', 'alpha'], {input: 'pwd; exit 4\n'})
    expect(result.stdout).to.equal(`${repo}\n`)
    expect(result.exitCode).to.equal(4)
  })

  it('leaves --verbose to oclif, which echoes each call to Incus and says how it went', async () => {
    const result = await world.cli(['exec', 'alpha', '--verbose', '--', 'true'], {env: FAST})
    expect(result.stderr).to.not.include('repoman:fast-path')
    const lines = result.stderr.trim().split('\n')
    expect(lines[0]).to.match(
      /^\$ incus query \/1\.0\/instances\/alpha\?project=\S+ {2}\[exit 0\] {2}\(read over \S+unix\.socket\)$/,
    )
    expect(lines[1]).to.match(/^\$ incus exec alpha --project \S+ --force-noninteractive .* -- true {2}\[exit 0\]$/)
  })

  it('reports failures itself, in the words, stream and exit code oclif uses, without handing over', async () => {
    const missing = await both(['status', 'nope'])
    expect(missing.stderr).to.match(/^Error: no project "nope"; `repoman list` shows the projects$/m)
    expect(missing.exitCode).to.equal(1)

    const outside = await both(['exec', '--', 'true'], {cwd: world.home})
    expect(outside.stderr).to.match(
      /^Error: \S+ is not inside a registered repo; name the project, or cd into its repo$/m,
    )
    expect(outside.exitCode).to.equal(2)

    const before = world.registryText()
    writeFileSync(world.registryFile, before.replace('[defaults]', '[defaults]\nrepos_root = 5'))
    const broken = await both(['list', '--json'])
    expect(JSON.parse(broken.stdout).error).to.include({code: 'CONFIG', exit_code: 1})
    expect(JSON.parse(broken.stdout).error.message).to.match(/repoman\.toml:\d+: /)
    writeFileSync(world.registryFile, before)
    expect((await world.cli(['list'])).exitCode).to.equal(0)
  })

  it('new makes the container the oclif command makes, and says the same, warnings and failures included', async () => {
    world.makeRepo('gamma')
    /** `new gamma ...` on one path: what it printed and what it made, then gone again. */
    const newGamma = async (env: NodeJS.ProcessEnv, ...flags: string[]) => {
      const result = await world.cli(['new', 'gamma', ...flags], {env})
      const instance = world.query('/1.0/instances/gamma')
      const config = Object.fromEntries(
        Object.entries(instance.config as Record<string, string>).filter(
          ([key]) => !key.startsWith('volatile.') && key !== CONFIG_KEYS.token,
        ),
      )
      const made = {config, devices: instance.devices, profiles: instance.profiles, status: instance.status}
      const entry = /\[\[project\]\]\nname = "gamma"[^[]*/.exec(world.registryText())?.[0]
      expect((await world.cli(['remove', 'gamma', '--yes'])).exitCode).to.equal(0)
      return {result, made, entry: entry?.replace(/created = .*/, '')}
    }
    const fast = await newGamma(FAST, '--non-interactive')
    const oclif = await newGamma(OCLIF, '--non-interactive')
    expect(fast.result.stderr).to.include('repoman:fast-path ran new\n')
    expect(fast.result.stdout).to.equal(oclif.result.stdout)
    expect(fast.result.stdout).to.match(/^Created "gamma": /)
    expect(fast.result.stderr.replace(/^repoman:fast-path .*\n/m, '')).to.equal(oclif.result.stderr)
    expect(fast.result.stderr).to.match(/^Warning: \S+gamma is neither a git nor an hg repo$/m)
    expect(fast.result.exitCode).to.equal(0)
    expect(oclif.result.exitCode).to.equal(0)
    expect(fast.made).to.deep.equal(oclif.made)
    expect(fast.made.status).to.equal('Running')
    expect(fast.entry).to.equal(oclif.entry).and.to.include('repo = "gamma"')

    const fastJson = await newGamma(FAST, '-y', '--json')
    const oclifJson = await newGamma(OCLIF, '-y', '--json')
    const result = (run: {result: CliResult}) => ({...JSON.parse(run.result.stdout), created: undefined})
    expect(result(fastJson)).to.deep.equal(result(oclifJson))
    expect(result(fastJson)).to.include({name: 'gamma', state: 'running'})
    expect(fastJson.result.stderr.replace(/^repoman:fast-path .*\n/m, '')).to.equal(oclifJson.result.stderr)

    const missing = await both(['new', 'gamma', '--repo', 'nowhere', '--non-interactive'])
    expect(missing.stderr).to.match(/^Error: repo \S+nowhere does not exist; create or clone it there first/m)
    expect(missing.exitCode).to.not.equal(0)
    const taken = await both(['new', 'alpha', '-y', '--json'])
    expect(JSON.parse(taken.stdout).error).to.include({code: 'PROJECT_EXISTS'})
  })

  it('output cut short by a reader that left (`| head`) is no error', async () => {
    const before = world.registryText()
    const many = Array.from(
      {length: 800},
      (_, i) => `[[project]]\nname = "x${i}"\nrepo = "x${i}"\ncreated = "2026-01-01T00:00:00Z"\n`,
    ).join('\n')
    writeFileSync(world.registryFile, `${before}\n${many}`)
    for (const env of [FAST, OCLIF]) {
      const piped = spawnSync(
        'bash',
        ['-c', `"${process.execPath}" "${BIN}" list --json | head -c 1; exit \${PIPESTATUS[0]}`],
        {
          env: {...world.env, ...env},
          encoding: 'utf8',
        },
      )
      expect(piped.stdout).to.equal('[')
      expect(piped.stderr.replace(/^repoman:fast-path .*\n/m, '')).to.equal('')
      expect(piped.status).to.equal(0)
    }
    writeFileSync(world.registryFile, before)
  })

  it("a code cache of the bundle (Node 20) that is not V8's own is replaced, and the command still runs", async () => {
    const cacheDir = join(world.home, '.cache/repoman')
    const caches = () => readdirSync(cacheDir).filter((name) => name.startsWith('fast-path-'))
    expect((await world.cli(['list', '--json'], {env: FAST})).exitCode).to.equal(0)
    // Node 22+ keeps compiled code itself, and repoman makes no cache of its own there.
    if ('enableCompileCache' in nodeModule) {
      expect(existsSync(cacheDir) ? caches() : []).to.deep.equal([])
      return
    }
    const [cache] = caches()
    expect(cache).to.match(new RegExp(`^fast-path-${process.version}-\\d+-\\d+\\.v8$`))
    const file = join(cacheDir, cache as string)
    writeFileSync(file, 'not a code cache')
    const listed = await world.cli(['list', '--json'], {env: FAST})
    expect(listed.exitCode, listed.stderr).to.equal(0)
    expect(JSON.parse(listed.stdout).map((row: {name: string}) => row.name)).to.include('alpha')
    expect(caches()).to.deep.equal([cache])
    expect(readFileSync(file).length).to.be.greaterThan(1000)
  })
})
