import {spawn} from 'node:child_process'
import {chmodSync, mkdirSync, renameSync, symlinkSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {expect} from 'chai'
import {type CliResult, makeWorld, requireIncus, type World} from '../helpers/world.js'

/** A fake agent installed as npm would: a package dir, and a link in the prefix's bin. */
function installFakeAgent(prefix: string, command: string, pkg: string): string {
  const dir = join(prefix, 'lib/node_modules', pkg)
  mkdirSync(join(dir, 'bin'), {recursive: true})
  const executable = join(dir, 'bin', `${command}.exe`)
  writeFileSync(executable, `#!/bin/sh\necho "${command} $* in $(pwd)"\n[ "$1" = fail ] && exit 3\nexit 0\n`)
  chmodSync(executable, 0o755)
  mkdirSync(join(prefix, 'bin'), {recursive: true})
  symlinkSync(executable, join(prefix, 'bin', command))
  return dir
}

describe('agent programs and launchers (real Incus)', () => {
  let world: World
  let repo: string
  let pkg: string
  let launcherDir: string
  before(async function () {
    world = makeWorld(requireIncus(this))
    await world.setup()
    mkdirSync(join(world.home, '.claude'))
    writeFileSync(join(world.home, '.claude.json'), '{}\n')
    mkdirSync(join(world.home, '.codex'))
    // npm's `--prefix ~/.local` layout; ~/.local/bin is not on this PATH, and need not be.
    pkg = installFakeAgent(join(world.home, '.local'), 'claude', '@anthropic-ai/claude-code')
    repo = world.makeRepo('kappa')
    world.makeRepo('lambda')
    launcherDir = join(world.home, '.local/share/repoman/bin')
  })
  after(() => world?.dispose())

  /** Runs the launcher as a shell would find it: its directory first on PATH. */
  function launch(args: string[], cwd: string, env: NodeJS.ProcessEnv = {}): Promise<CliResult> {
    return new Promise((resolve, reject) => {
      const child = spawn('claude', args, {
        cwd,
        env: {...world.env, PATH: `${launcherDir}:${world.env.PATH}:${join(world.home, '.local/bin')}`, ...env},
        stdio: ['ignore', 'pipe', 'pipe'],
      })
      let stdout = ''
      let stderr = ''
      child.stdout.on('data', (d) => (stdout += d))
      child.stderr.on('data', (d) => (stderr += d))
      child.on('error', reject)
      child.on('close', (exitCode) => resolve({exitCode, stdout, stderr}))
    })
  }

  it("shares the host's agent program read-only at the same path, on PATH inside; a missing one is named", async () => {
    const install = await world.cli(['profile', 'install', 'claude-share', 'codex-share'])
    expect(install.exitCode, install.stderr).to.equal(0)
    expect(install.stderr).to.include('✔ Created profile codex-share')
    expect(install.stdout).to.equal(
      'claude-share: created (vendor); claude: shared\ncodex-share: created (vendor); codex: not on the host, install it inside\n',
    )
    const rows = JSON.parse((await world.cli(['profile', 'list', '--json'])).stdout)
    expect(rows.find((r: {name: string}) => r.name === 'claude-share').program).to.deep.equal({
      command: 'claude',
      state: 'shared',
      executable: join(pkg, 'bin/claude.exe'),
    })
    expect((await world.cli(['profile', 'list'])).stdout).to.match(
      /codex-share .* codex: not on the host, install it inside/,
    )

    for (const [name, profile] of [
      ['kappa', 'claude-share'],
      ['lambda', 'codex-share'],
    ] as const) {
      const created = await world.cli(['new', name, '--profile', 'default', '--profile', profile])
      expect(created.exitCode, created.stderr).to.equal(0)
    }
    const ran = await world.cli(['exec', '--', 'claude', '--version'], {cwd: join(repo, 'src')})
    expect(ran.exitCode, ran.stderr).to.equal(0)
    expect(ran.stdout).to.equal(`claude --version in ${join(repo, 'src')}\n`)
    // Read-only inside, and nothing else of ~/.local comes along.
    const write = await world.cli(
      ['exec', '--', 'sh', '-c', `touch ${pkg}/x || echo refused; ls ${world.home}/.local`],
      {
        cwd: repo,
      },
    )
    expect(write.stdout).to.equal('refused\nlib\nshare\n')
    const beside = await world.cli(
      ['exec', '--', 'ls', `${world.home}/.local/lib/node_modules`, `${world.home}/.local/share`],
      {cwd: repo},
    )
    expect(beside.stdout).to.equal(
      `${world.home}/.local/lib/node_modules:\n@anthropic-ai\n\n${world.home}/.local/share:\nrepoman\n`,
    )

    const status = await world.cli(['status'])
    expect(status.stdout).to.include('          codex: not on the host, install it inside\n')
    expect(status.stdout).not.to.include('claude: shared')
    const report = JSON.parse((await world.cli(['status', 'kappa', '--json'])).stdout)
    expect(report.projects[0].programs).to.deep.equal([
      {command: 'claude', state: 'shared', executable: join(pkg, 'bin/claude.exe')},
    ])
    expect(report.projects[0].healthy).to.equal(true)

    // The host's program moved (as an update of Claude's native install does): status says so.
    const exe = join(pkg, 'bin/claude.exe')
    renameSync(exe, `${exe}.old`)
    try {
      const moved = await world.cli(['status', 'kappa'])
      expect(moved.exitCode).to.equal(1)
      const line = moved.stdout.split('\n').find((l) => l.startsWith('PROBLEM kappa: '))
      const problem = `, last sync never: claude: ${exe} is gone from the host (updated?); install the profile that shares it again (\`repoman profile list\` shows it as differs)`
      expect(line?.endsWith(problem), line).to.equal(true)
    } finally {
      renameSync(`${exe}.old`, exe)
    }
  })

  it('a launcher runs the agent in the repo container at the same cwd, starting it; refuses outside; --host runs the host one', async () => {
    const installed = await world.cli(['agent', 'install', 'claude'], {env: {SHELL: '/bin/bash'}})
    expect(installed.exitCode, installed.stderr).to.equal(0)
    expect(installed.stdout).to.equal(
      [
        `Wrote ${launcherDir}/claude.`,
        'Added the PATH line to ~/.profile.',
        'Added the PATH line to ~/.bashrc.',
        '`claude` runs the launcher in login and interactive shells (a new shell; in this one: export PATH="$HOME/.local/share/repoman/bin:$PATH").',
        '',
      ].join('\n'),
    )
    // Once the lines are there, a second install finds the launcher first in both shells and adds nothing.
    const again = await world.cli(['agent', 'install', 'claude', '--json'], {env: {SHELL: '/bin/bash'}})
    expect(JSON.parse(again.stdout)).to.deep.include({
      edited_files: [],
      shells: [
        {shell: 'login', resolves_to: `${launcherDir}/claude`, first: true},
        {shell: 'interactive', resolves_to: `${launcherDir}/claude`, first: true},
      ],
    })
    world.incus(['stop', 'kappa', '--force'])
    const fast = await launch(['fail', 'a b'], join(repo, 'src'), {DEBUG: 'repoman'})
    expect(fast.stdout).to.equal(`claude fail a b in ${join(repo, 'src')}\n`)
    expect(fast.exitCode).to.equal(3)
    expect(fast.stderr).to.equal('repoman:fast-path ran agent run\n')
    const oclif = await launch(['fail', 'a b'], join(repo, 'src'), {REPOMAN_NO_FAST_PATH: '1'})
    expect(oclif).to.deep.equal({...fast, stderr: ''})

    const outside = await launch(['--version'], world.home)
    expect(outside.exitCode).to.equal(2)
    expect(outside.stdout).to.equal('')
    expect(outside.stderr).to.equal(
      `Error: claude: ${world.home} is not in a registered repo under ${world.reposRoot}; cd into one, or run the host's own with \`claude --host\`\n`,
    )
    const host = await launch(['--host', '--version'], world.home)
    expect(host).to.deep.equal({exitCode: 0, stdout: `claude --version in ${world.home}\n`, stderr: ''})

    const list = JSON.parse((await world.cli(['agent', 'list', '--json'])).stdout)
    expect(list).to.deep.equal([
      {
        name: 'claude',
        path: `${launcherDir}/claude`,
        host_program: null,
        shells: [
          {shell: 'login', resolves_to: `${launcherDir}/claude`, first: true},
          {shell: 'interactive', resolves_to: `${launcherDir}/claude`, first: true},
        ],
      },
    ])
    expect((await world.cli(['agent', 'remove', 'claude'])).stdout).to.equal('Removed the claude launcher.\n')
    expect((await world.cli(['agent', 'list'])).stdout).to.equal(
      'No launchers yet; `repoman agent install claude` makes one.\n',
    )
  })
})
