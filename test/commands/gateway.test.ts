/**
 * The gateway's done case on the real Debian image, as host user rmtest (uid 1001) with the real
 * Claude Code from npm: in allowlist mode the container has no network interface, its one way
 * out is the gateway, `claude -p` inside reaches a stand-in API on the host's loopback with the
 * token from `repoman agent login` (swapped in on the way), and that token is nowhere inside.
 * Then the attacks, from inside as the plain user and as root.
 */
import {spawn} from 'node:child_process'
import {chownSync, existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync} from 'node:fs'
import type {Server} from 'node:http'
import {join} from 'node:path'
import {expect} from 'chai'
import {installClaudeCodeFor} from '../helpers/claude-npm.js'
import {REAL_IMAGE} from '../helpers/incus-daemon.js'
import {type Received, STAND_IN_TEXT, startStandInApi} from '../helpers/stand-in-api.js'
import {makeWorld, requireRealImage, type World} from '../helpers/world.js'

const CANARY = 'sk-ant-oat01-canary-7f3a9c1e5b'

describe('the gateway (real image, host uid 1001, real Claude Code)', () => {
  let world: World
  let api: Server
  let port: number
  let repo: string
  const received: Received[] = []
  const user = () => world.user as NonNullable<World['user']>
  /** curl inside as the plain user, through the session's proxy variables unless told otherwise. */
  const curlInside = (...args: string[]) => world.cli(['exec', 'gw', '--', 'curl', '-s', '-m', '10', ...args])
  const viaGateway = ['--noproxy', '', '-x', 'http://127.0.0.1:3128']
  const asRoot = (script: string) => world.incus(['exec', 'gw', '--', 'bash', '-c', script])
  /** The transcripts in a host directory of Claude Code's, sorted (its own memory/ aside). */
  const hostTranscripts = (dir: string) =>
    readdirSync(dir)
      .filter((entry) => entry !== 'memory')
      .sort()
  /** A program on the host as the user, in the repo, while this process's stand-in answers. */
  const onHost = (command: string[], env: NodeJS.ProcessEnv) =>
    new Promise<{stdout: string; stderr: string}>((resolve) => {
      const child = spawn('setpriv', [`--reuid=${user().uid}`, `--regid=${user().gid}`, '--init-groups', ...command], {
        cwd: repo,
        env: {...world.env, PATH: `${join(world.home, '.local/bin')}:${world.env.PATH}`, ...env},
        stdio: ['ignore', 'pipe', 'pipe'],
        timeout: 90_000,
      })
      let stdout = ''
      let stderr = ''
      child.stdout.on('data', (chunk) => (stdout += chunk))
      child.stderr.on('data', (chunk) => (stderr += chunk))
      child.on('close', () => resolve({stdout, stderr}))
    })

  before(async function () {
    world = makeWorld(requireRealImage(this), {user: true})
    await world.setup()
    installClaudeCodeFor(world.home, user().uid, user().gid)
    mkdirSync(join(world.home, '.claude'))
    writeFileSync(join(world.home, '.claude.json'), '{"hasCompletedOnboarding": true}\n')
    for (const path of ['.claude', '.claude.json']) chownSync(join(world.home, path), user().uid, user().gid)
    const standIn = await startStandInApi(received)
    api = standIn.server
    port = standIn.port
    world.writeOverride('gw', '[network]\nmode = "allowlist"\nallow = ["claude", "deb.debian.org"]\n')
    repo = world.makeRepo('gw')
  })
  after(() => {
    api?.close()
    world?.dispose()
  })

  it('claude -p inside reaches the upstream with the real token, which is nowhere inside', async () => {
    expect((await world.cli(['profile', 'install', 'claude-share'])).exitCode).to.equal(0)
    const login = await world.cli(['agent', 'login', 'claude', '--upstream', `http://127.0.0.1:${port}`], {
      input: `${CANARY}\n`,
    })
    expect(login.exitCode, login.stderr).to.equal(0)
    const created = await world.cli([
      'new',
      'gw',
      '--image',
      REAL_IMAGE,
      '--profile',
      'default',
      '--profile',
      'claude-share',
      '--json',
    ])
    expect(created.exitCode, created.stderr).to.equal(0)
    expect(JSON.parse(created.stdout).network).to.equal('allowlist')
    // On a systemd image its way out is the forwarder: the socket's directory, and no proxy device.
    const instance = world.query<{
      expanded_config: Record<string, string>
      expanded_devices: Record<string, Record<string, string>>
    }>('/1.0/instances/gw')
    expect(Object.values(instance.expanded_devices).filter((d) => d.type === 'nic')).to.deep.equal([])
    expect(instance.expanded_config['user.repoman.gateway']).to.equal('forwarder')
    expect(instance.expanded_devices).to.not.have.property('repoman-gateway')
    expect(instance.expanded_devices['repoman-gateway-socket']).to.include({
      type: 'disk',
      path: '/var/lib/repoman/gateway',
      readonly: 'true',
    })

    const claude = await world.cli(['exec', '--', 'claude', '-p', 'hi'], {cwd: repo})
    const messages = received.filter((r) => r.url?.startsWith('/v1/messages'))
    expect(messages.length, `${claude.stdout}\n${claude.stderr}`).to.be.greaterThan(0)
    for (const request of messages) expect(request.headers.authorization).to.equal(`Bearer ${CANARY}`)
    expect(claude.stdout).to.include(STAND_IN_TEXT)
    expect(claude.exitCode).to.equal(0)

    // Nowhere inside: not in the session's environment, not in any process's, not in any file.
    const env = await world.cli(['exec', '--', 'sh', '-c', 'env; sleep 3 & wait'], {cwd: repo})
    expect(env.stdout).to.include('CLAUDE_CODE_OAUTH_TOKEN=repoman-gateway-placeholder').and.not.include(CANARY)
    const scan = asRoot(
      `cat /proc/[0-9]*/environ 2>/dev/null | tr '\\0' '\\n' | grep -c ${CANARY}; grep -rlsF --exclude-dir=proc --exclude-dir=sys --exclude-dir=dev ${CANARY} / | head -3; echo done`,
    )
    expect(scan).to.equal('0\ndone\n')
  })

  it('the conversation comes back as data: the host’s claude resumes it; nothing else of the home comes back', async () => {
    const transcripts = join(world.home, '.claude/projects', repo.replace(/[^a-zA-Z0-9]/g, '-'))
    const sessions = readdirSync(transcripts)
    expect(sessions).to.have.length(1)
    expect(sessions[0]).to.match(/^[0-9a-f-]{36}\.jsonl$/)
    const session = (sessions[0] as string).slice(0, -'.jsonl'.length)
    expect(statSync(join(transcripts, sessions[0] as string))).to.include({uid: user().uid, mode: 0o100600})

    received.length = 0
    const resumed = await onHost(['claude', '-p', '--resume', session, 'again'], {
      ANTHROPIC_BASE_URL: `http://127.0.0.1:${port}`,
      ANTHROPIC_API_KEY: 'sk-ant-api03-host',
    })
    expect(resumed.stdout, resumed.stderr).to.include(STAND_IN_TEXT)
    // What the host's claude sent holds the conversation from inside, then the new prompt.
    const body = received.find((r) => r.url?.startsWith('/v1/messages'))?.body ?? ''
    expect(body.indexOf(STAND_IN_TEXT)).to.be.greaterThan(-1).and.lessThan(body.indexOf('again'))

    // Planted in the transcript directory, and in another project's: none of it reaches the host.
    const hook = `{"hooks":{"SessionStart":[{"hooks":[{"type":"command","command":"touch ${world.home}/PWNED-hook"}]}]}}`
    const other = '-home-rmtest-repos-other'
    const planted = await world.cli(
      [
        'exec',
        '--',
        'sh',
        '-c',
        [
          `d="$CLAUDE_CONFIG_DIR/projects/${transcripts.split('/').pop()}"`,
          `printf '%s' '${hook}' > "$d/settings.json"`,
          `ln -s /etc/passwd "$d/00000000-0000-0000-0000-000000000001.jsonl"`,
          `echo 'not json' > "$d/00000000-0000-0000-0000-000000000002.jsonl"`,
          `mkdir -p "$CLAUDE_CONFIG_DIR/projects/${other}" && echo '{}' > "$CLAUDE_CONFIG_DIR/projects/${other}/00000000-0000-0000-0000-000000000003.jsonl"`,
        ].join(' && '),
      ],
      {cwd: repo},
    )
    expect(planted.exitCode, planted.stderr).to.equal(0)
    expect(planted.stderr).to.include('not copied from "gw"\'s conversations (not a transcript): ')
    // (The host's claude keeps a memory/ directory there of its own.)
    expect(hostTranscripts(transcripts)).to.deep.equal(sessions)
    expect(existsSync(join(world.home, '.claude/projects', other))).to.equal(false)
    await onHost(['claude', '-p', '--resume', session, 'and again'], {
      ANTHROPIC_BASE_URL: `http://127.0.0.1:${port}`,
      ANTHROPIC_API_KEY: 'sk-ant-api03-host',
    })
    expect(readdirSync(world.home).filter((f) => f.startsWith('PWNED'))).to.deep.equal([])
  })

  it('as root inside: a FIFO, a setuid root transcript and a swapped-in link reach the host as data or not at all', async () => {
    const slug = repo.replace(/[^a-zA-Z0-9]/g, '-')
    const transcripts = join(world.home, '.claude/projects', slug)
    const before = hostTranscripts(transcripts)
    const configDir = (await world.cli(['exec', 'gw', '--', 'sh', '-c', 'printf %s "$CLAUDE_CONFIG_DIR"'])).stdout
    expect(configDir).to.match(/^\//)
    const d = `${configDir}/projects/${slug}`
    const fifo = '00000000-0000-0000-0000-000000000004.jsonl'
    const setuid = '00000000-0000-0000-0000-000000000005.jsonl'
    asRoot(
      [
        `mkfifo '${d}/${fifo}'`,
        `echo '{"type":"summary","summary":"planted by root"}' > '${d}/${setuid}'`,
        `chmod 4755 '${d}/${setuid}'`,
        // The host's own directory of conversations, should the host follow a link made inside.
        `mv '${d}' '${d}.real' && ln -s '${world.home}/.claude/projects' '${d}'`,
      ].join(' && '),
    )
    // With the link in place, a session takes nothing (the link is not followed on the host).
    const linked = await world.cli(['exec', 'gw', '--', 'true'], {cwd: repo, timeout: 60_000})
    expect(linked.exitCode, linked.stderr).to.equal(0)
    expect(hostTranscripts(transcripts)).to.deep.equal(before)
    // Put back: the FIFO is named and left, the root's setuid file comes back as your 0600 data.
    asRoot(`rm '${d}' && mv '${d}.real' '${d}'`)
    const session = await world.cli(['exec', 'gw', '--', 'true'], {cwd: repo, timeout: 60_000})
    expect(session.exitCode, session.stderr).to.equal(0)
    expect(session.stderr).to.include(fifo)
    expect(hostTranscripts(transcripts)).to.deep.equal([...before, setuid].sort())
    expect(statSync(join(transcripts, setuid))).to.include({uid: user().uid, mode: 0o100600})
    await onHost(['claude', '-p', '--resume', setuid.slice(0, -'.jsonl'.length), 'go on'], {
      ANTHROPIC_BASE_URL: `http://127.0.0.1:${port}`,
      ANTHROPIC_API_KEY: 'sk-ant-api03-host',
    })
    expect(readdirSync(world.home).filter((f) => f.startsWith('PWNED'))).to.deep.equal([])
  })

  it('refuses and logs what is not allowed; nothing leaves the container but through the gateway', async () => {
    // The plain user, through the proxy variables every session has.
    const refused = await curlInside('-S', 'https://example.org')
    expect(refused.exitCode).to.not.equal(0)
    expect(refused.stderr).to.match(/CONNECT tunnel failed, response 403|403/)
    const plain = await curlInside('http://example.org/')
    expect(plain.stdout).to.include('repoman gateway: not on the allow list')
    // sudo keeps the proxy variables (the sudoers entry repoman writes says so).
    const sudo = await world.cli(['exec', 'gw', '--', 'sudo', 'curl', '-s', '-m', '10', 'http://example.org/'])
    expect(sudo.stdout).to.include('repoman gateway: not on the allow list')
    const literal = await curlInside('-S', `http://127.0.0.1:${port}/v1/x`, ...viaGateway)
    expect(literal.stdout).to.include('IP address not listed')
    const loopbackName = await curlInside('-S', `https://localhost:${port}/`, ...viaGateway)
    expect(loopbackName.exitCode).to.not.equal(0)

    const logs = JSON.parse((await world.cli(['gateway', 'logs', 'gw', '--refused', '--json'])).stdout)
    expect(logs.entries.map((e: {target: string}) => e.target)).to.include('example.org:443')
    const status = JSON.parse((await world.cli(['status', 'gw', '--json'])).stdout)
    expect(status.projects[0].gateway).to.include({running: true})
    expect(status.projects[0].gateway.refused.map((e: {target: string}) => e.target)).to.include('example.org:443')

    // The gateway's own commands: status lists the project, stop stops it, the next session starts it.
    const running = JSON.parse((await world.cli(['gateway', 'status', '--json'])).stdout)
    expect(running).to.deep.include({running: true, projects: [{name: 'gw', listening: true}]})
    const stop = await world.cli(['gateway', 'stop'])
    expect(stop.stdout).to.equal('Stopped the gateway.\n')
    const stopped = await world.cli(['gateway', 'status'])
    expect(stopped.exitCode).to.equal(1)
    expect(stopped.stdout).to.match(/^The gateway is not running; the next `repoman exec` or `shell` starts it/)
    const again = await world.cli(['exec', 'gw', '--', 'curl', '-s', '-m', '10', 'http://example.org/'])
    expect(again.stdout, again.stderr).to.include('repoman gateway: not on the allow list')
    // A gateway an older repoman started (its pid file names no build) goes on running through
    // an upgrade; the next session replaces it with this build's.
    const pidFile = join(world.home, '.local/state/repoman/gateway/gateway.pid')
    const older = Number.parseInt(readFileSync(pidFile, 'utf8'), 10)
    writeFileSync(pidFile, `${older}\n`)
    const upgraded = await world.cli(['exec', 'gw', '--', 'curl', '-s', '-m', '10', 'http://example.org/'])
    expect(upgraded.stdout, upgraded.stderr).to.include('repoman gateway: not on the allow list')
    const replaced = readFileSync(pidFile, 'utf8').split('\n')
    expect(Number(replaced[0])).to.not.equal(older)
    expect(replaced[1]).to.match(/^\d+\.\d+\.\d+@\d/)
    // The older one has let go of the lock, and exits (or is gone, or waits to be reaped).
    const state = () => {
      try {
        return readFileSync(`/proc/${older}/stat`, 'utf8').split(') ')[1]?.[0]
      } catch {
        return 'gone'
      }
    }
    for (let i = 0; i < 100 && !['gone', 'Z'].includes(state() ?? ''); i++)
      await new Promise((resolve) => setTimeout(resolve, 20))
    expect(state()).to.be.oneOf(['gone', 'Z'])
    const badUpstream = await world.cli(['agent', 'login', 'claude', '--upstream', 'ftp://x'], {input: 'x\n'})
    expect(badUpstream.exitCode).to.equal(2)
    expect(badUpstream.stderr.trim().split('\n')).to.have.length(1)

    // Root inside: raw requests past curl's parser, and every way around the gateway.
    const raw = (request: string) =>
      `exec 3<>/dev/tcp/127.0.0.1/3128; printf '${request}' >&3; head -1 <&3 | tr -d '\\r'; exec 3<&-`
    expect(asRoot(raw(`CONNECT 127.0.0.1:${port} HTTP/1.1\\r\\n\\r\\n`))).to.match(/^HTTP\/1.1 403 /)
    expect(asRoot(raw('CONNECT api.anthropic.com:443 HTTP/1.1\\r\\nHost: example.org:443\\r\\n\\r\\n'))).to.match(
      /^HTTP\/1.1 400 /,
    )
    expect(asRoot(raw('CONNECT api.anthropic.com\\0.example.org:443 HTTP/1.1\\r\\n\\r\\n'))).to.match(/^HTTP\/1.1 400 /)
    expect(asRoot(raw(`CONNECT ${'a'.repeat(300)}.com:443 HTTP/1.1\\r\\n\\r\\n`))).to.match(/^HTTP\/1.1 403 /)
    expect(asRoot(raw('GET http://example.org/ HTTP/1.1\\r\\nHost: api.anthropic.com\\r\\n\\r\\n'))).to.match(
      /^HTTP\/1.1 400 /,
    )
    // The forwarder's mount: this project's socket alone, and nothing root inside can write or remount.
    const socketDir = asRoot(
      'cd /var/lib/repoman/gateway && ls -A; touch x 2>/dev/null && echo wrote || echo read-only; mount -o remount,rw . 2>/dev/null && echo remounted || echo locked',
    )
    expect(socketDir).to.equal('gateway.sock\nread-only\nlocked\n')
    const around = asRoot(`
      ip -o link | cut -d: -f2 | tr -d ' ' | paste -sd,
      getent hosts example.org >/dev/null && echo dns-resolved || echo dns-refused
      curl -s --noproxy '*' -m 3 http://1.1.1.1/ >/dev/null && echo direct-v4-out || echo direct-v4-refused
      curl -s -6 --noproxy '*' -m 3 'http://[2606:4700:4700::1111]/' >/dev/null && echo direct-v6-out || echo direct-v6-refused
      sysctl -qw net.ipv6.conf.all.disable_ipv6=0 2>/dev/null
      ip link add sneaky type veth peer name sneaky1 2>/dev/null && ip link set sneaky up
      ip addr add 10.99.0.2/24 dev lo && ip route add default dev lo && echo route-added
      curl -s --noproxy '*' -m 3 http://1.1.1.1/ >/dev/null && echo route-out || echo route-refused`)
    expect(around.trim().split('\n')).to.deep.equal([
      'lo',
      'dns-refused',
      'direct-v4-refused',
      'direct-v6-refused',
      'route-added',
      'route-refused',
    ])
  })
})
