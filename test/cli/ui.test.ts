import {execFile} from 'node:child_process'
import {resolve} from 'node:path'
import {promisify} from 'node:util'
import {expect} from 'chai'

/**
 * showSteps as a person in a pipe sees it (listr2's plain renderer on stderr): the steps start
 * before listr2 has loaded, and each is drawn with what it said meanwhile; a failure has been
 * undone when it is drawn, and the run stops there.
 */
describe('showSteps: steps drawn by listr2', () => {
  const script = resolve(import.meta.dirname, '../helpers/show-steps.ts')
  const show = (mode: string) =>
    promisify(execFile)(process.execPath, ['--import', 'tsx', script, mode], {env: {...process.env, CI: 'true'}}).then(
      ({stdout, stderr}) => ({exitCode: 0, stdout, stderr}),
      (error: {code: number; stdout: string; stderr: string}) => ({
        exitCode: error.code,
        stdout: error.stdout,
        stderr: error.stderr,
      }),
    )

  it('draws every step, the titles a step gave itself before listr2 was there included', async () => {
    const shown = await show('ok')
    expect(shown.exitCode, shown.stderr).to.equal(0)
    expect(shown.stderr.split('\n').filter((line) => line.startsWith('✔'))).to.deep.equal([
      '✔ first, renamed before it was drawn',
      '✔ second',
    ])
    expect(shown.stdout).to.equal('ran: first second\n')
  })

  it('draws a failing step as failed once its undo ran, and runs nothing after it', async () => {
    const shown = await show('fail')
    expect(shown.exitCode).to.equal(1)
    expect(shown.stderr).to.match(/✖ second[\s\S]*no good/)
    expect(shown.stderr).to.not.include('third')
    expect(shown.stdout).to.equal('ran: first second; undone: first\n')
  })
})
