/**
 * The base of every repoman command: `--json` on all of them, errors reduced to one line with
 * the right exit code (never a stack), and lazy access to the registry and Incus.
 */
import {Command, Flags} from '@oclif/core'
import {oneLine, RepomanError} from './errors.js'
import type {IncusClient} from './incus/client.js'
import type {RunLog} from './log.js'
import {type RepomanPaths, resolvePaths} from './paths.js'
import type {Registry} from './registry/schema.js'
import type {RegistryStore} from './registry/store.js'

export interface RepomanContext {
  paths: RepomanPaths
  store: RegistryStore
  registry: Registry
  incus: IncusClient
  /** The invocation log, for commands that change something. */
  log?: RunLog
}

export abstract class RepomanCommand<T> extends Command {
  static override enableJsonFlag = true
  /** Commands that need a valid registry; the prerun hook checks it before they run. */
  static requiresRegistry = true
  /** Commands that change something log what they ran (and what Incus said) to the log dir. */
  static changesState = false

  static override baseFlags = {
    verbose: Flags.boolean({
      description: 'Echo what repoman runs (incus, rsync) and what they print.',
      helpGroup: 'GLOBAL',
    }),
  }

  protected get paths(): RepomanPaths {
    return resolvePaths()
  }

  /** The registry (validated, migrated) and an Incus client scoped to its project. */
  protected async repoman(): Promise<RepomanContext> {
    const [{RegistryStore}, {IncusClient, describeIncusCommand}] = await Promise.all([
      import('./registry/store.js'),
      import('./incus/client.js'),
    ])
    const paths = this.paths
    const store = new RegistryStore(paths.registryFile)
    const registry = await store.read()
    const {flags} = await this.parse()
    const echo = flags.verbose ? (line: string) => this.logToStderr(line) : undefined
    let log: RunLog | undefined
    if ((this.constructor as typeof RepomanCommand).changesState) {
      const {logDirOf, RunLog: Log} = await import('./log.js')
      log = new Log(logDirOf(registry, paths), this.id ?? 'repoman', echo)
    }
    const incus = new IncusClient({
      project: registry.defaults.incus_project,
      onCommand: (e) => {
        const line = describeIncusCommand(e)
        if (log) log.write(`${line}${e.stderr ? `\n${e.stderr}` : ''}`)
        else echo?.(line)
      },
    })
    return {paths, store, registry, incus, log}
  }

  /** True when a person can answer prompts: stdin and stdout are terminals and --json is off. */
  protected get interactive(): boolean {
    return Boolean(process.stdin.isTTY && process.stdout.isTTY) && !this.jsonEnabled()
  }

  protected override toErrorJson(error: unknown): {error: {code: string; message: string; exitCode: number}} {
    const e = error instanceof RepomanError ? error : undefined
    return {error: {code: e?.code ?? 'ERROR', message: oneLine(error), exitCode: e?.exitCode ?? 1}}
  }

  protected override async catch(error: Error & {code?: string; oclif?: {exit?: number}}): Promise<unknown> {
    // this.exit(n) throws to unwind; it is not a failure to report.
    if (error.code === 'EEXIT') throw error
    const exit = error instanceof RepomanError ? error.exitCode : (error.oclif?.exit ?? 1)
    if (this.jsonEnabled()) this.logJson(this.toErrorJson(error))
    else process.stderr.write(`Error: ${oneLine(error)}\n`)
    return this.exit(exit)
  }

  abstract override run(): Promise<T>
}
