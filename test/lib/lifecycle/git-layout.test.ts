import {execFileSync} from 'node:child_process'
import {existsSync, mkdtempSync, rmSync} from 'node:fs'
import {join} from 'node:path'
import {expect} from 'chai'
import sinon from 'sinon'
import type {IncusInstance} from '../../../src/lib/incus/types.js'
import {CONFIG_KEYS} from '../../../src/lib/lifecycle/containers.js'
import {decideGitFix, devicesWithOwnGit, gitFixSteps, gitLayoutOf} from '../../../src/lib/lifecycle/git-layout.js'
import {runSteps} from '../../../src/lib/steps.js'
import {testProject, testRegistry} from '../../helpers/registry-fixture.js'

const repo = '/home/dev/repos/alpha'
/** A container as an older repoman made it: the repo, and read-only mounts into the host's .git. */
const oldInstance = (name = 'alpha'): IncusInstance => ({
  name,
  status: 'Running',
  type: 'container',
  created_at: '',
  profiles: ['default'],
  config: {[CONFIG_KEYS.managed]: 'true'},
  devices: {
    repo: {type: 'disk', source: repo, path: repo},
    'ro-git-hooks': {type: 'disk', source: `${repo}/.git/hooks`, path: `${repo}/.git/hooks`, readonly: 'true'},
    'ro-envrc': {type: 'disk', source: `${repo}/.envrc`, path: `${repo}/.envrc`, readonly: 'true'},
  },
})

describe("a container's git dir: its own, or the host's (pure)", () => {
  it("tells the layouts apart, and moves an old one to a git dir of its own, keeping what is not the host's .git", () => {
    expect(gitLayoutOf(oldInstance(), repo, 'dir')).to.equal('host')
    expect(gitLayoutOf(oldInstance(), repo, 'none')).to.equal('none')
    const devices = devicesWithOwnGit(oldInstance().devices, repo, '/state/agent-git/alpha')
    expect(Object.keys(devices).sort()).to.deep.equal(['git', 'git-objects', 'repo', 'ro-envrc'])
    expect(devices.git).to.deep.equal({type: 'disk', source: '/state/agent-git/alpha', path: `${repo}/.git`})
    expect(devices['git-objects']).to.include({source: `${repo}/.git/objects`, readonly: 'true'})
    expect(gitLayoutOf({...oldInstance(), devices}, repo, 'dir')).to.equal('own')
  })

  it('plans the fix only for registered, managed containers that still write the host .git', () => {
    const registry = testRegistry({projects: [testProject('alpha'), testProject('beta'), testProject('gone')]})
    const moved = {
      ...oldInstance('beta'),
      devices: devicesWithOwnGit(oldInstance().devices, '/home/dev/repos/beta', '/s'),
    }
    const stray = {...oldInstance('stray')}
    const facts = {hostGit: () => 'dir' as const, wreck: () => undefined}
    const plan = decideGitFix(registry, [oldInstance(), moved, stray], facts)
    expect(plan.map((p) => [p.name, p.kind])).to.deep.equal([['alpha', 'move']])
    expect(decideGitFix(registry, [oldInstance()], facts, 'beta')).to.deep.equal([])
    // Its own git dir, broken by the agent: rebuilt.
    const wrecked = decideGitFix(registry, [moved], {...facts, wreck: (name) => name === 'beta' && 'HEAD gone'})
    expect(wrecked.map((p) => [p.name, p.kind])).to.deep.equal([['beta', 'rebuild']])
  })

  it('a fix whose device change fails takes back the git dir it made', async () => {
    const root = mkdtempSync('/var/tmp/repoman-git-layout-test-')
    try {
      const path = join(root, 'alpha')
      execFileSync('git', ['init', '-q', path])
      const incus = {
        setDevices: sinon.stub().rejects(new Error('device busy')),
        capture: sinon.stub(),
        execArgs: sinon.stub(),
      }
      const state = join(root, 'state')
      const {steps, result} = gitFixSteps(
        [{name: 'alpha', repoPath: path, instance: oldInstance(), kind: 'move'}],
        incus,
        state,
      )
      await runSteps(steps).then(
        () => expect.fail('must fail'),
        (error: Error) => expect(error.message).to.equal('device busy'),
      )
      sinon.assert.calledOnce(incus.setDevices)
      expect(existsSync(join(state, 'agent-git/alpha'))).to.equal(false)
      expect(result).to.deep.equal([])
    } finally {
      rmSync(root, {recursive: true, force: true})
    }
  })
})
