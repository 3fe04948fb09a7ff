import {expect} from 'chai'
import {ProjectNotFoundError} from '../../../src/lib/errors.js'
import type {IncusClient} from '../../../src/lib/incus/client.js'
import type {IncusInstance} from '../../../src/lib/incus/types.js'
import {accountFixSteps, containerInterfaces, decideAccountFix, renderFixes} from '../../../src/lib/lifecycle/status.js'
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

describe('status: the network a container really has', () => {
  const withDevices = (devices: Record<string, Record<string, string>>) =>
    ({name: 'alpha', status: 'Running', config: {}, devices: {}, expanded_devices: devices}) as unknown as IncusInstance

  it('names each NIC and what it is on, from the profiles and the container together', () => {
    const nics = containerInterfaces(
      withDevices({
        root: {type: 'disk', path: '/', pool: 'default'},
        eth1: {type: 'nic', nictype: 'macvlan', parent: 'enp1s0'},
        eth0: {type: 'nic', name: 'eth0', network: 'repomanbr0'},
      }),
    )
    expect(nics).to.deep.equal({interfaces: ['eth0 on repomanbr0', 'eth1 on enp1s0'], askedForNone: false})
  })

  it('tells no NIC at all from a NIC turned off on purpose', () => {
    expect(containerInterfaces(withDevices({root: {type: 'disk', path: '/', pool: 'default'}}))).to.deep.equal({
      interfaces: [],
      askedForNone: false,
    })
    expect(containerInterfaces(withDevices({eth0: {type: 'none'}}))).to.deep.equal({interfaces: [], askedForNone: true})
  })
})
