import {expect} from 'chai'
import {decideShareFix} from '../../../src/lib/agents/share-fix.js'
import type {IncusProfile} from '../../../src/lib/incus/types.js'
import {testProject, testRegistry} from '../../helpers/registry-fixture.js'

const share = {type: 'disk', source: '/home/dev/.claude', path: '/home/dev/.claude'}
const profile = (name: string, devices: IncusProfile['devices']): IncusProfile => ({
  name,
  description: '',
  config: {},
  devices,
})
const instance = (name: string, profiles: string[], devices: IncusProfile['devices']) => ({
  name,
  profiles,
  config: {},
  devices: {},
  expanded_devices: devices,
})

describe('status --fix of the old read-write agent shares (pure)', () => {
  it('installs again the profiles that share, and gives homes to the registered containers that use them', () => {
    const registry = testRegistry({projects: [testProject('old'), testProject('new'), testProject('other')]})
    const profiles = [
      profile('default', {}),
      profile('claude-share', {'claude-dir': share}),
      profile('codex-share', {'codex-dir': {...share, source: '/home/dev/.codex', readonly: 'true'}}),
    ]
    const instances = [
      instance('old', ['default', 'claude-share'], {'claude-dir': share}),
      instance('new', ['default', 'codex-share'], {'codex-dir': {...share, readonly: 'true'}}),
      instance('stray', ['claude-share'], {'claude-dir': share}),
    ]
    expect(decideShareFix(registry, instances, profiles)).to.deep.equal({profiles: ['claude-share'], projects: ['old']})
    expect(decideShareFix(registry, instances, profiles, 'new')).to.deep.equal({profiles: [], projects: []})
  })
})
