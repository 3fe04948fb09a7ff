import {expect} from 'chai'
import sinon from 'sinon'
import {IncusError} from '../../../src/lib/errors.js'
import {IncusClient} from '../../../src/lib/incus/client.js'

/** Incus's operation lock cannot be held on demand for a test: its answers are stubbed here. */
describe('IncusClient: an instance busy with another operation', () => {
  afterEach(() => sinon.restore())
  const answer = (exitCode: number, stderr = '') => ({
    args: [],
    exitCode,
    stdout: exitCode ? '' : 'ok',
    stderr,
    signal: null,
  })

  it('tries again while the instance is busy, and returns what the call then gives', async () => {
    const client = new IncusClient({project: 'p'})
    const capture = sinon.stub(client, 'capture')
    capture
      .onCall(0)
      .resolves(answer(1, 'Error: Stopping the instance failed: Instance is busy running a "update" operation\n'))
    capture
      .onCall(1)
      .resolves(
        answer(
          1,
          'Error: The following instances failed to update (profile change still saved):\n - Project: p, Instance: a: Failed to create instance update operation: A matching non-reusable operation has now succeeded\n',
        ),
      )
    capture.onCall(2).resolves(answer(0))
    expect(await client.run(['delete', 'a'])).to.equal('ok')
    sinon.assert.calledThrice(capture)
  })

  it('fails at once on any other error', async () => {
    const client = new IncusClient({project: 'p'})
    const capture = sinon.stub(client, 'capture').resolves(answer(1, 'Error: Instance not running\n'))
    const error = await client.run(['stop', 'a']).catch((e: Error) => e)
    expect(error).to.be.instanceOf(IncusError)
    sinon.assert.calledOnce(capture)
  })
})
