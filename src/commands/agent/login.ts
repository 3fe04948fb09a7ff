import {Args, Flags} from '@oclif/core'
import {RepomanCommand} from '../../cli/command.js'

/** What `--json` prints: the contract of this command (schemas/agent-login.json). */
export type AgentLoginResult = {agent: string; env: string; file: string; upstream: string}

export default class AgentLogin extends RepomanCommand<AgentLoginResult> {
  static override requiresRegistry = false
  static override summary = "Keep your agent's login on the host and hand it to the agent in every container."
  static override description =
    `For claude, runs \`claude setup-token\` on the host with your terminal, then asks for the token it printed; for API-key agents, asks for the key: OpenAI's for codex, Gemini's for gemini, Anthropic's for opencode and pi. With stdin not a terminal, the token or key is read from it.
It is stored in repoman's config dir (credentials/AGENT, 0600), which no container mounts. The agent inside gets only a placeholder (as CLAUDE_CODE_OAUTH_TOKEN, OPENAI_API_KEY, GEMINI_API_KEY, in OPENCODE_CONFIG_CONTENT, or in pi's models.json when its home is seeded) and a base URL pointing at repoman's gateway on the host, which puts the real token into its API requests on their way out: the token is never inside the container.
--upstream sends the agent's API requests elsewhere (an LLM gateway such as LiteLLM) instead of the agent's own API.`
  static override examples = [
    '<%= config.bin %> agent login claude',
    'printenv OPENAI_API_KEY | <%= config.bin %> agent login codex',
    'printenv OPENAI_API_KEY | <%= config.bin %> agent login codex --upstream http://litellm.lan:4000/v1',
  ]
  static override flags = {
    upstream: Flags.string({
      description: "Where the gateway sends the agent's API requests (default: the agent's own API).",
      helpValue: 'URL',
    }),
  }
  static override args = {
    agent: Args.string({description: 'Agent: claude, codex, gemini, opencode or pi.', required: true}),
  }

  async run(): Promise<AgentLoginResult> {
    const {args, flags} = await this.parse(AgentLogin)
    const {checkUpstream, loginOf, readStdin, runTokenCommand, saveCredential} = await import(
      '../../lib/agents/credentials.js'
    )
    const login = loginOf(args.agent)
    if (flags.upstream !== undefined) checkUpstream(flags.upstream)
    let secret: string
    if (process.stdin.isTTY) {
      const ran = await runTokenCommand(args.agent)
      const {askSecret} = await import('../../cli/ui.js')
      secret = await askSecret(ran ? 'Paste the token it printed' : `Your ${login.secret}`)
    } else secret = await readStdin()
    const result = await saveCredential(this.paths, args.agent, secret, flags.upstream)
    this.log(
      `Saved your ${args.agent} login in ${result.file}; sessions get a placeholder in ${result.env}, and repoman's gateway puts the real one into requests to ${result.upstream}.${login.homeFile ? ` Homes seeded from now on have it: \`repoman agent refresh NAME\` gives it to an existing container.` : ''}`,
    )
    return result
  }
}
