import {mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {expect} from 'chai'
import {
  isObjectId,
  isSafeRefName,
  packedRefsText,
  parseHead,
  parsePackedRefs,
  readRefs,
} from '../../../src/lib/git/refs.js'
import {UntrustedDir} from '../../../src/lib/git/untrusted-dir.js'

const A = 'a'.repeat(40)
const B = 'b'.repeat(40)

describe('git refs read as data', () => {
  it('takes only plain ref names and object ids', () => {
    for (const good of ['refs/heads/main', 'refs/heads/feature/x-1', 'refs/tags/v1.2', 'refs/heads/a+b'])
      expect(isSafeRefName(good), good).to.equal(true)
    for (const bad of [
      'refs/heads/a..b',
      'refs/heads/-x',
      'refs/heads/.hidden',
      'refs/heads/x.lock',
      'refs/heads/x.',
      'refs/heads/a//b',
      'refs/heads/sp ace',
      'refs/heads/new\nline',
      'refs/heads/@{u}',
      'refs/heads',
      'heads/main',
      'refs/heads/../../../etc/passwd',
      `refs/heads/${'x/'.repeat(12)}y`,
    ])
      expect(isSafeRefName(bad), JSON.stringify(bad)).to.equal(false)
    expect(isObjectId(A)).to.equal(true)
    expect(isObjectId('c'.repeat(64))).to.equal(true)
    expect(isObjectId('A'.repeat(40))).to.equal(false)
    expect(isObjectId(`${A}\n`)).to.equal(false)
  })

  it('parses HEAD and packed-refs, rejecting what is not a branch or an id', () => {
    expect(parseHead('ref: refs/heads/main\n')).to.deep.equal({branch: 'refs/heads/main'})
    expect(parseHead(`${A}\n`)).to.deep.equal({detached: A})
    expect(parseHead('ref: ../../etc\n')).to.equal(undefined)
    expect(parseHead('ref: refs/tags/v1\n')).to.equal(undefined)
    const text = `# pack-refs with: peeled\n${A} refs/heads/main\n^${B}\n${B} refs/heads/a..b\nnot-an-id refs/heads/x\n${A} refs/tags/v1\n`
    const {refs, rejected} = parsePackedRefs(text, ['refs/heads/'])
    expect([...refs]).to.deep.equal([['refs/heads/main', A]])
    expect(rejected).to.deep.equal(['refs/heads/a..b', 'refs/heads/x'])
    expect(parsePackedRefs(packedRefsText(refs), ['refs/heads/']).refs).to.deep.equal(refs)
  })

  describe('reading a git dir the container writes', () => {
    let dir: string
    beforeEach(() => {
      dir = mkdtempSync('/var/tmp/repoman-refs-test-')
    })
    afterEach(() => rmSync(dir, {recursive: true, force: true}))

    it('loose refs win over packed ones, and no link, FIFO or junk among them is followed or taken', () => {
      const git = join(dir, 'agent')
      mkdirSync(join(git, 'refs/heads/feature'), {recursive: true})
      writeFileSync(join(git, 'packed-refs'), `${A} refs/heads/main\n${A} refs/heads/old\n`)
      writeFileSync(join(git, 'refs/heads/main'), `${B}\n`)
      writeFileSync(join(git, 'refs/heads/feature/x'), `${A}\n`)
      writeFileSync(join(git, 'refs/heads/junk'), 'ref: refs/heads/main\n')
      writeFileSync(join(git, 'refs/heads/main.lock'), `${A}\n`)
      // A secret outside, reached only through links planted among the refs.
      mkdirSync(join(dir, 'outside'))
      writeFileSync(join(dir, 'outside/id'), `${A}\n`)
      symlinkSync(join(dir, 'outside/id'), join(git, 'refs/heads/linked'))
      symlinkSync(join(dir, 'outside'), join(git, 'refs/heads/dirlink'))
      const agent = UntrustedDir.open(git)
      try {
        const {refs, rejected} = readRefs(agent, ['refs/heads/'])
        expect(Object.fromEntries(refs)).to.deep.equal({
          'refs/heads/main': B,
          'refs/heads/old': A,
          'refs/heads/feature/x': A,
        })
        expect(rejected.sort()).to.deep.equal(['refs/heads/dirlink', 'refs/heads/junk', 'refs/heads/linked'])
      } finally {
        agent.close()
      }
    })

    it('writes replace a planted symlink instead of following it, and reads never follow one', () => {
      const git = join(dir, 'agent')
      mkdirSync(git)
      writeFileSync(join(dir, 'victim'), 'keep\n')
      symlinkSync(join(dir, 'victim'), join(git, 'HEAD'))
      symlinkSync(dir, join(git, 'refs'))
      const agent = UntrustedDir.open(git)
      try {
        expect(agent.readFile('HEAD', 100)).to.equal(undefined)
        expect(agent.dir('refs/heads')).to.equal(undefined)
        expect(() => agent.makeDir('refs/heads')).to.throw()
        agent.writeFile('HEAD', 'ref: refs/heads/main\n')
        expect(agent.readFile('HEAD', 100)?.toString()).to.equal('ref: refs/heads/main\n')
      } finally {
        agent.close()
      }
      expect(readFileSync(join(dir, 'victim'), 'utf8')).to.equal('keep\n')
      expect(() => UntrustedDir.open(join(git, 'refs'))).to.throw()
    })
  })
})
