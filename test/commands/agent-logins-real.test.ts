/**
 * Gemini CLI, opencode and pi from npm, each logged in by `repoman agent login` and run inside
 * the real Debian image as host user rmtest (uid 1001), in allowlist mode: the one way out is
 * the gateway. Each reaches a stand-in API on the host's loopback with its real key, swapped in
 * on the way, prints the stand-in's answer, and the key is nowhere inside.
 */
import {chownSync, mkdirSync, writeFileSync} from 'node:fs'
import type {Server} from 'node:http'
import {join} from 'node:path'
import {expect} from 'chai'
import {installNpmAgentFor} from '../helpers/claude-npm.js'
import {REAL_IMAGE} from '../helpers/incus-daemon.js'
import {type Received, STAND_IN_TEXT, startStandInApi} from '../helpers/stand-in-api.js'
import {makeWorld, requireRealImage, type World} from '../helpers/world.js'

/** Each agent's login, the header its API takes it in, what carries the placeholder, and how it is asked one question. */
const AGENTS = [
  {
    agent: 'gemini',
    key: 'AIza-canary-gemini-5d1e',
    header: 'x-goog-api-key',
    carrier: 'GEMINI_API_KEY',
    upstream: '',
    prompt: ['gemini', '-p', 'hi'],
  },
  {
    agent: 'opencode',
    key: 'sk-ant-api03-canary-opencode-9b2c',
    header: 'x-api-key',
    carrier: 'OPENCODE_CONFIG_CONTENT',
    upstream: '/v1',
    prompt: ['opencode', 'run', '-m', 'anthropic/claude-sonnet-4-5', 'hi'],
  },
  {
    agent: 'pi',
    key: 'sk-ant-api03-canary-pi-4e8a',
    header: 'x-api-key',
    carrier: 'models.json',
    upstream: '',
    prompt: ['pi', '-p', '--provider', 'anthropic', '--model', 'claude-sonnet-4-5', 'hi'],
  },
] as const

describe('Gemini CLI, opencode and pi logged in through the gateway (real image, host uid 1001)', function () {
  // Three agents' first starts, and a new container, on a small machine: some 40 s here.
  this.timeout(5 * 60_000)
  let world: World
  let api: Server
  let port: number
  let repo: string
  const received: Received[] = []
  const user = () => world.user as NonNullable<World['user']>

  before(async function () {
    world = makeWorld(requireRealImage(this), {user: true})
    await world.setup()
    for (const {agent} of AGENTS) installNpmAgentFor(agent, world.home, user().uid, user().gid)
    // The agents' first-run questions, answered on the host (the homes are seeded from these).
    mkdirSync(join(world.home, '.config/opencode'), {recursive: true})
    writeFileSync(join(world.home, '.config/opencode/opencode.json'), '{"autoupdate": false, "share": "disabled"}\n')
    mkdirSync(join(world.home, '.gemini'))
    writeFileSync(
      join(world.home, '.gemini/settings.json'),
      '{"security": {"folderTrust": {"enabled": false}}, "privacy": {"usageStatisticsEnabled": false}}\n',
    )
    for (const path of [
      '.config',
      '.config/opencode',
      '.config/opencode/opencode.json',
      '.gemini',
      '.gemini/settings.json',
    ])
      chownSync(join(world.home, path), user().uid, user().gid)
    const standIn = await startStandInApi(received)
    api = standIn.server
    port = standIn.port
    world.writeOverride('lg', '[network]\nmode = "allowlist"\nallow = []\n')
    repo = world.makeRepo('lg')
  })
  after(() => {
    api?.close()
    world?.dispose()
  })

  it('each agent answers inside with the login from `repoman agent login`, which is nowhere inside', async () => {
    for (const {agent, key, upstream, carrier} of AGENTS) {
      const login = await world.cli(['agent', 'login', agent, '--upstream', `http://127.0.0.1:${port}${upstream}`], {
        input: `${key}\n`,
      })
      expect(login.exitCode, login.stderr).to.equal(0)
      expect(login.stdout).to.include(`sessions get a placeholder in ${carrier},`)
    }
    const install = await world.cli(['profile', 'install', 'gemini-share', 'opencode-share', 'pi-share'])
    expect(install.exitCode, install.stderr).to.equal(0)
    const profiles = AGENTS.flatMap(({agent}) => ['--profile', `${agent}-share`])
    const created = await world.cli(['new', 'lg', '--image', REAL_IMAGE, '--profile', 'default', ...profiles])
    expect(created.exitCode, created.stderr).to.equal(0)

    for (const {agent, key, header, prompt} of AGENTS) {
      received.length = 0
      const run = await world.cli(['exec', '--', ...prompt], {cwd: repo, timeout: 240_000})
      const keyed = received.filter((r) => r.headers[header] === key)
      expect(keyed.length, `${agent}: ${run.stdout}\n${run.stderr}`).to.be.greaterThan(0)
      expect(run.stdout, `${agent}: ${run.stderr}`).to.include(STAND_IN_TEXT)
      expect(received.map((r) => JSON.stringify(r.headers)).join('\n')).to.not.include('repoman-gateway-placeholder')
    }

    // Nowhere inside: no session's environment, no process's, no file (root looks).
    const keys = AGENTS.map(({key}) => key)
    const env = await world.cli(['exec', '--', 'env'], {cwd: repo})
    for (const key of keys) expect(env.stdout).to.not.include(key)
    const scan = world.incus([
      'exec',
      'lg',
      '--',
      'bash',
      '-c',
      `grep -rlsF ${keys.map((k) => `-e ${k}`).join(' ')} --exclude-dir=proc --exclude-dir=sys --exclude-dir=dev / | head -3; echo done`,
    ])
    expect(scan).to.equal('done\n')
  })
})
