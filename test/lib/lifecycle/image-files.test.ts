import {mkdtempSync, rmSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {expect} from 'chai'
import sinon from 'sinon'
import {imageFileReader, imageFilesFile, recordedStats, templated} from '../../../src/lib/lifecycle/image-files.js'

describe("an image's files, read once (image-files)", () => {
  let dir: string
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'rm-imagefiles-'))
  })
  afterEach(() => rmSync(dir, {recursive: true, force: true}))

  /** The files of a never-booted container `name`: /etc/passwd, /etc/hostname (templated), no /etc/gshadow. */
  const fileApi = (name: string) => ({
    read: sinon.stub().callsFake(async (path: string, options: {content?: boolean} = {}) => {
      const content = {'/etc/passwd': 'root:x:0:0::/root:/bin/sh\n', '/etc/hostname': `${name}\n`}[path]
      if (content === undefined) return undefined
      return {type: 'file', uid: 0, gid: 0, mode: 0o644, content: options.content === false ? '' : content}
    }),
    instanceTemplates: sinon.stub().resolves(['/etc/hostname']),
  })

  it('the second container of an image is answered from the record, templated paths and other users aside', async () => {
    const file = imageFilesFile(dir, 'abc123')
    const first = fileApi('one')
    const one = imageFileReader(first, first, 'one', file)
    expect((await one.reader.read('/etc/passwd'))?.content).to.equal('root:x:0:0::/root:/bin/sh\n')
    expect(await one.reader.read('/etc/gshadow')).to.equal(undefined)
    expect((await one.reader.read('/etc/hostname'))?.content).to.equal('one\n')
    expect(await one.reader.stat('/etc/passwd')).to.include({type: 'file', mode: 0o644})
    await one.save()
    sinon.assert.calledOnce(first.instanceTemplates)

    const second = fileApi('two')
    const two = imageFileReader(second, second, 'two', file)
    expect((await two.reader.read('/etc/passwd'))?.content).to.equal('root:x:0:0::/root:/bin/sh\n')
    expect(await two.reader.read('/etc/gshadow')).to.equal(undefined)
    expect(await two.reader.stat('/etc/passwd')).to.include({type: 'file', mode: 0o644})
    // What a template renders is this container's own, every time.
    expect((await two.reader.read('/etc/hostname'))?.content).to.equal('two\n')
    expect(second.read.getCalls().map((call) => call.args[0])).to.deep.equal(['/etc/hostname'])
    // Another path (another user's home) is read, and kept for next time.
    expect(await two.reader.stat('/home/bob')).to.equal(undefined)
    await two.save()
    sinon.assert.notCalled(second.instanceTemplates)
    const third = fileApi('three')
    expect(await imageFileReader(third, third, 'three', file).reader.stat('/home/bob')).to.equal(undefined)
    sinon.assert.notCalled(third.read)

    // Another image has a record of its own.
    const other = fileApi('four')
    await imageFileReader(other, other, 'four', imageFilesFile(dir, 'def456')).reader.read('/etc/passwd')
    sinon.assert.calledOnce(other.read)
  })

  it('says what a stat found before any container is read: a file, nothing there, or never asked', async () => {
    const file = imageFilesFile(dir, 'abc123')
    expect(recordedStats(file, ['/etc/passwd'])).to.deep.equal([undefined])
    const first = fileApi('one')
    const one = imageFileReader(first, first, 'one', file)
    await Promise.all([one.reader.stat('/etc/passwd'), one.reader.stat('/usr/bin/setpriv')])
    await one.save()
    const [passwd, setpriv, never] = recordedStats(file, ['/etc/passwd', '/usr/bin/setpriv', '/bin/bash'])
    expect(passwd).to.include({type: 'file'})
    expect([setpriv, never]).to.deep.equal([null, undefined])
  })

  it('keeps nothing when the templates cannot be learned', async () => {
    const file = imageFilesFile(dir, 'abc123')
    const first = fileApi('one')
    first.instanceTemplates.rejects(new Error('Not Found'))
    const one = imageFileReader(first, first, 'one', file)
    await one.reader.read('/etc/passwd')
    await one.save()
    const second = fileApi('two')
    await imageFileReader(second, second, 'two', file).reader.read('/etc/passwd')
    sinon.assert.calledOnce(second.read)
  })

  it('a template in a directory makes its listing templated too', () => {
    expect(templated(['/etc/skel/.bashrc'], '/etc/skel')).to.equal(true)
    expect(templated(['/etc/skel/.bashrc'], '/etc/skel/.bashrc')).to.equal(true)
    expect(templated(['/etc/skeleton'], '/etc/skel')).to.equal(false)
    expect(templated([], '/etc/passwd')).to.equal(false)
  })
})
