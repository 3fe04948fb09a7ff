import {readFileSync} from 'node:fs'
import {resolve} from 'node:path'
import {expect} from 'chai'
import {NEW_FLAGS, parseFastRequest} from '../../src/cli/fast-path.js'
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

  it('takes `gateway run` as `new` and sessions start it, and nothing else of the gateway topic', () => {
    expect(take('gateway run')).to.deep.equal({command: 'gateway run'})
    for (const line of ['gateway run --help', 'gateway run --json', 'gateway status', 'gateway'])
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
      'sync',
      'profile list',
      '--json',
    ])
      expect(take(line), line).to.equal(undefined)
    expect(parseFastRequest([], false)).to.equal(undefined)
  })

  it('takes `new NAME` with its flags in either spelling, and nothing it might read otherwise', () => {
    expect(take('new web')).to.deep.equal({
      command: 'new',
      request: {
        name: 'web',
        repo: undefined,
        image: undefined,
        profiles: undefined,
        noDefaultProfiles: false,
        sudo: undefined,
        allowSensitive: false,
        clone: undefined,
        branch: undefined,
      },
      json: false,
      verbose: false,
      nonInteractive: false,
    })
    expect(
      take(
        'new --repo=web-repo web --image images:debian/13 --no-sudo -y --verbose --profile a --profile=b --no-default-profiles --json',
      ),
    ).to.deep.include({
      request: {
        name: 'web',
        repo: 'web-repo',
        image: 'images:debian/13',
        profiles: ['a', 'b'],
        noDefaultProfiles: true,
        sudo: false,
        allowSensitive: false,
        clone: undefined,
        branch: undefined,
      },
      json: true,
      verbose: true,
      nonInteractive: true,
    })
    expect(take('new web --non-interactive --allow-sensitive')).to.deep.include({nonInteractive: true})
    const requestOf = (line: string) => {
      const taken = take(line)
      return taken && 'request' in taken ? taken.request : undefined
    }
    expect(requestOf('new web --clone --branch agent/x')).to.deep.include({clone: true, branch: 'agent/x'})
    expect(requestOf('new web --no-clone')).to.deep.include({clone: false})
    for (const line of [
      'new',
      'new a b',
      'new web --yes',
      'new web --help',
      'new web -h',
      'new web --repo',
      'new web --repo a --repo b',
      'new web --image -x',
      'new web --image=',
      'new web --no-sudo --no-sudo',
      'new web --no-sudo=true',
      'new --profile a web',
      'new web --profile a b',
      'new web --frobnicate',
      'new web --constructor x',
      'new web --toString',
      'new web -yv',
      'new web --',
    ])
      expect(take(line), line).to.equal(undefined)
    expect(take('new web --json', true)).to.equal(undefined)
  })

  it("reads `new`'s flags as the oclif command declares them", () => {
    const manifest = JSON.parse(readFileSync(resolve(import.meta.dirname, '../../oclif.manifest.json'), 'utf8'))
    const flags = manifest.commands.new.flags as Record<
      string,
      {type: string; multiple?: boolean; char?: string; allowNo?: boolean}
    >
    for (const [name, kind] of Object.entries(NEW_FLAGS)) {
      // `--no-X` of a switch oclif declares with allowNo.
      if (!flags[name] && name.startsWith('no-') && flags[name.slice(3)]?.allowNo) continue
      expect(flags[name], name).to.not.equal(undefined)
      expect(flags[name]?.type, name).to.equal(kind === 'switch' ? 'boolean' : 'option')
      expect(Boolean(flags[name]?.multiple), name).to.equal(kind === 'values')
    }
    expect(flags['non-interactive']?.char).to.equal('y')
  })

  it('leaves --json on a terminal to oclif, which colours it', () => {
    expect(take('list --json', true)).to.equal(undefined)
    expect(take('status --json', true)).to.equal(undefined)
    expect(take('list', true)).to.deep.equal({command: 'list', json: false})
  })
})
