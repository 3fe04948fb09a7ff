/**
 * What every command that works on projects starts from: the registry (validated, migrated) and
 * an Incus client scoped to its project, plus the invocation log for commands that change
 * something. Shared by the oclif commands and the fast path.
 */
import {readFileSync} from 'node:fs'
import {describeIncusCommand, IncusClient} from './incus/client.js'
import type {RunLog} from './log.js'
import type {RepomanPaths} from './paths.js'
import {likelyIncusProject, type Registry} from './registry/schema.js'
import {RegistryStore} from './registry/store.js'

/**
 * What a command produced, whichever path ran it: its --json result, the lines a person sees
 * instead (empty under --json), and the exit code.
 */
export interface CommandOutput<T> {
  result: T
  lines: string[]
  exitCode: number
}

export interface RepomanContext {
  paths: RepomanPaths
  store: RegistryStore
  registry: Registry
  incus: IncusClient
  /** The invocation log, for commands that change something. */
  log?: RunLog
}

export interface OpenOptions {
  /** The command's id (`profile:install`), for the log. */
  commandId: string
  /** Commands that change something log what they ran (and what Incus said). */
  changesState: boolean
  /** Receives each Incus call (--verbose). */
  echo?: (line: string) => void
  /**
   * Reads to send before the registry is parsed (IncusClient.readAhead), to the project its
   * text most likely names; they are used only if the parsed registry names that project.
   */
  readAhead?: (incus: IncusClient) => void
}

export async function openRepoman(paths: RepomanPaths, options: OpenOptions): Promise<RepomanContext> {
  let log: RunLog | undefined
  const client = (project: string) =>
    new IncusClient({
      project,
      onCommand: (e) => {
        const line = describeIncusCommand(e)
        if (log) log.write(`${line}${e.stderr ? `\n${e.stderr}` : ''}`)
        else options.echo?.(line)
      },
    })
  let early: IncusClient | undefined
  if (options.readAhead) {
    // Sync: a session's first async file call would start libuv's thread pool, for one small file.
    let text: string | undefined
    try {
      text = readFileSync(paths.registryFile, 'utf8')
    } catch {
      // No registry: the store's read says so.
    }
    if (text !== undefined) {
      early = client(likelyIncusProject(text))
      options.readAhead(early)
      // One turn of the event loop: the socket connects and the request goes out now, so the
      // daemon works on it while the registry is read (else it would wait for that work).
      await new Promise((resolve) => setImmediate(resolve))
    }
  }
  const store = RegistryStore.of(paths)
  const registry = await store.read()
  if (options.changesState) {
    const {logDirOf, RunLog: Log} = await import('./log.js')
    log = new Log(logDirOf(registry, paths), options.commandId, options.echo)
  }
  const project = registry.defaults.incus_project
  const incus = early?.project === project ? early : client(project)
  return {paths, store, registry, incus, log}
}
