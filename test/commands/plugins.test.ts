import {resolve} from 'node:path'
import {expect} from 'chai'
import {makeWorld, type World} from '../helpers/world.js'

const EXAMPLE = resolve(import.meta.dirname, '../../examples/repoman-plugin-projects')

describe('third-party plugins', () => {
  let world: World
  beforeEach(() => {
    world = makeWorld('/tmp/rm-plugins-needs-no-incus')
    world.writeRegistry([{name: 'alpha'}, {name: 'beta'}])
  })
  afterEach(() => world.dispose())

  it('links the example plugin, runs its command through the library API, and unlinks it', async () => {
    const linked = await world.cli(['plugins', 'link', EXAMPLE])
    expect(linked.exitCode, linked.stderr).to.equal(0)
    expect((await world.cli(['plugins'])).stdout).to.match(/repoman-plugin-projects 1\.0\.0 \(link\)/)

    const counted = await world.cli(['projects', 'count', '--offline', '--json'])
    expect(counted.exitCode, counted.stderr).to.equal(0)
    expect(JSON.parse(counted.stdout)).to.deep.equal({registered: 2})

    expect((await world.cli(['plugins', 'unlink', 'repoman-plugin-projects'])).exitCode).to.equal(0)
    const gone = await world.cli(['projects', 'count'])
    expect(gone.exitCode).to.equal(2)
    expect(gone.stderr).to.equal('Error: "projects" is not a repoman command (`repoman --help` lists them)\n')
  })

  it('answers a typo with one Error: line naming the right command, and exit 2', async () => {
    const typo = await world.cli(['lsit'])
    expect(typo).to.deep.equal({
      exitCode: 2,
      stdout: '',
      stderr: 'Error: "lsit" is not a repoman command; did you mean `repoman list`? (`repoman --help` lists them)\n',
    })
    const json = await world.cli(['statsu', '--json'])
    expect(json.exitCode).to.equal(2)
    expect(JSON.parse(json.stdout).error).to.deep.include({code: 'UNKNOWN_COMMAND', hint: 'repoman status'})
  })
})
