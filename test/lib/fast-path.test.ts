import {expect} from 'chai'
import {parseFastRequest} from '../../src/lib/fast-path.js'
import {LOGIN_SHELL} from '../../src/lib/lifecycle/session.js'

describe('the fast path', () => {
  const take = (line: string, terminal = false) => parseFastRequest(line.split(' '), terminal)

  it('takes list, status and exec in their everyday shapes', () => {
    expect(take('list')).to.deep.equal({command: 'list', json: false})
    expect(take('list --json')).to.deep.equal({command: 'list', json: true})
    expect(take('status')).to.deep.equal({command: 'status', json: false, name: undefined})
    expect(take('status --json web')).to.deep.equal({command: 'status', json: true, name: 'web'})
    expect(take('exec web -- make test')).to.deep.equal({
      command: 'exec',
      name: 'web',
      run: ['make', 'test'],
      cwd: undefined,
      env: [],
    })
    expect(take('exec --cwd src --env A=1 -- ls -la')).to.deep.equal({
      command: 'exec',
      name: undefined,
      run: ['ls', '-la'],
      cwd: 'src',
      env: ['A=1'],
    })
  })

  it('takes shell as exec of a login shell, with --cwd but no --env', () => {
    expect(take('shell web --cwd src')).to.deep.include({command: 'shell', name: 'web', cwd: 'src', env: []})
    expect(take('shell')).to.deep.include({run: LOGIN_SHELL})
    for (const line of ['shell --env A=1', 'shell web -- ls', 'shell a b', 'shell --help'])
      expect(take(line), line).to.equal(undefined)
  })

  it('takes `agent run NAME -- ARGS` exactly as a launcher writes it', () => {
    expect(take('agent run claude -- --version')).to.deep.equal({
      command: 'agent run',
      agent: 'claude',
      args: ['--version'],
    })
    expect(take('agent run claude --')).to.deep.equal({command: 'agent run', agent: 'claude', args: []})
    for (const line of ['agent run claude', 'agent run --help --', 'agent list', 'agent run -- x'])
      expect(take(line), line).to.equal(undefined)
  })

  it('declines whatever oclif should judge: help, other flags, mistakes, other commands', () => {
    for (const line of [
      'list --help',
      'list -h',
      'list --verbose',
      'list --sessions',
      'list --json --json',
      'list web',
      'status a b',
      'status --verbose',
      'status --json=true',
      'exec web make',
      'exec web --',
      'exec a b -- ls',
      'exec --cwd=src -- ls',
      'exec --help -- ls',
      'exec --detach web -- claude',
      'exec web --detach -- claude',
      'new web',
      'sync',
      'profile list',
      '--json',
    ])
      expect(take(line), line).to.equal(undefined)
    expect(parseFastRequest([], false)).to.equal(undefined)
  })

  it('leaves --json on a terminal to oclif, which colours it', () => {
    expect(take('list --json', true)).to.equal(undefined)
    expect(take('status --json', true)).to.equal(undefined)
    expect(take('list', true)).to.deep.equal({command: 'list', json: false})
  })
})
