/**
 * An SFTP session with an instance's file system, over the daemon's unix socket: the request
 * `GET /1.0/instances/<name>/sftp`, upgraded, is a stream to the SFTP server Incus runs for the
 * instance (forkfile, which its file API uses too). The file API opens a session of its own
 * for every request, looks the path up, sets mode and owner one round trip at a time, and
 * syncs the whole file system when the session ends; one session carries many writes side by
 * side, and syncs once.
 *
 * SFTP version 3 (draft-ietf-secsh-filexfer-02), with only the requests repoman sends. It is
 * written here because no kept-up npm library speaks SFTP over a plain stream: ssh2's is tied
 * to an SSH connection (mscdex/ssh2#1266), and ssh2-streams is no longer maintained.
 */
import type {Socket} from 'node:net'
import {together} from '../steps.js'
import {SocketUnavailableError} from './socket.js'

const INIT = 1
const VERSION = 2
const OPEN = 3
const CLOSE = 4
const READ = 5
const WRITE = 6
const LSTAT = 7
const SETSTAT = 9
const FSETSTAT = 10
const OPENDIR = 11
const READDIR = 12
const MKDIR = 14
const REALPATH = 16
const READLINK = 19
const STATUS = 101
const HANDLE = 102
const DATA = 103
const NAME = 104
const ATTRS = 105

/** SSH_FX_EOF: a read or a listing is at its end. */
const EOF = 1

const FLAG_READ = 0x01
const FLAG_WRITE = 0x02
const FLAG_CREATE = 0x08
const FLAG_TRUNCATE = 0x10

const ATTR_UIDGID = 0x02
const ATTR_PERMISSIONS = 0x04

/** SSH_FX_NO_SUCH_FILE: the path, or its directory, is not there. */
export const NO_SUCH_FILE = 2

/** What an SFTP server says about a path (the fields repoman reads). */
export interface SftpAttrs {
  uid?: number
  gid?: number
  /** Permission bits with the file type (S_IFDIR, S_IFREG, ...). */
  mode?: number
}

const fileType = (attrs: SftpAttrs) => (attrs.mode ?? 0) & 0o170000
const isDirectory = (attrs: SftpAttrs): boolean => fileType(attrs) === 0o040000
const isSymlink = (attrs: SftpAttrs): boolean => fileType(attrs) === 0o120000

/** A request the server refused: its SSH_FX_* code and message. */
export class SftpStatusError extends Error {
  constructor(
    readonly code: number,
    message: string,
  ) {
    super(message)
  }
}

/** The daemon refused the upgrade: its message (an instance that is not there, say). */
export class SftpRefusedError extends Error {
  constructor(
    message: string,
    readonly status: number,
  ) {
    super(message)
  }
}

/** One SFTP packet as bytes: its length, then type, then the fields in order. */
function packet(type: number, ...fields: Buffer[]): Buffer {
  const body = Buffer.concat([Buffer.from([type]), ...fields])
  const length = Buffer.alloc(4)
  length.writeUInt32BE(body.length)
  return Buffer.concat([length, body])
}

const uint32 = (value: number) => {
  const bytes = Buffer.alloc(4)
  bytes.writeUInt32BE(value)
  return bytes
}
const uint64 = (value: number) => {
  const bytes = Buffer.alloc(8)
  bytes.writeBigUInt64BE(BigInt(value))
  return bytes
}
const text = (value: string | Buffer) => {
  const bytes = typeof value === 'string' ? Buffer.from(value, 'utf8') : value
  return Buffer.concat([uint32(bytes.length), bytes])
}

/**
 * The attributes to set, one request each: SFTP servers before pkg/sftp 1.13.7 (Debian 12's
 * Incus among them) read a SETSTAT's fields in another order than the draft's, so a request
 * carries owner or mode alone, which both orders read alike. The owner goes first, as chown
 * clears the set-id bits a mode may set.
 */
function attrRequests(attrs: SftpAttrs): Buffer[] {
  const owner = attrs.uid !== undefined && attrs.gid !== undefined
  return [
    ...(owner ? [Buffer.concat([uint32(ATTR_UIDGID), uint32(attrs.uid as number), uint32(attrs.gid as number)])] : []),
    ...(attrs.mode !== undefined ? [Buffer.concat([uint32(ATTR_PERMISSIONS), uint32(attrs.mode)])] : []),
  ]
}

const NO_ATTRS = uint32(0)

/** Reads a packet's fields in order. */
class Fields {
  #at = 0
  constructor(private readonly bytes: Buffer) {}
  uint32(): number {
    const value = this.bytes.readUInt32BE(this.#at)
    this.#at += 4
    return value
  }
  bytesField(): Buffer {
    const length = this.uint32()
    const value = this.bytes.subarray(this.#at, this.#at + length)
    this.#at += length
    return value
  }
  attrs(): SftpAttrs {
    const flags = this.uint32()
    const attrs: SftpAttrs = {}
    if (flags & 0x01) this.#at += 8 // size
    if (flags & ATTR_UIDGID) {
      attrs.uid = this.uint32()
      attrs.gid = this.uint32()
    }
    if (flags & ATTR_PERMISSIONS) attrs.mode = this.uint32()
    if (flags & 0x08) this.#at += 8 // access and modification times
    if (flags & 0x80000000)
      for (let count = this.uint32(); count > 0; count--) {
        this.bytesField()
        this.bytesField()
      }
    return attrs
  }
}

interface Reply {
  type: number
  fields: Fields
}

/** At most this much file content in one WRITE or READ: the server takes packets up to 128 KiB. */
const WRITE_CHUNK = 32 * 1024
const READ_CHUNK = 32 * 1024

export class SftpSession {
  readonly #connection: Socket
  readonly #pending = new Map<number, {resolve: (reply: Reply) => void; reject: (error: Error) => void}>()
  #nextId = 1
  #received: Buffer = Buffer.alloc(0)
  #broken: Error | undefined
  #onVersion: (() => void) | undefined
  readonly #closed: Promise<void>

  private constructor(connection: Socket) {
    this.#connection = connection
    this.#closed = new Promise((resolve) => connection.once('close', () => resolve()))
    connection.on('data', (chunk: Buffer) => this.#receive(chunk))
    connection.on('error', (error) =>
      this.#fail(error instanceof SocketUnavailableError ? error : new SocketUnavailableError(error.message)),
    )
    connection.on('close', () => this.#fail(new SocketUnavailableError('the SFTP session ended')))
  }

  /**
   * Opens a session: the upgrade request for `path` (an API path with its query) on the
   * daemon's socket, then SFTP's version exchange.
   */
  static async open(socket: string, path: string, timeoutMs: number): Promise<SftpSession> {
    const {createConnection} = process.getBuiltinModule('node:net')
    const connection = createConnection(socket)
    connection.setTimeout(timeoutMs, () =>
      connection.destroy(new SocketUnavailableError(`${socket} did not answer within ${timeoutMs} ms`, true)),
    )
    const rest = await upgrade(connection, path)
    const session = new SftpSession(connection)
    const version = new Promise<void>((resolve) => {
      session.#onVersion = resolve
    })
    connection.write(packet(INIT, uint32(3)))
    if (rest.length > 0) session.#receive(rest)
    await Promise.race([version, session.#closed.then(() => Promise.reject(session.#broken))])
    return session
  }

  /**
   * What is at a path, as the file API tells it: a file's bytes, a directory's names (one a
   * line), a symlink's target; only its type, owner and mode with `content: false`. Undefined
   * when nothing is there.
   */
  async read(
    path: string,
    options: {content?: boolean} = {},
  ): Promise<{attrs: SftpAttrs; type: 'file' | 'directory' | 'symlink'; content: string} | undefined> {
    const attrs = await this.lstat(path)
    if (!attrs) return undefined
    const type = isDirectory(attrs) ? 'directory' : isSymlink(attrs) ? 'symlink' : 'file'
    if (options.content === false) return {attrs, type, content: ''}
    if (type === 'symlink') {
      // The target as the file API gives it: made absolute, then canonical.
      const target = await this.#name(READLINK, path)
      const absolute = target.startsWith('/') ? target : `${path.slice(0, path.lastIndexOf('/') + 1)}${target}`
      return {attrs, type, content: await this.#name(REALPATH, absolute)}
    }
    const handle = (
      type === 'directory'
        ? await this.#request(OPENDIR, HANDLE, text(path))
        : await this.#request(OPEN, HANDLE, text(path), uint32(FLAG_READ), NO_ATTRS)
    ).bytesField()
    try {
      return {attrs, type, content: type === 'directory' ? await this.#list(handle) : await this.#readAll(handle)}
    } finally {
      await this.#request(CLOSE, STATUS, text(handle))
    }
  }

  async #readAll(handle: Buffer): Promise<string> {
    const chunks: Buffer[] = []
    for (let offset = 0; ; ) {
      const data = await this.#untilEof(READ, DATA, text(handle), uint64(offset), uint32(READ_CHUNK))
      if (!data) return Buffer.concat(chunks).toString('utf8')
      const bytes = data.bytesField()
      chunks.push(Buffer.from(bytes))
      offset += bytes.length
    }
  }

  async #list(handle: Buffer): Promise<string> {
    const names: string[] = []
    for (;;) {
      const batch = await this.#untilEof(READDIR, NAME, text(handle))
      if (!batch)
        return names
          .sort()
          .map((name) => `${name}\n`)
          .join('')
      for (let count = batch.uint32(); count > 0; count--) {
        const name = batch.bytesField().toString('utf8')
        batch.bytesField() // the long name, as `ls -l` would print it
        batch.attrs()
        if (name !== '.' && name !== '..') names.push(name)
      }
    }
  }

  /** The one name a READLINK or REALPATH answers with. */
  async #name(type: number, path: string): Promise<string> {
    const names = await this.#request(type, NAME, text(path))
    names.uint32()
    return names.bytesField().toString('utf8')
  }

  /** A request that reads on, or undefined once the server says it is at the end. */
  async #untilEof(type: number, expect: number, ...fields: Buffer[]): Promise<Fields | undefined> {
    try {
      return await this.#request(type, expect, ...fields)
    } catch (error) {
      if (error instanceof SftpStatusError && error.code === EOF) return undefined
      throw error
    }
  }

  /** A path's type, owner and mode, without following a symlink; undefined when nothing is there. */
  async lstat(path: string): Promise<SftpAttrs | undefined> {
    try {
      return (await this.#request(LSTAT, ATTRS, text(path))).attrs()
    } catch (error) {
      if (error instanceof SftpStatusError && error.code === NO_SUCH_FILE) return undefined
      throw error
    }
  }

  /**
   * Makes a directory with `attrs`' owner and mode, as the file API does: one that is there
   * already is left as it is (SFTP version 3 has no code for "exists", so a refusal is looked
   * at), and a missing parent is NO_SUCH_FILE.
   */
  async makeDirectory(path: string, attrs: SftpAttrs): Promise<void> {
    try {
      await this.#request(MKDIR, STATUS, text(path), NO_ATTRS)
    } catch (error) {
      if (!(error instanceof SftpStatusError) || error.code === NO_SUCH_FILE) throw error
      const there = await this.lstat(path)
      if (there && isDirectory(there)) return
      throw error
    }
    await together(...attrRequests(attrs).map((request) => this.#request(SETSTAT, STATUS, text(path), request)))
  }

  /** Writes a whole file (made or truncated) with `attrs`' owner and mode, its requests side by side. */
  async writeFile(path: string, content: Buffer, attrs: SftpAttrs): Promise<void> {
    const handle = (
      await this.#request(OPEN, HANDLE, text(path), uint32(FLAG_WRITE | FLAG_CREATE | FLAG_TRUNCATE), NO_ATTRS)
    ).bytesField()
    const chunks: Promise<unknown>[] = []
    for (let offset = 0; offset < content.length; offset += WRITE_CHUNK)
      chunks.push(
        this.#request(
          WRITE,
          STATUS,
          text(handle),
          uint64(offset),
          text(content.subarray(offset, offset + WRITE_CHUNK)),
        ),
      )
    for (const request of attrRequests(attrs)) chunks.push(this.#request(FSETSTAT, STATUS, text(handle), request))
    // The server finishes a handle's writes before it closes it.
    chunks.push(this.#request(CLOSE, STATUS, text(handle)))
    await together(...chunks)
  }

  /**
   * Ends the session once the server has let go of the file system. The server syncs the file
   * system when a session ends, and an instance that starts meanwhile waits a whole second for
   * it (forkfile polls its sessions once a second). Closing our side would not say when that is
   * done, as the daemon closes the server's side at once; an empty packet, which ends any SFTP
   * server's session as a protocol error, makes the server close it after its sync, and the
   * daemon closes ours then.
   */
  async close(): Promise<void> {
    if (!this.#broken) this.#connection.write(Buffer.alloc(4))
    await this.#closed
  }

  #request(type: number, expect: number, ...fields: Buffer[]): Promise<Fields> {
    if (this.#broken) return Promise.reject(this.#broken)
    const id = this.#nextId++
    return new Promise<Reply>((resolve, reject) => {
      this.#pending.set(id, {resolve, reject})
      this.#connection.write(packet(type, uint32(id), ...fields))
    }).then(({type: answered, fields: reply}) => {
      if (answered === STATUS) {
        const code = reply.uint32()
        const message = reply.bytesField().toString('utf8')
        if (code !== 0 || expect !== STATUS) throw new SftpStatusError(code, message || `SFTP status ${code}`)
        return reply
      }
      if (answered !== expect) throw new SocketUnavailableError(`the SFTP server answered ${answered} to ${type}`)
      return reply
    })
  }

  #receive(chunk: Buffer): void {
    this.#received = this.#received.length === 0 ? chunk : Buffer.concat([this.#received, chunk])
    while (this.#received.length >= 4) {
      const length = this.#received.readUInt32BE(0)
      if (this.#received.length < 4 + length) return
      const body = this.#received.subarray(4, 4 + length)
      this.#received = this.#received.subarray(4 + length)
      const type = body[0] as number
      if (type === VERSION) {
        this.#onVersion?.()
        continue
      }
      const id = body.readUInt32BE(1)
      const pending = this.#pending.get(id)
      this.#pending.delete(id)
      pending?.resolve({type, fields: new Fields(body.subarray(5))})
    }
  }

  #fail(error: Error): void {
    this.#broken ??= error
    for (const pending of this.#pending.values()) pending.reject(this.#broken)
    this.#pending.clear()
  }
}

/**
 * Sends the upgrade request and waits for its answer: 101, and the bytes after its head (the
 * daemon drops anything sent before it answers, so SFTP starts only then), or the daemon's
 * refusal as an SftpRefusedError.
 */
function upgrade(connection: Socket, path: string): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    let received = Buffer.alloc(0)
    const onData = (chunk: Buffer) => {
      received = Buffer.concat([received, chunk])
      const headEnd = received.indexOf('\r\n\r\n')
      if (headEnd < 0) return
      const head = received.subarray(0, headEnd).toString('latin1')
      const status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(head)?.[1] ?? 0)
      if (status === 101) {
        connection.off('data', onData)
        connection.off('error', onError)
        resolve(received.subarray(headEnd + 4))
        return
      }
      const length = Number(/\r\ncontent-length:\s*(\d+)/i.exec(head)?.[1] ?? 0)
      if (received.length < headEnd + 4 + length) return
      connection.destroy()
      reject(new SftpRefusedError(refusal(received.subarray(headEnd + 4).toString('utf8'), status), status))
    }
    const onError = (error: Error) =>
      reject(error instanceof SocketUnavailableError ? error : new SocketUnavailableError(error.message))
    connection.on('data', onData)
    connection.once('error', onError)
    connection.once('close', () => reject(new SocketUnavailableError(`the daemon closed ${path} without answering`)))
    connection.write(
      `GET ${path} HTTP/1.1\r\nHost: incus\r\nUser-Agent: repoman\r\nConnection: Upgrade\r\nUpgrade: sftp\r\n\r\n`,
    )
  })
}

/** The daemon's message in an error document, else the HTTP status. */
function refusal(body: string, status: number): string {
  try {
    return (JSON.parse(body) as {error?: string}).error || `HTTP ${status}`
  } catch {
    return `HTTP ${status}`
  }
}
