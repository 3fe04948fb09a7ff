import {expect} from 'chai'
import {IncusNotFoundError} from '../../../src/lib/errors.js'
import {describeIncusCommand, IncusClient, type IncusCommandEntry} from '../../../src/lib/incus/client.js'
import {TEST_IMAGE} from '../../helpers/incus-daemon.js'
import {makeWorld, requireIncus, type World} from '../../helpers/world.js'

/**
 * Reading and writing a stopped container over one SFTP session (IncusClient.openFiles),
 * against the test daemon (Debian 12's Incus, whose SFTP server reads SETSTAT's fields in its
 * own order), checked against the file API, as Incus itself reports them.
 */
describe('IncusClient.openFiles: reads and writes over one SFTP session (real Incus)', () => {
  let world: World
  let incus: IncusClient
  let logged: IncusCommandEntry[]
  before(async function () {
    world = makeWorld(requireIncus(this))
    const setup = await world.setup()
    expect(setup.exitCode, setup.stderr).to.equal(0)
    logged = []
    incus = new IncusClient({project: world.incusProject, env: world.env, onCommand: (entry) => logged.push(entry)})
    const image = await incus.resolveImage(TEST_IMAGE)
    await incus.createInstance(
      {name: 'files', image: TEST_IMAGE, profiles: ['default'], config: {}, devices: {}},
      image?.fingerprint as string,
    )
  })
  after(async () => {
    await incus?.deleteInstance('files').catch(() => undefined)
    world?.dispose()
  })
  beforeEach(() => {
    logged = []
  })

  const stat = async (path: string) => {
    const file = await incus.readInstanceFile('files', path)
    return file && {type: file.type, uid: file.uid, gid: file.gid, mode: file.mode.toString(8), content: file.content}
  }

  it('writes files and directories with the owner and mode given, and leaves an existing directory as it was', async () => {
    const before = await stat('/etc')
    const writer = await incus.openFiles('files')
    await writer.write({path: '/etc', type: 'directory', uid: 1001, gid: 1001, mode: 0o700})
    await writer.write({path: '/srv/a', type: 'directory', uid: 1001, gid: 1002, mode: 0o750}).catch(() => undefined)
    await writer.write({path: '/srv', type: 'directory'})
    await writer.write({path: '/srv/a', type: 'directory', uid: 1001, gid: 1002, mode: 0o750})
    const big = 'x'.repeat(100_000)
    await Promise.all([
      writer.write({path: '/srv/a/secret', content: 'key\n', uid: 0, gid: 42, mode: 0o640}),
      writer.write({path: '/srv/a/big', content: big, uid: 1001, gid: 1001, mode: 0o600}),
      writer.write({path: '/srv/plain', content: ''}),
    ])
    await writer.close()

    expect(await stat('/etc')).to.deep.equal(before)
    expect(await stat('/srv')).to.include({type: 'directory', uid: 0, gid: 0, mode: '755'})
    expect(await stat('/srv/a')).to.include({type: 'directory', uid: 1001, gid: 1002, mode: '750'})
    expect(await stat('/srv/a/secret')).to.deep.equal({type: 'file', uid: 0, gid: 42, mode: '640', content: 'key\n'})
    expect(await stat('/srv/a/big')).to.deep.equal({type: 'file', uid: 1001, gid: 1001, mode: '600', content: big})
    expect(await stat('/srv/plain')).to.deep.equal({type: 'file', uid: 0, gid: 0, mode: '644', content: ''})
    // --verbose shows the session and each write as the incus command that does the same.
    const lines = logged.map(describeIncusCommand).filter((line) => !line.includes('/files?'))
    expect(lines[0]).to.match(/^\$ incus query --request GET \/1\.0\/instances\/files\/sftp\?project=\S+ {2}\[exit 0\]/)
    expect(lines).to.include(
      `$ incus file push --uid 0 --gid 42 --mode 0640 - files/srv/a/secret  [exit 0]  (sent over ${world.env.INCUS_DIR}/unix.socket, sftp)`,
    )
    expect(lines.filter((line) => line.includes('[exit 1]'))).to.deep.equal([
      `$ incus file create --type=directory --uid 1001 --gid 1002 --mode 0750 files/srv/a  [exit 1]  (sent over ${world.env.INCUS_DIR}/unix.socket, sftp)`,
    ])
  })

  it('reads what the file API reads: files, directory listings, symlinks, stats, and nothing', async () => {
    const writer = await incus.openFiles('files')
    await writer.write({path: '/srv/listed', type: 'directory'})
    await writer.write({path: '/srv/listed/b', content: 'bee', uid: 7, gid: 8, mode: 0o604})
    await writer.write({path: '/srv/listed/a', content: ''})
    const paths = ['/etc/passwd', '/srv/listed', '/srv/listed/b', '/bin/sh', '/bin', '/nothing/here']
    const read = await Promise.all(paths.map((path) => writer.read(path)))
    const stats = await Promise.all(paths.map((path) => writer.read(path, {content: false})))
    await writer.close()
    const api = await Promise.all(paths.map((path) => incus.readInstanceFile('files', path)))
    // A listing's order is the server's own, and differs between the two.
    const sorted = (file: (typeof read)[number]) =>
      file?.type === 'directory' ? {...file, content: file.content.split('\n').sort().join('\n')} : file
    expect(read.map(sorted)).to.deep.equal(api.map(sorted))
    expect(read[1]?.content.split('\n').sort()).to.deep.equal(['', 'a', 'b'])
    expect(read[2]).to.deep.equal({type: 'file', uid: 7, gid: 8, mode: 0o604, content: 'bee'})
    expect(read[5]).to.equal(undefined)
    expect(stats.map((stat) => stat && {...stat, content: ''})).to.deep.equal(
      api.map((stat) => stat && {...stat, content: ''}),
    )
    const pulls = logged.map(describeIncusCommand).filter((line) => line.startsWith('$ incus file pull'))
    expect(pulls).to.include(
      `$ incus file pull files/nothing/here -  [exit 1]  (read over ${world.env.INCUS_DIR}/unix.socket, sftp)`,
    )
  })

  it('says Not Found for a path whose directory is missing, and the session goes on', async () => {
    const writer = await incus.openFiles('files')
    const failure = await writer.write({path: '/nowhere/x', content: 'x'}).catch((error: Error) => error)
    expect(failure).to.be.instanceOf(IncusNotFoundError)
    await writer.write({path: '/tmp/after', content: 'still here'})
    await writer.close()
    expect((await stat('/tmp/after'))?.content).to.equal('still here')
  })

  it('a container that is not there is Not Found, before anything is written', async () => {
    const failure = await incus.openFiles('nosuch').catch((error: Error) => error)
    expect(failure).to.be.instanceOf(IncusNotFoundError)
  })

  it('a container written to, then started, finds what was written', async () => {
    const writer = await incus.openFiles('files')
    await writer.write({path: '/root/boot', content: 'ready'})
    await writer.close()
    await incus.startOverSocket('files')
    expect((await stat('/root/boot'))?.content).to.equal('ready')
  })
})
