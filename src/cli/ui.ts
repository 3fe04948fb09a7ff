/**
 * What a person sees while a command works: its plan's steps as a listr2 task list, and
 * enquirer prompts. listr2 and enquirer load only when a command shows steps or asks something,
 * so `repoman --help` and `list` never pay for them. Nothing under src/lib imports this.
 */
import type {ListrTaskWrapper} from 'listr2'
import {runSteps, type Step, type StepControl, type StepWatch} from '../lib/steps.js'

/**
 * The renderer a user expects on stderr, where steps are drawn: live on a terminal, plain lines
 * in a pipe or log, silent under --json.
 */
export function rendererFor(
  json: boolean,
  stderrIsTTY: boolean,
  env: NodeJS.ProcessEnv,
): 'silent' | 'simple' | 'default' {
  if (json) return 'silent'
  if (!stderrIsTTY || env.CI === 'true' || env.TERM === 'dumb') return 'simple'
  return 'default'
}

// biome-ignore lint/suspicious/noExplicitAny: listr2's wrapper is generic over renderers this module does not name
type AnyTask = ListrTaskWrapper<any, any, any>

const controlOf = (task: AnyTask): StepControl => ({
  title: (text) => {
    task.title = text
  },
  output: (text) => {
    task.output = text
  },
})

/**
 * Runs a plan's steps (src/lib/steps.ts), drawn as a task list. They start at once, and listr2
 * draws each one from where it is when it has loaded (it takes longer to load than the first
 * steps of `new` take to run). A failing step has already undone the run's work when its
 * error reaches listr2; a Fanout's steps fail one by one without stopping the others.
 */
export async function showSteps(steps: Step[], options: {json: boolean}): Promise<void> {
  const started = new Map<Step, {watch?: StepWatch; waiting?: (watch: StepWatch) => void}>()
  const running = runSteps(steps, (watch) => {
    started.get(watch.step)?.waiting?.(watch)
    started.set(watch.step, {watch})
  })
  // Its failure reaches listr2 through the failing step's watch.
  running.catch(() => undefined)
  const watchOf = (step: Step) =>
    started.get(step)?.watch ??
    new Promise<StepWatch>((resolve) => {
      started.set(step, {waiting: resolve})
    })
  const follow = async (step: Step, task: AnyTask) => {
    const watch = await watchOf(step)
    watch.listen(controlOf(task))
    return watch.ended
  }
  const [{Listr, ListrLogger, ProcessOutput}, {PassThrough}] = await Promise.all([
    import('listr2'),
    import('node:stream'),
  ])
  const renderer = rendererFor(options.json, Boolean(process.stderr.isTTY), process.env)
  // Steps are for the person watching, so they go to stderr: stdout keeps the command's own
  // lines (or its --json), whatever reads it. listr2 takes over both of its streams while it
  // draws, so its second one is a stream nobody writes to, not stderr twice.
  const logger = new ListrLogger({
    useIcons: true,
    toStderr: [],
    processOutput: new ProcessOutput(process.stderr, new PassThrough() as unknown as NodeJS.WriteStream),
  })
  const list = new Listr(
    steps.map((step) => ({
      title: step.title,
      task: async (_ctx: object, task: AnyTask) => {
        const fanout = await follow(step, task)
        if (!fanout) return
        return task.newListr(
          fanout.steps.map((sub) => ({
            title: sub.title,
            task: async (_sub: object, subtask: AnyTask) => {
              await follow(sub, subtask)
            },
          })),
          {concurrent: fanout.concurrency, exitOnError: false},
        )
      },
    })),
    {
      renderer,
      fallbackRenderer: 'simple',
      collectErrors: false,
      rendererOptions: {collapseErrors: false, collapseSkips: false, logger},
      fallbackRendererOptions: {logger},
    },
  )
  await list.run()
  await running
}

/** A person can answer prompts: stdin and stdout are terminals, and the output is not --json. */
export function canAsk(json: boolean): boolean {
  return Boolean(process.stdin.isTTY && process.stdout.isTTY) && !json
}

/** Starts loading listr2 now, for a `showSteps` that comes after some waiting (on Incus, say). */
export function preloadSteps(): void {
  import('listr2').catch(() => {})
}

/**
 * A warning on stderr, on one line as errors are (a command in it can be copied whole); none
 * under --json, where the result carries the warnings.
 */
export function printWarning(text: string, json: boolean): void {
  if (!json) process.stderr.write(`Warning: ${text}\n`)
}

export async function askText(message: string, initial: string): Promise<string> {
  const {default: enquirer} = await import('enquirer')
  const answer = await enquirer.prompt<{value: string}>({type: 'input', name: 'value', message, initial})
  return answer.value.trim() || initial
}

export async function askConfirm(message: string, initial = false): Promise<boolean> {
  const {default: enquirer} = await import('enquirer')
  const answer = await enquirer.prompt<{value: boolean}>({type: 'confirm', name: 'value', message, initial})
  return answer.value
}

/** Asks for a token or key without echoing it. */
export async function askSecret(message: string): Promise<string> {
  const {default: enquirer} = await import('enquirer')
  const answer = await enquirer.prompt<{value: string}>({type: 'password', name: 'value', message})
  return answer.value
}
