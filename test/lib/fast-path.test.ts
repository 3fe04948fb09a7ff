import {expect} from 'chai'
import {parseFastRequest} from '../../src/lib/fast-path.js'

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

  it('declines whatever oclif should judge: help, other flags, mistakes, other commands', () => {
    for (const line of [
      'list --help',
      'list -h',
      'list --verbose',
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
