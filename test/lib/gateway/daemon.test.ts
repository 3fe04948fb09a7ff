import {expect} from 'chai'
import {parsePidFile, pidFileText} from '../../../src/lib/gateway/daemon.js'

describe('the gateway pid file', () => {
  it('names the pid and the build that runs', () => {
    expect(parsePidFile(pidFileText(4242, '0.5.0@1765000000000'))).to.deep.equal({
      pid: 4242,
      build: '0.5.0@1765000000000',
    })
  })

  it('from an older repoman names the pid alone, so the running build is not this one', () => {
    expect(parsePidFile('4242\n')).to.deep.equal({pid: 4242})
  })

  it('names no gateway when the pid is not a process id', () => {
    for (const text of ['', 'x\n', '1\n', '-5\n', '4.2\n']) expect(parsePidFile(text), text).to.equal(undefined)
  })
})
