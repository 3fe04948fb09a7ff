import {expect} from 'chai'
import {UsageError} from '../../../src/lib/errors.js'
import {parseEnvFlags, splitExecArgv} from '../../../src/lib/lifecycle/session.js'

describe('exec argument handling', () => {
  it('splits the project name from the command at --', () => {
    expect(splitExecArgv(['p', '--', 'make', 'test'])).to.deep.equal({
      name: 'p',
      command: ['make', 'test'],
      env: [],
      otherOptions: [],
    })
    expect(splitExecArgv(['--', 'claude', '--resume'])).to.deep.equal({
      name: undefined,
      command: ['claude', '--resume'],
      env: [],
      otherOptions: [],
    })
  })

  it('takes --cwd and --env with separate values, and sets aside any other option', () => {
    expect(splitExecArgv(['--cwd', 'src', '--env', 'A=1', 'p', '--env', 'B=2', '--', 'ls'])).to.deep.equal({
      name: 'p',
      command: ['ls'],
      cwd: 'src',
      env: ['A=1', 'B=2'],
      otherOptions: [],
    })
    expect(splitExecArgv(['--cwd=src', '--verbose', '--', 'ls', '--', 'x'])).to.deep.equal({
      name: undefined,
      command: ['ls', '--', 'x'],
      env: [],
      otherOptions: ['--cwd=src', '--verbose'],
    })
    // A second --cwd is oclif's to refuse.
    expect(splitExecArgv(['--cwd', 'a', '--cwd', 'b', 'p', '--', 'ls'])).to.include({name: 'p', cwd: 'a'})
    expect(splitExecArgv(['--cwd', 'a', '--cwd', 'b', '--', 'ls']).otherOptions).to.deep.equal(['--cwd', 'b'])
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
