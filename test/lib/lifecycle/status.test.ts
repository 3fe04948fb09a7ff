import {expect} from 'chai'
import {ProjectNotFoundError} from '../../../src/lib/errors.js'
import type {IncusClient} from '../../../src/lib/incus/client.js'
import type {IncusInstance} from '../../../src/lib/incus/types.js'
import {accountFixSteps, decideAccountFix, renderFixes} from '../../../src/lib/lifecycle/status.js'
import {testProject, testRegistry} from '../../helpers/registry-fixture.js'

const instance = (name: string, status: string) => ({name, status}) as IncusInstance

const registry = testRegistry({projects: [testProject('alpha'), testProject('beta'), testProject('gamma')]})

describe('status --fix', () => {
  const instances = [instance('alpha', 'Running'), instance('beta', 'Stopped')]

  it('checks the running containers and says, in registry order, why it leaves the others', () => {
    const plan = decideAccountFix(registry, instances)
    expect(plan.map((p) => [p.name, p.skipped])).to.deep.equal([
      ['alpha', null],
      ['beta', 'stopped; checked when exec or shell starts it'],
      ['gamma', 'the container is gone'],
    ])
    const {steps, result} = accountFixSteps(plan, registry, {} as IncusClient)
    expect(steps.map((s) => s.title)).to.deep.equal(['Your account in "alpha"'])
    expect(renderFixes(result.slice(1))).to.deep.equal([
      'fix    beta: not checked (stopped; checked when exec or shell starts it)',
      'fix    gamma: not checked (the container is gone)',
    ])
  })

  it('takes one project by name, and refuses one the registry does not have', () => {
    expect(decideAccountFix(registry, instances, 'beta').map((p) => p.name)).to.deep.equal(['beta'])
    expect(() => decideAccountFix(registry, instances, 'nope')).to.throw(ProjectNotFoundError, /no project "nope"/)
  })
})
