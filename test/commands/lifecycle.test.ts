import {createHash} from 'node:crypto'
import {readdirSync, readFileSync, statSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {expect} from 'chai'
import {makeWorld, requireIncus, type World} from '../helpers/world.js'

/** A hash of every path, mode and byte under `dir`. */
function hashTree(dir: string): string {
  const hash = createHash('sha256')
  const walk = (d: string) => {
    for (const name of readdirSync(d).sort()) {
      const path = join(d, name)
      const stat = statSync(path)
      hash.update(`${path}:${stat.mode}\n`)
      if (stat.isDirectory()) walk(path)
      else hash.update(readFileSync(path))
    }
  }
  walk(dir)
  return hash.digest('hex')
}

const names = (world: World) => world.incus(['list', '-c', 'n', '-f', 'csv']).split('\n').filter(Boolean).sort()

describe('container lifecycle (real Incus)', () => {
  let world: World
  beforeEach(async function () {
    world = makeWorld(requireIncus(this))
    await world.setup()
  })
  afterEach(() => world?.dispose())

  it('new, list, exec, status and remove, end to end; the repo is untouched by remove', async () => {
    const repo = world.makeRepo('alpha', {git: true})
    const created = await world.cli(['new', 'alpha', '--json'])
    expect(created.exitCode, created.stderr).to.equal(0)
    const result = JSON.parse(created.stdout)
    expect(result).to.include({name: 'alpha', path: repo, idmap: 'shift', state: 'running'})

    const device = world.query<{devices: Record<string, Record<string, string>>}>('/1.0/instances/alpha').devices.repo
    expect(device).to.deep.equal({type: 'disk', source: repo, path: repo, shift: 'true'})

    const list = JSON.parse((await world.cli(['list', '--json'])).stdout)
    expect(list).to.have.length(1)
    expect(list[0]).to.include({
      name: 'alpha',
      repo: 'alpha',
      path: repo,
      image: 'busybox',
      state: 'running',
      backup: true,
      last_sync: null,
    })

    const exec = await world.cli([
      'exec',
      'alpha',
      '--',
      'sh',
      '-c',
      'pwd; echo "$HOME $USER"; cat README.md; echo out > made-inside',
    ])
    expect(exec.exitCode, exec.stderr).to.equal(0)
    expect(exec.stdout).to.equal(`${repo}\n${world.home} root\nhello\n`)
    expect(readFileSync(join(repo, 'made-inside'), 'utf8')).to.equal('out\n')

    const status = await world.cli(['status', 'alpha', '--json'])
    const report = JSON.parse(status.stdout)
    expect(report.projects[0]).to.include({name: 'alpha', state: 'running', healthy: true, idmap: 'shift'})
    expect(report.projects[0].mounts).to.deep.include({
      device: 'repo',
      source: repo,
      path: repo,
      source_exists: true,
      readonly: false,
    })
    // The container's .git is a git dir of its own; the host's objects are borrowed read-only.
    expect(report.projects[0].mounts).to.deep.include({
      device: 'git',
      source: join(world.home, '.local/state/repoman/agent-git/alpha'),
      path: join(repo, '.git'),
      source_exists: true,
      readonly: false,
    })
    expect(report.projects[0]).to.include({git_dir: 'own'})
    expect(report.projects[0].protected_paths).to.deep.equal([])
    expect(report.projects[0].exposures).to.deep.equal([])

    const before = hashTree(repo)
    const removed = await world.cli(['remove', 'alpha', '--yes', '--json'])
    expect(removed.exitCode, removed.stderr).to.equal(0)
    expect(JSON.parse(removed.stdout)).to.include({container_deleted: true, registry_entry_removed: true, repo})
    expect(hashTree(repo)).to.equal(before)
    expect(names(world)).to.deep.equal([])
    expect(world.registryText()).to.not.include('alpha')
  })

  it('exec finds the project from the current directory, passes stdin through and returns the exit code', async () => {
    const repo = world.makeRepo('beta')
    expect((await world.cli(['new', 'beta'])).exitCode).to.equal(0)
    const inSrc = await world.cli(['exec', '--', 'sh', '-c', 'pwd; cat; exit 7'], {
      cwd: join(repo, 'src'),
      input: 'from stdin\n',
    })
    expect(inSrc.exitCode).to.equal(7)
    expect(inSrc.stdout).to.equal(`${join(repo, 'src')}\nfrom stdin\n`)

    const withFlags = await world.cli([
      'exec',
      'beta',
      '--cwd',
      'src',
      '--env',
      'GREETING=hi there',
      '--',
      'sh',
      '-c',
      'echo "$PWD $GREETING"',
    ])
    expect(withFlags.stdout).to.equal(`${join(repo, 'src')} hi there\n`)

    const outside = await world.cli(['exec', '--', 'true'], {cwd: world.home})
    expect(outside.exitCode).to.equal(2)
    expect(outside.stderr).to.match(
      /^Error: .* is not inside a registered repo; name the project, or cd into its repo\n$/,
    )
  })

  it('exec starts a stopped container first', async () => {
    world.makeRepo('gamma')
    await world.cli(['new', 'gamma'])
    world.incus(['stop', 'gamma', '--force'])
    const result = await world.cli(['exec', 'gamma', '--', 'echo', 'awake'])
    expect(result.stdout).to.equal('awake\n')
    expect(JSON.parse((await world.cli(['list', '--json'])).stdout)[0].state).to.equal('running')
  })

  it('refuses bad names with one line, no stack, and creates nothing', async () => {
    for (const bad of ['../x', 'has space', 'a;rm -rf /', 'Upper', 'ünï', '-lead', 'trail-', 'a'.repeat(64), '']) {
      const result = await world.cli(['new', '--', bad])
      expect(result.exitCode, bad).to.equal(2)
      expect(result.stderr.trim().split('\n'), bad).to.have.length(1)
      expect(result.stderr, bad).to.match(/names are 1 to 63 lowercase letters, digits and hyphens/)
    }
    expect(names(world)).to.deep.equal([])
    expect(world.registryText()).to.not.include('[[project]]')
  })

  it('checks before creating: missing repo, missing profile, unknown image', async () => {
    const registry = world.registryText()
    const noRepo = await world.cli(['new', 'nope'])
    expect(noRepo.stderr).to.match(/repo .*\/repos\/nope does not exist; create or clone it there first/)
    world.makeRepo('delta')
    const noProfile = await world.cli(['new', 'delta', '--profile', 'default', '--profile', 'claude-share'])
    expect(noProfile.stderr).to.match(
      /profile "claude-share" is not installed .*; run `repoman profile install claude-share`/,
    )
    const noImage = await world.cli(['new', 'delta', '--image', 'no-such-image'])
    expect(noImage.exitCode).to.equal(2)
    expect(noImage.stderr).to.match(/image "no-such-image" is not available/)
    expect(names(world)).to.deep.equal([])
    expect(world.registryText()).to.equal(registry)
  })

  it('rolls back a container that was created but failed to start, leaving the registry as it was', async () => {
    world.makeRepo('epsilon')
    world.incus(['profile', 'create', 'broken'])
    // Incus accepts it at create time and fails to start it: the device is not there.
    world.incus([
      'profile',
      'device',
      'add',
      'broken',
      'gone',
      'unix-char',
      'source=/dev/rm-does-not-exist',
      'path=/dev/gone',
    ])
    const registry = world.registryText()
    const result = await world.cli(['new', 'epsilon', '--profile', 'default', '--profile', 'broken'])
    expect(result.exitCode).to.equal(1)
    expect(result.stderr).to.match(/^Error: Failed to start device "gone": The required device path doesn.t exist/m)
    expect(names(world)).to.deep.equal([])
    expect(world.registryText()).to.equal(registry)
  })

  it('explains a container left by an interrupted new, and remove cleans it up', async () => {
    const repo = world.makeRepo('zeta')
    // What a `new` killed after the launch and before the registry write leaves behind.
    world.incus([
      'launch',
      'busybox',
      'zeta',
      '--config',
      'user.repoman.managed=true',
      '--config',
      `user.repoman.repo=${repo}`,
    ])
    const again = await world.cli(['new', 'zeta'])
    expect(again.stderr).to.match(
      /already exists in Incus project .* but not in the registry .*`repoman remove zeta` deletes it/,
    )
    const status = await world.cli(['status'])
    expect(status.exitCode).to.equal(1)
    expect(status.stdout).to.match(/PROBLEM zeta: running, .*not in the registry/)
    expect((await world.cli(['remove', 'zeta', '--yes'])).exitCode).to.equal(0)
    expect(names(world)).to.deep.equal([])
    // --yes, the old name of --non-interactive, still works (scripts use it) and says so.
    const created = await world.cli(['new', 'zeta', '--yes'])
    expect(created.exitCode, created.stderr).to.equal(0)
    expect(created.stderr.match(/The "--yes" flag has been deprecated/g)).to.have.length(1)
  })

  it('list shows drift: a container deleted behind its back and one it does not know', async () => {
    world.makeRepo('eta')
    await world.cli(['new', 'eta'])
    world.incus(['delete', '--force', 'eta'])
    world.incus(['launch', 'busybox', 'stray'])
    const result = await world.cli(['list'])
    expect(result.stdout).to.match(/^eta .* missing \(!\)/m)
    expect(result.stdout).to.match(/^stray .* running \(!\)/m)
    expect(result.stdout).to.match(/\(!\) eta: container is gone/)
    const removed = await world.cli(['remove', 'eta', '--yes'])
    expect(removed.exitCode).to.equal(0)
    const stray = await world.cli(['remove', 'stray', '--yes'])
    expect(stray.stderr).to.match(/was not made by repoman; delete it with incus if you mean to/)
    expect(names(world)).to.deep.equal(['stray'])
  })

  it('remove without a terminal and without --yes refuses; --keep-incus keeps the container', async () => {
    world.makeRepo('theta')
    await world.cli(['new', 'theta'])
    const refused = await world.cli(['remove', 'theta'])
    expect(refused.exitCode).to.equal(2)
    expect(refused.stderr).to.match(/pass --yes to remove "theta" without a terminal/)
    const kept = await world.cli(['remove', 'theta', '--yes', '--keep-incus'])
    expect(kept.exitCode).to.equal(0)
    expect(names(world)).to.deep.equal(['theta'])
    expect(world.registryText()).to.not.include('theta')
  })

  it('six `new` at once all land in the registry and in Incus', async () => {
    const six = ['p1', 'p2', 'p3', 'p4', 'p5', 'p6']
    for (const name of six) world.makeRepo(name)
    const results = await Promise.all(six.map((name) => world.cli(['new', name])))
    for (const r of results) expect(r.exitCode, r.stderr).to.equal(0)
    expect(names(world)).to.deep.equal(six)
    const listed = JSON.parse((await world.cli(['list', '--json'])).stdout).map((r: {name: string}) => r.name)
    expect(listed).to.deep.equal(six)
  })

  it('applies the per-project override: image, extra mount and environment', async () => {
    world.makeRepo('iota')
    const shared = join(world.home, 'shared')
    world.makeRepo('../shared')
    writeFileSync(
      join(world.home, '.config/repoman/repos.d/iota.toml'),
      `[container]\nimage = "busybox"\n[[mount]]\nsource = "${shared}"\npath = "/srv/shared"\nreadonly = true\n[env]\nNODE_ENV = "development"\n`,
    )
    expect((await world.cli(['new', 'iota'])).exitCode).to.equal(0)
    const result = await world.cli([
      'exec',
      'iota',
      '--',
      'sh',
      '-c',
      'cat /srv/shared/README.md; echo $NODE_ENV; touch /srv/shared/x 2>&1 || echo refused',
    ])
    expect(result.stdout).to.match(/^hello\ndevelopment\n.*\nrefused\n$/s)
  })

  it('refuses an override mount that exposes credentials', async () => {
    world.makeRepo('lambda')
    world.makeRepo('../.ssh')
    writeFileSync(
      join(world.home, '.config/repoman/repos.d/lambda.toml'),
      '[[mount]]\nsource = "~/.ssh"\npath = "/root/.ssh"\n',
    )
    const refused = await world.cli(['new', 'lambda'])
    expect(refused.exitCode).to.equal(1)
    expect(refused.stderr).to.match(
      /repos\.d\/lambda\.toml would expose .*\/\.ssh \(SSH keys\); refused\. Pass --allow-sensitive/,
    )
    expect(names(world)).to.deep.equal([])
  })

  it('fails fast with a clear line when Incus is down', async () => {
    const started = Date.now()
    const result = await world.cli(['list'], {env: {INCUS_DIR: '/tmp/rm-no-daemon'}})
    expect(result.exitCode).to.equal(1)
    expect(result.stderr).to.match(/^Error: cannot reach the Incus daemon .*is incusd running/)
    expect(result.stderr.trim().split('\n')).to.have.length(1)
    expect(Date.now() - started).to.be.below(10_000)
  })
})
