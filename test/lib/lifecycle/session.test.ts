import {expect} from 'chai'
import {UsageError} from '../../../src/lib/errors.js'
import {parseEnvFlags, splitExecArgv} from '../../../src/lib/lifecycle/session.js'

describe('exec argument handling', () => {
  it('splits the project name from the command at --', () => {
    expect(splitExecArgv(['p', '--', 'make', 'test'])).to.deep.equal({name: 'p', command: ['make', 'test']})
    expect(splitExecArgv(['--', 'claude', '--resume'])).to.deep.equal({
      name: undefined,
      command: ['claude', '--resume'],
    })
    expect(splitExecArgv(['--cwd', 'src', '--env', 'A=1', 'p', '--', 'ls'])).to.deep.equal({name: 'p', command: ['ls']})
    expect(splitExecArgv(['--cwd=src', '--', 'ls', '--', 'x'])).to.deep.equal({
      name: undefined,
      command: ['ls', '--', 'x'],
    })
  })

  it('refuses a missing -- or command with a hint', () => {
    expect(() => splitExecArgv(['p', 'ls'])).to.throw(UsageError, /put the command after --/)
    expect(() => splitExecArgv(['p', '--'])).to.throw(UsageError, /no command after --/)
    expect(() => splitExecArgv(['p', 'q', '--', 'ls'])).to.throw(UsageError, /one project name/)
  })

  it('parses --env KEY=VALUE, keeping = in values', () => {
    expect(parseEnvFlags(['A=1', 'B=x=y', 'C='])).to.deep.equal({A: '1', B: 'x=y', C: ''})
    expect(() => parseEnvFlags(['=x'])).to.throw(UsageError, /KEY=VALUE/)
  })
})
