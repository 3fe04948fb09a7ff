/**
 * The done case on the real Debian image, as host user rmtest (uid 1001) with Claude Code
 * installed by npm into that user's ~/.local: `exec -- claude --version` and the `claude`
 * launcher both print Claude Code's version from inside the container.
 */
import {spawnSync} from 'node:child_process'
import {chownSync, mkdirSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {expect} from 'chai'
import {installClaudeCodeFor} from '../helpers/claude-npm.js'
import {REAL_IMAGE} from '../helpers/incus-daemon.js'
import {makeWorld, requireRealImage, type World} from '../helpers/world.js'

describe('Claude Code shared from the host (real image, host uid 1001)', () => {
  let world: World
  let version: string
  const user = () => world.user as NonNullable<World['user']>
  before(async function () {
    world = makeWorld(requireRealImage(this), {user: true})
    await world.setup()
    // A missing registry (and no cached install) fails here, under CI as anywhere.
    version = installClaudeCodeFor(world.home, user().uid, user().gid)
    mkdirSync(join(world.home, '.claude'))
    writeFileSync(join(world.home, '.claude.json'), '{}\n')
    for (const path of ['.claude', '.claude.json']) chownSync(join(world.home, path), user().uid, user().gid)
  })
  after(() => world?.dispose())

  /** Runs `command` as the test user would type it, with the launcher directory first on PATH. */
  function asUser(command: string[], cwd: string) {
    const launchers = join(world.home, '.local/share/repoman/bin')
    return spawnSync('setpriv', [`--reuid=${user().uid}`, `--regid=${user().gid}`, '--init-groups', ...command], {
      cwd,
      env: {...world.env, PATH: `${launchers}:${world.env.PATH}`},
      encoding: 'utf8',
    })
  }

  it('exec -- claude and the claude launcher run the host install inside; outside a repo the launcher refuses', async () => {
    const install = await world.cli(['profile', 'install', 'claude-share'])
    expect(install.exitCode, install.stderr).to.equal(0)
    expect(install.stdout).to.equal('claude-share: created (vendor); claude: shared\n')
    const repo = world.makeRepo('agent')
    const created = await world.cli([
      'new',
      'agent',
      '--image',
      REAL_IMAGE,
      '--profile',
      'default',
      '--profile',
      'claude-share',
    ])
    expect(created.exitCode, created.stderr).to.equal(0)

    const exec = await world.cli(['exec', '--', 'claude', '--version'], {cwd: repo})
    expect(exec.stderr).to.equal('')
    expect(exec.stdout).to.equal(`${version} (Claude Code)\n`)
    // A login shell (Debian's /etc/profile resets PATH) finds it too.
    const shell = await world.cli(['exec', '--', 'bash', '-lc', 'claude --version'], {cwd: repo})
    expect(shell.stdout).to.equal(`${version} (Claude Code)\n`)

    expect((await world.cli(['agent', 'install', 'claude'])).exitCode).to.equal(0)
    const launched = asUser(['claude', '--version'], repo)
    expect(launched.stdout, launched.stderr).to.equal(`${version} (Claude Code)\n`)
    expect(launched.status).to.equal(0)
    const outside = asUser(['claude', '--version'], world.home)
    expect(outside.status).to.equal(2)
    expect(outside.stderr.trimEnd().split('\n')).to.have.length(1)
    expect(outside.stderr).to.match(/^Error: claude: .* is not in a registered repo under /)
  })
})
