import {mkdirSync, mkdtempSync, rmSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {expect} from 'chai'
import sinon from 'sinon'
import {RepomanError, UsageError} from '../../../src/lib/errors.js'
import type {IncusProject} from '../../../src/lib/incus/types.js'
import type {Registry} from '../../../src/lib/registry/schema.js'
import {
  buildRegistry,
  choosePool,
  missingValues,
  planDefaultProfile,
  planSetup,
  poolAdvice,
  resolveSetup,
  setupSteps,
} from '../../../src/lib/setup/setup.js'
import {runSteps} from '../../../src/lib/steps.js'

const pool = (name: string) => ({name, driver: 'dir', status: 'Created'})
const host = {user: 'dev', uid: 1000, gid: 1000, home: '/home/dev'}

describe('setup decisions', () => {
  it('picks the named pool, the only pool, else "default", and says what to do with none', () => {
    expect(choosePool([pool('fast'), pool('slow')], 'slow')).to.equal('slow')
    expect(choosePool([pool('tank')])).to.equal('tank')
    expect(choosePool([pool('a'), pool('default')])).to.equal('default')
    expect(() => choosePool([pool('a'), pool('b')])).to.throw(UsageError, /choose one with --storage-pool/)
    expect(() => choosePool([])).to.throw(RepomanError, /incus storage create default dir/)
    expect(() => choosePool([pool('a')], 'zz')).to.throw(UsageError, /storage pool "zz" does not exist/)
  })

  it('advises a cloning pool only when the root disk is on a dir pool', () => {
    const root = {root: {type: 'disk', path: '/', pool: 'default'}}
    expect(poolAdvice([pool('default')], root)).to.equal(
      'storage pool "default" is a dir pool: each `repoman new` copies the whole image; a btrfs or zfs pool clones it instantly (on a loop file: `incus storage create fast btrfs size=12GiB`, then `repoman setup --storage-pool fast`)',
    )
    // A copy-on-write pool is there already: the advice names it.
    expect(poolAdvice([pool('default'), {name: 'cow', driver: 'zfs', status: 'Created'}], root)).to.match(
      /instantly, and "cow" is one: `repoman setup --storage-pool cow`$/,
    )
    expect(poolAdvice([{name: 'default', driver: 'btrfs', status: 'Created'}], root)).to.equal(undefined)
    expect(poolAdvice([pool('default')], {})).to.equal(undefined)
  })

  it('adds a root disk (and a NIC for a chosen network) only where missing', () => {
    const empty = {name: 'default', description: '', config: {}, devices: {}}
    expect(planDefaultProfile(empty, 'tank', undefined, {pool: false, network: false})).to.deep.equal({
      root: {type: 'disk', path: '/', pool: 'tank'},
    })
    expect(planDefaultProfile(empty, 'tank', 'incusbr0', {pool: false, network: false})).to.deep.equal({
      root: {type: 'disk', path: '/', pool: 'tank'},
      eth0: {type: 'nic', name: 'eth0', network: 'incusbr0'},
    })
    const done = {...empty, devices: {root: {type: 'disk', path: '/', pool: 'tank'}}}
    expect(planDefaultProfile(done, 'other', undefined, {pool: false, network: false})).to.equal(undefined)
    expect(planDefaultProfile(done, 'other', undefined, {pool: true, network: false})?.root?.pool).to.equal('other')
  })

  it('keeps recorded values, asks only for what is neither given nor recorded', () => {
    expect(missingValues({reposRoot: '/r'}, undefined)).to.deep.equal(['backupRoot', 'image', 'profiles'])
    const resolved = resolveSetup({backupRoot: '/nfs'}, undefined, {reposRoot: '~/code'}, host, () => '10.0.0.2')
    expect(resolved).to.include({
      reposRoot: '/home/dev/code',
      backupRoot: '/nfs',
      incusProject: 'repoman',
      lanIp: '10.0.0.2',
    })
    expect(() => resolveSetup({lanIp: 'nope'}, undefined, {}, host, () => '')).to.throw(UsageError, /not an IP address/)
  })
})

describe('setup plan and steps', () => {
  const values = {
    reposRoot: '',
    backupRoot: '/nfs/repos',
    image: 'images:debian/13/cloud',
    profiles: ['default'],
    incusProject: 'repoman',
    lanIp: '192.0.2.10',
  }
  const inPlaceProject: IncusProject = {
    name: 'repoman',
    description: '',
    config: {'features.images': 'false', 'features.profiles': 'true'},
  }
  const rootDisk = {root: {type: 'disk', path: '/', pool: 'default'}}
  const inPlaceDevices = {...rootDisk, eth0: {type: 'nic', name: 'eth0', network: 'incusbr0'}}
  let dir: string
  let paths: {registryFile: string; overridesDir: string; userProfilesDir: string}

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'rm-setup-'))
    paths = {
      registryFile: join(dir, 'repoman.toml'),
      overridesDir: join(dir, 'repos.d'),
      userProfilesDir: join(dir, 'profiles'),
    }
    values.reposRoot = join(dir, 'repos')
  })
  afterEach(() => rmSync(dir, {recursive: true, force: true}))

  /** Stubs for Incus and the store, as a host that has `project` and whose registry is `registry`. */
  function world(options: {
    project?: IncusProject
    devices?: Record<string, Record<string, string>>
    registry?: Registry
    networks?: string[]
  }) {
    const profile = {name: 'default', description: 'Default Incus profile', config: {}, devices: options.devices ?? {}}
    const incus = {
      server: sinon.stub().resolves({
        api_extensions: [],
        environment: {server_version: '6.0.4', kernel_features: {idmapped_mounts: 'true'}},
      }),
      getProject: sinon.stub().resolves(options.project),
      createProject: sinon.stub().resolves(),
      patchProject: sinon.stub().resolves(),
      deleteProject: sinon.stub().resolves(),
      storagePools: sinon.stub().resolves([{name: 'default', driver: 'btrfs', status: 'Created'}]),
      networks: sinon
        .stub()
        .resolves((options.networks ?? []).map((name) => ({name, type: 'bridge', managed: true, config: {}}))),
      getProfile: sinon.stub().callsFake(async () => structuredClone(profile)),
      updateProfile: sinon.stub().resolves(),
      createNetwork: sinon.stub().resolves(),
      deleteNetwork: sinon.stub().resolves(),
      resolveImage: sinon.stub().resolves({properties: {os: 'Debian'}}),
    }
    const store = {
      exists: sinon.stub().returns(options.registry !== undefined),
      read: sinon.stub().callsFake(async () => structuredClone(options.registry)),
      replace: sinon.stub().callsFake(async (build: (current: Registry | undefined) => Registry) => ({
        registry: build(options.registry),
        changed: true,
      })),
    }
    const deps = {
      paths,
      store,
      incus: sinon.stub<[string], typeof incus>().returns(incus),
      host,
      detectLanIp: () => '192.0.2.10',
      missingSubids: sinon.stub().resolves(undefined),
      hostNetwork: () => ({interfaces: ['lo', 'eth0'], cidrs: ['127.0.0.1/8', '10.213.1.5/24']}),
    }
    return {incus, store, deps}
  }

  const makeDirs = () => {
    for (const path of [paths.overridesDir, paths.userProfilesDir, values.reposRoot]) mkdirSync(path)
  }

  it('plans nothing on a host where everything is in place, and changes nothing', async () => {
    makeDirs()
    const {incus, store, deps} = world({
      project: inPlaceProject,
      devices: inPlaceDevices,
      registry: buildRegistry(undefined, values, host),
      networks: ['incusbr0'],
    })
    const plan = await planSetup({}, {}, deps)
    expect(plan).to.deep.include({project: {action: 'none'}, registryChanged: false, dirs: [], warnings: [], notes: []})
    const {steps, result} = setupSteps(plan, deps)
    expect(steps).to.deep.equal([])
    await runSteps(steps)
    expect(result.changes).to.deep.equal([])
    for (const change of [
      incus.createProject,
      incus.patchProject,
      incus.updateProfile,
      incus.createNetwork,
      store.replace,
    ])
      expect(change.called).to.equal(false)
  })

  it('changes only what differs: one project setting, the missing NIC, the new image in the registry', async () => {
    makeDirs()
    const {incus, deps} = world({
      project: {...inPlaceProject, config: {'features.images': 'true', 'features.profiles': 'true'}},
      devices: rootDisk,
      registry: buildRegistry(undefined, values, host),
      networks: ['incusbr0'],
    })
    const plan = await planSetup({image: 'other-image'}, {}, deps)
    const {steps, result} = setupSteps(plan, deps)
    expect(steps.map((s) => s.title)).to.deep.equal([
      'Set features.images=false on project "repoman"',
      'Root disk (and network) on the default profile',
      `Write ${paths.registryFile}`,
    ])
    await runSteps(steps)
    expect(incus.createProject.called).to.equal(false)
    expect(incus.patchProject.args).to.deep.equal([['repoman', {'features.images': 'false'}]])
    expect(incus.updateProfile.firstCall.args[0].devices).to.deep.equal({
      ...rootDisk,
      eth0: {type: 'nic', name: 'eth0', network: 'incusbr0'},
    })
    expect(result.changes).to.deep.equal([
      'set features.images=false on project "repoman"',
      'default profile: root disk on pool "default", eth0 on network "incusbr0"',
      `wrote ${paths.registryFile}`,
    ])
    expect(result.defaults.default_image).to.equal('other-image')
  })

  it('works on with a warning when Incus refuses a project setting', async () => {
    makeDirs()
    const {incus, deps} = world({
      project: {...inPlaceProject, config: {'features.profiles': 'true'}},
      devices: inPlaceDevices,
      registry: buildRegistry(undefined, values, host),
      networks: ['incusbr0'],
    })
    incus.patchProject.rejects(new Error('Features can only be changed on empty projects'))
    const {steps, result} = setupSteps(await planSetup({}, {}, deps), deps)
    await runSteps(steps)
    expect(result.changes).to.deep.equal([])
    expect(result.warnings).to.deep.equal([
      'project "repoman" keeps features.images=(unset): Features can only be changed on empty projects',
    ])
  })

  it('deletes the project it created, and restores the profile, when a later step fails', async () => {
    const {incus, store, deps} = world({})
    store.replace.rejects(new Error('EACCES: permission denied'))
    const plan = await planSetup({}, {reposRoot: values.reposRoot}, deps)
    expect(plan.project).to.deep.equal({
      action: 'create',
      config: {'features.images': 'false', 'features.profiles': 'true'},
    })
    // Before it exists, the networks and images it will share are the default project's.
    expect(deps.incus.args).to.deep.equal([['repoman'], ['default'], ['default']])
    const {steps} = setupSteps(plan, deps)
    expect(steps.map((s) => s.title)).to.deep.equal([
      'Create Incus project "repoman"',
      'Create network "repomanbr0" (Incus has none, and containers need one)',
      'Root disk (and network) on the default profile',
      `Create ${paths.overridesDir}, ${paths.userProfilesDir}, ${values.reposRoot}`,
      `Write ${paths.registryFile}`,
    ])
    const error = await runSteps(steps).then(
      () => expect.fail('the run should fail'),
      (e: Error) => e,
    )
    expect(error.message).to.equal('EACCES: permission denied')
    expect(incus.createProject.calledOnceWith('repoman')).to.equal(true)
    expect(incus.updateProfile.args.map(([spec]) => spec.devices)).to.deep.equal([
      {...rootDisk, eth0: {type: 'nic', name: 'eth0', network: 'repomanbr0'}},
      {},
    ])
    expect(incus.deleteNetwork.args).to.deep.equal([['repomanbr0']])
    expect(incus.deleteProject.args).to.deep.equal([['repoman']])
    expect(incus.deleteProject.calledAfter(incus.updateProfile)).to.equal(true)
  })

  it('creates a bridge where Incus has no network, with a free subnet when Incus cannot pick one', async () => {
    makeDirs()
    const {incus, deps} = world({
      project: inPlaceProject,
      devices: rootDisk,
      registry: buildRegistry(undefined, values, host),
    })
    // Another daemon's bridge holds the first name on this host; an isolated project's bridge is no candidate.
    deps.hostNetwork = () => ({interfaces: ['lo', 'eth0', 'repomanbr0'], cidrs: ['10.213.1.5/24']})
    incus.networks.resolves([
      {name: 'rmn0123456789', type: 'bridge', managed: true, config: {'ipv4.address': '10.213.2.1/24'}},
    ])
    incus.createNetwork.onFirstCall().rejects(new Error('Failed to automatically find an unused IPv4 subnet'))
    const plan = await planSetup({}, {}, deps)
    expect(plan.bridge).to.deep.equal({name: 'repomanbr1', subnet: '10.213.3.1/24'})
    const {steps, result} = setupSteps(plan, deps)
    await runSteps(steps)
    expect(incus.createNetwork.args.map(([body]) => body.config['ipv4.address'])).to.deep.equal([
      'auto',
      '10.213.3.1/24',
    ])
    expect(incus.updateProfile.firstCall.args[0].devices).to.deep.equal({
      ...rootDisk,
      eth0: {type: 'nic', name: 'eth0', network: 'repomanbr1'},
    })
    expect(result.changes.slice(0, 2)).to.deep.equal([
      'created network "repomanbr1" (10.213.3.1/24, NAT to the host\'s network)',
      'default profile: root disk on pool "default", eth0 on network "repomanbr1"',
    ])
  })

  it('creates no bridge where the profile has a NIC of its own, and warns when several networks leave the choice open', async () => {
    const own = world({
      project: inPlaceProject,
      devices: {...rootDisk, eth0: {type: 'nic', nictype: 'macvlan', parent: 'eth0'}},
    })
    expect((await planSetup({}, {reposRoot: values.reposRoot}, own.deps)).bridge).to.equal(undefined)
    const several = world({project: inPlaceProject, devices: rootDisk, networks: ['a', 'b']})
    const plan = await planSetup({}, {reposRoot: values.reposRoot}, several.deps)
    expect(plan.bridge).to.equal(undefined)
    expect(plan.warnings).to.deep.equal([
      'several managed networks (a, b): new containers get no NIC; choose one with `repoman setup --network a`',
    ])
  })

  it('warns when the default image is neither cached nor served by a remote, and names where to look', async () => {
    const {incus, deps} = world({project: inPlaceProject, devices: inPlaceDevices, networks: ['incusbr0']})
    incus.resolveImage.resolves(undefined)
    const plan = await planSetup({image: 'nope/13'}, {reposRoot: values.reposRoot}, deps)
    expect(plan.warnings).to.deep.equal([
      'default image "nope/13" cannot be had (no cached image and no configured remote has it): `repoman new` will fail; `incus image list` shows the cached images and `incus remote list` the remotes; choose one with `repoman setup --image ALIAS`',
    ])
    incus.resolveImage.rejects(new Error('Error: Failed getting image: lookup images.example: no such host'))
    const offline = await planSetup({image: 'images:debian/13'}, {reposRoot: values.reposRoot}, deps)
    expect(offline.warnings[0]).to.match(
      /^default image "images:debian\/13" cannot be had \(Failed getting image: lookup images.example: no such host\)/,
    )
  })

  it('refuses before changing anything when no storage pool can be chosen', async () => {
    const {incus, deps} = world({})
    incus.storagePools.resolves([
      {name: 'a', driver: 'dir', status: 'Created'},
      {name: 'b', driver: 'dir', status: 'Created'},
    ])
    const refusal = await planSetup({}, {}, deps).then(
      () => expect.fail('the plan should refuse'),
      (e: UsageError) => e,
    )
    expect(refusal).to.be.instanceOf(UsageError).with.property('hint', 'repoman setup --storage-pool a')
    expect(incus.createProject.called).to.equal(false)
  })
})
