/**
 * Task lists and prompts. listr2 and enquirer load only when a command shows a list or asks
 * something, so `repoman --help` and `list` never pay for them.
 */
import type {ListrTask} from 'listr2'

export interface TaskListOptions {
  /** Under --json nothing but the JSON result may reach stdout. */
  json: boolean
  concurrent?: boolean | number
  /** Keep going when one task fails (each failure is reported at the end). */
  exitOnError?: boolean
}

/** The renderer a user expects: live on a terminal, plain lines in a pipe or log, silent under --json. */
export function rendererFor(
  json: boolean,
  stdoutIsTTY: boolean,
  env: NodeJS.ProcessEnv,
): 'silent' | 'simple' | 'default' {
  if (json) return 'silent'
  if (!stdoutIsTTY || env.CI === 'true' || env.TERM === 'dumb') return 'simple'
  return 'default'
}

export async function runTasks<C extends object>(tasks: ListrTask<C>[], ctx: C, options: TaskListOptions): Promise<C> {
  const {Listr} = await import('listr2')
  const renderer = rendererFor(options.json, Boolean(process.stdout.isTTY), process.env)
  const list = new Listr<C, typeof renderer>(tasks, {
    ctx,
    concurrent: options.concurrent ?? false,
    exitOnError: options.exitOnError ?? true,
    renderer,
    fallbackRenderer: 'simple',
    collectErrors: false,
    rendererOptions: {collapseErrors: false, collapseSkips: false},
  })
  return list.run()
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
