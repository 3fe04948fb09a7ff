import {Args} from '@oclif/core'
import {RepomanCommand} from '../../cli/command.js'

/** What `--json` prints: the contract of this command (schemas/agent-login.json). */
export type AgentLoginResult = {agent: string; env: string; file: string}

export default class AgentLogin extends RepomanCommand<AgentLoginResult> {
  static override requiresRegistry = false
  static override summary = "Keep your agent's login on the host and hand it to the agent in every container."
  static override description =
    `For claude, runs \`claude setup-token\` on the host with your terminal, then asks for the token it printed; for API-key agents (codex, gemini), asks for the key. With stdin not a terminal, the token or key is read from it.
It is stored in repoman's config dir (credentials/AGENT, 0600), which no container mounts, and set in the agent's environment in every session (claude: CLAUDE_CODE_OAUTH_TOKEN, codex: OPENAI_API_KEY, gemini: GEMINI_API_KEY). The agent inside can read it there.`
  static override examples = [
    '<%= config.bin %> agent login claude',
    'printenv OPENAI_API_KEY | <%= config.bin %> agent login codex',
  ]
  static override args = {agent: Args.string({description: 'Agent: claude, codex or gemini.', required: true})}

  async run(): Promise<AgentLoginResult> {
    const {args} = await this.parse(AgentLogin)
    const {loginEnvOf, readStdin, runTokenCommand, saveCredential} = await import('../../lib/agents/credentials.js')
    const env = loginEnvOf(args.agent)
    let secret: string
    if (process.stdin.isTTY) {
      const ran = await runTokenCommand(args.agent)
      const {askSecret} = await import('../../cli/ui.js')
      secret = await askSecret(ran ? 'Paste the token it printed' : `Your ${env}`)
    } else secret = await readStdin()
    const result = await saveCredential(this.paths, args.agent, secret)
    this.log(`Saved your ${args.agent} login in ${result.file}; sessions get it as ${result.env}.`)
    return result
  }
}
