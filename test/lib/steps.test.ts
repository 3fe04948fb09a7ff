import {expect} from 'chai'
import {IncompleteRollbackError, UsageError} from '../../src/lib/errors.js'
import {inPool, runSteps, type Step, type StepWatch, type Undo} from '../../src/lib/steps.js'

/** A step that records what it did and, when `fails`, throws after registering its own undo. */
function step(name: string, log: string[], options: {fails?: boolean; undoFails?: boolean} = {}): Step {
  return {
    title: name,
    async run(_control, onUndo: (undo: Undo) => void) {
      log.push(`do ${name}`)
      onUndo(async () => {
        if (options.undoFails) throw new Error(`cannot undo ${name}`)
        log.push(`undo ${name}`)
      })
      if (options.fails) throw new UsageError(`${name} failed`)
      return undefined
    },
  }
}

describe('steps', () => {
  it('runs steps in order and undoes nothing when all succeed', async () => {
    const log: string[] = []
    await runSteps([step('a', log), step('b', log)])
    expect(log).to.deep.equal(['do a', 'do b'])
  })

  it('undoes what every step did, in reverse, when one fails, and rethrows its error', async () => {
    const log: string[] = []
    const run = runSteps([step('a', log), step('b', log), step('c', log, {fails: true}), step('d', log)])
    await run.then(
      () => expect.fail('the run should fail'),
      (error) => expect(error).to.be.instanceOf(UsageError).with.property('message', 'c failed'),
    )
    expect(log).to.deep.equal(['do a', 'do b', 'do c', 'undo c', 'undo b', 'undo a'])
  })

  it('tries every undo and names the ones that failed with the original error', async () => {
    const log: string[] = []
    const run = runSteps([step('a', log), step('b', log, {undoFails: true}), step('c', log, {fails: true})])
    const error = await run.then(
      () => expect.fail('the run should fail'),
      (e: Error) => e,
    )
    expect(error).to.be.instanceOf(IncompleteRollbackError)
    expect(error.message).to.equal('c failed; undoing what was done failed too: cannot undo b')
    expect(log).to.deep.equal(['do a', 'do b', 'do c', 'undo c', 'undo a'])
  })

  it("runs a fanout's steps side by side, each failing on its own without undoing the run", async () => {
    const log: string[] = []
    const fanning: Step = {
      title: 'fan out',
      run: async () => ({steps: [step('x', log, {fails: true}), step('y', log)], concurrency: 2}),
    }
    await runSteps([step('a', log), fanning, step('b', log)])
    expect(log).to.deep.equal(['do a', 'do x', 'do y', 'do b'])
  })

  it('lets a display that comes late see each step from where it is, and how it ended', async () => {
    const log: string[] = []
    const talking: Step = {
      title: 'talk',
      async run(control) {
        control.title('talked before anyone listened')
        control.output('and said this')
        return {steps: [step('x', log, {fails: true}), step('y', log)], concurrency: 1}
      },
    }
    const watches: StepWatch[] = []
    await runSteps([talking, step('b', log)], (watch) => watches.push(watch))
    expect(watches.map((watch) => watch.step.title)).to.deep.equal(['talk', 'x', 'y', 'b'])
    const heard: string[] = []
    watches[0]?.listen({title: (text) => heard.push(`title: ${text}`), output: (text) => heard.push(`output: ${text}`)})
    expect(heard).to.deep.equal(['title: talked before anyone listened', 'output: and said this'])
    expect((await watches[0]?.ended)?.steps.map((sub) => sub.title)).to.deep.equal(['x', 'y'])
    const failed = await watches[1]?.ended.then(
      () => undefined,
      (error: Error) => error.message,
    )
    expect(failed).to.equal('x failed')
  })

  it('keeps at most `limit` pieces of work running at once', async () => {
    let running = 0
    let most = 0
    await inPool([1, 2, 3, 4, 5], 2, async () => {
      running++
      most = Math.max(most, running)
      await new Promise((resolve) => setTimeout(resolve, 5))
      running--
    })
    expect(most).to.equal(2)
  })
})
