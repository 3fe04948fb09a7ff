import {mkdtempSync, readFileSync, rmSync, statSync} from 'node:fs'
import {join} from 'node:path'
import {expect} from 'chai'
import {
  checkUpstream,
  deleteCredential,
  gatewayLoginEnv,
  loginHomeFile,
  normalizeSecret,
  readLogin,
  saveCredential,
} from '../../../src/lib/agents/credentials.js'

describe('agent logins (the credential store)', () => {
  let configDir: string
  beforeEach(() => {
    configDir = mkdtempSync('/tmp/rm-cred-')
  })
  afterEach(() => rmSync(configDir, {recursive: true, force: true}))

  it('keeps a login 0600 in a 0700 dir; sessions get only a placeholder and the gateway as the API', async () => {
    const saved = await saveCredential({configDir}, 'claude', '  sk-ant-oat01-abc\n')
    expect(saved).to.deep.equal({
      agent: 'claude',
      env: 'CLAUDE_CODE_OAUTH_TOKEN',
      file: join(configDir, 'credentials/claude'),
      upstream: 'https://api.anthropic.com',
    })
    expect(statSync(saved.file).mode & 0o777).to.equal(0o600)
    expect(statSync(join(configDir, 'credentials')).mode & 0o777).to.equal(0o700)
    expect(readFileSync(saved.file, 'utf8')).to.equal('sk-ant-oat01-abc\n')
    await saveCredential({configDir}, 'codex', 'sk-proj', 'http://litellm.lan:4000/v1/')
    const env = gatewayLoginEnv({configDir}, ['claude', 'codex', 'gemini', 'pi'])
    expect(env).to.deep.equal({
      CLAUDE_CODE_OAUTH_TOKEN: 'repoman-gateway-placeholder',
      ANTHROPIC_BASE_URL: 'http://127.0.0.1:3128/agents/claude',
      OPENAI_API_KEY: 'repoman-gateway-placeholder',
      OPENAI_BASE_URL: 'http://127.0.0.1:3128/agents/codex',
    })
    expect(JSON.stringify(env)).to.not.include('sk-')
    expect(readLogin({configDir}, 'codex')).to.deep.equal({token: 'sk-proj', upstream: 'http://litellm.lan:4000/v1'})
    expect(deleteCredential({configDir}, 'claude')).to.equal(true)
    expect(deleteCredential({configDir}, 'claude')).to.equal(false)
    expect(gatewayLoginEnv({configDir}, ['claude'])).to.deep.equal({})
    expect(readLogin({configDir}, 'claude')).to.equal(undefined)
  })

  it('logs opencode in through its own inline config and pi through its models.json, never through ANTHROPIC_*', async () => {
    expect(loginHomeFile({configDir}, 'pi')).to.equal(undefined)
    await saveCredential({configDir}, 'opencode', 'sk-ant-api03-x')
    await saveCredential({configDir}, 'pi', 'sk-ant-api03-y')
    const env = gatewayLoginEnv({configDir}, ['opencode', 'pi'])
    expect(Object.keys(env)).to.deep.equal(['OPENCODE_CONFIG_CONTENT'])
    expect(JSON.parse(env.OPENCODE_CONFIG_CONTENT as string)).to.deep.equal({
      provider: {
        anthropic: {
          options: {apiKey: 'repoman-gateway-placeholder', baseURL: 'http://127.0.0.1:3128/agents/opencode'},
        },
      },
    })
    expect(loginHomeFile({configDir}, 'pi')).to.deep.equal({
      name: 'models.json',
      merge: {
        providers: {
          anthropic: {baseUrl: 'http://127.0.0.1:3128/agents/pi', apiKey: 'repoman-gateway-placeholder'},
        },
      },
    })
    expect(readLogin({configDir}, 'pi')).to.deep.equal({token: 'sk-ant-api03-y', upstream: 'https://api.anthropic.com'})
    expect(readLogin({configDir}, 'opencode')?.upstream).to.equal('https://api.anthropic.com/v1')
  })

  it('refuses an empty or multi-word token and an agent it keeps no login for', async () => {
    expect(() => normalizeSecret(' \n')).to.throw(/no token given/)
    expect(() => normalizeSecret('a b')).to.throw(/one word/)
    const error = await saveCredential({configDir}, 'vim', 'x').catch((e) => e)
    expect(error.message).to.match(/keeps no login for "vim"; it does for claude, codex, gemini, opencode, pi/)
    expect(() => checkUpstream('ftp://x')).to.throw(/must be an http\(s\) URL/)
    expect(() => checkUpstream('https://user:pw@x')).to.throw(/no user/)
  })
})
