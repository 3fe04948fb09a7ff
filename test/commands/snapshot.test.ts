import {readFileSync} from 'node:fs'
import {join} from 'node:path'
import {expect} from 'chai'
import {makeWorld, requireIncus, type World} from '../helpers/world.js'

describe('container snapshots and rollback (real Incus)', () => {
  let world: World
  beforeEach(async function () {
    world = makeWorld(requireIncus(this))
    await world.setup()
  })
  afterEach(() => world?.dispose())

  const asRoot = (script: string) => world.incus(['exec', 'alpha', '--', 'sh', '-c', script])
  const marker = () => asRoot('cat /root/marker')
  const setMarker = (text: string) => asRoot(`echo ${text} > /root/marker`)

  it("round-trips a file in the container's root file system through snapshot, change and rollback; the repo is left alone", async () => {
    const repo = world.makeRepo('alpha')
    expect((await world.cli(['new', 'alpha'])).exitCode).to.equal(0)
    setMarker('before')

    const made = await world.cli(['snapshot', 'alpha', '--name', 'clean', '--json'])
    expect(made.exitCode, made.stderr).to.equal(0)
    expect(JSON.parse(made.stdout)).to.deep.equal({name: 'alpha', snapshot: 'clean', repo, repo_included: false})
    const unnamed = await world.cli(['snapshot', 'create', 'alpha'])
    expect(unnamed.exitCode, unnamed.stderr).to.equal(0)
    expect(unnamed.stdout).to.match(
      /^Snapshot "snap-\d{8}-\d{6}" of container "alpha" made\.\nThe repo at .*\/repos\/alpha is NOT in container snapshots \(it is a host mount\); `repoman restore alpha` brings it back from the backup\.\n$/,
    )
    const again = await world.cli(['snapshot', 'alpha', '--name', 'clean'])
    expect(again.exitCode).to.equal(2)
    expect(again.stderr).to.equal('Error: the container already has a snapshot "clean"; pick another --name\n')

    setMarker('after')
    const agent = await world.cli(['exec', 'alpha', '--', 'sh', '-c', 'echo kept > made-after.txt'])
    expect(agent.exitCode, agent.stderr).to.equal(0)

    const listed = JSON.parse((await world.cli(['snapshot', 'list', 'alpha', '--json'])).stdout)
    expect(listed.snapshots.map((s: {name: string}) => s.name))
      .to.have.length(2)
      .and.include('clean')
    expect(listed.snapshots[0].name).to.equal('clean')
    expect(listed.snapshots[0].created).to.match(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/)
    const human = await world.cli(['snapshot', 'list', 'alpha'])
    expect(human.stdout).to.match(
      /^SNAPSHOT +CREATED\nclean +\d{4}-.*\n.*\nThe repo at .* is NOT in container snapshots/,
    )

    const unconfirmed = await world.cli(['rollback', 'alpha', 'clean'])
    expect(unconfirmed.exitCode).to.equal(2)
    expect(marker()).to.equal('after\n')
    const unknown = await world.cli(['rollback', 'alpha', 'nope', '--yes'])
    expect(unknown.stderr).to.match(
      /^Error: "alpha" has no snapshot "nope" \(it has: clean, snap-.*\); nothing was changed\n$/,
    )

    const rolled = await world.cli(['rollback', 'alpha', 'clean', '--yes', '--json'])
    expect(rolled.exitCode, rolled.stderr).to.equal(0)
    expect(JSON.parse(rolled.stdout)).to.deep.equal({
      name: 'alpha',
      snapshot: 'clean',
      state_before: 'Running',
      state_after: 'Running',
      repo,
      repo_restored: false,
    })
    expect(marker()).to.equal('before\n')
    expect(readFileSync(join(repo, 'made-after.txt'), 'utf8')).to.equal('kept\n')

    // remove still lists (and deletes) the snapshots.
    const removed = JSON.parse((await world.cli(['remove', 'alpha', '--yes', '--json'])).stdout)
    expect(removed.snapshots_deleted).to.have.length(2).and.include('clean')
  })
})
