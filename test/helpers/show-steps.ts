/** Runs showSteps on a few made-up steps (`ok` or `fail`), and prints on stdout what ran. */
import {showSteps} from '../../src/cli/ui.js'
import type {Step} from '../../src/lib/steps.js'

const ran: string[] = []
const undone: string[] = []
const step = (title: string, run: Step['run']): Step => ({title, run})
const steps: Step[] = [
  step('first', async (control, onUndo) => {
    ran.push('first')
    onUndo(async () => {
      undone.push('first')
    })
    control.title('first, renamed before it was drawn')
    return undefined
  }),
  step('second', async () => {
    ran.push('second')
    if (process.argv[2] === 'fail') throw new Error('no good')
    return undefined
  }),
  ...(process.argv[2] === 'fail'
    ? [
        step('third', async () => {
          ran.push('third')
          return undefined
        }),
      ]
    : []),
]
try {
  await showSteps(steps, {json: false})
} catch {
  process.exitCode = 1
}
process.stdout.write(`ran: ${ran.join(' ')}${undone.length > 0 ? `; undone: ${undone.join(' ')}` : ''}\n`)
