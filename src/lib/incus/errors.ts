/** Turns what a failed `incus` call printed into one of repoman's typed errors. */
import {
  IncusAlreadyExistsError,
  IncusError,
  IncusNotFoundError,
  IncusProjectMissingError,
  IncusUnreachableError,
} from '../errors.js'

export interface IncusFailure {
  args: string[]
  exitCode: number | null
  signal?: string | null
  stdout: string
  stderr: string
  timeoutMs: number
}

const UNREACHABLE_HINT = 'is incusd running, and is your user in the incus-admin group?'

/** The daemon's own words, without the CLI's "Error: " prefix, on one line. */
export function incusMessage(stderr: string): string {
  const lines = stderr
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '')
  const error = lines.find((l) => l.startsWith('Error: ')) ?? lines.at(-1) ?? ''
  return error.replace(/^Error: /, '')
}

export function classifyIncusFailure(failure: IncusFailure): IncusError {
  const command = `incus ${failure.args[0] ?? ''}`.trim()
  if (failure.exitCode === 127 && /incus: (command )?not found/.test(failure.stderr))
    return new IncusUnreachableError('the incus command is not installed; install Incus and run `repoman setup`')
  if (failure.exitCode === null || failure.signal)
    return new IncusUnreachableError(
      `Incus did not answer within ${Math.round(failure.timeoutMs / 1000)} s (${command}); ${UNREACHABLE_HINT}`,
    )
  const message = incusMessage(failure.stderr)
  if (/needed permissions to talk to the incus daemon/i.test(message))
    return new IncusUnreachableError(
      `your user may not use the Incus daemon (${message}); join its group: \`sudo usermod -aG incus-admin $USER\`, then log in again (or \`newgrp incus-admin\`)`,
      {hint: 'newgrp incus-admin'},
    )
  if (
    /doesn't appear to be started|unix\.socket.*(connection refused|no such file)|connect: permission denied/i.test(
      message,
    )
  )
    return new IncusUnreachableError(`cannot reach the Incus daemon (${message}); ${UNREACHABLE_HINT}`)
  // Not a missing resource (which callers may expect) but a missing home for all of them.
  const project = /Failed loading project "([^"]+)": Project not found/.exec(message)?.[1]
  if (project)
    return new IncusProjectMissingError(
      `Incus project "${project}" does not exist; run \`repoman setup\` to create it`,
      {
        hint: 'repoman setup',
      },
    )
  if (/not found|doesn't exist|does not exist/i.test(message)) return new IncusNotFoundError(message)
  if (/already exists|UNIQUE constraint failed/i.test(message)) return new IncusAlreadyExistsError(message)
  return new IncusError(`${command} failed: ${message || `exit code ${failure.exitCode}`}`)
}
