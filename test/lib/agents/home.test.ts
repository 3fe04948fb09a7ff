import {execFileSync} from 'node:child_process'
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs'
import {join} from 'node:path'
import {expect} from 'chai'
import {
  agentHomeKind,
  agentHomeParts,
  agentHomesOf,
  filterClaudeUserConfig,
  MAX_SEED_FILE,
  mergeJson,
  planSeed,
  seedAgentHome,
} from '../../../src/lib/agents/home.js'
import {agentHomeProblems} from '../../../src/lib/agents/home-status.js'
import {agentHomesStep, agentHomesWanted, decideRefresh} from '../../../src/lib/agents/home-steps.js'
import type {IncusInstance, InstanceSpec} from '../../../src/lib/incus/types.js'
import {runSteps} from '../../../src/lib/steps.js'
import {deleteTree} from '../../../src/lib/trees.js'

const claude = agentHomeKind('claude') as NonNullable<ReturnType<typeof agentHomeKind>>

describe('agent homes', () => {
  it('copies only allowlisted names: never credentials, transcripts, symlinks, sockets or big files', () => {
    const plan = planSeed(claude, [
      {rel: 'settings.json', kind: 'file', size: 10},
      {rel: 'skills', kind: 'dir', size: 0},
      {rel: 'skills/x/SKILL.md', kind: 'file', size: 10},
      {rel: 'skills/link', kind: 'symlink', size: 10},
      {rel: 'plugins/sock', kind: 'other', size: 0},
      {rel: 'plugins/cache.bin', kind: 'file', size: MAX_SEED_FILE + 1},
      {rel: '.credentials.json', kind: 'file', size: 10},
      {rel: 'projects/-home-dev-x/1.jsonl', kind: 'file', size: 10},
    ])
    expect(plan.copy.map((e) => e.rel)).to.deep.equal(['settings.json', 'skills', 'skills/x/SKILL.md'])
    expect(plan.skipped).to.deep.equal([
      {rel: 'skills/link', why: 'a symlink (never followed)'},
      {rel: 'plugins/sock', why: 'not a regular file or directory'},
      {rel: 'plugins/cache.bin', why: 'larger than 8 MiB'},
    ])
  })

  it("drops every key of Claude Code's user config that holds or names a login", () => {
    const text = JSON.stringify({
      theme: 'dark',
      primaryApiKey: 'sk-1',
      oauthAccount: {emailAddress: 'a@b'},
      mcpServers: {x: {command: 'run', env: {API_KEY: 'k', MODE: 'm'}}},
    })
    expect(JSON.parse(filterClaudeUserConfig(text) as string)).to.deep.equal({
      theme: 'dark',
      mcpServers: {x: {command: 'run', env: {MODE: 'm'}}},
    })
    expect(filterClaudeUserConfig('{nope')).to.equal(undefined)
  })

  it('seeds from a real dir without following symlinks out of it, with no setuid bits', async () => {
    const root = mkdtempSync('/tmp/rm-home-')
    try {
      const home = join(root, 'home')
      const host = join(home, '.claude')
      mkdirSync(join(host, 'skills/s'), {recursive: true})
      mkdirSync(join(host, 'projects'))
      writeFileSync(join(root, 'secret'), 'SECRET')
      writeFileSync(join(host, 'settings.json'), '{"model":"x"}')
      writeFileSync(join(host, '.credentials.json'), '{"t":1}')
      writeFileSync(join(host, 'projects/t.jsonl'), '{}')
      writeFileSync(join(host, 'skills/s/SKILL.md'), 'skill', {mode: 0o4755})
      symlinkSync(join(root, 'secret'), join(host, 'skills/s/out'))
      symlinkSync(join(root, 'secret'), join(host, 'CLAUDE.md'))
      execFileSync('mkfifo', [join(host, 'skills/fifo')])
      writeFileSync(join(home, '.claude.json'), '{"theme":"dark","primaryApiKey":"sk"}')
      const target = join(root, 'state/homes/p/claude')
      const seeded = await seedAgentHome(claude, home, target)
      expect(readdirSync(target).sort()).to.deep.equal(['.claude.json', 'settings.json', 'skills'])
      expect(readdirSync(join(target, 'skills/s'))).to.deep.equal(['SKILL.md'])
      expect(statSync(join(target, 'skills/s/SKILL.md')).mode & 0o7777).to.equal(0o755)
      expect(JSON.parse(readFileSync(join(target, '.claude.json'), 'utf8'))).to.deep.equal({theme: 'dark'})
      expect(seeded.files).to.equal(3)
      expect(seeded.skipped.map((s) => s.rel).sort()).to.deep.equal(['CLAUDE.md', 'skills/fifo', 'skills/s/out'])
      expect(existsSync(join(target, 'projects'))).to.equal(false)
    } finally {
      rmSync(root, {recursive: true, force: true})
    }
  })

  it("merges a login's gateway route into the seeded copy of the user's file, keeping the user's own keys", async () => {
    const root = mkdtempSync('/tmp/rm-seed-')
    try {
      const home = join(root, 'home')
      mkdirSync(join(home, '.pi/agent'), {recursive: true})
      const mine = {providers: {anthropic: {headers: {'x-team': 'a'}}, ollama: {baseUrl: 'http://lan:11434/v1'}}}
      writeFileSync(join(home, '.pi/agent/models.json'), JSON.stringify(mine))
      const pi = agentHomeKind('pi') as typeof claude
      const target = join(root, 'state/homes/p/pi')
      const route = {providers: {anthropic: {baseUrl: 'http://127.0.0.1:3128/agents/pi', apiKey: 'placeholder'}}}
      const seeded = await seedAgentHome(pi, home, target, {name: 'models.json', merge: route})
      expect(JSON.parse(readFileSync(join(target, 'models.json'), 'utf8'))).to.deep.equal({
        providers: {
          anthropic: {headers: {'x-team': 'a'}, baseUrl: 'http://127.0.0.1:3128/agents/pi', apiKey: 'placeholder'},
          ollama: {baseUrl: 'http://lan:11434/v1'},
        },
      })
      expect(statSync(join(target, 'models.json')).mode & 0o777).to.equal(0o600)
      expect(JSON.parse(readFileSync(join(home, '.pi/agent/models.json'), 'utf8'))).to.deep.equal(mine)
      expect(seeded.files).to.equal(1)
      expect(mergeJson('[1]', route)).to.deep.equal({text: `${JSON.stringify(route, null, 2)}\n`, replaced: true})
    } finally {
      rmSync(root, {recursive: true, force: true})
    }
  })

  it('mounts the home at the agent usual path and points the agent at it', () => {
    expect(agentHomeParts(claude, '/s/homes/p/claude', '/home/dev', false)).to.deep.equal({
      devices: {'agent-home-claude': {type: 'disk', source: '/s/homes/p/claude', path: '/home/dev/.claude'}},
      config: {'environment.CLAUDE_CONFIG_DIR': '/home/dev/.claude'},
    })
    const gemini = agentHomeKind('gemini') as typeof claude
    expect(agentHomeParts(gemini, '/s/g', '/home/dev', true).config).to.deep.equal({})
    expect(agentHomeParts(gemini, '/s/g', '/home/dev', true).devices['agent-home-gemini']?.shift).to.equal('true')
  })

  it('reads the homes a container wants from its profiles, ignoring unknown agents', () => {
    const profiles = [
      {name: 'claude-share', config: {'user.repoman.agent-home.claude': 'true'}},
      {name: 'odd', config: {'user.repoman.agent-home.vim': 'true', 'user.repoman.agent-home.codex': 'true'}},
    ] as never
    expect(agentHomesWanted(profiles, ['default', 'claude-share'])).to.deep.equal(['claude'])
    expect(agentHomesWanted(profiles, ['odd', 'claude-share'])).to.deep.equal(['claude', 'codex'])
    expect(agentHomesOf({})).to.deep.equal([])
  })

  const instance = (devices: Record<string, Record<string, string>>, config: Record<string, string> = {}) =>
    ({
      name: 'p',
      profiles: ['default', 'claude-share'],
      config: {},
      devices: {},
      expanded_config: config,
      expanded_devices: devices,
    }) as unknown as IncusInstance

  it("status: the old read-write share of the host's agent dir is a problem, and so is a wanted home not mounted", () => {
    const old = instance({'claude-dir': {type: 'disk', source: '/home/dev/.claude', path: '/home/dev/.claude'}})
    expect(agentHomeProblems('p', old, '/home/dev')).to.deep.equal([
      "mounts /home/dev/.claude read-write (claude-dir): the agent inside can make your host's agent run commands; `repoman status p --fix` installs its profiles again and gives it a home of its own (or by hand: `repoman profile install claude-share`, then `repoman agent refresh p`)",
    ])
    const unmounted = instance({}, {'user.repoman.agent-home.claude': 'true'})
    expect(agentHomeProblems('p', unmounted, '/home/dev')).to.deep.equal([
      'has no claude home of its own yet; `repoman agent refresh p` seeds and mounts it',
    ])
    const converted = instance(
      {'agent-home-claude': {type: 'disk', source: '/s/h', path: '/home/dev/.claude'}},
      {'user.repoman.agent-home.claude': 'true'},
    )
    expect(agentHomeProblems('p', converted, '/home/dev')).to.deep.equal([])
  })

  it('refresh refuses while the old share is mounted, and adds the device a converted project lacks', () => {
    const options = {
      hostHome: '/home/dev',
      host: {uid: 1000, gid: 1000},
      homeOf: (a: string) => `/s/homes/p/${a}`,
      entriesOf: () => 4,
    }
    const old = instance({'claude-dir': {type: 'disk', source: '/home/dev/.claude', path: '/home/dev/.claude'}})
    expect(() => decideRefresh('p', old, options)).to.throw(
      /install its profiles again first \(`repoman profile install claude-share`\)/,
    )
    const plan = decideRefresh('p', instance({}, {'user.repoman.agent-home.claude': 'true', 'raw.idmap': 'x'}), options)
    expect(plan.agents.map((a) => [a.kind.agent, a.home, a.entries, a.addDevice])).to.deep.equal([
      ['claude', '/s/homes/p/claude', 4, true],
    ])
    // Running with the home mounted, it is written from inside, as you there.
    const mounted = {
      ...instance(
        {'agent-home-claude': {type: 'disk', source: '/s/homes/p/claude', path: '/home/dev/.claude'}},
        {
          'user.repoman.agent-home.claude': 'true',
        },
      ),
      config: {'user.repoman.uid': '1001', 'user.repoman.gid': '1002'},
    }
    const live = decideRefresh('p', {...mounted, status: 'Running'}, options)
    expect(live.agents.map((a) => [a.addDevice, a.inside])).to.deep.equal([[false, '/home/dev/.claude']])
    expect(live.owner).to.deep.equal({uid: 1001, gid: 1002})
    const stopped = decideRefresh('p', {...mounted, status: 'Stopped', config: {}}, options)
    expect(stopped.agents[0]?.inside).to.equal(undefined)
    expect(stopped.owner).to.deep.equal({uid: 1000, gid: 1000})
    expect(() => decideRefresh('p', instance({}, {}), options)).to.throw(/has no agent home/)
    expect(() =>
      decideRefresh('p', instance({}, {'user.repoman.agent-home.claude': 'true'}), {...options, agent: 'codex'}),
    ).to.throw(/has no codex home; its profiles want claude/)
  })

  it("new's step seeds the home and puts its device and variable into the spec; a later failure takes it back", async () => {
    const root = mkdtempSync('/tmp/rm-home-')
    try {
      const home = join(root, 'home')
      mkdirSync(join(home, '.claude'), {recursive: true})
      writeFileSync(join(home, '.claude/settings.json'), '{}')
      const stateDir = join(root, 'state')
      const spec: InstanceSpec = {name: 'p', image: 'i', profiles: [], config: {}, devices: {}}
      const plan = {name: 'p', agentHomes: ['claude'], host: {home, uid: 1001, gid: 1001}, idmap: {mode: 'raw.idmap'}}
      const failing = {
        title: 'launch',
        run: async () => {
          expect(readdirSync(join(stateDir, 'homes/p/claude'))).to.deep.equal(['settings.json'])
          throw new Error('launch failed')
        },
      }
      const error = await runSteps([
        agentHomesStep(plan as never, {stateDir, configDir: join(stateDir, 'config')}, spec),
        failing,
      ]).catch((e) => e)
      expect(error.message).to.equal('launch failed')
      expect(spec.devices['agent-home-claude']).to.deep.equal({
        type: 'disk',
        source: join(stateDir, 'homes/p/claude'),
        path: join(home, '.claude'),
      })
      expect(spec.config['environment.CLAUDE_CONFIG_DIR']).to.equal(join(home, '.claude'))
      expect(existsSync(join(stateDir, 'homes/p'))).to.equal(false)

      await runSteps([agentHomesStep(plan as never, {stateDir, configDir: join(stateDir, 'config')}, spec)])
      expect(await deleteTree(join(stateDir, 'homes/p'))).to.deep.equal([])
      expect(existsSync(join(stateDir, 'homes/p'))).to.equal(false)
    } finally {
      rmSync(root, {recursive: true, force: true})
    }
  })
})
