import {execFileSync} from 'node:child_process'
import {mkdtempSync, readFileSync, rmSync, writeFileSync} from 'node:fs'
import {expect} from 'chai'
import {
  describeChecks,
  explainShadow,
  filesToFix,
  parseProbe,
  probeArgs,
  settleShells,
  shellChecks,
  startupFiles,
} from '../../../src/lib/agents/shells.js'

describe('the launcher in every shell', () => {
  const launcher = '/home/dev/.local/share/repoman/bin/claude'
  const line = 'export PATH="$HOME/.local/share/repoman/bin:$PATH"'

  it('names the start-up file each kind of shell reads, as bash picks its login file', () => {
    expect(startupFiles('/bin/bash', '/home/dev', () => false)).to.deep.equal({
      login: '~/.profile',
      interactive: '~/.bashrc',
    })
    expect(startupFiles('/bin/bash', '/home/dev', (p) => p === '/home/dev/.bash_profile').login).to.equal(
      '~/.bash_profile',
    )
    expect(startupFiles('/usr/bin/zsh', '/home/dev', () => false)).to.deep.equal({
      login: '~/.zprofile',
      interactive: '~/.zshrc',
    })
  })

  it('asks a real shell what each name is, and reads its answer past other output', () => {
    const out = execFileSync('sh', probeArgs('/bin/sh', 'interactive', ['sh', 'no-such-cmd']), {
      encoding: 'utf8',
      env: {PATH: '/usr/bin:/bin'},
    })
    const found = parseProbe(`motd line\n${out}`, ['sh', 'no-such-cmd'])
    expect(found.get('sh')).to.match(/\/sh$/)
    expect(found.get('no-such-cmd')).to.equal(null)
  })

  it('fixes only the files of shells where the launcher loses and that lack the line', () => {
    const checks = shellChecks(
      {login: new Map([['claude', '/home/dev/.local/bin/claude']]), interactive: new Map([['claude', launcher]])},
      'claude',
      launcher,
    )
    expect(checks.map((c) => c.first)).to.deep.equal([false, true])
    const files = {login: '~/.profile', interactive: '~/.bashrc'}
    expect(filesToFix(checks, files, line, () => 'PATH=x\n')).to.deep.equal(['~/.profile'])
    expect(filesToFix(checks, files, line, () => `${line}\n`)).to.deep.equal([])
    expect(describeChecks(checks)).to.equal('login: NO (/home/dev/.local/bin/claude), interactive')
    expect(explainShadow(checks[0] as never, 'claude', '~/.profile', '/home/dev/.local/share/repoman/bin')).to.equal(
      'in a login shell `claude` is /home/dev/.local/bin/claude, which runs on the host, not the launcher: ~/.profile has the PATH line, so something that runs after it puts another directory before /home/dev/.local/share/repoman/bin; move the line to the end of what runs last, or remove that',
    )
  })

  describe("with Debian's start-up files", () => {
    let home: string
    beforeEach(() => {
      home = mkdtempSync('/tmp/rm-shells-')
    })
    afterEach(() => rmSync(home, {recursive: true, force: true}))

    it('puts the line where Debian ~/.profile would put ~/.local/bin ahead of it, and then wins in both shells', async () => {
      const dir = `${home}/.local/share/repoman/bin`
      execFileSync('sh', [
        '-c',
        `mkdir -p ${dir} ${home}/.local/bin && cp /etc/skel/.profile /etc/skel/.bashrc ${home}/`,
      ])
      for (const path of [`${dir}/claude`, `${home}/.local/bin/claude`])
        writeFileSync(path, '#!/bin/sh\n', {mode: 0o755})
      // The advice of old: the line in ~/.bashrc only, which a login shell's ~/.profile overrides.
      writeFileSync(
        `${home}/.bashrc`,
        `${readFileSync(`${home}/.bashrc`, 'utf8')}export PATH="$HOME/.local/share/repoman/bin:$PATH"\n`,
      )
      const env = {HOME: home, SHELL: '/bin/bash', PATH: '/usr/bin:/bin'}
      const settled = await settleShells('claude', `${dir}/claude`, dir, env)
      expect(settled.edited).to.deep.equal(['~/.profile'])
      expect(settled.problems).to.deep.equal([])
      expect(settled.checks.every((c) => c.first)).to.equal(true)
      expect(readFileSync(`${home}/.profile`, 'utf8').trimEnd().split('\n').pop()).to.equal(line)
    })
  })
})
