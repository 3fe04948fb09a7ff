import {expect} from 'chai'
import sinon from 'sinon'
import type {IncusInstance} from '../../../src/lib/incus/types.js'
import {
  chooseSnapshotName,
  planRollback,
  planSnapshot,
  renderRollback,
  rollbackSteps,
  type SnapshotTarget,
  snapshotSteps,
} from '../../../src/lib/lifecycle/snapshot.js'
import {runSteps} from '../../../src/lib/steps.js'

const target = {
  name: 'alpha',
  repo: '/r/alpha',
  instance: {status: 'Running'},
  snapshots: [{name: 'clean', created_at: '2026-11-23T00:00:00Z', stateful: false}],
} as SnapshotTarget

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
    expect(planRollback(target, 'clean')).to.deep.equal({snapshot: 'clean', stateBefore: 'Running'})
    expect(() => planRollback(target, 'nope')).to.throw(
      '"alpha" has no snapshot "nope" (it has: clean); nothing was changed',
    )
  })

  it('makes the snapshot it planned, and a rollback reports the state Incus left the container in', async () => {
    const incus = {
      createSnapshot: sinon.stub().resolves(),
      restoreSnapshot: sinon.stub().resolves(),
      getInstance: sinon.stub().resolves({status: 'Running'} as IncusInstance),
    }
    const made = snapshotSteps(target, planSnapshot(target, 'before', new Date()), incus)
    await runSteps(made.steps)
    expect(incus.createSnapshot.args).to.deep.equal([['alpha', 'before']])
    expect(() => planSnapshot(target, 'clean', new Date())).to.throw(/already has a snapshot "clean"/)

    const rolled = rollbackSteps(target, planRollback(target, 'clean'), incus)
    await runSteps(rolled.steps)
    expect(incus.restoreSnapshot.args).to.deep.equal([['alpha', 'clean']])
    expect(renderRollback(rolled.result)[0]).to.equal('Container "alpha" rolled back to "clean" (running).')
  })
})
