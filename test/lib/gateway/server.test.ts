/**
 * The gateway's server over a real unix socket, against a stand-in upstream on the host's
 * loopback that records what it receives; raw requests as a hostile container would write
 * them. Only DNS is stubbed (this machine has none for outside names).
 */
import {mkdtempSync, rmSync} from 'node:fs'
import {createServer, type IncomingHttpHeaders, type Server} from 'node:http'
import {connect, type Socket} from 'node:net'
import {join} from 'node:path'
import {expect} from 'chai'
import {PLACEHOLDER} from '../../../src/lib/agents/credentials.js'
import {type GatewayPolicy, parsePolicy} from '../../../src/lib/gateway/policy.js'
import {type GatewayEvent, MAX_CONNECTIONS_PER_PROJECT, projectServer} from '../../../src/lib/gateway/server.js'

interface Received {
  method?: string
  url?: string
  headers: IncomingHttpHeaders
  body: string
}

const listen = (server: Server, where: string | number) =>
  new Promise<void>((resolve) =>
    typeof where === 'string' ? server.listen(where, resolve) : server.listen(where, '127.0.0.1', resolve),
  )

/** Writes `raw` to the socket and reads until the peer closes or `until` matches. */
function exchange(socketPath: string, raw: string | Buffer, until = /\r\n\r\n[\s\S]*\n$/): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect(socketPath)
    let text = ''
    const timer = setTimeout(() => {
      socket.destroy()
      resolve(text)
    }, 3000)
    socket.on('data', (chunk) => {
      text += chunk.toString('latin1')
      if (until.test(text)) {
        clearTimeout(timer)
        socket.destroy()
        resolve(text)
      }
    })
    socket.on('close', () => {
      clearTimeout(timer)
      resolve(text)
    })
    socket.on('error', reject)
    socket.write(raw)
  })
}

describe('gateway server (real sockets, a stand-in upstream)', () => {
  let dir: string
  let upstream: Server
  let port: number
  let received: Received[]
  let events: GatewayEvent[]
  let policy: GatewayPolicy
  let gateway: Server
  const socket = () => join(dir, 'a.sock')
  const TOKEN = 'sk-ant-oat01-REAL-canary'

  beforeEach(async () => {
    dir = mkdtempSync('/tmp/rm-gw-')
    received = []
    events = []
    upstream = createServer((request, response) => {
      let body = ''
      request.on('data', (chunk) => (body += chunk))
      request.on('end', () => {
        received.push({method: request.method, url: request.url, headers: request.headers, body})
        response.writeHead(200, {'content-type': 'application/json'}).end('{"ok":true}\n')
      })
    })
    await listen(upstream, 0)
    port = (upstream.address() as {port: number}).port
    policy = parsePolicy('restricted', [])
    gateway = projectServer({
      policy: async () => policy,
      login: (agent) => (agent === 'claude' ? {token: TOKEN, upstream: `http://127.0.0.1:${port}/base`} : undefined),
      log: (event) => events.push(event),
      resolve: async (host) => {
        if (host === 'stand.in.test') return ['127.0.0.1']
        if (host === 'public.example') return ['93.184.215.14']
        throw new Error('ENOTFOUND')
      },
    })
    await listen(gateway, socket())
  })
  afterEach(() => {
    gateway.closeAllConnections()
    gateway.close()
    upstream.closeAllConnections()
    upstream.close()
    rmSync(dir, {recursive: true, force: true})
  })

  it("swaps the placeholder for the real token on the way to the agent's upstream, and never sends it back", async () => {
    const body = '{"model":"x"}'
    const answer = await exchange(
      socket(),
      `POST /agents/claude/v1/messages?beta=true HTTP/1.1\r\nhost: 127.0.0.1:3128\r\nauthorization: Bearer ${PLACEHOLDER}\r\ncontent-length: ${body.length}\r\nconnection: close\r\n\r\n${body}`,
    )
    expect(answer)
      .to.match(/^HTTP\/1.1 200/)
      .and.include('{"ok":true}')
      .and.not.include(TOKEN)
    expect(received).to.have.length(1)
    expect(received[0]).to.deep.include({method: 'POST', url: '/base/v1/messages?beta=true', body})
    expect(received[0]?.headers.authorization).to.equal(`Bearer ${TOKEN}`)
    expect(received[0]?.headers.host).to.equal(`127.0.0.1:${port}`)
    expect(events).to.deep.include({action: 'allowed', target: `agent claude -> 127.0.0.1:${port}`})

    const none = await exchange(
      socket(),
      'GET /agents/codex/v1/models HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n',
    )
    expect(none)
      .to.match(/^HTTP\/1.1 401/)
      .and.include('repoman agent login codex')
  })

  it('tunnels CONNECT to an allowed name, at the address it checked', async () => {
    policy = parsePolicy('allowlist', [`stand.in.test:${port}`])
    const answer = await exchange(
      socket(),
      `CONNECT stand.in.test:${port} HTTP/1.1\r\nhost: stand.in.test:${port}\r\n\r\nGET /through HTTP/1.1\r\nhost: stand.in.test\r\nconnection: close\r\n\r\n`,
      /\{"ok":true\}\n$/,
    )
    expect(answer)
      .to.match(/^HTTP\/1.1 200 Connection Established/)
      .and.include('{"ok":true}')
    expect(received.map((r) => r.url)).to.deep.equal(['/through'])
  })

  it('refuses, and logs, what a hostile container asks for', async () => {
    policy = parsePolicy('allowlist', [`stand.in.test:${port}`])
    const refusals: Array<[string, RegExp]> = [
      [`CONNECT 127.0.0.1:${port} HTTP/1.1\r\n\r\n`, /^HTTP\/1.1 403[\s\S]*IP address not listed/],
      [`CONNECT [::ffff:127.0.0.1]:${port} HTTP/1.1\r\n\r\n`, /^HTTP\/1.1 403/],
      ['CONNECT example.org:443 HTTP/1.1\r\n\r\n', /^HTTP\/1.1 403[\s\S]*not on the allow list/],
      [
        `CONNECT stand.in.test:${port} HTTP/1.1\r\nhost: example.org:443\r\n\r\n`,
        /^HTTP\/1.1 400[\s\S]*Host header differs/,
      ],
      [`CONNECT stand.in.test:${port}@example.org:443 HTTP/1.1\r\n\r\n`, /^HTTP\/1.1 400/],
      [`CONNECT ${'a'.repeat(300)}.com:443 HTTP/1.1\r\n\r\n`, /^HTTP\/1.1 403[\s\S]*name too long/],
      [`GET http://example.org/ HTTP/1.1\r\nhost: example.org\r\n\r\n`, /^HTTP\/1.1 403[\s\S]*not on the allow list/],
      [
        `GET http://stand.in.test:${port}/ HTTP/1.1\r\nhost: example.org\r\n\r\n`,
        /^HTTP\/1.1 400[\s\S]*Host header differs/,
      ],
      ['GET https://example.org/ HTTP/1.1\r\nhost: example.org\r\n\r\n', /^HTTP\/1.1 400[\s\S]*use CONNECT/],
      ['GET / HTTP/1.1\r\nhost: x\r\n\r\n', /^HTTP\/1.1 400[\s\S]*use it as HTTP\(S\)_PROXY/],
    ]
    for (const [raw, expected] of refusals)
      expect(await exchange(socket(), raw), JSON.stringify(raw)).to.match(expected)
    // A NUL byte in the target: the HTTP parser refuses the request line.
    const nul = await exchange(
      socket(),
      Buffer.from(`CONNECT stand.in.test:${port}\0.example.org:443 HTTP/1.1\r\n\r\n`),
    )
    expect(nul).to.match(/^HTTP\/1.1 400/)
    expect(received, 'nothing reached the upstream').to.deep.equal([])
    expect(events.filter((e) => e.action === 'refused')).to.have.length(refusals.length + 1)

    policy = parsePolicy('restricted', [])
    const loopbackName = await exchange(socket(), `CONNECT stand.in.test:${port} HTTP/1.1\r\n\r\n`)
    expect(loopbackName).to.match(/^HTTP\/1.1 403[\s\S]*resolves to loopback 127.0.0.1/)
  })

  it('holds at most its cap of connections per project, and another project still answers', async () => {
    const other = projectServer({
      policy: async () => parsePolicy('restricted', []),
      login: () => undefined,
      log: () => undefined,
    })
    await listen(other, join(dir, 'b.sock'))
    const held: Socket[] = []
    try {
      for (let i = 0; i < MAX_CONNECTIONS_PER_PROJECT + 20; i++) {
        const s = connect(socket())
        s.on('error', () => undefined)
        held.push(s)
      }
      await new Promise((resolve) => setTimeout(resolve, 300))
      const open = held.filter((s) => !s.destroyed && s.readyState === 'open')
      expect(open.length).to.be.at.most(MAX_CONNECTIONS_PER_PROJECT)
      const answer = await exchange(join(dir, 'b.sock'), 'GET / HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n')
      expect(answer).to.match(/^HTTP\/1.1 400/)
    } finally {
      for (const s of held) s.destroy()
      other.close()
    }
  })
})
