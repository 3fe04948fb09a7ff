import {mkdirSync, mkdtempSync, rmSync, writeFileSync} from 'node:fs'
import {join, resolve} from 'node:path'
import {expect} from 'chai'
import {ConfigError} from '../../../src/lib/errors.js'
import {listTemplates, renderTemplate, substitute, VENDOR_PROFILES_DIR} from '../../../src/lib/profiles/library.js'

const host = {lan_ip: '192.168.1.42', user: 'dev', uid: 1000, gid: 1000, home: '/home/dev'}

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

  it('renders host values into claude-share and llm-share', async () => {
    const templates = Object.fromEntries(listTemplates(dir).map((t) => [t.name, t]))
    const claude = await renderTemplate(templates['claude-share'] as never, {host, defaults: {idmap: 'shift'}} as never)
    expect(claude.devices['claude-dir']).to.deep.equal({
      type: 'disk',
      source: '/home/dev/.claude',
      path: '/home/dev/.claude',
      shift: 'true',
    })
    expect(claude.devices['claude-json']?.path).to.equal('/home/dev/.claude.json')
    const llm = await renderTemplate(templates['llm-share'] as never, {host, defaults: {}} as never)
    expect(llm.config['environment.OLLAMA_HOST']).to.equal('http://192.168.1.42:11434')
  })

  it('does not shift bind mounts under raw.idmap (the default), nor for a uid that only fits raw.idmap', async () => {
    const claude = listTemplates(dir).find((t) => t.name === 'claude-share')
    const byDefault = await renderTemplate(claude as never, {host, defaults: {}} as never)
    expect(byDefault.devices['claude-dir']?.shift).to.equal('false')
    const large = {host: {...host, uid: 2_000_000, gid: 2_000_000}, defaults: {idmap: 'shift'}}
    const spec = await renderTemplate(claude as never, large as never)
    expect(spec.devices['claude-dir']?.shift).to.equal('false')
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
    const error = await renderTemplate(bad as never, {host, defaults: {}} as never).catch((e) => e)
    expect(error.message).to.match(/bad\.yaml: unknown key profiles/)
  })
})
