import {mkdirSync, mkdtempSync, rmSync, writeFileSync} from 'node:fs'
import {join, resolve} from 'node:path'
import {expect} from 'chai'
import {type AgentPrograms, type HostProgram, programShares} from '../../../src/lib/agents/programs.js'
import {ConfigError} from '../../../src/lib/errors.js'
import {listTemplates, renderTemplate, substitute, VENDOR_PROFILES_DIR} from '../../../src/lib/profiles/library.js'

const host = {lan_ip: '192.168.1.42', user: 'dev', uid: 1000, gid: 1000, home: '/home/dev'}
const linksDir = '/home/dev/.local/share/repoman/programs'
const profileScript = '/home/dev/.local/share/repoman/programs-profile.sh'
/** A host with these agent programs installed. */
const programs = (found: Record<string, HostProgram> = {}): AgentPrograms => ({
  linksDir,
  profileScript,
  find: (command) => found[command],
})
const none = programs()
/** A registry whose bind mounts are idmapped (`idmap = "shift"`). */
const shifted = {host, defaults: {idmap: 'shift'}} as never

describe('profile library', () => {
  let dir: string
  beforeEach(() => {
    dir = mkdtempSync('/tmp/rm-prof-')
  })
  afterEach(() => rmSync(dir, {recursive: true, force: true}))

  it('ships the vendor profiles in the package', () => {
    const names = listTemplates(join(dir, 'none')).map((t) => t.name)
    expect(names).to.include.members(['claude-share', 'llm-share', 'codex-share', 'gemini-share'])
    expect(VENDOR_PROFILES_DIR).to.equal(resolve(import.meta.dirname, '../../../profiles'))
  })

  it('lets a user profile shadow a vendor one or add a new name', () => {
    writeFileSync(join(dir, 'claude-share.yaml'), 'description: mine\n')
    writeFileSync(join(dir, 'node-dev.yaml'), 'description: node\n')
    writeFileSync(join(dir, 'notes.txt'), 'ignored')
    const byName = Object.fromEntries(listTemplates(dir).map((t) => [t.name, t]))
    expect(byName['claude-share']).to.deep.include({
      origin: 'user-shadows-vendor',
      file: join(dir, 'claude-share.yaml'),
    })
    expect(byName['node-dev']?.origin).to.equal('user')
    expect(byName['llm-share']?.origin).to.equal('vendor')
  })

  it('renders host values; claude-share declares a home of its own and mounts no host agent dir', async () => {
    const templates = Object.fromEntries(listTemplates(dir).map((t) => [t.name, t]))
    const claude = await renderTemplate(
      templates['claude-share'] as never,
      {host, defaults: {idmap: 'shift'}} as never,
      none,
    )
    expect(claude.devices).to.deep.equal({})
    expect(claude.config['user.repoman.agent-home.claude']).to.equal('true')
    const llm = await renderTemplate(templates['llm-share'] as never, {host, defaults: {}} as never, none)
    expect(llm.config['environment.OLLAMA_HOST']).to.equal('http://192.168.1.42:11434')
  })

  it('does not shift bind mounts under raw.idmap (the default), nor for a uid that only fits raw.idmap', async () => {
    writeFileSync(
      join(dir, 'models.yaml'),
      'description: x\ndevices:\n  m: {type: disk, source: /srv/models, path: /srv/models, shift: "${SHIFT}"}\n',
    )
    const models = listTemplates(dir).find((t) => t.name === 'models')
    const byDefault = await renderTemplate(models as never, {host, defaults: {}} as never, none)
    expect(byDefault.devices.m?.shift).to.equal('false')
    expect((await renderTemplate(models as never, shifted, none)).devices.m?.shift).to.equal('true')
    const large = {host: {...host, uid: 2_000_000, gid: 2_000_000}, defaults: {idmap: 'shift'}}
    const spec = await renderTemplate(models as never, large as never, none)
    expect(spec.devices.m?.shift).to.equal('false')
  })

  it('refuses an agent_home repoman does not know', async () => {
    writeFileSync(join(dir, 'odd-home.yaml'), 'description: x\nagent_home: vim\n')
    const odd = listTemplates(dir).find((t) => t.name === 'odd-home')
    const error = await renderTemplate(odd as never, shifted, none).catch((e) => e)
    expect(error.message).to.match(/odd-home\.yaml: agent_home must be one of claude, codex, gemini, opencode, pi/)
  })

  it("shares the agent's program read-only at the same path, with repoman's links first on PATH", async () => {
    const claude = listTemplates(dir).find((t) => t.name === 'claude-share')
    const pkg = '/home/dev/.local/lib/node_modules/@anthropic-ai/claude-code'
    const spec = await renderTemplate(
      claude as never,
      shifted,
      programs({claude: {command: 'claude', executable: `${pkg}/bin/claude.exe`, installDir: pkg, needsNode: false}}),
    )
    const readOnly = {type: 'disk', readonly: 'true', shift: 'true'}
    expect(spec.devices['claude-program']).to.deep.equal({...readOnly, source: pkg, path: pkg})
    expect(spec.devices['repoman-programs']).to.deep.equal({...readOnly, source: linksDir, path: linksDir})
    expect(spec.devices['repoman-programs-path']).to.deep.equal({
      ...readOnly,
      source: profileScript,
      path: '/etc/profile.d/repoman-programs.sh',
    })
    expect(spec.config).to.deep.equal({
      'environment.PATH': `${linksDir}:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin`,
      'user.repoman.program.claude': 'shared',
      'user.repoman.program-executable.claude': `${pkg}/bin/claude.exe`,
      'user.repoman.agent-home.claude': 'true',
    })
    expect(programShares(spec.config)).to.deep.equal([
      {command: 'claude', state: 'shared', executable: `${pkg}/bin/claude.exe`},
    ])
  })

  it('says a JavaScript agent needs node inside, and a missing one must be installed inside', async () => {
    const byName = Object.fromEntries(listTemplates(dir).map((t) => [t.name, t]))
    const pkg = '/usr/lib/node_modules/@google/gemini-cli'
    const gemini = await renderTemplate(
      byName['gemini-share'] as never,
      shifted,
      programs({gemini: {command: 'gemini', executable: `${pkg}/dist/index.js`, installDir: pkg, needsNode: true}}),
    )
    expect(gemini.config['user.repoman.program.gemini']).to.equal('shared, needs node inside')
    const codex = await renderTemplate(byName['codex-share'] as never, shifted, none)
    expect(codex.config).to.deep.equal({
      'user.repoman.program.codex': 'not on the host, install it inside',
      'user.repoman.agent-home.codex': 'true',
    })
    expect(Object.keys(codex.devices)).to.deep.equal([])
  })

  it('mounts no second copy of a program the template already shares (kept in the agent data dir)', async () => {
    writeFileSync(
      join(dir, 'opencode-share.yaml'),
      'description: x\nprogram: opencode\ndevices:\n  opencode-data: {type: disk, source: /home/dev/.local/share/opencode, path: /home/dev/.local/share/opencode, readonly: "true"}\n',
    )
    const opencode = listTemplates(dir).find((t) => t.name === 'opencode-share')
    const data = '/home/dev/.local/share/opencode'
    const spec = await renderTemplate(
      opencode as never,
      shifted,
      programs({
        opencode: {command: 'opencode', executable: `${data}/bin/opencode`, installDir: data, needsNode: false},
      }),
    )
    expect(spec.devices['opencode-program']).to.equal(undefined)
    expect(spec.devices['opencode-data']?.path).to.equal(data)
    expect(spec.devices['repoman-programs']?.source).to.equal(linksDir)
  })

  it('refuses a program that is not a plain command name', async () => {
    writeFileSync(join(dir, 'odd.yaml'), 'description: x\nprogram: ../bin/sh\n')
    const odd = listTemplates(dir).find((t) => t.name === 'odd')
    const error = await renderTemplate(odd as never, shifted, none).catch((e) => e)
    expect(error.message).to.match(/odd\.yaml: program must be a command name/)
  })

  it('names unknown and empty variables', () => {
    expect(() => substitute('x: ${NOPE}', {USER: 'u'}, 'f.yaml')).to.throw(
      ConfigError,
      /f\.yaml: unknown variable \$\{NOPE\}/,
    )
    expect(() => substitute('x: ${HOST_LAN_IP}', {HOST_LAN_IP: ''}, 'f.yaml')).to.throw(
      ConfigError,
      /repoman setup --lan-ip/,
    )
  })

  it('refuses a template with keys Incus profiles do not have', async () => {
    mkdirSync(join(dir, 'sub'))
    writeFileSync(join(dir, 'bad.yaml'), 'description: x\nprofiles: [a]\n')
    const bad = listTemplates(dir).find((t) => t.name === 'bad')
    const error = await renderTemplate(bad as never, {host, defaults: {}} as never, none).catch((e) => e)
    expect(error.message).to.match(/bad\.yaml: unknown key profiles/)
  })
})
