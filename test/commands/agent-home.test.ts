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

  /** A project made with the claude-share of before (~/.claude mounted read-write); returns that template's file. */
  async function projectWithOldShare(name: string): Promise<string> {
    const old = join(world.home, '.config/repoman/profiles.d/claude-share.yaml')
    writeFileSync(
      old,
      'description: old\ndevices:\n  claude-dir: {type: disk, source: "${HOME}/.claude", path: "${HOME}/.claude", shift: "true"}\n',
    )
    expect((await world.cli(['profile', 'install', 'claude-share', '--allow-sensitive'])).exitCode).to.equal(0)
    world.makeRepo(name)
    const created = await world.cli(['new', name, '--profile', 'default', '--profile', 'claude-share'])
    expect(created.exitCode, created.stderr).to.equal(0)
    return old
  }

  it('status names the old share, and profile install plus agent refresh convert it', async () => {
    const old = await projectWithOldShare('legacy')

    const before = await world.cli(['status', 'legacy'])
    expect(before.exitCode).to.equal(1)
    expect(before.stdout).to.include(
      `mounts ${join(world.home, '.claude')} read-write (claude-dir): the agent inside can make your host's agent run commands; \`repoman status legacy --fix\` installs its profiles again and gives it a home of its own (or by hand: \`repoman profile install claude-share\`, then \`repoman agent refresh legacy\`)`,
    )
    const early = await world.cli(['agent', 'refresh', 'legacy'])
    expect(early.exitCode).to.equal(2)
    expect(early.stderr).to.match(
      /still mounts .*\.claude read-write \(device claude-dir\); install its profiles again first/,
    )

    rmSync(old)
    const reinstall = await world.cli(['profile', 'install', 'claude-share'])
    expect(reinstall.stdout, reinstall.stderr).to.match(/^claude-share: updated \(vendor\)/)
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

  it('status --fix converts the old share in one command, and says what it changed', async () => {
    const old = await projectWithOldShare('legacy2')
    // Your own template still shares the dir: the fix refuses, in one line, and changes nothing.
    const refused = await world.cli(['status', 'legacy2', '--fix'])
    expect(refused.exitCode).to.equal(1)
    expect(refused.stderr.trim().split('\n')).to.have.length(1)
    expect(refused.stderr).to.match(/^Error: .*claude-share.*\.claude/)

    rmSync(old)
    const fixed = await world.cli(['status', 'legacy2', '--fix'])
    const home = join(world.home, '.local/state/repoman/homes/legacy2/claude')
    expect(fixed.stdout, fixed.stderr).to.match(/^claude-share: updated \(vendor\)/)
    expect(fixed.stdout, fixed.stderr).to.include(
      `\nclaude: replaced 0 entries of ${home} with 2 file(s) from ${join(world.home, '.claude')}; mounted it in the container\n`,
    )
    const after = JSON.parse((await world.cli(['status', 'legacy2', '--json'])).stdout)
    expect(after.projects[0].problems.filter((p: string) => /claude|home/.test(p))).to.deep.equal([])
    const inside = await world.cli([
      'exec',
      'legacy2',
      '--',
      'sh',
      '-c',
      'echo "$CLAUDE_CONFIG_DIR"; grep -c . "$CLAUDE_CONFIG_DIR/settings.json"',
    ])
    expect(inside.stdout, inside.stderr).to.equal(`${join(world.home, '.claude')}\n1\n`)
  })
})
