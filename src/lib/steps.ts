/**
 * How every command that changes something runs its plan: as steps, one after another. A step
 * registers how to take back what it did as soon as it has done it; when a step fails, all that
 * was registered so far is undone in reverse, and the error goes on. Showing progress is the
 * command layer's business (src/cli/ui.ts draws steps with listr2, watching `runSteps` run
 * them); without a display, nothing is shown.
 */
import {IncompleteRollbackError, oneLine} from './errors.js'

export type Undo = () => Promise<void>

/** What a running step may tell the person watching. */
export interface StepControl {
  /** Replaces the step's title with what it found or did. */
  title(text: string): void
  /** One line under the step: progress, or a warning (the next line replaces it). */
  output(text: string): void
}

/**
 * Steps a step hands on, to run side by side after it (sync's project-by-project retry). Each
 * fails on its own: it is shown as failed, the others go on, nothing is undone, and the step
 * that handed them on records the failures in its result.
 */
export interface Fanout {
  steps: Step[]
  concurrency: number
}

export interface Step {
  readonly title: string
  run(control: StepControl, onUndo: (undo: Undo) => void): Promise<Fanout | undefined>
}

/** One run of a plan's steps: the undo list they build, and the order they run in. */
class Execution {
  readonly #undo: Undo[] = []

  /** Runs a step; when it fails, undoes everything registered so far (its own part too) and rethrows. */
  async run(step: Step, control: StepControl): Promise<Fanout | undefined> {
    try {
      return await step.run(control, (undo) => this.#undo.push(undo))
    } catch (error) {
      const failures = await this.rollback()
      if (failures.length === 0) throw error
      throw new IncompleteRollbackError(`${oneLine(error)}; undoing what was done failed too: ${failures.join('; ')}`, {
        cause: error,
      })
    }
  }

  /** Runs a step handed on by a Fanout: its failure is rethrown for display, and nothing is undone. */
  async runIndependent(step: Step, control: StepControl): Promise<void> {
    await step.run(control, (undo) => this.#undo.push(undo))
  }

  /** Undoes in reverse; every undo is tried, and those that failed are returned as one line each. */
  async rollback(): Promise<string[]> {
    const failures: string[] = []
    for (const undo of this.#undo.splice(0).reverse())
      await undo().catch((error: unknown) => {
        failures.push(oneLine(error))
      })
    return failures
  }
}

/**
 * A step as it runs, for whoever shows it: what the step tells the person watching (the last
 * title and output are kept until a display listens, since a display may come later than the
 * step's start) and how it ends (its Fanout, or its failure once everything was undone).
 */
export class StepWatch implements StepControl {
  #listener: StepControl | undefined
  #title: string | undefined
  #output: string | undefined
  readonly ended: Promise<Fanout | undefined>

  constructor(
    readonly step: Step,
    run: (control: StepControl) => Promise<Fanout | undefined>,
  ) {
    this.ended = run(this)
  }

  title(text: string): void {
    this.#title = text
    this.#listener?.title(text)
  }

  output(text: string): void {
    this.#output = text
    this.#listener?.output(text)
  }

  listen(control: StepControl): void {
    this.#listener = control
    if (this.#title !== undefined) control.title(this.#title)
    if (this.#output !== undefined) control.output(this.#output)
  }
}

/** Waits for all of `work`, then fails with the first failure, if any (so no undo runs while a part still works). */
export async function together(...work: Promise<unknown>[]): Promise<void> {
  const failed = (await Promise.allSettled(work)).find((outcome) => outcome.status === 'rejected')
  if (failed) throw failed.reason
}

/** Runs `items` through `work`, at most `limit` at a time. */
export async function inPool<T>(items: T[], limit: number, work: (item: T) => Promise<void>): Promise<void> {
  const queue = [...items]
  const worker = async () => {
    for (let item = queue.shift(); item !== undefined; item = queue.shift()) await work(item)
  }
  await Promise.all(Array.from({length: Math.max(1, Math.min(limit, queue.length))}, worker))
}

/**
 * Runs the steps. `onStart` sees each one as it starts (a Fanout's steps too): a display
 * listens there, and without one nothing is shown. A Fanout's failures are left to the result
 * of the step that handed them on, and to whoever watches them.
 */
export async function runSteps(steps: Step[], onStart: (watch: StepWatch) => void = () => undefined): Promise<void> {
  const execution = new Execution()
  const start = (step: Step, run: (control: StepControl) => Promise<Fanout | undefined>) => {
    const watch = new StepWatch(step, run)
    onStart(watch)
    return watch.ended
  }
  for (const step of steps) {
    const fanout = await start(step, (control) => execution.run(step, control))
    if (fanout)
      await inPool(fanout.steps, fanout.concurrency, (sub) =>
        start(sub, (control) => execution.runIndependent(sub, control).then(() => undefined)).then(
          () => undefined,
          () => undefined,
        ),
      )
  }
}
