import {expect} from 'chai'
import {judgeBackupRoot, mountOf, parseMountInfo} from '../../../src/lib/backup/mounts.js'

const MOUNTINFO = `22 27 0:21 / /proc rw,relatime - proc proc rw
27 1 254:1 / / rw,relatime - ext4 /dev/vda1 rw
40 27 0:50 / /nfs rw,relatime - nfs4 fileserver:/tank rw,vers=4.2
41 27 0:51 / /auto/backup rw,relatime - autofs systemd-1 rw
42 27 0:52 / /mnt/with\\040space rw - tmpfs tmpfs rw
`

describe('backup root mounts', () => {
  const mounts = parseMountInfo(MOUNTINFO)

  it('parses mountinfo, unescaping octal escapes', () => {
    expect(mounts.map((m) => m.mountPoint)).to.deep.equal(['/proc', '/', '/nfs', '/auto/backup', '/mnt/with space'])
    expect(mounts[2]).to.deep.equal({mountPoint: '/nfs', fsType: 'nfs4', source: 'fileserver:/tank'})
  })

  it('finds the mount holding a path', () => {
    expect(mountOf('/nfs/repos/x', mounts)?.mountPoint).to.equal('/nfs')
    expect(mountOf('/nfsx', mounts)?.mountPoint).to.equal('/')
    expect(mountOf('/home/dev/repos', mounts)?.mountPoint).to.equal('/')
  })

  it('accepts a backup root on a separate mount', () => {
    const state = judgeBackupRoot('/nfs/repos', '/home/dev/repos', {exists: true, writable: true, mounts}, false)
    expect(state).to.include({separate: true, fs_type: 'nfs4', problem: null})
  })

  it('refuses a backup root on the repos file system unless a local disk is meant', () => {
    const local = judgeBackupRoot('/srv/backup', '/home/dev/repos', {exists: true, writable: true, mounts}, false)
    expect(local.problem).to.match(/is not a separate mount .* pass --allow-local if a local disk is meant/)
    expect(
      judgeBackupRoot('/srv/backup', '/home/dev/repos', {exists: true, writable: true, mounts}, true).problem,
    ).to.equal(null)
  })

  it('accepts a read-only root for reading (restore), still refusing an unmounted one', () => {
    const facts = {exists: true, writable: false, mounts}
    expect(judgeBackupRoot('/nfs/repos', '/home/dev/repos', facts, false, 'read').problem).to.equal(null)
    expect(judgeBackupRoot('/nfs/repos', '/home/dev/repos', facts, false).problem).to.match(/is not writable/)
    expect(judgeBackupRoot('/srv/backup', '/home/dev/repos', facts, false, 'read').problem).to.match(
      /is not a separate mount/,
    )
  })

  it('reports a missing root, an untriggered autofs mount and a read-only root', () => {
    expect(judgeBackupRoot('/nfs/x', '/r', {exists: false, writable: false, mounts}, false).problem).to.match(
      /does not exist/,
    )
    expect(judgeBackupRoot('/auto/backup', '/r', {exists: true, writable: true, mounts}, false).problem).to.match(
      /autofs mount point that did not mount/,
    )
    expect(judgeBackupRoot('/nfs/repos', '/r', {exists: true, writable: false, mounts}, false).problem).to.match(
      /not writable/,
    )
  })
})
