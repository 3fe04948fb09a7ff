import {mkdirSync, mkdtempSync, rmSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {expect} from 'chai'
import sinon from 'sinon'
import {IncusError, MountSourceMissingError, SensitiveMountError} from '../../../src/lib/errors.js'
import type {IncusProfile, ProfileSpec} from '../../../src/lib/incus/types.js'
import {resolvePaths} from '../../../src/lib/paths.js'
import {
  decideProfileInstall,
  type ProfileInstallContext,
  planProfileInstall,
  profileInstallSteps,
  renderProfileInstall,
} from '../../../src/lib/profiles/install.js'
import type {ProfileTemplate} from '../../../src/lib/profiles/library.js'
import {runSteps} from '../../../src/lib/steps.js'

const spec = (name: string, value: string): ProfileSpec => ({
  name,
  description: name,
  config: {'environment.X': value},
  devices: {},
})
const template = (name: string): ProfileTemplate => ({name, origin: 'user', file: `/nowhere/${name}.yaml`})
const held = (s: ProfileSpec, usedBy: string[] = []): IncusProfile => ({...s, used_by: usedBy})

/** A client that holds `installed` and records every change; `failing` makes those calls fail. */
function fakeIncus(installed: IncusProfile[], failing: {updateProfile?: string} = {}) {
  return {
    listProfiles: sinon.stub().resolves(installed),
    createProfile: sinon.stub().resolves(),
    updateProfile: sinon.stub().callsFake(async (s: ProfileSpec) => {
      if (s.name === failing.updateProfile) throw new IncusError(`Incus refused profile ${s.name}`)
    }),
    deleteProfile: sinon.stub().resolves(),
  }
}

describe('profile install', () => {
  describe('decideProfileInstall', () => {
    it('creates what Incus lacks, updates what differs, leaves what is in step, and keeps skips', async () => {
      const planned = await decideProfileInstall(
        [
          {template: template('new'), spec: spec('new', '1')},
          {template: template('same'), spec: spec('same', '1')},
          {template: template('changed'), spec: spec('changed', '2')},
          {template: template('absent'), skipped: 'mounts /x, which does not exist'},
        ],
        [held(spec('same', '1'), ['/1.0/instances/a']), held(spec('changed', '1')), held(spec('other', '1'))],
      )
      expect(planned.map((p) => [p.name, p.action])).to.deep.equal([
        ['absent', 'skipped'],
        ['changed', 'update'],
        ['new', 'create'],
        ['same', 'unchanged'],
      ])
      // What undo puts back is what Incus holds, without used_by.
      expect(planned[1]).to.deep.include({previous: spec('changed', '1')})
    })
  })

  describe('profileInstallSteps', () => {
    it('makes one step per change and reports every profile', async () => {
      const incus = fakeIncus([])
      const plan = {
        profiles: await decideProfileInstall(
          [
            {template: template('a'), spec: spec('a', '1')},
            {template: template('b'), spec: spec('b', '1')},
          ],
          [held(spec('a', '0')), held(spec('b', '1'))],
        ),
      }
      const {steps, result} = profileInstallSteps(plan, incus)
      expect(steps.map((s) => s.title)).to.deep.equal(['Update profile a'])
      await runSteps(steps)
      expect(incus.updateProfile.args).to.deep.equal([[spec('a', '1')]])
      expect(renderProfileInstall(result)).to.deep.equal(['a: updated (user)', 'b: unchanged (user)'])
    })

    it('deletes a profile it created when a later update fails', async () => {
      const incus = fakeIncus([], {updateProfile: 'b'})
      const plan = {
        profiles: await decideProfileInstall(
          [
            {template: template('a'), spec: spec('a', '1')},
            {template: template('b'), spec: spec('b', '2')},
          ],
          [held(spec('b', '1'))],
        ),
      }
      const error = await runSteps(profileInstallSteps(plan, incus).steps).then(
        () => expect.fail('the install should fail'),
        (e: Error) => e,
      )
      expect(error).to.be.instanceOf(IncusError).with.property('message', 'Incus refused profile b')
      expect(incus.createProfile.args).to.deep.equal([[spec('a', '1')]])
      expect(incus.deleteProfile.args).to.deep.equal([['a']])
    })

    it('puts back the previous spec of a profile it updated when a later update fails', async () => {
      const incus = fakeIncus([], {updateProfile: 'b'})
      const plan = {
        profiles: await decideProfileInstall(
          [
            {template: template('a'), spec: spec('a', 'new')},
            {template: template('b'), spec: spec('b', 'new')},
          ],
          [held(spec('a', 'old'), ['/1.0/instances/x']), held(spec('b', 'old'))],
        ),
      }
      await runSteps(profileInstallSteps(plan, incus).steps).catch(() => undefined)
      expect(incus.updateProfile.args).to.deep.equal([[spec('a', 'new')], [spec('b', 'new')], [spec('a', 'old')]])
      expect(incus.deleteProfile.called).to.equal(false)
    })
  })

  describe('planProfileInstall', () => {
    let home: string
    let ctx: ProfileInstallContext & {incus: ReturnType<typeof fakeIncus>}
    beforeEach(() => {
      home = mkdtempSync('/tmp/rm-install-')
      const paths = resolvePaths({HOME: home, PATH: '/nowhere'})
      mkdirSync(paths.userProfilesDir, {recursive: true})
      mkdirSync(join(home, '.ssh'))
      const write = (name: string, text: string) => writeFileSync(join(paths.userProfilesDir, `${name}.yaml`), text)
      write('env-a', 'description: a\nconfig:\n  environment.A: "1"\n')
      write(
        'keys',
        'description: keys\ndevices:\n  ssh:\n    type: disk\n    source: ${HOME}/.ssh\n    path: /root/.ssh\n',
      )
      write('gone', 'description: gone\ndevices:\n  g:\n    type: disk\n    source: ${HOME}/gone\n    path: /gone\n')
      const host = {lan_ip: '192.0.2.10', user: 'dev', uid: 1000, gid: 1000, home}
      const registry = {host, defaults: {idmap: 'shift', repos_root: '~/repos'}} as never
      ctx = {registry, paths, incus: fakeIncus([])}
    })
    afterEach(() => rmSync(home, {recursive: true, force: true}))

    it('refuses an exposure before anything changed, naming --allow-sensitive', async () => {
      const error = await planProfileInstall(['env-a', 'keys'], ctx, {allowSensitive: false}).then(
        () => expect.fail('the plan should refuse'),
        (e: Error) => e,
      )
      expect(error).to.be.instanceOf(SensitiveMountError)
      expect(error).to.include({hint: 'repoman profile install keys --allow-sensitive', code: 'SENSITIVE_MOUNT'})
      // Refused while rendering: Incus was not even asked, let alone changed.
      expect(ctx.incus.listProfiles.called).to.equal(false)
      expect(ctx.incus.createProfile.called || ctx.incus.updateProfile.called).to.equal(false)
      const plan = await planProfileInstall(['keys'], ctx, {allowSensitive: true})
      expect(plan.profiles.map((p) => p.action)).to.deep.equal(['create'])
    })

    it('refuses a missing mount source, or skips it when asked to', async () => {
      const refused = await planProfileInstall(['gone'], ctx, {allowSensitive: false}).catch((e: Error) => e)
      expect(refused).to.be.instanceOf(MountSourceMissingError).with.property('code', 'MOUNT_SOURCE_MISSING')
      expect((refused as Error).message).to.match(/^profile "gone" mounts .*\/gone, which does not exist on this host/)

      const plan = await planProfileInstall(['gone', 'env-a'], ctx, {allowSensitive: false, skipMissing: true})
      expect(plan.profiles.map((p) => [p.name, p.action])).to.deep.equal([
        ['env-a', 'create'],
        ['gone', 'skipped'],
      ])
    })
  })
})
