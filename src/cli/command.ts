/**
 * The base of every repoman command: `--json` on all of them, errors reduced to one line with
 * the right exit code (never a stack), and lazy access to the registry and Incus.
 */
import {Command, Flags} from '@oclif/core'
import type {RepomanContext} from '../lib/context.js'
import {type ErrorResult, errorResult, exitCodeOf, oneLine} from '../lib/errors.js'
import {type RepomanPaths, resolvePaths} from '../lib/paths.js'

export type {RepomanContext} from '../lib/context.js'

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
    const {openRepoman} = await import('../lib/context.js')
    const {flags} = await this.parse()
    return openRepoman(this.paths, {
      commandId: this.id ?? 'repoman',
      changesState: (this.constructor as typeof RepomanCommand).changesState,
      echo: flags.verbose ? (line: string) => this.logToStderr(line) : undefined,
    })
  }

  /** True when a person can answer prompts: stdin and stdout are terminals and --json is off. */
  protected get interactive(): boolean {
    return Boolean(process.stdin.isTTY && process.stdout.isTTY) && !this.jsonEnabled()
  }

  protected override toErrorJson(error: unknown): ErrorResult {
    return errorResult(error)
  }

  protected override async catch(error: Error & {code?: string}): Promise<unknown> {
    // this.exit(n) throws to unwind; it is not a failure to report.
    if (error.code === 'EEXIT') throw error
    const exit = exitCodeOf(error)
    if (this.jsonEnabled()) this.logJson(this.toErrorJson(error))
    else process.stderr.write(`Error: ${oneLine(error)}\n`)
    return this.exit(exit)
  }

  abstract override run(): Promise<T>
}
