import {mkdtempSync, readFileSync, rmSync, statSync} from 'node:fs'
import {join} from 'node:path'
import {expect} from 'chai'
import {credentialEnv, deleteCredential, normalizeSecret, saveCredential} from '../../../src/lib/agents/credentials.js'

describe('agent logins (the credential store)', () => {
  let configDir: string
  beforeEach(() => {
    configDir = mkdtempSync('/tmp/rm-cred-')
  })
  afterEach(() => rmSync(configDir, {recursive: true, force: true}))

  it('keeps a login 0600 in a 0700 dir and hands it out as the variable the agent reads', async () => {
    const saved = await saveCredential({configDir}, 'claude', '  sk-ant-oat01-abc\n')
    expect(saved).to.deep.equal({
      agent: 'claude',
      env: 'CLAUDE_CODE_OAUTH_TOKEN',
      file: join(configDir, 'credentials/claude'),
    })
    expect(statSync(saved.file).mode & 0o777).to.equal(0o600)
    expect(statSync(join(configDir, 'credentials')).mode & 0o777).to.equal(0o700)
    expect(readFileSync(saved.file, 'utf8')).to.equal('sk-ant-oat01-abc\n')
    await saveCredential({configDir}, 'codex', 'sk-proj')
    expect(credentialEnv({configDir}, ['claude', 'codex', 'gemini', 'pi'])).to.deep.equal({
      CLAUDE_CODE_OAUTH_TOKEN: 'sk-ant-oat01-abc',
      OPENAI_API_KEY: 'sk-proj',
    })
    expect(deleteCredential({configDir}, 'claude')).to.equal(true)
    expect(deleteCredential({configDir}, 'claude')).to.equal(false)
    expect(credentialEnv({configDir}, ['claude'])).to.deep.equal({})
  })

  it('refuses an empty or multi-word token and an agent it keeps no login for', async () => {
    expect(() => normalizeSecret(' \n')).to.throw(/no token given/)
    expect(() => normalizeSecret('a b')).to.throw(/one word/)
    const error = await saveCredential({configDir}, 'vim', 'x').catch((e) => e)
    expect(error.message).to.match(/keeps no login for "vim"; it does for claude, codex, gemini/)
  })
})
