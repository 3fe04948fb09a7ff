import {expect} from 'chai'
import {chooseSnapshotName, planRollback, type SnapshotTarget} from '../../../src/lib/lifecycle/snapshot.js'

describe('container snapshot decisions', () => {
  it('names a snapshot by the UTC time unless a name is given, and refuses bad or taken names', () => {
    const now = new Date('2026-11-23T18:04:05.678Z')
    expect(chooseSnapshotName(undefined, [], now)).to.equal('snap-20261123-180405')
    expect(chooseSnapshotName('before-upgrade', ['other'], now)).to.equal('before-upgrade')
    expect(() => chooseSnapshotName('a/b', [], now)).to.throw(/must be letters, digits/)
    expect(() => chooseSnapshotName('-x', [], now)).to.throw(/must be letters, digits/)
    expect(() => chooseSnapshotName('taken', ['taken'], now)).to.throw(/already has a snapshot "taken"/)
  })

  it('rolls back only to a snapshot the container has', () => {
    const target = {
      name: 'alpha',
      repo: '/r/alpha',
      instance: {status: 'Running'},
      snapshots: [{name: 'clean', created_at: '2026-11-23T00:00:00Z', stateful: false}],
    } as SnapshotTarget
    expect(planRollback(target, 'clean')).to.deep.equal({snapshot: 'clean', stateBefore: 'Running'})
    expect(() => planRollback(target, 'nope')).to.throw(
      '"alpha" has no snapshot "nope" (it has: clean); nothing was changed',
    )
  })
})
