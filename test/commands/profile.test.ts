import {mkdirSync, readFileSync, rmSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {expect} from 'chai'
import {makeWorld, requireIncus, type World} from '../helpers/world.js'

describe('repoman profile (real Incus)', () => {
  let world: World
  beforeEach(async function () {
    world = makeWorld(requireIncus(this))
    await world.setup()
    mkdirSync(join(world.home, '.claude'))
    writeFileSync(join(world.home, '.claude', 'settings.json'), '{"from": "host"}\n')
    writeFileSync(join(world.home, '.claude.json'), '{}\n')
  })
  afterEach(() => world?.dispose())

  const rows = async () =>
    Object.fromEntries(
      JSON.parse((await world.cli(['profile', 'list', '--json'])).stdout).map((r: {name: string}) => [r.name, r]),
    )

  it('installs, reports in step, and shows a user shadow as a diff until reinstalled', async () => {
    expect((await rows())['claude-share']).to.include({origin: 'vendor', state: 'not installed'})
    const install = await world.cli(['profile', 'install', 'claude-share', 'llm-share'])
    expect(install.exitCode, install.stderr).to.equal(0)
    // This host has no `claude`: the profile installs, and says to install the agent inside.
    // The steps are drawn on stderr; stdout has only the outcome.
    expect(install.stderr).to.include('✔ Created profile claude-share')
    expect(install.stdout).to.equal(
      'claude-share: created (vendor); claude: not on the host, install it inside\nllm-share: created (vendor)\n',
    )
    // No host agent dir is mounted: the profile records the home its containers get.
    const held = world.query<{config: Record<string, string>; devices: Record<string, Record<string, string>>}>(
      '/1.0/profiles/claude-share',
    )
    expect(held.devices).to.deep.equal({})
    expect(held.config['user.repoman.agent-home.claude']).to.equal('true')

    const inStep = await world.cli(['profile', 'diff', 'claude-share'])
    expect(inStep.exitCode).to.equal(0)
    expect(inStep.stdout).to.equal('claude-share: in step\n')

    writeFileSync(
      join(world.home, '.config/repoman/profiles.d/llm-share.yaml'),
      'description: my LLM box\nconfig:\n  environment.OLLAMA_HOST: http://${HOST_LAN_IP}:8080\ndevices: {}\n',
    )
    expect((await rows())['llm-share']).to.include({origin: 'user-shadows-vendor', state: 'differs'})
    const diff = await world.cli(['profile', 'diff', 'llm-share'])
    expect(diff.exitCode).to.equal(1)
    expect(diff.stdout).to.include('-  environment.OLLAMA_HOST: http://192.0.2.10:11434')
    expect(diff.stdout).to.include('+  environment.OLLAMA_HOST: http://192.0.2.10:8080')
    expect(diff.stdout).to.include('-description: Agents use the LLM server')

    expect((await world.cli(['profile', 'install', 'llm-share'])).stdout).to.equal(
      'llm-share: updated (user-shadows-vendor)\n',
    )
    expect((await world.cli(['profile', 'diff', 'llm-share'])).exitCode).to.equal(0)
    expect((await world.cli(['profile', 'install', 'llm-share'])).stdout).to.equal(
      'llm-share: unchanged (user-shadows-vendor)\n',
    )
  })

  it('gives a container a copy of ~/.claude at the same path, never written back, and refuses to remove a profile in use', async () => {
    await world.cli(['profile', 'install', 'claude-share'])
    world.makeRepo('kappa')
    const created = await world.cli(['new', 'kappa', '--profile', 'default', '--profile', 'claude-share'])
    expect(created.exitCode, created.stderr).to.equal(0)
    const settings = join(world.home, '.claude', 'settings.json')
    const read = await world.cli(['exec', 'kappa', '--', 'cat', settings])
    expect(read.stdout).to.equal('{"from": "host"}\n')
    const write = await world.cli(['exec', 'kappa', '--', 'sh', '-c', `echo inside > ${settings}`])
    expect(write.exitCode, write.stderr).to.equal(0)
    expect(readFileSync(settings, 'utf8')).to.equal('{"from": "host"}\n')

    const refused = await world.cli(['profile', 'remove', 'claude-share'])
    expect(refused.exitCode).to.equal(1)
    expect(refused.stderr).to.match(/^Error: profile "claude-share" is used by kappa; remove those containers/)

    await world.cli(['remove', 'kappa', '--yes'])
    expect((await world.cli(['profile', 'remove', 'claude-share'])).exitCode).to.equal(0)
    expect((await rows())['claude-share'].state).to.equal('not installed')
  })

  it('refuses a profile that exposes ~/.ssh unless --allow-sensitive, and names a missing source', async () => {
    mkdirSync(join(world.home, '.ssh'))
    writeFileSync(
      join(world.home, '.config/repoman/profiles.d/ssh-share.yaml'),
      'description: keys\ndevices:\n  ssh:\n    type: disk\n    source: ${HOME}/.ssh\n    path: /root/.ssh\n',
    )
    const refused = await world.cli(['profile', 'install', 'ssh-share'])
    expect(refused.exitCode).to.equal(1)
    expect(refused.stderr).to.equal(
      `Error: profile "ssh-share" would expose ${join(world.home, '.ssh')} (SSH keys) through ssh; refused. Pass --allow-sensitive if you really mean it\n`,
    )
    expect((await rows())['ssh-share'].state).to.equal('not installed')
    expect((await world.cli(['profile', 'install', 'ssh-share', '--allow-sensitive'])).exitCode).to.equal(0)

    // An agent's host dir read-write: the host's agent would run what the container writes there.
    writeFileSync(
      join(world.home, '.config/repoman/profiles.d/old-claude.yaml'),
      'description: the old share\ndevices:\n  claude-dir:\n    type: disk\n    source: ${HOME}/.claude\n    path: ${HOME}/.claude\n',
    )
    const agentDir = await world.cli(['profile', 'install', 'old-claude'])
    expect(agentDir.exitCode).to.equal(1)
    expect(agentDir.stderr).to.equal(
      `Error: profile "old-claude" would expose ${join(world.home, '.claude')} (read-write: claude's config, which your host's claude runs commands from) through claude-dir; refused. Pass --allow-sensitive if you really mean it\n`,
    )
    rmSync(join(world.home, '.config/repoman/profiles.d/old-claude.yaml'))

    writeFileSync(
      join(world.home, '.config/repoman/profiles.d/models.yaml'),
      'description: models\ndevices:\n  m:\n    type: disk\n    source: ${HOME}/models\n    path: /models\n',
    )
    const missing = await world.cli(['profile', 'install', 'models'])
    expect(missing.stderr).to.match(
      new RegExp(`mounts ${join(world.home, 'models')}, which does not exist on this host`),
    )
    rmSync(join(world.home, '.config/repoman/profiles.d/ssh-share.yaml'))
    const all = await world.cli(['profile', 'install', '--all', '--json'])
    const outcomes = JSON.parse(all.stdout)
    expect(outcomes.find((o: {name: string}) => o.name === 'models').action).to.equal('skipped')
    // An agent profile no longer needs the agent's dir on the host: its home is seeded from what is there.
    expect(outcomes.find((o: {name: string}) => o.name === 'codex-share').action).to.equal('created')
    expect(outcomes.find((o: {name: string}) => o.name === 'claude-share').action).to.equal('created')
  })
})
