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
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {expect} from 'chai'
import {
  claudeProjectSlug,
  decideTranscript,
  renderConversations,
  takeConversations,
} from '../../../src/lib/agents/conversations.js'
import {agentHomeDir} from '../../../src/lib/paths.js'

const SESSION = '0b0e5f3c-1d2a-4c6b-9e8f-0123456789ab'
const line = (text: string) => `${JSON.stringify({type: 'user', message: {content: text}})}\n`

describe('conversations: transcripts come back as data', () => {
  let root: string
  let stateDir: string
  let hostHome: string
  const repoPath = '/home/dev/repos/my.repo'
  const slug = '-home-dev-repos-my-repo'
  const host = () => ({home: hostHome, uid: process.getuid?.() ?? 0, gid: process.getgid?.() ?? 0})
  const insideDir = () => join(agentHomeDir(stateDir, 'p', 'claude'), 'projects', slug)
  const hostDir = () => join(hostHome, '.claude/projects', slug)

  beforeEach(() => {
    root = mkdtempSync(join(tmpdir(), 'repoman-conversations-'))
    stateDir = join(root, 'state')
    hostHome = join(root, 'home')
    mkdirSync(insideDir(), {recursive: true})
    mkdirSync(hostHome)
  })
  afterEach(() => rmSync(root, {recursive: true, force: true}))

  it('names the directory as Claude Code does, and decides by content', () => {
    expect(claudeProjectSlug(repoPath)).to.equal(slug)
    const first = Buffer.from(line('hi'))
    const more = Buffer.concat([first, Buffer.from(line('again'))])
    expect(decideTranscript(first, undefined)).to.equal('copy')
    expect(decideTranscript(first, first)).to.equal('same')
    expect(decideTranscript(more, first)).to.equal('copy')
    expect(decideTranscript(first, more)).to.equal('kept-yours')
    expect(decideTranscript(Buffer.from('{"a":1}\nnot json\n'), undefined)).to.equal('refused')
  })

  it('copies a transcript 0600 into ~/.claude/projects (making the directories), and only that', async () => {
    writeFileSync(join(insideDir(), `${SESSION}.jsonl`), line('hi'))
    writeFileSync(join(insideDir(), 'settings.json'), '{"hooks":{}}')
    symlinkSync('/etc/passwd', join(insideDir(), '11111111-1111-4111-8111-111111111111.jsonl'))
    mkdirSync(join(insideDir(), SESSION))
    const other = join(agentHomeDir(stateDir, 'p', 'claude'), 'projects', '-home-dev-repos-other')
    mkdirSync(other)
    writeFileSync(join(other, `${SESSION}.jsonl`), line('elsewhere'))

    const taken = await takeConversations(stateDir, 'p', repoPath, host())
    expect(taken).to.deep.equal({
      added: [SESSION],
      updated: [],
      refused: ['11111111-1111-4111-8111-111111111111.jsonl', 'settings.json'],
      kept: [],
    })
    expect(readdirSync(hostDir())).to.deep.equal([`${SESSION}.jsonl`])
    expect(statSync(join(hostDir(), `${SESSION}.jsonl`)).mode & 0o777).to.equal(0o600)
    expect(statSync(join(hostHome, '.claude')).mode & 0o777).to.equal(0o700)
    expect(existsSync(join(hostHome, '.claude/projects/-home-dev-repos-other'))).to.equal(false)
    expect(renderConversations('p', taken)).to.deep.equal([
      'repoman: 1 new Claude Code conversation(s) of "p" on the host too: `claude --resume` in the repo',
      `repoman: not copied from "p"'s conversations (not a transcript): ${taken.refused.join(', ')}`,
    ])
  })

  it('brings a conversation continued inside up to date, and keeps one you continued on the host', async () => {
    writeFileSync(join(insideDir(), `${SESSION}.jsonl`), line('hi'))
    await takeConversations(stateDir, 'p', repoPath, host())
    writeFileSync(join(insideDir(), `${SESSION}.jsonl`), line('hi') + line('inside'))
    expect((await takeConversations(stateDir, 'p', repoPath, host())).updated).to.deep.equal([SESSION])
    expect(readFileSync(join(hostDir(), `${SESSION}.jsonl`), 'utf8')).to.equal(line('hi') + line('inside'))
    writeFileSync(join(hostDir(), `${SESSION}.jsonl`), line('hi') + line('on the host'))
    const taken = await takeConversations(stateDir, 'p', repoPath, host())
    expect(taken.kept).to.deep.equal([SESSION])
    expect(readFileSync(join(hostDir(), `${SESSION}.jsonl`), 'utf8')).to.equal(line('hi') + line('on the host'))
  })

  it('does nothing for a project without a claude home', async () => {
    const taken = await takeConversations(stateDir, 'none', repoPath, host())
    expect(taken).to.deep.equal({added: [], updated: [], refused: [], kept: []})
    expect(existsSync(join(hostHome, '.claude'))).to.equal(false)
  })
})
