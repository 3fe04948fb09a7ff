import {expect} from 'chai'
import {BTRFS_POOL, REAL_IMAGE, TEST_IMAGE} from '../helpers/incus-daemon.js'
import {makeWorld, requirePool, requireRealImage, type World} from '../helpers/world.js'

/**
 * What `new` asks of Incus, as `--verbose` lists it: everything over the socket, one create
 * with the devices inline, the writes before the boot in one SFTP session, one start, and no
 * `incus exec`.
 */
describe('new: its requests to Incus (real Incus, uid 1001)', () => {
  let world: World
  beforeEach(async function () {
    world = makeWorld(requireRealImage(this), {user: true})
    requirePool(this, BTRFS_POOL)
    await world.setup(['--storage-pool', BTRFS_POOL])
  })
  afterEach(() => world?.dispose())

  const requests = (stderr: string) => stderr.split('\n').filter((line) => line.startsWith('$ incus '))

  for (const image of [REAL_IMAGE, TEST_IMAGE])
    it(`${image}: no exec, one create, one start, all over the socket; you exist inside`, async () => {
      const repo = world.makeRepo('alpha', {git: true})
      const created = await world.cli(['new', 'alpha', '--image', image, '--verbose'])
      expect(created.exitCode, created.stderr).to.equal(0)
      const lines = requests(created.stderr)
      expect(lines.filter((line) => / exec /.test(line))).to.deep.equal([])
      // Every one over the socket; the only failures are paths the image lacks (404s), the
      // check that no container of the name exists yet, and directories made where their
      // parent was missing, each made again (and done) once the parent was.
      const overSocket = /\[exit (0|1)\] {2}\((read|sent) over \S+unix\.socket(, sftp)?\)$/
      expect(lines.filter((line) => !overSocket.test(line))).to.deep.equal([])
      const lookups = /^\$ incus file pull alpha\/|^\$ incus query \/1\.0\/instances\/alpha\?/
      const madeLater = (line: string, i: number) =>
        /^\$ incus file create --type=directory /.test(line) &&
        lines.slice(i + 1).includes(line.replace('[exit 1]', '[exit 0]'))
      expect(
        lines.filter((line, i) => line.includes('[exit 1]') && !lookups.test(line) && !madeLater(line, i)),
      ).to.deep.equal([])
      console.log(`      ${image}: ${lines.length} requests`)
      const count = (pattern: RegExp) => lines.filter((line) => pattern.test(line)).length
      expect(count(/--request POST \/1\.0\/instances\?project=/)).to.equal(1)
      expect(count(/--request PUT \/1\.0\/instances\/alpha\/state\?/)).to.equal(1)
      expect(count(/--request GET \/1\.0\/instances\/alpha\/sftp\?/)).to.equal(1)
      expect(count(/^\$ incus file push .* - alpha\/etc\/passwd /)).to.equal(1)
      expect(count(/\/1\.0\/instances\/alpha\/files\?/)).to.equal(0)
      // The steps are still drawn, in order.
      expect(created.stderr).to.match(
        /Create container "alpha"[\s\S]*Write your account "rmtest"[\s\S]*Start container "alpha"/,
      )

      const inside = await world.cli(
        ['exec', 'alpha', '--', 'sh', '-c', 'whoami; stat -c %u "$HOME"; ls /etc/systemd/system/service.d'],
        {cwd: repo},
      )
      expect(inside.exitCode, inside.stderr).to.equal(0)
      expect(inside.stdout).to.equal('rmtest\n1001\n10-repoman-containment.conf\n')

      // The next container of the image: its files are known (by the image's fingerprint), so
      // only what its templates render would be read; the writes are the same.
      expect((await world.cli(['remove', 'alpha', '--yes'])).exitCode).to.equal(0)
      const again = await world.cli(['new', 'alpha', '--image', image, '--verbose'])
      expect(again.exitCode, again.stderr).to.equal(0)
      const second = requests(again.stderr)
      console.log(`      ${image}, second container: ${second.length} requests`)
      expect(second.filter((line) => /^\$ incus file pull /.test(line))).to.deep.equal([])
      const writes = (all: string[]) => all.filter((line) => /^\$ incus file (push|create) /.test(line)).sort()
      expect(writes(second)).to.deep.equal(writes(lines))
      const againInside = await world.cli(['exec', 'alpha', '--', 'sh', '-c', 'whoami; stat -c %u "$HOME"'], {
        cwd: repo,
      })
      expect(againInside.stdout).to.equal('rmtest\n1001\n')
    })
})
