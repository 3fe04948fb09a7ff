/**
 * Host-side access to a directory the container can write (the agent's git dir), that never
 * follows a link planted there. Each directory on the way is opened with O_NOFOLLOW and held
 * by its descriptor; everything below it is named through `/proc/self/fd/<fd>/<entry>`, so the
 * kernel resolves only that last entry, in the directory already held (openat(2) semantics,
 * which Node does not offer directly). Swapping a directory for a symlink between two calls
 * changes nothing: the descriptor still names the directory that was opened. (libuv opens
 * every descriptor close-on-exec, so none leaks into the processes repoman starts.)
 */
import {
  closeSync,
  constants,
  type Dirent,
  fstatSync,
  fsyncSync,
  mkdirSync,
  openSync,
  readdirSync,
  readSync,
  renameSync,
  type Stats,
  unlinkSync,
  writeSync,
} from 'node:fs'

const {O_RDONLY, O_DIRECTORY, O_NOFOLLOW, O_NONBLOCK, O_WRONLY, O_CREAT, O_EXCL} = constants

/** One entry name: no separators, not `.` or `..`. */
export function isPlainName(name: string): boolean {
  return name !== '' && name !== '.' && name !== '..' && !name.includes('/') && !name.includes('\0')
}

function checkName(name: string): string {
  if (!isPlainName(name)) throw new Error(`not a plain entry name: ${JSON.stringify(name)}`)
  return name
}

export class UntrustedDir {
  private constructor(
    private readonly fd: number,
    /** Where it was opened, for messages only: never used to reach the directory again. */
    readonly path: string,
  ) {}

  /** Opens a directory the host owns the path to (its last component is not followed either). */
  static open(path: string): UntrustedDir {
    return new UntrustedDir(openSync(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW), path)
  }

  /** Like open, undefined when there is no directory there (absent, a symlink, a file). */
  static openIfDir(path: string): UntrustedDir | undefined {
    try {
      return UntrustedDir.open(path)
    } catch {
      return undefined
    }
  }

  private at(name: string): string {
    return `/proc/self/fd/${this.fd}/${checkName(name)}`
  }

  /** The subdirectory at `rel` (`a/b`), each component held in turn; undefined unless every one is a real directory. */
  dir(rel: string): UntrustedDir | undefined {
    let current: UntrustedDir = this
    for (const name of rel.split('/')) {
      let next: UntrustedDir | undefined
      try {
        next = new UntrustedDir(
          openSync(current.at(name), O_RDONLY | O_DIRECTORY | O_NOFOLLOW),
          `${current.path}/${name}`,
        )
      } catch {
        next = undefined
      }
      if (current !== this) current.close()
      if (!next) return undefined
      current = next
    }
    return current
  }

  /** The subdirectory at `rel`, made where missing (mode 0755); throws when something else stands in the way. */
  makeDir(rel: string): UntrustedDir {
    let current: UntrustedDir = this
    for (const name of rel.split('/')) {
      try {
        mkdirSync(current.at(name), 0o755)
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error
      }
      const next = new UntrustedDir(
        openSync(current.at(name), O_RDONLY | O_DIRECTORY | O_NOFOLLOW),
        `${current.path}/${name}`,
      )
      if (current !== this) current.close()
      current = next
    }
    return current
  }

  /** The entries, without `.` and `..`; their types are what readdir saw (lstat-like: links are links). */
  list(): Dirent[] {
    return readdirSync(`/proc/self/fd/${this.fd}`, {withFileTypes: true})
  }

  /**
   * Runs `use` on `name` opened for reading when it is a regular file; undefined when it is
   * absent or anything else (a symlink, a FIFO, a device: never opened in a way that follows
   * or blocks).
   */
  private withRegularFile<T>(name: string, use: (fd: number, stat: Stats) => T): T | undefined {
    let fd: number
    try {
      fd = openSync(this.at(name), O_RDONLY | O_NOFOLLOW | O_NONBLOCK)
    } catch {
      return undefined
    }
    try {
      const stat = fstatSync(fd)
      return stat.isFile() ? use(fd, stat) : undefined
    } finally {
      closeSync(fd)
    }
  }

  /** A regular file's content (see withRegularFile). Larger than `limit`: an error, since no data repoman reads here is that large. */
  readFile(name: string, limit: number): Buffer | undefined {
    return this.withRegularFile(name, (fd, stat) => {
      if (stat.size > limit) throw new Error(`${this.path}/${name} is larger than ${limit} bytes`)
      const buffer = Buffer.alloc(stat.size)
      let read = 0
      while (read < stat.size) {
        const n = readSync(fd, buffer, read, stat.size - read, read)
        if (n === 0) break
        read += n
      }
      return buffer.subarray(0, read)
    })
  }

  /** A regular file's inode, size and mtime, to see it change; undefined when it is not one. */
  fileSignature(name: string): string | undefined {
    return this.withRegularFile(name, (_fd, stat) => `${stat.ino}:${stat.size}:${stat.mtimeMs}`)
  }

  /**
   * Replaces `name` with `data`: written to a new file made here (O_EXCL: never an existing
   * entry, never through a link), then renamed over `name`, which replaces whatever stood there
   * (a planted symlink included) without following it.
   */
  writeFile(name: string, data: string | Buffer, mode = 0o644): void {
    // node:crypto costs more to load than an exec's whole check: only when something is written.
    const {randomBytes} = process.getBuiltinModule('node:crypto')
    const temp = `.repoman-${randomBytes(6).toString('hex')}.tmp`
    const fd = openSync(this.at(temp), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW, mode)
    try {
      const buffer = typeof data === 'string' ? Buffer.from(data) : data
      let written = 0
      while (written < buffer.length) written += writeSync(fd, buffer, written)
      fsyncSync(fd)
    } finally {
      closeSync(fd)
    }
    try {
      renameSync(this.at(temp), this.at(name))
    } catch (error) {
      unlinkSync(this.at(temp))
      throw error
    }
  }

  /** Removes the entry `name` if it is not a directory (a link is removed, not followed). */
  remove(name: string): void {
    try {
      unlinkSync(this.at(name))
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error
    }
  }

  close(): void {
    closeSync(this.fd)
  }
}
