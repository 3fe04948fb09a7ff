import {expect} from 'chai'
import {ProjectNotFoundError} from '../../../src/lib/errors.js'
import type {IncusClient} from '../../../src/lib/incus/client.js'
import type {IncusInstance} from '../../../src/lib/incus/types.js'
import {accountFixSteps, decideAccountFix, renderFixes} from '../../../src/lib/lifecycle/status.js'
import type {Registry} from '../../../src/lib/registry/schema.js'

const project = (name: string) => ({name, repo: name, image: 'img', profiles: ['default'], created: '', backup: true})
const instance = (name: string, status: string) => ({name, status}) as IncusInstance

const registry: Registry = {
  schema: 3,
  repoman: {output: 'quiet'},
  host: {lan_ip: '', user: 'dev', uid: 1000, gid: 1000, home: '/home/dev'},
  defaults: {
    repos_root: '/home/dev/repos',
    backup_root: '/nfs/repos',
    incus_project: 'repoman',
    default_image: 'img',
    profiles: ['default'],
  },
  project: [project('alpha'), project('beta'), project('gamma')],
}

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
