import {execFileSync, spawnSync} from 'node:child_process'
import {chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {expect} from 'chai'
import {
  installLauncher,
  LAUNCHER_MARKER,
  launcherText,
  listLaunchers,
  pathLine,
  removeLauncher,
  shellQuote,
} from '../../../src/lib/agents/launcher.js'
import {LauncherNotFoundError, NotManagedError, UsageError} from '../../../src/lib/errors.js'
import {resolvePaths} from '../../../src/lib/paths.js'

describe('agent launchers', () => {
  it('quotes any text as one sh word', () => {
    expect(shellQuote("it's")).to.equal(`'it'\\''s'`)
    expect(execFileSync('sh', ['-c', `printf %s ${shellQuote("a b'c $HOME")}`], {encoding: 'utf8'})).to.equal(
      "a b'c $HOME",
    )
  })

  it("execs node on repoman's entry with `agent run NAME --` and the arguments untouched", () => {
    const text = launcherText('claude', '/usr/bin/node', '/opt/repoman/bin/run.js')
    expect(text.startsWith('#!/bin/sh\n')).to.equal(true)
    expect(text).to.include(LAUNCHER_MARKER)
    expect(text.trimEnd().split('\n').pop()).to.equal(
      `exec '/usr/bin/node' '/opt/repoman/bin/run.js' agent run 'claude' -- "$@"`,
    )
  })

  it("gives the exact PATH line for the user's shell", () => {
    const dir = '/home/dev/.local/share/repoman/bin'
    expect(pathLine('/bin/bash', dir, '/home/dev')).to.deep.equal({
      file: '~/.bashrc',
      line: 'export PATH="$HOME/.local/share/repoman/bin:$PATH"',
    })
    expect(pathLine('/usr/bin/zsh', dir, '/home/dev').file).to.equal('~/.zshrc')
    expect(pathLine('/usr/bin/fish', dir, '/home/dev').line).to.equal(
      'fish_add_path --prepend --move "$HOME/.local/share/repoman/bin"',
    )
    expect(pathLine('', '/srv/bin', '/home/dev')).to.deep.equal({
      file: '~/.profile',
      line: 'export PATH="/srv/bin:$PATH"',
    })
  })

  describe('on disk', () => {
    let home: string
    let env: NodeJS.ProcessEnv
    beforeEach(() => {
      home = mkdtempSync('/tmp/rm-launch-')
      env = {HOME: home, PATH: `/usr/bin:/bin`, SHELL: '/bin/bash'}
    })
    afterEach(() => rmSync(home, {recursive: true, force: true}))

    it('writes an executable launcher, says how to put its directory first on PATH, and lists and removes it', () => {
      const paths = resolvePaths(env)
      const installed = installLauncher(paths, 'claude', env)
      expect(installed).to.deep.equal({
        name: 'claude',
        path: join(home, '.local/share/repoman/bin/claude'),
        first_on_path: false,
        path_hint: {file: '~/.bashrc', line: 'export PATH="$HOME/.local/share/repoman/bin:$PATH"'},
      })
      expect(statSync(installed.path).mode & 0o777).to.equal(0o755)
      const onPath = {...env, PATH: `${paths.launcherDir}:${env.PATH}`}
      expect(installLauncher(paths, 'claude', onPath)).to.include({first_on_path: true, path_hint: null})

      // The host's own program is what --host runs: the next one on PATH.
      mkdirSync(join(home, 'hostbin'))
      writeFileSync(join(home, 'hostbin/claude'), '#!/bin/sh\necho "host claude $*"\n')
      chmodSync(join(home, 'hostbin/claude'), 0o755)
      const withHost = {...onPath, PATH: `${onPath.PATH}:${join(home, 'hostbin')}`}
      expect(listLaunchers(paths, withHost)).to.deep.equal([
        {name: 'claude', path: installed.path, host_program: join(home, 'hostbin/claude')},
      ])
      const host = spawnSync(installed.path, ['--host', 'a b', '-p'], {env: withHost, encoding: 'utf8'})
      expect(host.stdout).to.equal('host claude a b -p\n')
      expect(host.status).to.equal(0)
      const none = spawnSync(installed.path, ['--host'], {env: onPath, encoding: 'utf8'})
      expect(none.status).to.equal(127)
      expect(none.stderr).to.equal(`claude: no claude on PATH besides this launcher (${installed.path})\n`)

      expect(removeLauncher(paths, 'claude')).to.deep.equal({name: 'claude', removed: true})
      expect(listLaunchers(paths, env)).to.deep.equal([])
      expect(() => removeLauncher(paths, 'claude')).to.throw(LauncherNotFoundError, /no launcher "claude"/)
    })

    it('never overwrites or removes a file it did not write, and refuses odd names', () => {
      const paths = resolvePaths(env)
      mkdirSync(paths.launcherDir, {recursive: true})
      writeFileSync(join(paths.launcherDir, 'codex'), '#!/bin/sh\n')
      expect(() => installLauncher(paths, 'codex', env)).to.throw(NotManagedError, /is not a repoman launcher/)
      expect(() => removeLauncher(paths, 'codex')).to.throw(NotManagedError, /is not a repoman launcher; it stays/)
      expect(readFileSync(join(paths.launcherDir, 'codex'), 'utf8')).to.equal('#!/bin/sh\n')
      for (const name of ['../x', 'a/b', '-x', 'repoman', ''])
        expect(() => installLauncher(paths, name, env), name).to.throw(UsageError)
      expect(listLaunchers(paths, env)).to.deep.equal([])
    })
  })
})
