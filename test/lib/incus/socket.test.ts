import {mkdtempSync, rmSync} from 'node:fs'
import {createServer, type Server} from 'node:http'
import {createServer as createNetServer} from 'node:net'
import {join} from 'node:path'
import {expect} from 'chai'
import {IncusError, IncusNotFoundError} from '../../../src/lib/errors.js'
import {IncusClient} from '../../../src/lib/incus/client.js'
import {
  defaultRemote,
  localSocketPath,
  type SocketProbe,
  SocketUnavailableError,
  socketGet,
} from '../../../src/lib/incus/socket.js'

function probe(options: Partial<SocketProbe> & {files?: string[]; readOnly?: string[]} = {}): SocketProbe {
  const files = new Set(options.files ?? [])
  const readOnly = new Set(options.readOnly ?? [])
  return {
    env: options.env ?? {},
    exists: (path) => files.has(path),
    writable: (path) => files.has(path) && !readOnly.has(path),
    cliConfig: options.cliConfig ?? (() => undefined),
  }
}

describe('the local Incus socket', () => {
  describe('which socket the incus CLI would use', () => {
    it('follows INCUS_SOCKET, then INCUS_DIR, then /run/incus, then /var/lib/incus', () => {
      expect(localSocketPath(probe({env: {INCUS_SOCKET: '/s/x.sock', INCUS_DIR: '/d'}}))).to.equal('/s/x.sock')
      expect(localSocketPath(probe({env: {INCUS_DIR: '/d'}}))).to.equal('/d/unix.socket')
      expect(localSocketPath(probe({files: ['/run/incus/unix.socket']}))).to.equal('/run/incus/unix.socket')
      expect(localSocketPath(probe())).to.equal('/var/lib/incus/unix.socket')
    })

    it('leaves remotes and the restricted incus-user socket to the CLI', () => {
      expect(localSocketPath(probe({env: {INCUS_REMOTE: 'lab'}}))).to.equal(undefined)
      expect(localSocketPath(probe({cliConfig: () => 'default-remote: lab\nremotes: {}\n'}))).to.equal(undefined)
      const userOnly = probe({
        files: ['/var/lib/incus/unix.socket', '/var/lib/incus/unix.socket.user'],
        readOnly: ['/var/lib/incus/unix.socket'],
      })
      expect(localSocketPath(userOnly)).to.equal(undefined)
    })

    it('reads the default remote like the CLI: INCUS_REMOTE, then config.yml, then local', () => {
      expect(defaultRemote({}, undefined)).to.equal('local')
      expect(defaultRemote({}, 'remotes:\n  local:\n    addr: unix://\n')).to.equal('local')
      expect(defaultRemote({}, 'default-remote: "lab" # the NAS\n')).to.equal('lab')
      expect(defaultRemote({INCUS_REMOTE: 'local'}, 'default-remote: lab\n')).to.equal('local')
    })
  })

  describe('reads over a real unix socket', () => {
    let dir: string
    let server: Server | undefined
    beforeEach(() => {
      dir = mkdtempSync('/tmp/rm-sock-')
    })
    afterEach(async () => {
      await new Promise((resolve) => (server ? server.close(resolve) : resolve(undefined)))
      server = undefined
      rmSync(dir, {recursive: true, force: true})
    })

    /** A daemon stand-in answering every GET with `status` and `body`. */
    async function serve(status: number, body: string, delayMs = 0): Promise<string> {
      const socket = join(dir, 'unix.socket')
      server = createServer((req, res) => {
        setTimeout(() => {
          res.writeHead(status, {'Content-Type': 'application/json'})
          res.end(body.replace('PATH', req.url ?? ''))
        }, delayMs)
      })
      await new Promise<void>((resolve) => server?.listen(socket, resolve))
      return socket
    }

    it("returns a sync response's metadata and an error's message", async () => {
      const socket = await serve(200, '{"type":"sync","metadata":{"asked":"PATH"}}')
      expect(await socketGet(socket, '/1.0/instances?recursion=1&project=p', 1000)).to.deep.equal({
        status: 200,
        metadata: {asked: '/1.0/instances?recursion=1&project=p'},
        error: undefined,
      })
    })

    it('gives the daemon errors the same typed errors as the CLI would', async () => {
      const socket = await serve(404, '{"type":"error","error_code":404,"error":"Instance not found"}')
      const client = new IncusClient({project: 'p', env: {INCUS_SOCKET: socket, PATH: process.env.PATH}})
      expect(await client.getInstance('gone')).to.equal(undefined)
      const error = await client.server().catch((e) => e)
      expect(error).to.be.instanceOf(IncusNotFoundError)
      expect(error.message).to.equal('Instance not found')
    })

    it('a socket that answers nonsense is left for the CLI, whose error the user sees', async () => {
      const socket = await serve(200, 'not json')
      expect(await socketGet(socket, '/1.0', 1000).catch((e) => e)).to.be.instanceOf(SocketUnavailableError)
      // The CLI, pointed at the same socket, fails in its own words.
      const client = new IncusClient({project: 'p', env: {INCUS_SOCKET: socket, PATH: process.env.PATH}})
      const error = await client.server().catch((e) => e)
      expect(error).to.be.instanceOf(IncusError)
      expect(error.message).to.match(/^incus query failed: /)
    })

    it('a daemon that does not answer in time is reported as unreachable, not asked twice', async () => {
      const socket = await serve(200, '{"metadata":{}}', 2000)
      const client = new IncusClient({project: 'p', timeoutMs: 200, env: {INCUS_SOCKET: socket}})
      const started = Date.now()
      const error = await client.server().catch((e) => e)
      expect(error.code).to.equal('INCUS_UNREACHABLE')
      expect(error.message).to.match(/did not answer within/)
      expect(Date.now() - started).to.be.below(1500)
    })

    it('nothing listening on the socket is a SocketUnavailableError', async () => {
      const socket = join(dir, 'dead.socket')
      const listener = createNetServer()
      await new Promise<void>((resolve) => listener.listen(socket, resolve))
      await new Promise((resolve) => listener.close(resolve))
      for (const path of [socket, join(dir, 'missing.socket')])
        expect(await socketGet(path, '/1.0', 1000).catch((e) => e)).to.be.instanceOf(SocketUnavailableError)
    })
  })
})
