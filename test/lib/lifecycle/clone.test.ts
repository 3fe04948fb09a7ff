import {expect} from 'chai'
import {
  type CloneDiff,
  clean,
  parseNumstat,
  parsePorcelain,
  renderCloneDiff,
  renderCloneUpdate,
} from '../../../src/lib/lifecycle/clone.js'
import {groupByRepo, workOf} from '../../../src/lib/lifecycle/list.js'

describe('clone mode (pure parts)', () => {
  it('reads numstat and porcelain output from inside as printable data', () => {
    expect(parseNumstat('3\t1\tsrc/a.ts\n-\t-\tlogo.png\n')).to.deep.equal([
      {path: 'src/a.ts', added: 3, removed: 1},
      {path: 'logo.png', added: null, removed: null},
    ])
    expect(parsePorcelain(' M README.md\nR  old -> new\n?? x\x1b]0;title\x07y\n')).to.deep.equal([
      'README.md',
      'new',
      'x?]0;title?y',
    ])
    expect(clean('tab\tand\nnewline stay; \x1b[31mred\x1b[0m and \r do not')).to.equal(
      'tab\tand\nnewline stay; ?[31mred?[0m and ? do not',
    )
  })

  it('renders a diff: the summary, the patch coloured only on a terminal, or the stat', () => {
    const diff: CloneDiff = {
      name: 'a',
      branch: 'repoman/a',
      base: '0123456789abcdef0123456789abcdef01234567',
      commits: 2,
      committed: [{path: 'a.txt', added: 1, removed: 0}],
      uncommitted: [{path: 'README.md', added: 1, removed: 2}],
      untracked: ['new.txt'],
      patch: '--- a/a.txt\n+++ b/a.txt\n@@ -0,0 +1 @@\n+a\n',
    }
    const summary = 'a: 2 commit(s) on repoman/a since 0123456789ab (git log 0123456789ab..repoman/a/repoman/a)'
    expect(renderCloneDiff(diff, {stat: false, colour: false})).to.deep.equal([
      summary,
      'not committed: 1 file(s) changed, 1 untracked',
      '  new.txt (untracked)',
      '--- a/a.txt',
      '+++ b/a.txt',
      '@@ -0,0 +1 @@',
      '+a',
    ])
    expect(renderCloneDiff(diff, {stat: false, colour: true}).at(-1)).to.equal('\x1b[32m+a\x1b[0m')
    expect(renderCloneDiff(diff, {stat: true, colour: false})).to.deep.equal([
      summary,
      '  a.txt | +1 -0',
      'not committed: 1 file(s) changed, 1 untracked',
      '  README.md | +1 -2',
      '  new.txt (untracked)',
    ])
    expect(
      renderCloneDiff({...diff, uncommitted: null, untracked: null, patch: ''}, {stat: false, colour: false}),
    ).to.deep.equal([summary, '"a" is not running: its uncommitted work is not shown'])
  })

  it('says what update did', () => {
    const update = {name: 'b', branch: 'feature', onto: 'main', commit: 'f'.repeat(40)}
    expect(renderCloneUpdate({...update, method: 'rebase'})).to.equal(
      `"b": rebased feature onto the host's main (${'f'.repeat(12)}).`,
    )
    expect(renderCloneUpdate({...update, method: 'merge'})).to.equal(
      `"b": merged the host's main (${'f'.repeat(12)}) into feature.`,
    )
    expect(renderCloneUpdate({...update, method: 'none'})).to.equal(`"b" has main (${'f'.repeat(12)}) already.`)
  })

  it('list: projects on one repo side by side, and what each works in', () => {
    const rows = [
      {repo: 'x', name: 'x'},
      {repo: 'y', name: 'y'},
      {repo: 'x', name: 'x-a'},
    ]
    expect(groupByRepo(rows).map((r) => r.name)).to.deep.equal(['x', 'x-a', 'y'])
    expect(workOf(null)).to.equal('your tree')
    expect(workOf({branch: 'repoman/a', from: 'main', ahead: 2, behind: 1, uncommitted: null})).to.equal(
      'repoman/a (2 ahead, 1 behind, ? uncommitted)',
    )
  })
})
