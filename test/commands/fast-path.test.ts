import {spawnSync} from 'node:child_process'
import {writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {expect} from 'chai'
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
})
