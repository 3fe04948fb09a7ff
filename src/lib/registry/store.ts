/**
 * Reading and writing `repoman.toml`. Every change happens under an exclusive lock, re-reads
 * the file inside the lock, and replaces it atomically (temp file, fsync, rename), so
 * concurrent repoman processes never lose each other's entries and a crash never leaves half a
 * file. A file that does not parse is never written.
 */

import {existsSync} from 'node:fs'
import {copyFile, mkdir, readFile, stat} from 'node:fs/promises'
import {basename, dirname} from 'node:path'
import {ConfigError, NotSetUpError} from '../errors.js'
import {detectHostUser, detectLanIp} from '../host.js'
import {type HostUser, migrate, type Registry, schemaOf, toDocument, validateRegistry} from './schema.js'

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
    const e = error as Error & {line?: number}
    const what = e.message.split('\n')[0]?.replace(/^Invalid TOML document: /, '') ?? 'invalid TOML'
    throw new ConfigError(
      `${file}${e.line ? `:${e.line}` : ''}: ${what}; fix the TOML syntax and run the command again`,
    )
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

export interface RegistryStoreOptions {
  hostUser?: () => HostUser
  lanIp?: () => string
}

export class RegistryStore {
  private readonly hostUser: () => HostUser
  private readonly lanIp: () => string

  constructor(
    readonly file: string,
    options: RegistryStoreOptions = {},
  ) {
    this.hostUser = options.hostUser ?? (() => detectHostUser())
    this.lanIp = options.lanIp ?? detectLanIp
  }

  exists(): boolean {
    return existsSync(this.file)
  }

  /**
   * The registry as it is now. A file in an older schema is migrated and rewritten once, with
   * the original kept beside it as `repoman.toml.bak-schema<N>`.
   */
  async read(): Promise<Registry> {
    // The prerun hook, the command and the postrun hook all read it: parse once per version of
    // the file (a write renames a new file into place, so inode, size or mtime change).
    const version = await stat(this.file).then(
      (s) => `${s.ino}:${s.size}:${s.mtimeMs}`,
      () => undefined,
    )
    const cached = version === undefined ? undefined : parsedFiles.get(this.file)
    if (cached && cached.version === version) return structuredClone(cached.registry)
    const parsed = await this.parse(await this.readText())
    if (version !== undefined && parsed.migratedFrom === undefined)
      parsedFiles.set(this.file, {version, registry: structuredClone(parsed.registry)})
    if (parsed.migratedFrom === undefined) return parsed.registry
    return this.withLock(async () => {
      const text = await this.readText()
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
      const {registry} = await this.parse(await this.readText())
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
      const current = this.exists() ? (await this.parse(await this.readText())).registry : undefined
      const registry = build(current)
      const next = await serializeRegistry(registry)
      const changed = current === undefined || next !== (await serializeRegistry(current))
      if (changed) await this.writeText(next)
      return {registry, changed}
    })
  }

  private async parse(text: string): Promise<ParsedRegistry> {
    return parseRegistry(text, this.file, this.hostUser(), this.lanIp)
  }

  private async readText(): Promise<string> {
    try {
      return await readFile(this.file, 'utf8')
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT')
        throw new NotSetUpError(`no registry at ${this.file}; run \`repoman setup\` first`)
      throw new ConfigError(`cannot read ${this.file}: ${(error as Error).message}`)
    }
  }

  private async writeText(text: string): Promise<void> {
    const {default: writeFileAtomic} = await import('write-file-atomic')
    await writeFileAtomic(this.file, text, {fsync: true})
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
