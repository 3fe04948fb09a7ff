/**
 * The agent's git dir without a container: host git on a real repository, and "the agent" as
 * git run on the agent's dir with the host's objects as its alternates (what the container sees
 * through the read-only mount). What is checked is what the host ends up with.
 */
import {execFileSync} from 'node:child_process'
import {mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {expect} from 'chai'
import {
  decideFollow,
  hostGitKind,
  importAgentGit,
  prepareAgentGit,
  refreshAgentGit,
  renderImport,
} from '../../../src/lib/git/agent-git.js'
import {agentGitDir} from '../../../src/lib/paths.js'

const A = 'a'.repeat(40)
const B = 'b'.repeat(40)
const main = {branch: 'refs/heads/main'}

describe('the agent git dir (real git, no Incus)', () => {
  describe('whether the host follows the agent (pure)', () => {
    const facts = {
      hostHead: main,
      lastAgentHead: main,
      agentHead: main,
      agentTip: B,
      hostTip: A,
      fastForward: true,
      indexClean: true,
    }
    it('fast-forwards a clean host branch that is behind, and follows a switch from where both agreed', () => {
      expect(decideFollow(facts)).to.deep.equal({
        kind: 'fast-forward',
        branch: 'refs/heads/main',
        from: A,
        to: B,
        switchTo: false,
      })
      const switched = decideFollow({...facts, agentHead: {branch: 'refs/heads/x'}, hostTip: undefined})
      expect(switched).to.include({kind: 'fast-forward', branch: 'refs/heads/x', switchTo: true})
      expect(decideFollow({...facts, agentTip: A})).to.deep.equal({kind: 'none'})
      expect(decideFollow({...facts, agentHead: {detached: B}})).to.deep.equal({kind: 'none'})
    })
    it('leaves it to the user, saying why, when the host has its own commits, staged changes, or moved', () => {
      expect(decideFollow({...facts, fastForward: false})).to.include({
        kind: 'by-hand',
        why: "your main has commits the agent's lacks",
      })
      expect(decideFollow({...facts, indexClean: false})).to.include({
        kind: 'by-hand',
        why: 'your index has staged changes',
      })
      expect(decideFollow({...facts, hostHead: {detached: A}})).to.include({
        kind: 'by-hand',
        why: 'your checkout is not on a branch',
      })
      const moved = {...facts, agentHead: {branch: 'refs/heads/x'}, hostHead: {branch: 'refs/heads/y'}}
      expect(decideFollow(moved)).to.include({kind: 'by-hand', why: 'your checkout moved meanwhile'})
    })
  })

  it('a repo without git gets an empty .git as the mount point, again after a remove (it is no repository)', async () => {
    const root = mkdtempSync('/var/tmp/repoman-agent-git-test-')
    try {
      const plain = join(root, 'plain')
      mkdirSync(plain)
      for (let i = 0; i < 2; i++) {
        const dir = await prepareAgentGit(plain, join(root, 'state'), 'plain')
        expect(readdirSync(dir)).to.deep.equal([])
        expect(hostGitKind(plain)).to.equal('none')
      }
      expect(readdirSync(join(plain, '.git'))).to.deep.equal([])
    } finally {
      rmSync(root, {recursive: true, force: true})
    }
  })

  describe('importing and refreshing', () => {
    let root: string
    let repo: string
    let state: string
    let agentDir: string
    const host = (...args: string[]) =>
      execFileSync('git', ['-C', repo, '-c', 'user.name=H', '-c', 'user.email=h@example.org', ...args], {
        encoding: 'utf8',
      })
    /** Git as the agent runs it inside: its own git dir, the host's objects borrowed. */
    const agent = (...args: string[]) =>
      execFileSync('git', ['-c', 'user.name=A', '-c', 'user.email=a@example.org', ...args], {
        cwd: repo,
        encoding: 'utf8',
        env: {
          ...process.env,
          GIT_DIR: agentDir,
          GIT_WORK_TREE: repo,
          GIT_ALTERNATE_OBJECT_DIRECTORIES: join(repo, '.git/objects'),
        },
      })
    const commitInside = (file: string) => {
      writeFileSync(join(repo, file), `${file}\n`)
      agent('add', file)
      agent('commit', '-qm', file)
      return agent('rev-parse', 'HEAD').trim()
    }

    beforeEach(async () => {
      root = mkdtempSync('/var/tmp/repoman-agent-git-test-')
      repo = join(root, 'repo')
      state = join(root, 'state')
      execFileSync('git', ['init', '-q', '-b', 'main', repo])
      writeFileSync(join(repo, 'README'), 'hi\n')
      host('add', '.')
      host('commit', '-qm', 'init')
      agentDir = await prepareAgentGit(repo, state, 'p')
    })
    afterEach(() => rmSync(root, {recursive: true, force: true}))

    it('the agent starts where the host is: same HEAD, branches, clean status', () => {
      expect(agentDir).to.equal(agentGitDir(state, 'p'))
      expect(agent('rev-parse', 'HEAD')).to.equal(host('rev-parse', 'HEAD'))
      expect(agent('status', '--porcelain')).to.equal('')
    })

    it("takes the agent's commits as data and fast-forwards the host's clean branch", async () => {
      const before = host('rev-parse', 'HEAD').trim()
      commitInside('one')
      const tip = commitInside('two')
      const report = await importAgentGit(repo, state, 'p')
      expect(report.objects).to.be.greaterThan(0)
      expect(report.follow).to.include({kind: 'fast-forward', to: tip})
      expect(host('rev-parse', 'HEAD').trim()).to.equal(tip)
      expect(host('rev-parse', 'repoman/p/main').trim()).to.equal(tip)
      expect(host('status', '--porcelain')).to.equal('')
      expect(renderImport('p', report)).to.deep.equal([
        `repoman: your main now has the agent's commits (${before.slice(0, 7)}..${tip.slice(0, 7)})`,
      ])
      // Nothing changed since: nothing to do, and nothing said.
      expect(renderImport('p', await importAgentGit(repo, state, 'p'))).to.deep.equal([])
    })

    it('takes packs too (the agent ran gc), and refuses broken objects without touching refs', async () => {
      commitInside('one')
      const tip = commitInside('two')
      agent('gc', '-q')
      expect(readdirSync(join(agentDir, 'objects/pack')).some((f) => f.endsWith('.pack'))).to.equal(true)
      await importAgentGit(repo, state, 'p')
      expect(host('cat-file', '-t', tip).trim()).to.equal('commit')

      // A commit whose loose object is corrupted: the import fails, the host's refs stay.
      const bad = commitInside('three')
      const file = join(agentDir, 'objects', bad.slice(0, 2), bad.slice(2))
      rmSync(file, {force: true})
      writeFileSync(file, 'not zlib')
      const mainBefore = host('rev-parse', 'main').trim()
      await importAgentGit(repo, state, 'p').then(
        () => expect.fail('a broken object must not be taken'),
        (error: Error) => expect(error.name).to.equal('GitError'),
      )
      expect(host('rev-parse', 'main').trim()).to.equal(mainBefore)
      expect(host('rev-parse', 'repoman/p/main').trim()).to.equal(tip)
    })

    it('a branch with the host behind its own commits is left to the user; hostile ref names are not taken', async () => {
      host('commit', '-q', '--allow-empty', '-m', 'host work')
      commitInside('mine')
      writeFileSync(join(agentDir, 'refs/heads/-x'), `${host('rev-parse', 'HEAD').trim()}\n`)
      const report = await importAgentGit(repo, state, 'p')
      expect(report.follow).to.include({kind: 'by-hand', branch: 'main'})
      expect(renderImport('p', report)[0]).to.include('git merge repoman/p/main')
      expect(report.rejected).to.deep.equal(['refs/heads/-x'])
      expect(host('for-each-ref', '--format=%(refname)', 'refs/remotes/repoman/p/')).to.equal(
        'refs/remotes/repoman/p/main\n',
      )
    })

    it("brings the host's new commits into the agent's dir before a session, never over the agent's own", async () => {
      host('commit', '-q', '--allow-empty', '-m', 'host work')
      host('branch', 'other')
      await refreshAgentGit(repo, state, 'p')
      expect(agent('log', '-1', '--format=%s')).to.equal('host work\n')
      expect(agent('rev-parse', 'other')).to.equal(host('rev-parse', 'other'))
      expect(agent('status', '--porcelain')).to.equal('')
      // The agent's own commit, not taken yet (a detached session), is not overwritten by the host's.
      const mine = commitInside('agent-work')
      host('commit', '-q', '--allow-empty', '-m', 'more host work')
      await refreshAgentGit(repo, state, 'p')
      expect(agent('rev-parse', 'main').trim()).to.equal(mine)
      expect(renderImport('p', await importAgentGit(repo, state, 'p'))[0]).to.include('git merge repoman/p/main')
    })
  })
})
