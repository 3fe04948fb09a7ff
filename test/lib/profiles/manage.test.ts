import {expect} from 'chai'
import sinon from 'sinon'
import {InUseError, ProfileNotInstalledError, type RepomanError} from '../../../src/lib/errors.js'
import type {IncusProfile} from '../../../src/lib/incus/types.js'
import {type ProfileContext, removeProfile} from '../../../src/lib/profiles/manage.js'

const profile = (name: string, usedBy: string[] = []): IncusProfile => ({
  name,
  description: '',
  config: {},
  devices: {},
  used_by: usedBy,
})

describe('profile remove', () => {
  const contextWith = (held: IncusProfile | undefined) => {
    const incus = {project: 'repoman', getProfile: sinon.stub().resolves(held), deleteProfile: sinon.stub().resolves()}
    return {incus, ctx: {incus} as unknown as ProfileContext}
  }

  it('deletes a profile nothing uses', async () => {
    const {incus, ctx} = contextWith(profile('llm-share'))
    expect(await removeProfile('llm-share', ctx)).to.deep.equal({name: 'llm-share', removed: true})
    expect(incus.deleteProfile.args).to.deep.equal([['llm-share']])
  })

  it('refuses a profile containers use, the default profile, and one Incus lacks, deleting nothing', async () => {
    const refusals: Array<[IncusProfile | undefined, string, typeof RepomanError, RegExp]> = [
      [profile('claude-share', ['/1.0/instances/kappa?project=repoman']), 'claude-share', InUseError, /used by kappa;/],
      [profile('default'), 'default', InUseError, /root disk of every container/],
      [undefined, 'nope', ProfileNotInstalledError, /not installed in Incus project "repoman"/],
    ]
    for (const [held, name, type, message] of refusals) {
      const {incus, ctx} = contextWith(held)
      const error = await removeProfile(name, ctx).catch((e: Error) => e)
      expect(error).to.be.instanceOf(type)
      expect((error as Error).message).to.match(message)
      expect(incus.deleteProfile.called).to.equal(false)
    }
    const {ctx} = contextWith(undefined)
    expect(await removeProfile('nope', ctx).catch((e: Error) => e)).to.include({hint: 'repoman profile list'})
  })
})
