import {execFileSync} from 'node:child_process'
import {chmodSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, symlinkSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {expect} from 'chai'
import sinon from 'sinon'
import {
  baselineFile,
  checkWatched,
  recordBaseline,
  SESSION_SCAN,
  scanSpecialFiles,
  takeFingerprint,
} from '../../../src/lib/integrity/snapshot.js'

describe('integrity: fingerprints and scans of real files', () => {
  let dir: string
  let repo: string
  let state: string
  beforeEach(() => {
    dir = mkdtempSync('/tmp/rm-integrity-')
    repo = join(dir, 'repo')
    state = join(dir, 'state')
    mkdirSync(join(repo, '.git/hooks'), {recursive: true})
    writeFileSync(join(repo, '.git/config'), '[core]\n\tbare = false\n')
    mkdirSync(join(repo, '.husky'), {recursive: true})
    writeFileSync(join(repo, '.husky/pre-commit.sample'), '#!/bin/sh\n')
    mkdirSync(join(repo, '.hg'))
    writeFileSync(join(repo, '.hg/hgrc'), '[hooks]\n')
    writeFileSync(join(repo, '.envrc'), 'use nix\n')
  })
  afterEach(() => {
    sinon.restore()
    rmSync(dir, {recursive: true, force: true})
  })

  const changed = () => checkWatched(state, 'p', repo).changes.map((c) => `${c.change} ${c.path}`)

  it('keeps small text whole, watches the hooks directory entry by entry, and skips what is absent', () => {
    writeFileSync(join(repo, '.husky/pre-push'), '#!/bin/sh\n')
    const entries = takeFingerprint(repo)
    // *.sample hooks are not read on every check; .git is the container's own git dir inside, not watched.
    expect(Object.keys(entries).sort()).to.deep.equal(['.envrc', '.hg', '.hg/hgrc', '.husky', '.husky/pre-push'])
    expect(entries['.envrc']).to.include({type: 'file', size: 8, text: 'use nix\n'})
    expect(entries['.hg']?.identity).to.match(/^\d+:\d+$/)
  })

  it('sees a hook added, a config rewritten to the same length at once, and a .hg swapped for a look-alike', async () => {
    await recordBaseline(state, 'p', repo)
    expect(checkWatched(state, 'p', repo).state).to.equal('clean')
    writeFileSync(join(repo, '.hg/hgrc'), '[HOOKS]\n')
    writeFileSync(join(repo, '.husky/post-checkout'), '#!/bin/sh\n')
    renameSync(join(repo, '.husky/pre-commit.sample'), join(repo, '.husky/pre-commit'))
    expect(changed()).to.deep.equal(['changed .hg/hgrc', 'added .husky/post-checkout', 'added .husky/pre-commit'])

    await recordBaseline(state, 'p', repo)
    // The attack: the real .hg moved aside, a copy made in its place.
    renameSync(join(repo, '.hg'), join(repo, '.hg-old'))
    execFileSync('cp', ['-a', join(repo, '.hg-old'), join(repo, '.hg')])
    expect(changed()).to.deep.equal(['swapped .hg'])
  })

  it('compares nothing under .git, also in a baseline recorded when .git was watched', async () => {
    const baseline = await recordBaseline(state, 'p', repo)
    baseline.entries['.git/config'] = {type: 'file', mode: 0o644, size: 1, hash: 'old'}
    writeFileSync(baselineFile(state, 'p'), JSON.stringify(baseline))
    writeFileSync(join(repo, '.git/config'), '[core]\n\tfsmonitor = x\n')
    expect(checkWatched(state, 'p', repo).state).to.equal('clean')
  })

  it('looks at nothing through a symlink: the symlink itself is the change', async () => {
    mkdirSync(join(repo, '.claude'))
    writeFileSync(join(repo, '.claude/settings.json'), '{}\n')
    await recordBaseline(state, 'p', repo)
    mkdirSync(join(dir, 'elsewhere'))
    writeFileSync(join(dir, 'elsewhere/settings.json'), '{"hooks": {}}\n')
    rmSync(join(repo, '.claude'), {recursive: true})
    symlinkSync(join(dir, 'elsewhere'), join(repo, '.claude'))
    const {changes, current} = checkWatched(state, 'p', repo)
    expect(changes.map((c) => `${c.change} ${c.path}: ${c.detail}`)).to.deep.equal([
      `changed .claude: was a dir, now symlink to ${join(dir, 'elsewhere')}`,
      'removed .claude/settings.json: was a file, 3 bytes, mode 0644',
    ])
    expect(current).to.not.have.property('.claude/settings.json')
  })

  it('trusts an unchanged inode, size, mtime and ctime instead of hashing again, and sees any write after', async () => {
    // Files hashed "later" (the clock moved on) get a signature that spares hashing them again.
    sinon.useFakeTimers({now: Date.now() + 60_000, toFake: ['Date']})
    const baseline = await recordBaseline(state, 'p', repo)
    expect(baseline.entries['.envrc']?.signature).to.be.a('string')
    sinon.restore()
    // Proof that it was not hashed again: a baseline that says other bytes still matches.
    const file = baselineFile(state, 'p')
    writeFileSync(file, readFileSync(file, 'utf8').replace('use nix', 'use zzz'))
    expect(checkWatched(state, 'p', repo).state).to.equal('clean')
    await new Promise((resolve) => setTimeout(resolve, 30)) // past a coarse timestamp tick
    writeFileSync(join(repo, '.envrc'), 'use nyx\n')
    expect(changed()).to.deep.equal(['changed .envrc'])
  })

  it('says a baseline it cannot read is one to record again, and compares nothing with it', () => {
    mkdirSync(join(state, 'integrity'), {recursive: true})
    writeFileSync(baselineFile(state, 'p'), '{"truncated')
    const check = checkWatched(state, 'p', repo)
    expect(check).to.deep.include({state: 'unknown', changes: []})
    expect(check.problem).to.match(/p\.json is not a baseline repoman wrote; `repoman accept p` records a new one$/)
    expect(checkWatched(state, 'other', repo)).to.deep.equal({state: 'unknown', changes: []})
  })

  it('the full scan flags setuid and setgid files, device nodes and FIFOs, and follows no symlink', () => {
    mkdirSync(join(repo, 'node_modules/.bin'), {recursive: true})
    writeFileSync(join(repo, 'node_modules/.bin/tool'), '')
    chmodSync(join(repo, 'node_modules/.bin/tool'), 0o4755)
    writeFileSync(join(repo, '.husky/x'), '')
    chmodSync(join(repo, '.husky/x'), 0o2755)
    // The repo's own .git is the host's and out of the container's reach: not walked.
    writeFileSync(join(repo, '.git/hooks/x'), '')
    chmodSync(join(repo, '.git/hooks/x'), 0o4755)
    execFileSync('mkfifo', [join(repo, 'pipe')])
    execFileSync('mknod', [join(repo, 'null'), 'c', '1', '3'])
    // Outside the repo, reached only through a symlink: not the repo's.
    mkdirSync(join(dir, 'outside'))
    writeFileSync(join(dir, 'outside/suid'), '')
    chmodSync(join(dir, 'outside/suid'), 0o4755)
    symlinkSync(join(dir, 'outside'), join(repo, 'link'))
    expect(scanSpecialFiles(repo).map((f) => `${f.kind} ${f.path}`)).to.deep.equal([
      'setgid .husky/x',
      'setuid node_modules/.bin/tool',
      'device null',
      'fifo pipe',
    ])
    expect(readFileSync(join(repo, '.envrc'), 'utf8')).to.equal('use nix\n')
  })

  it('flags nested repositories and links into the home outside the repo, but not a submodule checkout', () => {
    const home = dir
    mkdirSync(join(repo, 'vendor/lib/.git'), {recursive: true})
    mkdirSync(join(repo, 'tools'))
    writeFileSync(join(repo, 'tools/.git'), `gitdir: ${join(dir, 'evil.git')}\n`)
    // A submodule as git checks it out: its .git file points into the repo's own .git/modules.
    mkdirSync(join(repo, '.git/modules/sub'), {recursive: true})
    writeFileSync(join(repo, '.git/modules/sub/HEAD'), 'ref: refs/heads/main\n')
    mkdirSync(join(repo, 'sub'))
    writeFileSync(join(repo, 'sub/.git'), 'gitdir: ../.git/modules/sub\n')
    symlinkSync(join(home, 'outside-file'), join(repo, 'dist'))
    symlinkSync('/usr/bin/python3', join(repo, 'python'))
    symlinkSync('src/main.txt', join(repo, 'inside-link'))
    expect(scanSpecialFiles(repo, home).map((f) => `${f.kind} ${f.path}`)).to.deep.equal([
      'symlink-out dist',
      'nested-repo tools/.git',
      'nested-repo vendor/lib/.git',
    ])
    // The pass after a session skips what package managers write, and stops after its budget.
    mkdirSync(join(repo, 'node_modules/x/.git'), {recursive: true})
    expect(scanSpecialFiles(repo, home, SESSION_SCAN).map((f) => f.path)).not.to.include('node_modules/x/.git')
    expect(scanSpecialFiles(repo, home).map((f) => f.path)).to.include('node_modules/x/.git')
  })
})
