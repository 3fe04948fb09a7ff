import {expect} from 'chai'
import {IncusNotFoundError} from '../../../src/lib/errors.js'
import type {InstanceFile} from '../../../src/lib/incus/types.js'
import {writeBootFiles} from '../../../src/lib/lifecycle/preboot.js'

/**
 * An instance's files as IncusClient.openFiles writes them (checked against Incus 6.0 in
 * test/lib/incus/sftp.test.ts): a write whose directory is missing is "Not Found", and making
 * a directory that is there already changes nothing.
 */
function fileApi(directories: string[]) {
  const tree = new Map<string, InstanceFile>(directories.map((path) => [path, {path, type: 'directory'}]))
  const requests: string[] = []
  return {
    tree,
    requests,
    async write(file: InstanceFile) {
      requests.push(file.path)
      const parent = file.path.slice(0, file.path.lastIndexOf('/')) || '/'
      if (!tree.has(parent)) throw new IncusNotFoundError('Error: Not Found')
      if (file.type !== 'directory' || !tree.has(file.path)) tree.set(file.path, file)
    },
  }
}

describe('writing into a container before its first boot (preboot)', () => {
  it('costs one request a directory where its parent is there, and leaves an existing directory as it was', async () => {
    const incus = fileApi(['/', '/etc', '/etc/systemd', '/etc/systemd/system', '/home'])
    incus.tree.set('/home/ann', {path: '/home/ann', type: 'directory', uid: 7})
    await writeBootFiles(incus, [
      {path: '/home/ann', type: 'directory', uid: 1001, mode: 0o750},
      {path: '/etc/systemd/system/service.d/10-x.conf', content: 'x'},
      {path: '/etc/passwd', content: 'root'},
      {path: '/home/ann/.profile', content: ''},
    ])
    expect(incus.requests).to.have.members([
      '/home/ann',
      '/etc/systemd/system/service.d',
      '/etc/systemd/system/service.d/10-x.conf',
      '/etc/passwd',
      '/home/ann/.profile',
    ])
    expect(incus.requests).to.have.length(5)
    expect(incus.tree.get('/home/ann')?.uid).to.equal(7)
  })

  it('makes the missing parents, root 0755, and keeps what the files say of their own directories', async () => {
    const incus = fileApi(['/', '/etc', '/var'])
    await writeBootFiles(incus, [
      {path: '/var/tmp/h/u', type: 'directory', uid: 5, mode: 0o700},
      {path: '/var/tmp/h/u/.profile', content: ''},
      {path: '/etc/systemd/system/service.d/x.conf', content: ''},
    ])
    const made = (path: string) => {
      const entry = incus.tree.get(path)
      return [entry?.type ?? 'file', entry?.uid ?? 0, (entry?.mode ?? (entry?.type ? 0o755 : 0o644)).toString(8)]
    }
    expect(made('/var/tmp')).to.deep.equal(['directory', 0, '755'])
    expect(made('/var/tmp/h/u')).to.deep.equal(['directory', 5, '700'])
    expect(made('/etc/systemd/system')).to.deep.equal(['directory', 0, '755'])
    expect(made('/etc/systemd/system/service.d/x.conf')).to.deep.equal(['file', 0, '644'])
    expect(made('/var/tmp/h/u/.profile')).to.deep.equal(['file', 0, '644'])
  })

  it('fails with the daemon’s error when the container itself is not there', async () => {
    const incus = fileApi([])
    const failure = await writeBootFiles(incus, [{path: '/etc/x', content: ''}]).catch((error) => error)
    expect(failure).to.be.instanceOf(IncusNotFoundError)
  })
})
