/**
 * Every failure a user can cause or meet is one of these: a one-line message that says what
 * is wrong and what to do, and the exit code the command ends with. Commands print `message`
 * and nothing else (no stack), so messages must stand alone.
 */
export class RepomanError extends Error {
  /** Stable, machine-readable name for `--json` consumers. */
  readonly code: string = 'REPOMAN_ERROR'
  readonly exitCode: number = 1

  constructor(message: string, options?: {cause?: unknown}) {
    super(message, options)
    this.name = new.target.name
  }
}

/** Bad flags, names or arguments: nothing was changed. */
export class UsageError extends RepomanError {
  override readonly code = 'USAGE'
  override readonly exitCode = 2
}

/** The registry or an override file cannot be read as this version understands it. */
export class ConfigError extends RepomanError {
  override readonly code = 'CONFIG'
}

/** `repoman setup` has not been run yet (or the registry was removed). */
export class NotSetUpError extends RepomanError {
  override readonly code = 'NOT_SET_UP'
}

export class ProjectNotFoundError extends RepomanError {
  override readonly code = 'PROJECT_NOT_FOUND'
}

export class IncusError extends RepomanError {
  override readonly code: string = 'INCUS'
}

export class IncusUnreachableError extends IncusError {
  override readonly code = 'INCUS_UNREACHABLE'
}

export class IncusNotFoundError extends IncusError {
  override readonly code = 'INCUS_NOT_FOUND'
}

export class IncusAlreadyExistsError extends IncusError {
  override readonly code = 'INCUS_ALREADY_EXISTS'
}

/** A refusal that protects data (backup guards, credential guard, in-use checks). */
export class SafetyError extends RepomanError {
  override readonly code = 'REFUSED'
}

/** A command needs an answer from the user and there is no terminal to ask on. */
export class NeedsTtyError extends RepomanError {
  override readonly code = 'NEEDS_TTY'
  override readonly exitCode = 2
}

/** Reduces anything thrown to one line a user can act on. */
export function oneLine(error: unknown): string {
  const text = error instanceof Error ? error.message : String(error)
  return text.replace(/\s*\n\s*/g, ' ').trim()
}

/** An error as `--json` reports it. */
export interface ErrorResult {
  error: {code: string; message: string; exit_code: number}
}

export function errorResult(error: unknown): ErrorResult {
  const e = error instanceof RepomanError ? error : undefined
  return {error: {code: e?.code ?? 'ERROR', message: oneLine(error), exit_code: e?.exitCode ?? 1}}
}
