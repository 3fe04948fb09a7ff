import {execFileSync} from 'node:child_process'
import {chmodSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, symlinkSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {expect} from 'chai'
import sinon from 'sinon'
import {
  baselineFile,
  checkWatched,
  recordBaseline,
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
    writeFileSync(join(repo, '.git/hooks/pre-commit.sample'), '#!/bin/sh\n')
    writeFileSync(join(repo, '.envrc'), 'use nix\n')
  })
  afterEach(() => {
    sinon.restore()
    rmSync(dir, {recursive: true, force: true})
  })

  const changed = () => checkWatched(state, 'p', repo).changes.map((c) => `${c.change} ${c.path}`)

  it('keeps small text whole, watches the hooks directory entry by entry, and skips what is absent', () => {
    writeFileSync(join(repo, '.git/hooks/pre-push'), '#!/bin/sh\n')
    const entries = takeFingerprint(repo)
    // Git never runs *.sample hooks: not read on every check.
    expect(Object.keys(entries).sort()).to.deep.equal([
      '.envrc',
      '.git',
      '.git/config',
      '.git/hooks',
      '.git/hooks/pre-push',
    ])
    expect(entries['.envrc']).to.include({type: 'file', size: 8, text: 'use nix\n'})
    expect(entries['.git']?.identity).to.match(/^\d+:\d+$/)
  })

  it('sees a hook added, a config rewritten to the same length at once, and a .git swapped for a look-alike', async () => {
    await recordBaseline(state, 'p', repo)
    expect(checkWatched(state, 'p', repo).state).to.equal('clean')
    writeFileSync(join(repo, '.git/config'), '[core]\n\tbare = FALSE\n')
    writeFileSync(join(repo, '.git/hooks/post-checkout'), '#!/bin/sh\n')
    renameSync(join(repo, '.git/hooks/pre-commit.sample'), join(repo, '.git/hooks/pre-commit'))
    expect(changed()).to.deep.equal([
      'changed .git/config',
      'added .git/hooks/post-checkout',
      'added .git/hooks/pre-commit',
    ])

    await recordBaseline(state, 'p', repo)
    // The attack: the real .git moved aside, a copy made in its place.
    renameSync(join(repo, '.git'), join(repo, '.git-old'))
    execFileSync('cp', ['-a', join(repo, '.git-old'), join(repo, '.git')])
    expect(changed()).to.deep.equal(['swapped .git'])
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
    writeFileSync(join(repo, '.git/hooks/x'), '')
    chmodSync(join(repo, '.git/hooks/x'), 0o2755)
    execFileSync('mkfifo', [join(repo, 'pipe')])
    execFileSync('mknod', [join(repo, 'null'), 'c', '1', '3'])
    // Outside the repo, reached only through a symlink: not the repo's.
    mkdirSync(join(dir, 'outside'))
    writeFileSync(join(dir, 'outside/suid'), '')
    chmodSync(join(dir, 'outside/suid'), 0o4755)
    symlinkSync(join(dir, 'outside'), join(repo, 'link'))
    expect(scanSpecialFiles(repo).map((f) => `${f.kind} ${f.path}`)).to.deep.equal([
      'setgid .git/hooks/x',
      'setuid node_modules/.bin/tool',
      'device null',
      'fifo pipe',
    ])
    expect(readFileSync(join(repo, '.envrc'), 'utf8')).to.equal('use nix\n')
  })
})
