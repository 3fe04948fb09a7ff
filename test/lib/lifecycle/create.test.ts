import {execFileSync} from 'node:child_process'
import {existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {expect} from 'chai'
import sinon from 'sinon'
import {
  ImageNotFoundError,
  IncusAlreadyExistsError,
  IncusError,
  MountSourceMissingError,
  ProfileNotInstalledError,
  ProjectExistsError,
  RegistryConflictError,
  RepoNotFoundError,
  SensitiveMountError,
  SubidsMissingError,
  UsageError,
} from '../../../src/lib/errors.js'
import type {IncusProfile, InstanceSpec} from '../../../src/lib/incus/types.js'
import {baselineFile} from '../../../src/lib/integrity/snapshot.js'
import {CONFIG_KEYS, guardContextOf} from '../../../src/lib/lifecycle/containers.js'
import {
  type CreateDeps,
  type CreatePlan,
  createSteps,
  decideCreate,
  decideHost,
  type HostFacts,
  type NewRequest,
  type PlanCreateDeps,
  planCreate,
  renderCreate,
} from '../../../src/lib/lifecycle/create.js'
import {aclNameFor, bridgeNameFor} from '../../../src/lib/lifecycle/network.js'
import {agentGitDir} from '../../../src/lib/paths.js'
import {EMPTY_OVERRIDE} from '../../../src/lib/registry/overrides.js'
import type {ProjectEntry, Registry} from '../../../src/lib/registry/schema.js'
import {runSteps} from '../../../src/lib/steps.js'
import {testRegistry} from '../../helpers/registry-fixture.js'

/** A fresh systemd image as the file API shows it before the first boot (stopped: no /run yet, but the wait finds it disabled). */
const IMAGE_FILES: Record<
  string,
  {type: 'file' | 'directory'; uid: number; gid: number; mode: number; content: string}
> = {
  '/etc/passwd': {type: 'file', uid: 0, gid: 0, mode: 0o644, content: 'root:x:0:0:root:/root:/bin/bash\n'},
  '/etc/group': {type: 'file', uid: 0, gid: 0, mode: 0o644, content: 'root:x:0:\nsudo:x:27:\n'},
  '/usr/bin/bash': {type: 'file', uid: 0, gid: 0, mode: 0o755, content: ''},
  '/usr/sbin/visudo': {type: 'file', uid: 0, gid: 0, mode: 0o755, content: ''},
  '/etc/sudoers.d': {type: 'directory', uid: 0, gid: 0, mode: 0o755, content: ''},
  '/etc': {type: 'directory', uid: 0, gid: 0, mode: 0o755, content: ''},
  '/run/cloud-init/disabled': {type: 'file', uid: 0, gid: 0, mode: 0o644, content: ''},
}

const defaultProfile: IncusProfile = {
  name: 'default',
  description: '',
  config: {},
  devices: {root: {type: 'disk', path: '/', pool: 'default'}, eth0: {type: 'nic', network: 'incusbr0', name: 'eth0'}},
}
const shareProfile: IncusProfile = {name: 'claude-share', description: '', config: {}, devices: {}}

/** What `incus exec` prints for the account check of a fresh image (see accountScript). */
const FRESH_IMAGE_FACTS = [
  '#repoman:passwd',
  'root:x:0:0:root:/root:/bin/bash',
  '#repoman:group',
  'root:x:0:',
  'sudo:x:27:',
  '#repoman:state',
  'bash=/bin/bash',
  'sudo=yes',
  '',
].join('\n')

describe('new (create)', () => {
  // Not under /tmp: a repo there is refused (the container's systemd mounts over /tmp).
  let root: string
  let registry: Registry
  let reposRoot: string

  const repo = (name: string, options: {git?: boolean} = {}) => {
    const path = join(reposRoot, name)
    mkdirSync(path, {recursive: true})
    writeFileSync(join(path, 'README.md'), 'hi\n')
    if (options.git) {
      execFileSync('git', ['init', '-q', path])
      execFileSync('git', ['-C', path, 'add', '.'])
      execFileSync('git', ['-C', path, '-c', 'user.name=u', '-c', 'user.email=u@example.org', 'commit', '-qm', 'init'])
    }
    return path
  }
  const override = (name: string, text: string) => {
    mkdirSync(join(root, 'repos.d'), {recursive: true})
    writeFileSync(join(root, 'repos.d', `${name}.toml`), text)
  }
  const entry = (name: string): ProjectEntry => ({
    name,
    repo: name,
    image: 'img',
    profiles: ['default'],
    created: '2026-01-01T00:00:00Z',
    backup: true,
  })

  /** Incus as `planCreate` reads it: one default profile with a root disk, a cloud image, no container yet. */
  const planIncus = () => ({
    project: 'repoman',
    getInstance: sinon.stub().resolves(undefined),
    listProfiles: sinon.stub().resolves([defaultProfile, shareProfile]),
    resolveImage: sinon.stub().resolves({properties: {variant: 'cloud'}}),
  })
  const planDeps = (incus: PlanCreateDeps['incus']): PlanCreateDeps => ({
    registry,
    incus,
    paths: {
      overridesDir: join(root, 'repos.d'),
      configDir: join(root, 'config'),
      stateDir: join(root, 'state'),
      cacheDir: join(root, 'cache'),
      launcherDir: join(root, 'data/bin'),
    },
  })

  beforeEach(() => {
    root = mkdtempSync('/var/tmp/repoman-create-test-')
    reposRoot = join(root, 'repos')
    registry = testRegistry({
      host: {lan_ip: '192.168.1.2', home: join(root, 'home')},
      defaults: {
        repos_root: reposRoot,
        default_image: 'images:debian/13/cloud',
        // shift: planning reads no /etc/subuid of the machine running the tests.
        idmap: 'shift',
      },
    })
    mkdirSync(join(root, 'home'))
  })
  afterEach(() => {
    sinon.restore()
    rmSync(root, {recursive: true, force: true})
  })

  describe('planning refusals (before anything changed)', () => {
    /** The error a plan of `request` is refused with; the run must fail. */
    const refusal = async (request: NewRequest, incus: PlanCreateDeps['incus'] = planIncus()) =>
      planCreate(request, planDeps(incus)).then(
        () => expect.fail('the plan should be refused'),
        (error: Error) => error,
      )

    it('a name the registry has: PROJECT_EXISTS, and Incus is never asked', async () => {
      repo('alpha', {git: true})
      registry.project.push(entry('alpha'))
      const incus = planIncus()
      const error = await refusal({name: 'alpha'}, incus)
      expect(error).to.be.instanceOf(ProjectExistsError).with.property('code', 'PROJECT_EXISTS')
      expect(error.message).to.equal('project "alpha" already exists; pick another name or `repoman remove alpha`')
      sinon.assert.notCalled(incus.getInstance)
      sinon.assert.notCalled(incus.resolveImage)
    })

    it('a repo that is not there: REPO_NOT_FOUND', async () => {
      const error = await refusal({name: 'nope'})
      expect(error).to.be.instanceOf(RepoNotFoundError).with.property('code', 'REPO_NOT_FOUND')
      expect(error.message).to.equal(
        `repo ${join(reposRoot, 'nope')} does not exist; create or clone it there first, or pass --repo DIR`,
      )
    })

    it('an override mount whose source is missing: MOUNT_SOURCE_MISSING', async () => {
      repo('beta', {git: true})
      override('beta', '[[mount]]\nsource = "~/data"\npath = "/data"\n')
      const error = await refusal({name: 'beta'})
      expect(error).to.be.instanceOf(MountSourceMissingError)
      expect(error.message).to.equal(
        `mount source ${join(root, 'home/data')} (repos.d/beta.toml) does not exist on this host`,
      )
    })

    it('an override mount exposing ~/.ssh: SENSITIVE_MOUNT with the flag as hint, decided without Incus', async () => {
      repo('gamma', {git: true})
      mkdirSync(join(root, 'home/.ssh'))
      override('gamma', '[[mount]]\nsource = "~/.ssh"\npath = "/mnt/ssh"\n')
      const incus = planIncus()
      const error = await refusal({name: 'gamma'}, incus)
      expect(error).to.be.instanceOf(SensitiveMountError).with.property('code', 'SENSITIVE_MOUNT')
      expect(error.message).to.equal(
        `repos.d/gamma.toml would expose ${join(root, 'home/.ssh')} (SSH keys); refused. Pass --allow-sensitive if you really mean it`,
      )
      expect(error).to.have.property('hint', 'repoman new gamma --allow-sensitive')
      sinon.assert.notCalled(incus.getInstance)
      sinon.assert.notCalled(incus.listProfiles)

      const allowed = await planCreate({name: 'gamma', allowSensitive: true}, planDeps(planIncus()))
      expect(allowed.override.mounts).to.deep.equal([{source: '~/.ssh', path: '/mnt/ssh', readonly: false}])
    })

    it('a container of the name left in Incus: PROJECT_EXISTS, hint `repoman remove`', async () => {
      repo('zeta', {git: true})
      const incus = planIncus()
      incus.getInstance.resolves({name: 'zeta', config: {}})
      const error = await refusal({name: 'zeta'}, incus)
      expect(error).to.be.instanceOf(ProjectExistsError).with.property('hint', 'repoman remove zeta')
      expect(error.message).to.match(
        /^a container "zeta" already exists in Incus project "repoman" but not in the registry/,
      )
    })

    it('a profile not installed: PROFILE_NOT_INSTALLED, hint `repoman profile install ...`', async () => {
      repo('eta', {git: true})
      const error = await refusal({name: 'eta', profiles: ['llm-share', 'claude-share', 'gpu']})
      expect(error).to.be.instanceOf(ProfileNotInstalledError).with.property('code', 'PROFILE_NOT_INSTALLED')
      expect(error).to.have.property('hint', 'repoman profile install llm-share gpu')
      expect(error.message).to.equal(
        'profile "llm-share", "gpu" is not installed in Incus project "repoman"; run `repoman profile install llm-share gpu`',
      )
    })

    it('an image Incus does not have, or cannot resolve: IMAGE_NOT_FOUND, hint listing its remote', async () => {
      repo('theta', {git: true})
      const unknown = planIncus()
      unknown.resolveImage.resolves(undefined)
      const missing = await refusal({name: 'theta', image: 'images:debian/99'}, unknown)
      expect(missing).to.be.instanceOf(ImageNotFoundError).with.property('hint', 'incus image list images:')
      expect(missing.message).to.equal(
        'image "images:debian/99" is not available; check the name with `incus image list`',
      )

      const unreachable = planIncus()
      unreachable.resolveImage.rejects(new IncusError('remote "far" is unreachable'))
      const failed = await refusal({name: 'theta', image: 'local-img'}, unreachable)
      expect(failed).to.be.instanceOf(ImageNotFoundError).with.property('hint', 'incus image list')
      expect(failed.message).to.equal(
        'image "local-img" cannot be resolved (remote "far" is unreachable); check the name and that its remote is reachable',
      )
    })
  })

  describe('decisions from facts', () => {
    /** A git repo that is also an hg repo without hgrc, with an .envrc. */
    const gitRepo: Record<string, 'dir' | 'other'> = {'.': 'dir', '.git': 'dir', '.hg': 'dir', '.envrc': 'other'}
    const facts = (extra: Partial<HostFacts> = {}): HostFacts => ({
      registry,
      override: EMPTY_OVERRIDE,
      repoEntry: (rel) => gitRepo[rel],
      hostGit: 'dir',
      missingMountSources: [],
      guard: guardContextOf(registry, planDeps(planIncus()).paths),
      ...extra,
    })

    it('missing subids under raw.idmap: SUBIDS_MISSING with the tee command as hint', () => {
      registry.defaults.idmap = 'raw.idmap'
      const fix = 'echo root:1000:1 | sudo tee -a /etc/subuid'
      expect(() => decideHost({name: 'iota'}, facts({subidsFix: fix})))
        .to.throw(SubidsMissingError, `run \`${fix}\`, then \`repoman new\` again`)
        .with.property('hint', fix)
      expect(decideHost({name: 'iota'}, facts()).idmap.mode).to.equal('raw.idmap')
    })

    it('plans protection (creating what .hg lacks, nothing in .git), the account, and warns about a repo without VCS', () => {
      const basis = decideHost({name: 'kappa', sudo: false}, facts())
      expect(basis.protection).to.deep.equal({
        mount: ['.hg/hgrc', '.envrc'],
        create: [{path: '.hg/hgrc', kind: 'file'}],
      })
      expect(basis.account).to.include({user: 'dev', uid: 1000, sudo: false})
      expect(basis.warnings).to.deep.equal([])
      const plain = decideHost(
        {name: 'kappa'},
        facts({repoEntry: (rel) => (rel === '.' ? 'dir' : undefined), hostGit: 'none'}),
      )
      expect(plain.warnings).to.deep.equal([`${join(reposRoot, 'kappa')} is neither a git nor an hg repo`])
      expect(plain.protection).to.deep.equal({mount: [], create: []})
      // The empty `.git` an earlier project left as its mount point is no repository either.
      const leftover = decideHost(
        {name: 'kappa'},
        facts({repoEntry: (rel) => (rel === '.' || rel === '.git' ? 'dir' : undefined), hostGit: 'none'}),
      )
      expect(leftover.warnings).to.deep.equal(plain.warnings)
    })

    it('refuses a repo whose .git is a file (a linked worktree): it has no git dir to give the container its own', () => {
      const worktree = facts({
        repoEntry: (rel) => (rel === '.' ? 'dir' : rel === '.git' ? 'other' : undefined),
        hostGit: 'file',
      })
      expect(() => decideHost({name: 'kappa'}, worktree)).to.throw(UsageError, /\.git is a file .*register that one/)
    })

    it('makes the directories mounts sit in under your home yours (parents first), and nothing outside it', async () => {
      const {homeMountParents} = await import('../../../src/lib/lifecycle/create.js')
      expect(
        homeMountParents('/home/dev', [
          '/home/dev/.local/bin/claude',
          '/home/dev/.local/share/opencode',
          '/home/dev/.config/opencode',
          '/home/dev/repos/alpha',
          '/home/dev/.claude',
          '/home/dev',
          '/home/devil/x/y',
          '/opt/tool/bin',
        ]),
      ).to.deep.equal([
        '/home/dev/.config',
        '/home/dev/.local',
        '/home/dev/repos',
        '/home/dev/.local/bin',
        '/home/dev/.local/share',
      ])
    })

    it('clone mode: its own branch and no protection; one project per working tree; only from a git repo', () => {
      const clone = decideHost({name: 'mu', clone: true}, facts())
      expect(clone.clone).to.deep.equal({branch: 'repoman/mu'})
      expect(clone.protection).to.deep.equal({mount: [], create: []})
      expect(decideHost({name: 'mu', clone: true, branch: 'agent/x'}, facts()).clone).to.deep.equal({branch: 'agent/x'})
      expect(() => decideHost({name: 'mu', clone: true, branch: 'bad..name'}, facts())).to.throw(
        UsageError,
        '--branch "bad..name" is not a branch name git accepts (e.g. repoman/mu)',
      )
      expect(() => decideHost({name: 'mu', branch: 'x'}, facts())).to.throw(UsageError, /add --clone/)
      const repoPath = join(reposRoot, 'mu')
      expect(() => decideHost({name: 'mu', clone: true}, facts({hostGit: 'none'}))).to.throw(
        UsageError,
        `--clone makes its checkout from a git repository; ${repoPath} is none`,
      )
      // [defaults] tree = "clone" makes it the default; --no-clone (false) still chooses the shared tree.
      registry.defaults.tree = 'clone'
      expect(decideHost({name: 'mu'}, facts()).clone).to.deep.equal({branch: 'repoman/mu'})
      expect(decideHost({name: 'mu', clone: false}, facts()).clone).to.equal(undefined)
      registry.defaults.tree = undefined
      const entry = (name: string, clone?: ProjectEntry['clone']): ProjectEntry => ({
        name,
        repo: 'mu',
        image: 'x',
        profiles: [],
        created: '2026-01-01T00:00:00Z',
        backup: true,
        ...(clone ? {clone} : {}),
      })
      registry.project.push(entry('mu-a', {branch: 'repoman/mu-a', base: 'a'.repeat(40)}))
      expect(decideHost({name: 'mu'}, facts()).clone).to.equal(undefined)
      registry.project.push(entry('mu-shared'))
      expect(() => decideHost({name: 'mu'}, facts())).to.throw(
        UsageError,
        `"mu-shared" already works in ${repoPath}; give "mu" a checkout of its own with --clone`,
      )
      expect(decideHost({name: 'mu', clone: true}, facts()).clone).to.deep.equal({branch: 'repoman/mu'})
    })

    it('adds the default root disk to mount-only profiles, a NIC to replace when isolated, cloud-init from the image', () => {
      registry.defaults.network = 'restricted'
      const basis = decideHost({name: 'lambda', profiles: ['claude-share'], noDefaultProfiles: true}, facts())
      const plan = decideCreate(basis, {
        incusProject: 'repoman',
        containerExists: false,
        installed: [defaultProfile, shareProfile],
        image: {properties: {variant: 'default'}},
      })
      expect(plan.baseDevices).to.deep.equal(defaultProfile.devices)
      expect(plan.nicDevice).to.equal('eth0')
      expect(plan.cloudInit).to.equal(true) // images:debian/13/cloud
    })
  })

  describe('steps', () => {
    let current: Registry
    let launched: InstanceSpec | undefined

    /** Incus as the steps use it; `getInstance` sees what `launch` made. */
    const stepIncus = () => {
      const incus = {
        project: 'repoman',
        getInstance: sinon.stub().callsFake(async () => launched && {name: launched.name, config: launched.config}),
        launch: sinon.stub().callsFake(async (spec: InstanceSpec) => {
          launched = spec
        }),
        deleteInstance: sinon.stub().resolves(),
        networks: sinon.stub().resolves([]),
        putAcl: sinon.stub().resolves(),
        createNetwork: sinon.stub().resolves(),
        deleteNetwork: sinon.stub().resolves(),
        deleteAcl: sinon.stub().resolves(),
        dialogue: sinon.stub().callsFake(async (_args: string[], _marker: string, reply: (facts: string) => string) => {
          reply(FRESH_IMAGE_FACTS)
          return FRESH_IMAGE_FACTS
        }),
        execArgs: sinon.stub().callsFake((name: string, command: string[]) => ['exec', name, ...command]),
        createInstance: sinon.stub().callsFake(async (spec: InstanceSpec) => {
          launched = spec
        }),
        readInstanceFile: sinon.stub().resolves(undefined),
        writer: {
          read: sinon.stub().callsFake(async (path: string) => IMAGE_FILES[path]),
          write: sinon.stub().resolves(),
          close: sinon.stub().resolves(),
        },
        openFiles: sinon.stub().callsFake(async () => incus.writer),
        instanceTemplates: sinon.stub().resolves(['/etc/hostname']),
        startOverSocket: sinon.stub().resolves(),
        patchOverSocket: sinon.stub().resolves(),
      }
      return incus
    }
    const stepDeps = (incus: CreateDeps['incus']) => {
      const store = {
        update: sinon.stub().callsFake(async (change: (r: Registry) => unknown) => change(current)),
        prepareWrite: sinon.stub(),
      }
      return {
        deps: {
          incus,
          store,
          paths: {stateDir: join(root, 'state'), cacheDir: join(root, 'cache'), configDir: join(root, 'config')},
        },
        store,
      }
    }
    /** The plan of a git repo without hooks or info dir (so protection creates them), network restricted. */
    const isolatedPlan = async (name: string): Promise<CreatePlan> => {
      registry.defaults.network = 'restricted'
      repo(name, {git: true})
      return planCreate({name}, planDeps(planIncus()))
    }
    const failure = (run: Promise<void>) =>
      run.then(
        () => expect.fail('the run should fail'),
        (error: Error) => error,
      )

    beforeEach(() => {
      current = structuredClone(registry)
      launched = undefined
    })

    it('creates, isolates, launches, makes the account, records baseline and registry entry', async () => {
      const plan = await isolatedPlan('mu')
      const incus = stepIncus()
      const {deps, store} = stepDeps(incus)
      const {steps, result} = createSteps(plan, deps)
      await runSteps(steps)

      const spec = incus.launch.firstCall.args[0] as InstanceSpec
      expect(spec.devices.eth0).to.deep.equal({type: 'nic', network: bridgeNameFor('repoman', 'mu'), name: 'eth0'})
      // The container's own git dir at the repo's .git, the host's objects read-only beside it.
      const own = agentGitDir(join(root, 'state'), 'mu')
      expect(spec.devices.git).to.include({source: own, path: join(plan.repoPath, '.git')})
      expect(spec.devices.git).not.to.have.property('readonly')
      expect(spec.devices['git-objects']).to.include({source: join(plan.repoPath, '.git/objects'), readonly: 'true'})
      expect(readFileSync(join(own, 'HEAD'), 'utf8')).to.equal(readFileSync(join(plan.repoPath, '.git/HEAD'), 'utf8'))
      expect(readFileSync(join(own, 'objects/info/alternates'), 'utf8')).to.equal('/var/lib/repoman/host-objects\n')
      expect(Object.keys(spec.devices).filter((d) => d.startsWith('ro-git'))).to.deep.equal([])
      expect(spec.config[CONFIG_KEYS.token]).to.match(/^[0-9a-f]{16}$/)
      sinon.assert.calledOnce(store.prepareWrite)
      sinon.assert.notCalled(incus.deleteInstance)
      expect(current.project.map((p) => p.name)).to.deep.equal(['mu'])
      expect(existsSync(baselineFile(join(root, 'state'), 'mu'))).to.equal(true)
      expect(result).to.include({name: 'mu', user: 'dev', network: 'restricted', idmap: 'shift', sudo: true})
      expect(result.protected_paths).to.deep.equal([])
      expect(result.created).to.equal(current.project[0]?.created)
      expect(renderCreate(result)).to.deep.equal([
        `Created "mu": ${plan.repoPath} is mounted at the same path. Next: repoman shell mu`,
      ])
    })

    it('a launch that fails half-way undoes all, in reverse: our container, the network, the ACL, the git dir', async () => {
      const plan = await isolatedPlan('nu')
      const incus = stepIncus()
      incus.launch.callsFake(async (spec: InstanceSpec) => {
        launched = spec // created, then the start failed
        throw new IncusError('Failed to start device "gone"')
      })
      const {deps, store} = stepDeps(incus)
      const error = await failure(runSteps(createSteps(plan, deps).steps))

      expect(error).to.be.instanceOf(IncusError).with.property('message', 'Failed to start device "gone"')
      sinon.assert.calledOnceWithExactly(incus.deleteInstance, 'nu')
      sinon.assert.calledOnceWithExactly(incus.deleteNetwork, bridgeNameFor('repoman', 'nu'))
      sinon.assert.calledOnceWithExactly(incus.deleteAcl, aclNameFor('nu'))
      sinon.assert.callOrder(incus.putAcl, incus.createNetwork, incus.launch, incus.deleteInstance)
      sinon.assert.callOrder(incus.deleteInstance, incus.deleteNetwork, incus.deleteAcl)
      expect(existsSync(agentGitDir(join(root, 'state'), 'nu'))).to.equal(false)
      expect(existsSync(join(plan.repoPath, '.git/HEAD'))).to.equal(true)
      sinon.assert.notCalled(store.update)
      expect(current.project).to.deep.equal([])
    })

    it('with a local image: created stopped, account and drop-in written into it, then one start; no exec', async () => {
      const plan = {...(await isolatedPlan('pi')), imageFingerprint: 'abc123'}
      const incus = stepIncus()
      const {deps} = stepDeps(incus)
      const {steps, result} = createSteps(plan, deps)
      expect(steps.map((step) => step.title).slice(-3)).to.deep.equal([
        'Create container "pi", and record the repo\'s host-run files as they are',
        'Write your account "dev", the containment drop-in and the gateway\'s forwarder into it',
        'Start container "pi", and record the project in the registry',
      ])
      await runSteps(steps)
      sinon.assert.calledOnceWithExactly(incus.createInstance, sinon.match.object, 'abc123')
      sinon.assert.calledOnceWithExactly(incus.openFiles, 'pi')
      // Every write in one session, closed before the start.
      sinon.assert.callOrder(incus.createInstance, incus.writer.write, incus.writer.close, incus.startOverSocket)
      expect(current.project.map((p) => p.name)).to.deep.equal(['pi'])
      expect(result.created).to.equal(current.project[0]?.created)
      sinon.assert.notCalled(incus.launch)
      sinon.assert.notCalled(incus.dialogue)
      const written = incus.writer.write.getCalls().map((call) => call.args[0] as {path: string; content?: string})
      const home = join(root, 'home')
      expect(written.map((file) => file.path)).to.include.members([
        '/etc/systemd/system/service.d/10-repoman-containment.conf',
        home,
        '/etc/passwd',
        '/etc/group',
        '/etc/sudoers.d/repoman-dev',
      ])
      expect(written.find((file) => file.path === '/etc/passwd')?.content).to.equal(
        `root:x:0:0:root:/root:/bin/bash\ndev:x:1000:1000::${home}:/usr/bin/bash\n`,
      )
      expect(result.user).to.equal('dev')
      // This image has no systemd-socket-proxyd: no forwarder, and the gateway is told to add a proxy device.
      expect(written.map((file) => file.path)).to.not.include('/etc/systemd/system/repoman-gateway.socket')
      sinon.assert.calledOnceWithExactly(incus.patchOverSocket, 'pi', {
        config: {'user.repoman.gateway': 'proxy'},
        devices: {},
      })
      sinon.assert.callOrder(incus.createInstance, incus.patchOverSocket, incus.startOverSocket)
    })

    it('with a local systemd image: the gateway’s forwarder is written in, its socket directory made and mounted', async () => {
      const plan = {...(await isolatedPlan('ta')), imageFingerprint: 'def456'}
      const incus = stepIncus()
      const proxyd = '/usr/lib/systemd/systemd-socket-proxyd'
      incus.writer.read.callsFake(async (path: string) =>
        path === proxyd ? {type: 'file', uid: 0, gid: 0, mode: 0o755, content: ''} : IMAGE_FILES[path],
      )
      const {deps} = stepDeps(incus)
      await runSteps(createSteps(plan, deps).steps)
      const spec = incus.createInstance.firstCall.args[0] as InstanceSpec
      const socketDir = spec.devices['repoman-gateway-socket']?.source as string
      expect(spec.config['user.repoman.gateway']).to.equal('forwarder')
      expect(socketDir.startsWith(join(root, 'state'))).to.equal(true)
      expect(statSync(socketDir).mode & 0o777).to.equal(0o700)
      const written = incus.writer.write.getCalls().map((call) => call.args[0] as {path: string; content?: string})
      expect(written.find((file) => file.path === '/etc/systemd/system/repoman-gateway.service')?.content).to.include(
        `ExecStart=${proxyd} /var/lib/repoman/gateway/gateway.sock`,
      )
      expect(written.map((file) => file.path)).to.include.members([
        '/etc/systemd/system/repoman-gateway.socket',
        '/etc/systemd/system/sockets.target.d/repoman-gateway.conf',
      ])
      sinon.assert.notCalled(incus.patchOverSocket)
    })

    it('with a local image, a start that fails deletes our container again', async () => {
      const plan = {...(await isolatedPlan('rho')), imageFingerprint: 'abc123'}
      const incus = stepIncus()
      incus.startOverSocket.rejects(new IncusError('Failed to start device "gone"'))
      const {deps, store} = stepDeps(incus)
      await failure(runSteps(createSteps(plan, deps).steps))
      sinon.assert.calledOnceWithExactly(incus.deleteInstance, 'rho')
      sinon.assert.callOrder(incus.startOverSocket, incus.deleteInstance, incus.deleteNetwork)
      // Recorded while the container started, and taken out again.
      sinon.assert.calledTwice(store.update)
      expect(current.project).to.deep.equal([])
    })

    it('leaves alone a container that is not this run’s (another token)', async () => {
      const plan = await isolatedPlan('xi')
      const incus = stepIncus()
      incus.launch.rejects(new IncusError('launch failed'))
      incus.getInstance.resolves({name: 'xi', config: {[CONFIG_KEYS.token]: 'someone-else'}})
      const {deps} = stepDeps(incus)
      await failure(runSteps(createSteps(plan, deps).steps))
      sinon.assert.calledOnce(incus.getInstance)
      sinon.assert.notCalled(incus.deleteInstance)
      sinon.assert.calledOnce(incus.deleteNetwork)
    })

    it('"already exists" at launch is another run’s container: it is not even looked at, the rest is undone', async () => {
      const plan = await isolatedPlan('omicron')
      const incus = stepIncus()
      incus.launch.rejects(new IncusAlreadyExistsError('Instance "omicron" already exists'))
      const {deps} = stepDeps(incus)
      const error = await failure(runSteps(createSteps(plan, deps).steps))
      expect(error).to.be.instanceOf(IncusAlreadyExistsError)
      sinon.assert.notCalled(incus.getInstance)
      sinon.assert.notCalled(incus.deleteInstance)
      sinon.assert.calledOnce(incus.deleteNetwork)
      sinon.assert.calledOnce(incus.deleteAcl)
      expect(existsSync(agentGitDir(join(root, 'state'), 'omicron'))).to.equal(false)
    })

    it('losing the registration race undoes everything: container (by token), baseline, network, repo dirs', async () => {
      const plan = await isolatedPlan('pi')
      const incus = stepIncus()
      const {deps, store} = stepDeps(incus)
      store.update.callsFake(async (change: (r: Registry) => unknown) => {
        current.project.push(entry('pi')) // another repoman registered "pi" meanwhile
        return change(current)
      })
      const error = await failure(runSteps(createSteps(plan, deps).steps))

      expect(error).to.be.instanceOf(RegistryConflictError).with.property('code', 'REGISTRY_CONFLICT')
      expect(error.message).to.equal('project "pi" was registered by another repoman meanwhile')
      sinon.assert.calledOnceWithExactly(incus.deleteInstance, 'pi')
      sinon.assert.callOrder(incus.deleteInstance, incus.deleteNetwork, incus.deleteAcl)
      expect(existsSync(baselineFile(join(root, 'state'), 'pi'))).to.equal(false)
      expect(existsSync(agentGitDir(join(root, 'state'), 'pi'))).to.equal(false)
      expect(current.project).to.deep.equal([entry('pi')])
    })

    it('an open git project gets no network step and no create step', async () => {
      repo('rho', {git: true})
      const plan = await planCreate({name: 'rho'}, planDeps(planIncus()))
      const incus = stepIncus()
      const {steps} = createSteps(plan, stepDeps(incus).deps)
      expect(steps.map((s) => s.title)).to.deep.equal([
        'Give the container a git dir of its own',
        "Record the repo's host-run files as they are now",
        'Create and start container "rho"',
        'Make your account "dev" inside',
        'Record the project in the registry',
      ])
    })
  })
})
