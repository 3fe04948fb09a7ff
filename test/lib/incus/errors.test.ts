import {expect} from 'chai'
import {
  IncusAlreadyExistsError,
  IncusError,
  IncusNotFoundError,
  IncusUnreachableError,
} from '../../../src/lib/errors.js'
import {classifyIncusFailure} from '../../../src/lib/incus/errors.js'

const failure = (stderr: string, exitCode: number | null = 1, signal: string | null = null) =>
  classifyIncusFailure({args: ['query', '/1.0'], exitCode, signal, stdout: '', stderr, timeoutMs: 15_000})

describe('Incus failures', () => {
  it('says the daemon is unreachable, with what to check', () => {
    const error = failure(
      "Error: The incus daemon doesn't appear to be started (socket path: /var/lib/incus/unix.socket)",
    )
    expect(error).to.be.instanceOf(IncusUnreachableError)
    expect(error.message).to.match(/is incusd running, and is your user in the incus-admin group\?/)
    expect(failure('', null, 'SIGTERM').message).to.match(/did not answer within 15 s/)
    expect(failure('bash: line 1: incus: command not found', 127).message).to.match(/not installed/)
  })

  it("says how to join the daemon's group when the user may not use it", () => {
    const error = failure(
      "Error: You don't have the needed permissions to talk to the incus daemon (socket path: /var/lib/incus/unix.socket)",
    )
    expect(error).to.be.instanceOf(IncusUnreachableError)
    expect(error.message).to.equal(
      "your user may not use the Incus daemon (You don't have the needed permissions to talk to the incus daemon (socket path: /var/lib/incus/unix.socket)); join its group: `sudo usermod -aG incus-admin $USER`, then log in again (or `newgrp incus-admin`)",
    )
  })

  it('tells a missing resource from a missing Incus project', () => {
    expect(failure('Error: Failed to fetch instance "x" in project "p": Instance not found')).to.be.instanceOf(
      IncusNotFoundError,
    )
    const project = failure('Error: Failed loading project "gone": Project not found')
    expect(project).to.be.instanceOf(IncusError).and.not.be.instanceOf(IncusNotFoundError)
    expect(project.message).to.equal('Incus project "gone" does not exist; run `repoman setup` to create it')
  })

  it('recognises an existing name, and keeps the daemon’s words otherwise', () => {
    expect(
      failure('Error: Failed creating instance record: UNIQUE constraint failed: instances.project_id, instances.name'),
    ).to.be.instanceOf(IncusAlreadyExistsError)
    expect(failure('Error: Invalid devices: Device validation failed').message).to.equal(
      'incus query failed: Invalid devices: Device validation failed',
    )
  })
})
