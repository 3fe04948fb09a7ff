import {mkdtempSync, readFileSync, readlinkSync, rmSync} from 'node:fs'
import {join} from 'node:path'
import {expect} from 'chai'
import {
  findProgram,
  installDirOf,
  npmPrefixOf,
  type ProgramFs,
  programSearchDirs,
  programsProfileScriptText,
  runsOnNode,
  writeProgramLink,
} from '../../../src/lib/agents/programs.js'

const home = '/home/dev'

/** A file system of executables (path → first bytes) and symlinks (path → real path). */
function fakeFs(files: Record<string, string>, links: Record<string, string> = {}): ProgramFs {
  return {
    realpath: (path) => (path in links ? links[path] : path in files ? path : undefined),
    isExecutableFile: (path) => (links[path] ?? path) in files,
    head: (path) => Buffer.from(files[path] ?? ''),
  }
}

describe('agent programs on the host', () => {
  it("finds npm's global prefix as npm does: environment, then ~/.npmrc, then node's own prefix", () => {
    expect(npmPrefixOf({npm_config_prefix: '~/.npm-global'}, 'prefix=/x', '/usr/bin/node', home)).to.equal(
      '/home/dev/.npm-global',
    )
    expect(npmPrefixOf({}, 'fund=false\nprefix = ${HOME}/.local\n', '/usr/bin/node', home)).to.equal('/home/dev/.local')
    expect(npmPrefixOf({}, 'prefix="~/.npm"\n', '/usr/bin/node', home)).to.equal('/home/dev/.npm')
    expect(npmPrefixOf({}, '', '/opt/node-22/bin/node', home)).to.equal('/opt/node-22')
  })

  it("searches PATH, then ~/.local/bin and npm's bin, never repoman's own launcher and link directories", () => {
    const dirs = programSearchDirs(
      '/home/dev/.local/share/repoman/bin:/usr/bin:relative:/usr/bin:/usr/local/bin',
      home,
      '/home/dev/.npm-global',
      ['/home/dev/.local/share/repoman/bin', '/home/dev/.local/share/repoman/programs'],
    )
    expect(dirs).to.deep.equal(['/usr/bin', '/usr/local/bin', '/home/dev/.local/bin', '/home/dev/.npm-global/bin'])
  })

  it('takes the outermost npm package as the install, scoped or not', () => {
    const pkg = '/home/dev/.local/lib/node_modules/@anthropic-ai/claude-code'
    expect(installDirOf(`${pkg}/bin/claude.exe`, home)).to.equal(pkg)
    expect(installDirOf(`${pkg}/node_modules/@anthropic-ai/claude-code-linux-x64/claude`, home)).to.equal(pkg)
    expect(installDirOf('/usr/lib/node_modules/opencode-ai/bin/opencode', home)).to.equal(
      '/usr/lib/node_modules/opencode-ai',
    )
  })

  it("takes Claude's native install tree, a tool's own prefix, else the lone executable", () => {
    expect(installDirOf('/home/dev/.local/share/claude/versions/2.1.197', home)).to.equal(
      '/home/dev/.local/share/claude',
    )
    expect(installDirOf('/home/dev/.opencode/bin/opencode', home)).to.equal('/home/dev/.opencode')
    expect(installDirOf('/opt/codex/bin/codex', home)).to.equal('/opt/codex')
    // Never a whole shared prefix or part of the home: the file alone then.
    for (const lone of [
      '/home/dev/.local/bin/pi',
      '/home/dev/bin/pi',
      '/usr/local/bin/claude',
      '/usr/bin/codex',
      '/home/dev/.local/share/gemini',
      '/home/dev/claude',
    ])
      expect(installDirOf(lone, home), lone).to.equal(lone)
  })

  it('tells a JavaScript program (node on its #! line) from a native one', () => {
    expect(runsOnNode(Buffer.from('#!/usr/bin/env node\nimport x'))).to.equal(true)
    expect(runsOnNode(Buffer.from('#!/usr/local/bin/node --no-warnings\n'))).to.equal(true)
    expect(runsOnNode(Buffer.from('\x7fELF\x02\x01'))).to.equal(false)
    expect(runsOnNode(Buffer.from('#!/bin/sh\nexec nodejs-thing\n'))).to.equal(false)
  })

  it('follows the first executable on the search path to its real install', () => {
    const pkg = '/home/dev/.local/lib/node_modules/@anthropic-ai/claude-code'
    const fs = fakeFs(
      {[`${pkg}/bin/claude.exe`]: '\x7fELF', '/usr/bin/claude': '\x7fELF', '/usr/bin/gemini.txt': ''},
      {'/home/dev/.local/bin/claude': `${pkg}/bin/claude.exe`},
    )
    expect(findProgram('claude', ['/usr/local/bin', '/home/dev/.local/bin', '/usr/bin'], home, fs)).to.deep.equal({
      command: 'claude',
      executable: `${pkg}/bin/claude.exe`,
      installDir: pkg,
      needsNode: false,
    })
    expect(findProgram('claude', ['/usr/bin'], home, fs)?.installDir).to.equal('/usr/bin/claude')
    expect(findProgram('gemini', ['/usr/bin'], home, fs)).to.equal(undefined)
    // A dangling link is no program.
    const dangling = fakeFs({}, {'/usr/bin/pi': '/gone'})
    expect(findProgram('pi', ['/usr/bin'], home, dangling)).to.equal(undefined)
  })

  it('links the program into the links directory and writes the login-shell snippet', () => {
    const dir = mkdtempSync('/tmp/rm-links-')
    try {
      const programs = {
        linksDir: join(dir, 'programs'),
        profileScript: join(dir, 'programs-profile.sh'),
        find: () => undefined,
      }
      writeProgramLink(programs, 'claude', '/opt/claude/bin/claude')
      writeProgramLink(programs, 'claude', '/opt/claude/bin/claude-2')
      expect(readlinkSync(join(dir, 'programs/claude'))).to.equal('/opt/claude/bin/claude-2')
      expect(readFileSync(programs.profileScript, 'utf8')).to.equal(programsProfileScriptText(programs.linksDir))
      expect(programsProfileScriptText('/l')).to.include(`*":/l:"*) ;; *) PATH="/l:$PATH"`)
    } finally {
      rmSync(dir, {recursive: true, force: true})
    }
  })
})
