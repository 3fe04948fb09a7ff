/**
 * The base of every repoman command: `--json` on all of them, errors reduced to one line with
 * the right exit code (never a stack), and lazy access to the registry and Incus.
 */
import {Command, Flags} from '@oclif/core'
import type {CommandOutput, RepomanContext} from '../lib/context.js'
import {type ErrorResult, errorOutput, errorResult} from '../lib/errors.js'
import {type RepomanPaths, resolvePaths} from '../lib/paths.js'
import {canAsk, printWarning} from './ui.js'

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

  #flagDeprecationsWarned = false

  /** Once per run: `repoman()` parses again (for --verbose), which would repeat the warnings. */
  protected override warnIfFlagDeprecated(flags: Record<string, unknown>): void {
    if (this.#flagDeprecationsWarned) return
    this.#flagDeprecationsWarned = true
    super.warnIfFlagDeprecated(flags)
  }

  /** One line, as the fast path prints them too (oclif's own wraps and indents). */
  override warn(input: string | Error): string | Error {
    printWarning(typeof input === 'string' ? input : input.message, this.jsonEnabled())
    return input
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
    return canAsk(this.jsonEnabled())
  }

  /** Prints a command's lines (the same src/lib function gives them to the fast path) and sets its exit code. */
  protected output<R>({result, lines, exitCode}: CommandOutput<R>): R {
    for (const line of lines) this.log(line)
    if (exitCode !== 0) process.exitCode = exitCode
    return result
  }

  protected override toErrorJson(error: unknown): ErrorResult {
    return errorResult(error)
  }

  protected override async catch(error: Error & {code?: string}): Promise<unknown> {
    // this.exit(n) throws to unwind; it is not a failure to report.
    if (error.code === 'EEXIT') throw error
    const output = errorOutput(error, this.jsonEnabled())
    // oclif's logJson colours the document on a terminal.
    if (this.jsonEnabled()) this.logJson(this.toErrorJson(error))
    else process.stderr.write(output.text)
    return this.exit(output.exitCode)
  }

  abstract override run(): Promise<T>
}
