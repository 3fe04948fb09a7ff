/**
 * Reading and writing `repoman.toml`. Every change happens under an exclusive lock, re-reads
 * the file inside the lock, and replaces it atomically (temp file, fsync, rename), so
 * concurrent repoman processes never lose each other's entries and a crash never leaves half a
 * file. A file that does not parse is never written.
 */

import {
  type BigIntStats,
  existsSync,
  mkdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs'
import {copyFile, mkdir} from 'node:fs/promises'
import {basename, dirname, join} from 'node:path'
import {fileURLToPath} from 'node:url'
import {ConfigError, NotSetUpError} from '../errors.js'
import {detectHostUser, detectLanIp} from '../host.js'
import {PACKAGE_ROOT, type RepomanPaths} from '../paths.js'
import {type HostUser, migrate, type Registry, schemaOf, toDocument, validateRegistry} from './schema.js'
import {tomlSyntaxError} from './toml-check.js'

export interface ParsedRegistry {
  registry: Registry
  /** The schema the file was written in, when older than the current one. */
  migratedFrom?: number
}

/** Parses registry text (pure apart from the TOML library); throws ConfigError with file:line. */
export async function parseRegistry(
  text: string,
  file: string,
  hostUser: HostUser,
  lanIp: () => string,
): Promise<ParsedRegistry> {
  const {parse} = await import('smol-toml')
  let doc: Record<string, unknown>
  try {
    doc = parse(text)
  } catch (error) {
    throw tomlSyntaxError(error, file)
  }
  const schema = schemaOf(doc, text, file)
  if (schema === 3) return {registry: validateRegistry(doc, text, file, hostUser)}
  const migrated = migrate(doc, schema, lanIp())
  return {registry: validateRegistry(migrated, text, file, hostUser), migratedFrom: schema}
}

export async function serializeRegistry(registry: Registry): Promise<string> {
  const {stringify} = await import('smol-toml')
  return `${stringify(toDocument(registry))}\n`
}

const parsedFiles = new Map<string, {version: string; registry: Registry}>()

/** The parse cache's content. */
interface SavedParse {
  file: string
  version: string
  registry: Registry
}

/**
 * Changes whenever repoman is upgraded or rebuilt, so a cached parse never outlives the code that
 * made it: the package version (npm gives every installed file the same fixed mtime) and the
 * build's mtime (a rebuild of a checkout keeps the version). The build is `dist`, made anew by
 * each build, and not this module's file: the oclif path and the fast path's bundle are two
 * files of one build, and must find each other's parses.
 */
let stamp: string | undefined
function codeStamp(): string {
  if (stamp === undefined) {
    const {version} = JSON.parse(readFileSync(join(PACKAGE_ROOT, 'package.json'), 'utf8'))
    const here = fileURLToPath(import.meta.url)
    const dist = join(PACKAGE_ROOT, 'dist')
    stamp = `${version}@${statSync(here.startsWith(`${dist}/`) ? dist : here).mtimeMs}`
  }
  return stamp
}

export interface RegistryStoreOptions {
  hostUser?: () => HostUser
  lanIp?: () => string
  /** Where parsed registries are kept between runs (a JSON file); none by default. */
  parseCacheFile?: string
}

export class RegistryStore {
  private readonly hostUser: () => HostUser
  private readonly lanIp: () => string
  private readonly parseCacheFile?: string

  /** The user's registry, with the parse cache in the user's cache dir. */
  static of(paths: RepomanPaths): RegistryStore {
    return new RegistryStore(paths.registryFile, {parseCacheFile: join(paths.cacheDir, 'registry.json')})
  }

  constructor(
    readonly file: string,
    options: RegistryStoreOptions = {},
  ) {
    this.hostUser = options.hostUser ?? (() => detectHostUser())
    this.lanIp = options.lanIp ?? detectLanIp
    this.parseCacheFile = options.parseCacheFile
  }

  /** Loads what a write needs (lock, atomic write, TOML writer) in the background, e.g. while Incus works. */
  prepareWrite(): void {
    Promise.all([import('proper-lockfile'), import('write-file-atomic'), import('smol-toml')]).catch(() => {
      // The write itself will load them again, and report what fails.
    })
  }

  exists(): boolean {
    return existsSync(this.file)
  }

  /**
   * The registry as it is now. A file in an older schema is migrated and rewritten once, with
   * the original kept beside it as `repoman.toml.bak-schema<N>`.
   */
  async read(): Promise<Registry> {
    const version = this.version()
    const known = version === undefined ? undefined : this.parsedBefore(version)
    if (known) return structuredClone(known)
    const parsed = await this.parse(this.readText())
    if (version !== undefined && parsed.migratedFrom === undefined) this.remember(version, parsed.registry)
    if (parsed.migratedFrom === undefined) return parsed.registry
    return this.withLock(async () => {
      const text = this.readText()
      const again = await this.parse(text)
      if (again.migratedFrom !== undefined) {
        const backup = `${this.file}.bak-schema${again.migratedFrom}`
        if (!existsSync(backup)) await copyFile(this.file, backup)
        await this.writeText(await serializeRegistry(again.registry))
      }
      return again.registry
    })
  }

  /**
   * Applies `change` to the current registry under the lock and writes the result if it
   * differs. Returns what `change` returns.
   */
  async update<T>(change: (registry: Registry) => T | Promise<T>): Promise<T> {
    return this.withLock(async () => {
      const {registry} = await this.parse(this.readText())
      // Compare what the registry means, not its text: a no-op keeps the user's formatting.
      const before = await serializeRegistry(registry)
      const result = await change(registry)
      const next = await serializeRegistry(registry)
      if (next !== before) await this.writeText(next)
      return result
    })
  }

  /**
   * Creates or rewrites the registry from whatever is there now (or nothing). Used by setup;
   * `build` sees the current registry, if any, and returns the one to keep.
   */
  async replace(build: (current: Registry | undefined) => Registry): Promise<{registry: Registry; changed: boolean}> {
    await mkdir(dirname(this.file), {recursive: true})
    return this.withLock(async () => {
      const current = this.exists() ? (await this.parse(this.readText())).registry : undefined
      const registry = build(current)
      const next = await serializeRegistry(registry)
      const changed = current === undefined || next !== (await serializeRegistry(current))
      if (changed) await this.writeText(next)
      return {registry, changed}
    })
  }

  /**
   * What identifies this version of the file and how it was judged: inode, size, mtime and
   * ctime (a write renames a new file into place, and no tool can set ctime back), the host
   * user defaults were filled from, and this code's own version.
   */
  private version(): string | undefined {
    // Sync, as readText: a session's first async file call would start libuv's thread pool.
    let s: BigIntStats
    try {
      s = statSync(this.file, {bigint: true})
    } catch {
      return undefined
    }
    return [s.ino, s.size, s.mtimeNs, s.ctimeNs, JSON.stringify(this.hostUser()), codeStamp()].join(':')
  }

  /**
   * The registry parsed from this version before: in this process (the prerun hook, the
   * command and the postrun hook all read it), or by an earlier run, from the parse cache.
   * Loading the TOML parser and validating costs more than a whole `repoman list`.
   */
  private parsedBefore(version: string): Registry | undefined {
    const inProcess = parsedFiles.get(this.file)
    if (inProcess?.version === version) return inProcess.registry
    if (!this.parseCacheFile) return undefined
    try {
      const saved = JSON.parse(readFileSync(this.parseCacheFile, 'utf8')) as SavedParse
      if (saved.file !== this.file || saved.version !== version) return undefined
      parsedFiles.set(this.file, {version, registry: saved.registry})
      return saved.registry
    } catch {
      return undefined
    }
  }

  private remember(version: string, registry: Registry): void {
    parsedFiles.set(this.file, {version, registry: structuredClone(registry)})
    if (!this.parseCacheFile) return
    // Derived data, rebuilt whenever it is missing or unreadable: a temp file and a rename are
    // enough (no fsync), and a cache that cannot be written is no failure.
    const temp = `${this.parseCacheFile}.${process.pid}.tmp`
    try {
      mkdirSync(dirname(this.parseCacheFile), {recursive: true})
      writeFileSync(temp, JSON.stringify({file: this.file, version, registry} satisfies SavedParse))
      renameSync(temp, this.parseCacheFile)
    } catch {
      rmSync(temp, {force: true})
    }
  }

  private async parse(text: string): Promise<ParsedRegistry> {
    return parseRegistry(text, this.file, this.hostUser(), this.lanIp)
  }

  private readText(): string {
    try {
      return readFileSync(this.file, 'utf8')
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT')
        throw new NotSetUpError(`no registry at ${this.file}; run \`repoman setup\` first`, {hint: 'repoman setup'})
      throw new ConfigError(`cannot read ${this.file}: ${(error as Error).message}`)
    }
  }

  /**
   * Writes the registry, and remembers it as parsed: the next command (often the very next
   * one, `list` after `new`) then finds it in the parse cache instead of parsing it again.
   */
  private async writeText(text: string): Promise<void> {
    const {default: writeFileAtomic} = await import('write-file-atomic')
    await writeFileAtomic(this.file, text, {fsync: true})
    // A cache that cannot be filled is no failure of the write.
    const version = this.version()
    const parsed = await this.parse(text).catch(() => undefined)
    if (version !== undefined && parsed?.migratedFrom === undefined && parsed) this.remember(version, parsed.registry)
  }

  private async withLock<T>(work: () => Promise<T>): Promise<T> {
    const {lock} = await import('proper-lockfile')
    let release: () => Promise<void>
    try {
      release = await lock(this.file, {
        realpath: false,
        lockfilePath: `${this.file}.lock`,
        // A holder that crashed leaves a lock that goes stale after 10 s; live holders refresh it.
        stale: 10_000,
        retries: {retries: 200, factor: 1.3, minTimeout: 5, maxTimeout: 250, randomize: true},
      })
    } catch (error) {
      throw new ConfigError(
        `cannot lock ${basename(this.file)} (${(error as Error).message}); is another repoman still running?`,
      )
    }
    try {
      return await work()
    } finally {
      await release()
    }
  }
}
