import {execFileSync} from 'node:child_process'
import {writeFileSync} from 'node:fs'
import {expect} from 'chai'
import {makeWorld, requireIncus, type World} from '../helpers/world.js'

/**
 * The host user inside, on the busybox image (no shadow tools, no sudo: the plain /etc/passwd
 * route). repoman runs as root here, acting for `rmtest` (uid 1001) as under `sudo repoman`.
 */
describe('your account inside (busybox, real Incus)', () => {
  let world: World
  const asRmtest = {SUDO_USER: 'rmtest', SUDO_UID: '1001', SUDO_GID: '1001'}
  const cli = (args: string[]) => world.cli(args, {env: asRmtest})
  const inside = (name: string, script: string) =>
    execFileSync('incus', ['exec', name, '--project', world.incusProject, '--', 'sh', '-c', script], {
      env: world.env,
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'],
    })

  beforeEach(async function () {
    world = makeWorld(requireIncus(this))
    await world.cli(
      [
        'setup',
        '--non-interactive',
        '--repos-root',
        world.reposRoot,
        '--backup-root',
        world.backupRoot,
        '--image',
        'busybox',
        '--incus-project',
        world.incusProject,
        '--lan-ip',
        '192.0.2.10',
      ],
      {env: asRmtest},
    )
  })
  afterEach(() => world?.dispose())

  it('new makes the user (name, uid, group, home, sh without bash); exec runs as them', async () => {
    world.makeRepo('alpha')
    const created = await cli(['new', 'alpha', '--json'])
    expect(created.exitCode, created.stderr).to.equal(0)
    expect(JSON.parse(created.stdout)).to.include({user: 'rmtest', sudo: true})
    expect(inside('alpha', 'grep -E "^rmtest:" /etc/passwd /etc/group')).to.equal(
      '/etc/passwd:rmtest:x:1001:1001::/home/rmtest:/bin/sh\n/etc/group:rmtest:x:1001:\n',
    )
    const exec = await cli(['exec', 'alpha', '--', 'sh', '-c', 'whoami; id -gn; stat -c %U "$HOME"'])
    expect(exec.stdout).to.equal('rmtest\nrmtest\nrmtest\n')

    const status = JSON.parse((await cli(['status', 'alpha', '--json'])).stdout)
    expect(status.projects[0].sudo).to.equal(true)
    expect(status).to.not.have.property('fixed')
  })

  it('--no-sudo is recorded and shown; [defaults] sudo = false does the same', async () => {
    world.makeRepo('beta')
    world.makeRepo('gamma')
    expect((await cli(['new', 'beta', '--no-sudo'])).exitCode).to.equal(0)
    writeFileSync(world.registryFile, world.registryText().replace('[defaults]\n', '[defaults]\nsudo = false\n'))
    expect((await cli(['new', 'gamma'])).exitCode).to.equal(0)
    const status = await cli(['status'])
    expect(status.stdout).to.match(/beta: running, .*, no sudo,/)
    expect(status.stdout).to.match(/gamma: running, .*, no sudo,/)
    expect(world.query<{config: Record<string, string>}>('/1.0/instances/beta').config['user.repoman.sudo']).to.equal(
      'false',
    )
  })

  it('status --fix and a start by exec give a re-provisioned container its account back', async () => {
    world.makeRepo('delta')
    expect((await cli(['new', 'delta'])).exitCode).to.equal(0)
    const forget = () => inside('delta', 'sed -i "/^rmtest:/d" /etc/passwd /etc/group')
    forget()
    const fix = await cli(['status', 'delta', '--fix'])
    expect(fix.stdout).to.include(
      'fix    delta: account repaired: added group rmtest (gid 1001); added user rmtest (uid 1001)',
    )
    expect((await cli(['status', 'delta', '--fix'])).stdout).to.include('fix    delta: account in place')

    forget()
    world.incus(['stop', 'delta', '--force'])
    const exec = await cli(['exec', 'delta', '--', 'whoami'])
    expect(exec.stdout, exec.stderr).to.equal('rmtest\n')
  })

  it('new with a profile that has no root disk gets the root disk of the default profile', async () => {
    world.makeRepo('eps')
    world.incus(['profile', 'create', 'share'])
    world.incus(['profile', 'device', 'add', 'share', 'shared', 'disk', `source=${world.reposRoot}`, 'path=/opt/share'])
    const created = await cli(['new', 'eps', '--profile', 'share', '--no-default-profiles', '--json'])
    expect(created.exitCode, created.stderr).to.equal(0)
    expect(JSON.parse(created.stdout).profiles).to.deep.equal(['share'])
    const devices = world.query<{devices: Record<string, Record<string, string>>}>('/1.0/instances/eps').devices
    expect(devices.root).to.deep.equal({type: 'disk', path: '/', pool: 'default'})
    expect(inside('eps', 'ls /opt/share')).to.include('eps')
  })
})
