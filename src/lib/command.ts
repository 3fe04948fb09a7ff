/**
 * The base of every repoman command: `--json` on all of them, errors reduced to one line with
 * the right exit code (never a stack), and lazy access to the registry and Incus.
 */
import {Command, Flags} from '@oclif/core'
import {oneLine, RepomanError} from './errors.js'
import type {IncusClient} from './incus/client.js'
import {type RepomanPaths, resolvePaths} from './paths.js'
import type {Registry} from './registry/schema.js'
import type {RegistryStore} from './registry/store.js'

export interface RepomanContext {
  paths: RepomanPaths
  store: RegistryStore
  registry: Registry
  incus: IncusClient
}

export abstract class RepomanCommand<T> extends Command {
  static override enableJsonFlag = true
  /** Commands that need a valid registry; the prerun hook checks it before they run. */
  static requiresRegistry = true

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
    const [{RegistryStore}, {IncusClient}] = await Promise.all([
      import('./registry/store.js'),
      import('./incus/client.js'),
    ])
    const paths = this.paths
    const store = new RegistryStore(paths.registryFile)
    const registry = await store.read()
    const {flags} = await this.parse()
    const incus = new IncusClient({
      project: registry.defaults.incus_project,
      onCommand: flags.verbose
        ? (e) => this.logToStderr(`$ incus ${e.args.join(' ')}  [exit ${e.exitCode}]`)
        : undefined,
    })
    return {paths, store, registry, incus}
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
