/**
 * A project made with the old read-write share of ~/.claude: `status` names it (exit 1), and
 * `profile install` plus `agent refresh` convert it to a home of its own; the login reaches
 * its sessions. On the busybox test image.
 */
import {mkdirSync, readFileSync, rmSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {expect} from 'chai'
import {makeWorld, requireIncus, type World} from '../helpers/world.js'

describe('agent homes for existing projects (real Incus)', () => {
  let world: World
  before(async function () {
    world = makeWorld(requireIncus(this))
    await world.setup()
    mkdirSync(join(world.home, '.claude'))
    writeFileSync(join(world.home, '.claude', 'settings.json'), '{"from": "host"}\n')
    writeFileSync(join(world.home, '.claude.json'), '{}\n')
  })
  after(() => world?.dispose())

  it('status names the old share, and profile install plus agent refresh convert it', async () => {
    // The claude-share of before: ~/.claude and ~/.claude.json mounted read-write.
    const old = join(world.home, '.config/repoman/profiles.d/claude-share.yaml')
    writeFileSync(
      old,
      'description: old\ndevices:\n  claude-dir: {type: disk, source: "${HOME}/.claude", path: "${HOME}/.claude", shift: "true"}\n',
    )
    expect((await world.cli(['profile', 'install', 'claude-share', '--allow-sensitive'])).exitCode).to.equal(0)
    world.makeRepo('legacy')
    const created = await world.cli(['new', 'legacy', '--profile', 'default', '--profile', 'claude-share'])
    expect(created.exitCode, created.stderr).to.equal(0)

    const before = await world.cli(['status', 'legacy'])
    expect(before.exitCode).to.equal(1)
    expect(before.stdout).to.include(
      `mounts ${join(world.home, '.claude')} read-write (claude-dir): the agent inside can make your host's agent run commands; run \`repoman profile install claude-share\`, then \`repoman agent refresh legacy\``,
    )
    const early = await world.cli(['agent', 'refresh', 'legacy'])
    expect(early.exitCode).to.equal(2)
    expect(early.stderr).to.match(
      /still mounts .*\.claude read-write \(device claude-dir\); install its profiles again first/,
    )

    rmSync(old)
    const reinstall = await world.cli(['profile', 'install', 'claude-share'])
    expect(reinstall.stdout).to.match(/^claude-share: updated \(vendor\)/)
    const half = await world.cli(['status', 'legacy'])
    expect(half.stdout).to.include(
      'has no claude home of its own yet; `repoman agent refresh legacy` seeds and mounts it',
    )

    const refresh = await world.cli(['agent', 'refresh', 'legacy'])
    expect(refresh.exitCode, refresh.stderr).to.equal(0)
    const home = join(world.home, '.local/state/repoman/homes/legacy/claude')
    expect(refresh.stdout).to.equal(
      `claude: replaced 0 entries of ${home} with 2 file(s) from ${join(world.home, '.claude')}; mounted it in the container\n`,
    )
    const after = await world.cli(['status', 'legacy', '--json'])
    const problems: string[] = JSON.parse(after.stdout).projects[0].problems
    expect(problems.filter((p) => /claude|home/.test(p))).to.deep.equal([])

    // Inside: the copy, at the usual path; a write stays in it; the login's placeholder is in the environment.
    const settings = join(world.home, '.claude/settings.json')
    const write = await world.cli(['exec', 'legacy', '--', 'sh', '-c', `cat ${settings}; echo inside > ${settings}`])
    expect(write.stdout, write.stderr).to.equal('{"from": "host"}\n')
    expect(readFileSync(settings, 'utf8')).to.equal('{"from": "host"}\n')
    expect(readFileSync(join(home, 'settings.json'), 'utf8')).to.equal('inside\n')
    expect((await world.cli(['agent', 'login', 'claude'], {input: 'tok-1\n'})).exitCode).to.equal(0)
    const env = await world.cli([
      'exec',
      'legacy',
      '--',
      'sh',
      '-c',
      'echo "$CLAUDE_CODE_OAUTH_TOKEN $CLAUDE_CONFIG_DIR"',
    ])
    expect(env.stdout, env.stderr).to.equal(`repoman-gateway-placeholder ${join(world.home, '.claude')}\n`)
    const logout = await world.cli(['agent', 'logout', 'claude'])
    expect(logout.stdout).to.equal('Forgot your claude login.\n')
    const gone = await world.cli(['exec', 'legacy', '--', 'sh', '-c', 'echo "[$CLAUDE_CODE_OAUTH_TOKEN]"'])
    expect(gone.stdout).to.equal('[]\n')
  })
})
