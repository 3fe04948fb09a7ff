import {existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {expect} from 'chai'
import sinon from 'sinon'
import {IncusError, NotManagedError, ProjectNotFoundError} from '../../../src/lib/errors.js'
import type {IncusInstance} from '../../../src/lib/incus/types.js'
import {baselineFile} from '../../../src/lib/integrity/snapshot.js'
import {CONFIG_KEYS} from '../../../src/lib/lifecycle/containers.js'
import {
  describeRemoval,
  ownTreesInside,
  planRemoval,
  type RemovalDeps,
  reclaimCommand,
  removalSteps,
  renderRemoval,
  unsavedWork,
} from '../../../src/lib/lifecycle/remove.js'
import type {ProjectEntry, Registry} from '../../../src/lib/registry/schema.js'
import {runSteps} from '../../../src/lib/steps.js'
import {testProject, testRegistry} from '../../helpers/registry-fixture.js'

const instance = (name: string, config: Record<string, string> = {}): IncusInstance => ({
  name,
  status: 'Running',
  type: 'container',
  created_at: '2026-01-02T00:00:00Z',
  profiles: ['default'],
  config: {[CONFIG_KEYS.managed]: 'true', [CONFIG_KEYS.repo]: `/home/dev/repos/${name}`, ...config},
  devices: {},
})

describe('remove', () => {
  let registry: Registry
  let stateDir: string

  const planIncus = (found?: IncusInstance) => ({
    project: 'repoman',
    getInstance: sinon.stub().resolves(found),
    snapshots: sinon.stub().resolves([{name: 'snap0', created_at: '', stateful: false}]),
    // git status inside a clone (only asked for one): two paths with work not committed.
    capture: sinon
      .stub()
      .resolves({exitCode: 0, stdout: ' M README.md\n?? new\x1b[2Jfile\n', stderr: '', signal: null}),
    execArgs: sinon.stub().callsFake((_name: string, command: string[]) => command),
  })
  const stepIncus = () => ({
    deleteInstance: sinon.stub().resolves(),
    deleteNetwork: sinon.stub().resolves(),
    deleteAcl: sinon.stub().resolves(),
    capture: sinon.stub().resolves({exitCode: 0, stdout: '', stderr: '', signal: null}),
    execArgs: sinon.stub().callsFake((_name: string, command: string[]) => command),
  })
  const deps = (incus: RemovalDeps['incus']) => {
    const store = {
      update: sinon.stub().callsFake(async (change: (r: Registry) => unknown) => change(registry)),
    }
    return {deps: {incus, store, paths: {stateDir}}, store}
  }
  const baseline = (name: string) => {
    mkdirSync(join(stateDir, 'integrity'), {recursive: true})
    writeFileSync(baselineFile(stateDir, name), '{}\n')
  }

  beforeEach(() => {
    stateDir = mkdtempSync(join(tmpdir(), 'repoman-remove-test-'))
    registry = testRegistry({projects: [testProject('alpha')]})
  })
  afterEach(() => {
    sinon.restore()
    rmSync(stateDir, {recursive: true, force: true})
  })

  describe('planRemoval', () => {
    const refusal = (promise: Promise<unknown>) =>
      promise.then(
        () => expect.fail('the plan should be refused'),
        (error: Error) => error,
      )

    it('refuses a name neither the registry nor Incus knows', async () => {
      const error = await refusal(planRemoval('ghost', false, registry, planIncus()))
      expect(error).to.be.instanceOf(ProjectNotFoundError)
      expect(error.message).to.equal('no project "ghost" in the registry or in Incus project "repoman"')
    })

    it('refuses a container repoman did not make: NOT_MANAGED, and never lists its snapshots', async () => {
      const incus = planIncus({...instance('stray'), config: {}})
      const error = await refusal(planRemoval('stray', false, registry, incus))
      expect(error).to.be.instanceOf(NotManagedError).with.property('code', 'NOT_MANAGED')
      expect(error.message).to.equal(
        'container "stray" in Incus project "repoman" was not made by repoman; delete it with incus if you mean to',
      )
      sinon.assert.notCalled(incus.snapshots)
    })

    it('refuses --keep-incus for a container the registry does not hold', async () => {
      const error = await refusal(planRemoval('zeta', true, registry, planIncus(instance('zeta'))))
      expect(error).to.be.instanceOf(ProjectNotFoundError)
      expect(error.message).to.equal('"zeta" is not in the registry; there is nothing to forget')
    })

    it('shows what goes and what stays', async () => {
      const plan = await planRemoval('alpha', false, registry, planIncus(instance('alpha')))
      expect(describeRemoval(plan)).to.deep.equal([
        '  remove: container "alpha" in Incus project "repoman" (running)',
        '  remove: its 1 snapshot(s): snap0',
        '  remove: the registry entry "alpha"',
        '  keep:   the repo at /home/dev/repos/alpha is not touched',
        '  keep:   its backup at /nfs/repos/alpha is not touched',
      ])
    })

    it('a clone: names its work not committed (as printable text), asked of git inside as you', async () => {
      registry.project[0] = {...(registry.project[0] as ProjectEntry), clone: {branch: 'b', base: 'a'.repeat(40)}}
      const incus = planIncus(instance('alpha'))
      const plan = await planRemoval('alpha', false, registry, incus, stateDir)
      expect(plan.clone).to.deep.equal({tree: join(stateDir, 'clones/alpha'), unsaved: ['README.md', 'new?[2Jfile']})
      expect(unsavedWork(plan)).to.equal('"alpha" has work not committed in its checkout: README.md, new?[2Jfile')
      sinon.assert.calledWithMatch(
        incus.execArgs,
        'alpha',
        sinon.match.array.startsWith([
          'git',
          '--no-pager',
          '-c',
          'core.fsmonitor=false',
          '-C',
          '/home/dev/repos/alpha',
          'status',
        ]),
        {
          uid: 1000,
        },
      )
      expect(describeRemoval(plan)).to.include(
        `  remove: its own checkout ${join(stateDir, 'clones/alpha')} (LOST: "alpha" has work not committed in its checkout: README.md, new?[2Jfile)`,
      )
      // Stopped, it cannot be asked: the plan says so rather than claim there is nothing.
      const stopped = await planRemoval(
        'alpha',
        false,
        registry,
        planIncus({...instance('alpha'), status: 'Stopped'}),
        stateDir,
      )
      expect(unsavedWork(stopped)).to.match(/is not running, so its checkout .* cannot be asked/)
    })
  })

  describe('removalSteps', () => {
    it('deletes the container, then its network and ACL, then the registry entry and the baseline', async () => {
      baseline('alpha')
      const plan = await planRemoval(
        'alpha',
        false,
        registry,
        planIncus(instance('alpha', {[CONFIG_KEYS.network]: 'rmnabc'})),
      )
      const incus = stepIncus()
      const {deps: d, store} = deps(incus)
      const {steps, result} = removalSteps(plan, d)
      await runSteps(steps)
      sinon.assert.calledOnceWithExactly(incus.deleteInstance, 'alpha')
      sinon.assert.calledOnceWithExactly(incus.deleteNetwork, 'rmnabc')
      sinon.assert.calledOnceWithExactly(incus.deleteAcl, 'repoman-alpha')
      sinon.assert.callOrder(incus.deleteInstance, incus.deleteNetwork, store.update)
      expect(registry.project).to.deep.equal([])
      expect(existsSync(baselineFile(stateDir, 'alpha'))).to.equal(false)
      expect(result).to.deep.equal({
        name: 'alpha',
        container_deleted: true,
        snapshots_deleted: ['snap0'],
        registry_entry_removed: true,
        repo: '/home/dev/repos/alpha',
        backup: '/nfs/repos/alpha',
        left: [],
      })
      expect(renderRemoval(result)).to.deep.equal(['Removed "alpha". The repo at /home/dev/repos/alpha is untouched.'])
    })

    it('--keep-incus only forgets the entry (no network step for an open project either)', async () => {
      const plan = await planRemoval('alpha', true, registry, planIncus(instance('alpha')))
      const incus = stepIncus()
      const {steps, result} = removalSteps(plan, deps(incus).deps)
      await runSteps(steps)
      sinon.assert.notCalled(incus.deleteInstance)
      expect(steps.map((s) => s.title)).to.deep.equal([
        'Forget "alpha" in the registry',
        "Forget the baseline of the repo's host-run files, and close its way out",
      ])
      expect(result).to.include({container_deleted: false, registry_entry_removed: true})
      expect(result.snapshots_deleted).to.deep.equal([])
    })

    it('a container Incus cannot delete leaves the registry entry and the baseline in place', async () => {
      baseline('alpha')
      const plan = await planRemoval('alpha', false, registry, planIncus(instance('alpha')))
      const incus = stepIncus()
      incus.deleteInstance.rejects(new IncusError('device busy'))
      const {deps: d, store} = deps(incus)
      const {steps, result} = removalSteps(plan, d)
      await runSteps(steps).then(
        () => expect.fail('the run should fail'),
        (error: Error) => expect(error).to.be.instanceOf(IncusError).with.property('message', 'device busy'),
      )
      sinon.assert.notCalled(store.update)
      expect(registry.project.map((p) => p.name)).to.deep.equal(['alpha'])
      expect(existsSync(baselineFile(stateDir, 'alpha'))).to.equal(true)
      expect(result.container_deleted).to.equal(false)
    })

    it('removes a leftover managed container without a registry entry, and says nothing of a repo it does not know', async () => {
      const plan = await planRemoval(
        'zeta',
        false,
        registry,
        planIncus({...instance('zeta'), config: {[CONFIG_KEYS.managed]: 'true'}}),
      )
      const incus = stepIncus()
      const {deps: d, store} = deps(incus)
      const {steps, result} = removalSteps(plan, d)
      await runSteps(steps)
      sinon.assert.calledOnceWithExactly(incus.deleteInstance, 'zeta')
      sinon.assert.notCalled(store.update)
      expect(result).to.include({container_deleted: true, registry_entry_removed: false, repo: '', backup: null})
      expect(renderRemoval(result)).to.deep.equal(['Removed "zeta".'])
    })

    it("running: root inside hands back the project's own trees before the container goes, then the host deletes them", async () => {
      const home = join(stateDir, 'homes/alpha/claude')
      mkdirSync(join(home, 'projects'), {recursive: true})
      const running = instance('alpha', {[CONFIG_KEYS.uid]: '1000'})
      running.devices = {
        'agent-home-claude': {type: 'disk', source: home, path: '/home/dev/.claude'},
        repo: {type: 'disk', source: '/home/dev/repos/alpha', path: '/home/dev/repos/alpha'},
      }
      const plan = await planRemoval('alpha', false, registry, planIncus(running), stateDir)
      expect(plan.reclaim).to.deep.equal({paths: ['/home/dev/.claude'], uid: '1000'})
      expect(describeRemoval(plan)).to.include(
        '  remove: its agent homes (its Claude Code conversations are copied to your ~/.claude first)',
      )
      const incus = stepIncus()
      const {steps, result} = removalSteps(plan, deps(incus).deps)
      await runSteps(steps)
      sinon.assert.calledOnceWithExactly(incus.capture, reclaimCommand(['/home/dev/.claude'], '1000'))
      sinon.assert.callOrder(incus.capture, incus.deleteInstance)
      expect(existsSync(join(stateDir, 'homes/alpha'))).to.equal(false)
      expect(result.left).to.deep.equal([])

      // Stopped, nothing inside can be asked: the host deletes what it can and names the rest.
      const stopped = await planRemoval('alpha', false, registry, planIncus({...running, status: 'Stopped'}), stateDir)
      expect(stopped.reclaim).to.equal(undefined)
      expect(renderRemoval({...result, left: ['/s/homes/alpha/claude/x']})).to.deep.equal([
        'Removed "alpha". The repo at /home/dev/repos/alpha is untouched.',
        "Left what root inside kept from you (a uid of the container's range owns it on the host): `sudo rm -rf /s/homes/alpha/claude/x` deletes it.",
      ])
    })

    it('a container gone already: its git dir and homes are still deleted', async () => {
      mkdirSync(join(stateDir, 'homes/alpha/codex'), {recursive: true})
      const plan = await planRemoval('alpha', false, registry, planIncus(), stateDir)
      const {steps} = removalSteps(plan, deps(stepIncus()).deps)
      expect(steps.map((s) => s.title)).to.include('Delete the agent homes of "alpha"')
      await runSteps(steps)
      expect(existsSync(join(stateDir, 'homes/alpha'))).to.equal(false)
    })
  })

  describe('ownTreesInside', () => {
    it('names where the homes, git dir and checkout are mounted, outermost only, and nothing else', () => {
      const at = (source: string, path: string) => ({type: 'disk', source: join(stateDir, source), path})
      const devices = {
        tree: at('clones/alpha', '/r'),
        git: at('agent-git/alpha', '/r/.git'),
        home: at('homes/alpha/codex', '/home/u/.codex'),
        other: at('homes/alphabet/codex', '/elsewhere'),
        repo: {type: 'disk', source: '/home/u/r', path: '/x'},
        net: {type: 'nic', network: 'b'},
      }
      expect(ownTreesInside({devices}, stateDir, 'alpha')).to.deep.equal(['/home/u/.codex', '/r'])
      expect(reclaimCommand(['/r'], '1000')).to.deep.equal([
        'sh',
        '-c',
        'find "$@" ! -user 1000 -exec chown -h 1000 {} + ; find "$@" -type d ! -perm -700 -exec chmod u+rwx {} +',
        'sh',
        '/r',
      ])
    })
  })
})
