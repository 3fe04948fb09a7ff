import {expect} from 'chai'
import {explainRsyncFailure, parseRsyncOutput, rsyncArgs, targetFor} from '../../../src/lib/backup/sync.js'
import {SafetyError} from '../../../src/lib/errors.js'

describe('sync decisions', () => {
  it('mirrors many repos in one rsync, each into its own directory', () => {
    expect(rsyncArgs(['/r/a', '/r/b'], '/nfs', {dryRun: true, delete: true})).to.deep.equal([
      '-a',
      '--numeric-ids',
      '--itemize-changes',
      '--out-format=%i %l %n',
      '--delete',
      '--dry-run',
      '/r/a',
      '/r/b',
      '/nfs/',
    ])
    expect(rsyncArgs(['/r/a'], '/nfs', {dryRun: false, delete: false})).to.not.include('--delete')
  })

  it('attributes itemized changes, files and bytes to the repo they belong to', () => {
    const out = [
      '*deleting   0 a/stale',
      '>f+++++++++ 12 a/f',
      '.d..t...... 4096 a/',
      'cd+++++++++ 4096 b/',
      '>f.st...... 30 b/src/g',
      '',
    ].join('\n')
    const byRepo = parseRsyncOutput(out)
    expect(byRepo.get('a')).to.deep.equal({
      changes: ['*deleting stale', '>f+++++++++ f'],
      files_transferred: 1,
      files_deleted: 1,
      bytes_transferred: 12,
    })
    expect(byRepo.get('b')).to.deep.equal({
      changes: ['cd+++++++++ ./', '>f.st...... src/g'],
      files_transferred: 1,
      files_deleted: 0,
      bytes_transferred: 30,
    })
  })

  it('keeps every target one directory below the backup root', () => {
    expect(targetFor('/nfs', 'a')).to.equal('/nfs/a')
    for (const bad of ['..', '.', 'a/b', ''])
      expect(() => targetFor('/nfs', bad), bad).to.throw(SafetyError, /would escape the backup root/)
  })

  it('explains rsync failures in a line', () => {
    expect(explainRsyncFailure('rsync: mkdir "/nfs/a" failed: Read-only file system (30)', 23, '/nfs')).to.match(
      /read-only/,
    )
    expect(explainRsyncFailure('rsync: write failed on "/nfs/a/x": No space left on device (28)', 11, '/nfs')).to.match(
      /full/,
    )
    expect(explainRsyncFailure('bash: line 1: rsync: command not found', 127, '/nfs')).to.match(/not installed/)
  })
})
