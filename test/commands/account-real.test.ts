import {execFileSync} from 'node:child_process'
import {mkdirSync, statSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {expect} from 'chai'
import {BTRFS_POOL, REAL_IMAGE} from '../helpers/incus-daemon.js'
import {makeWorld, requirePool, requireRealImage, type World} from '../helpers/world.js'

/**
 * The host user inside a real distro (Debian 13: systemd, cloud-init, sudo, bash), with the CLI
 * running as host user rmtest (uid 1001): what `new` promises an agent that must `apt install`.
 */
// On the dir pool and on the copy-on-write pool, where `new` writes everything before the boot.
for (const pool of ['default', BTRFS_POOL])
  describe(`your account inside the Debian image (real Incus, uid 1001, pool ${pool})`, () => {
    let world: World
    /** Runs a shell script in a container as root (to look, not to act as the user). */
    const asRoot = (name: string, script: string) =>
      execFileSync('incus', ['exec', name, '--project', world.incusProject, '--', 'sh', '-c', script], {
        env: world.env,
        encoding: 'utf8',
        stdio: ['ignore', 'pipe', 'pipe'],
      })
    const hostHome = () => /^home = "(.*)"$/m.exec(world.registryText())?.[1]

    beforeEach(async function () {
      world = makeWorld(requireRealImage(this), {user: true})
      requirePool(this, pool)
      await world.setup(['--storage-pool', pool])
    })
    afterEach(() => world?.dispose())

    it('new makes you: whoami, your home, passwordless sudo (apt too), your files on the host', async () => {
      const repo = world.makeRepo('alpha', {git: true})
      const created = await world.cli(['new', 'alpha', '--image', REAL_IMAGE, '--json'])
      expect(created.exitCode, created.stderr).to.equal(0)
      expect(JSON.parse(created.stdout)).to.include({user: 'rmtest', sudo: true})

      const script =
        'whoami; getent passwd rmtest; sudo -n true && echo sudo-ok; sudo -n apt-get --version | head -1; touch made-inside'
      const exec = await world.cli(['exec', 'alpha', '--', 'sh', '-c', script])
      expect(exec.exitCode, exec.stderr).to.equal(0)
      const [whoami, passwd, sudo, apt] = exec.stdout.split('\n')
      expect(whoami).to.equal('rmtest')
      expect(passwd).to.equal(`rmtest:x:1001:1001::${hostHome()}:/usr/bin/bash`)
      expect(sudo).to.equal('sudo-ok')
      expect(apt).to.match(/^apt \d/)
      expect(statSync(join(repo, 'made-inside')).uid).to.equal(1001)
      // Your groups, as a login has them (incus exec alone would give none): sudo among them.
      const id = await world.cli(['exec', 'alpha', '--', 'id'])
      expect(id.stdout, id.stderr).to.match(
        /^uid=1001\(rmtest\) gid=1001\(rmtest\) groups=1001\(rmtest\),.*\d+\(sudo\)/,
      )

      // A restart keeps it (the rootfs persists); exec's start finds it in place.
      world.incus(['stop', 'alpha', '--force'])
      expect((await world.cli(['exec', 'alpha', '--', 'whoami'])).stdout).to.equal('rmtest\n')
      expect(asRoot('alpha', 'grep -c "^rmtest:" /etc/passwd')).to.equal('1\n')
    })

    it('--no-sudo: sudo -n fails; status says which project has sudo', async () => {
      world.makeRepo('beta')
      world.makeRepo('gamma')
      expect((await world.cli(['new', 'beta', '--image', REAL_IMAGE, '--no-sudo'])).exitCode).to.equal(0)
      expect((await world.cli(['new', 'gamma', '--image', REAL_IMAGE])).exitCode).to.equal(0)
      const sudo = await world.cli(['exec', 'beta', '--', 'sudo', '-n', 'true'])
      expect(sudo.exitCode).to.not.equal(0)
      const status = JSON.parse((await world.cli(['status', '--json'])).stdout)
      const sudoOf = (name: string) => status.projects.find((p: {name: string}) => p.name === name).sudo
      expect([sudoOf('beta'), sudoOf('gamma')]).to.deep.equal([false, true])
    })

    it('new with a profile that has no root disk works, added to the defaults or alone', async () => {
      world.makeRepo('delta')
      world.makeRepo('eps')
      world.incus(['profile', 'create', 'share'])
      world.incus([
        'profile',
        'device',
        'add',
        'share',
        'shared',
        'disk',
        `source=${world.reposRoot}`,
        'path=/opt/share',
      ])
      const added = await world.cli(['new', 'delta', '--image', REAL_IMAGE, '--profile', 'share', '--json'])
      expect(added.exitCode, added.stderr).to.equal(0)
      expect(JSON.parse(added.stdout).profiles).to.deep.equal(['default', 'share'])
      const alone = await world.cli([
        'new',
        'eps',
        '--image',
        REAL_IMAGE,
        '--profile',
        'share',
        '--no-default-profiles',
      ])
      expect(alone.exitCode, alone.stderr).to.equal(0)
      expect(asRoot('eps', 'ls /opt/share')).to.include('eps')
    })

    it('waits for cloud-init when it has a datasource, and costs nothing when it has none', async () => {
      world.makeRepo('zeta')
      world.makeRepo('eta')
      // A NoCloud seed at first boot: cloud-init runs, makes the image's `debian` user
      // and runs a slow command; `new` must return only after both.
      const seed = join(world.home, 'seed')
      mkdirSync(seed)
      writeFileSync(join(seed, 'meta-data'), 'instance-id: zeta-1\n')
      writeFileSync(
        join(seed, 'user-data'),
        '#cloud-config\nruncmd:\n  - [sh, -c, "sleep 3; touch /var/tmp/ci-done"]\n',
      )
      world.incus(['profile', 'create', 'seed'])
      world.incus([
        'profile',
        'device',
        'add',
        'seed',
        'seed',
        'disk',
        `source=${seed}`,
        'path=/var/lib/cloud/seed/nocloud',
      ])
      const withSeed = await world.cli(['new', 'zeta', '--image', REAL_IMAGE, '--profile', 'seed'])
      expect(withSeed.exitCode, withSeed.stderr).to.equal(0)
      expect(asRoot('zeta', 'ls /var/tmp/ci-done; cloud-init status; id -u debian; id -u rmtest')).to.equal(
        // Ours was written before the boot; cloud-init's first user comes next to it, with the
        // uid useradd gives next (above the highest, ours).
        '/var/tmp/ci-done\nstatus: done\n1002\n1001\n',
      )

      const without = await world.cli(['new', 'eta', '--image', REAL_IMAGE])
      expect(without.exitCode, without.stderr).to.equal(0)
      expect(asRoot('eta', 'cloud-init status; id -u rmtest')).to.equal('status: disabled\n1001\n')
    })
  })
