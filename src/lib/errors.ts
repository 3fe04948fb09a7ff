/**
 * Every failure a user can cause or meet is one of these: a one-line message that says what
 * is wrong and what to do, and the exit code the command ends with. Commands print `message`
 * and nothing else (no stack), so messages must stand alone.
 */
export class RepomanError extends Error {
  /** Stable, machine-readable name for `--json` consumers. */
  readonly code: string = 'REPOMAN_ERROR'
  readonly exitCode: number = 1
  /**
   * The one thing to do about it, when there is one (usually a command to run). The message
   * already says it in words; `--json` carries it apart, as Salesforce's plugins carry `actions`.
   */
  readonly hint?: string

  constructor(message: string, options?: {cause?: unknown; hint?: string}) {
    super(message, options)
    this.name = new.target.name
    if (options?.hint !== undefined) this.hint = options.hint
  }
}

/** Bad flags, names or arguments: nothing was changed. */
export class UsageError extends RepomanError {
  override readonly code: string = 'USAGE'
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
  override readonly code: string = 'REFUSED'
}

/** `new` of a name the registry or Incus already has. */
export class ProjectExistsError extends UsageError {
  override readonly code = 'PROJECT_EXISTS'
}

/** A project's repo directory is not there (or is not a directory). */
export class RepoNotFoundError extends UsageError {
  override readonly code = 'REPO_NOT_FOUND'
}

/** A profile a project needs is not installed in the Incus project. */
export class ProfileNotInstalledError extends UsageError {
  override readonly code = 'PROFILE_NOT_INSTALLED'
}

/** An image name that Incus cannot resolve. */
export class ImageNotFoundError extends UsageError {
  override readonly code = 'IMAGE_NOT_FOUND'
}

/** A mount (profile or repos.d override) names a host path that does not exist. */
export class MountSourceMissingError extends UsageError {
  override readonly code = 'MOUNT_SOURCE_MISSING'
}

/** Root may not map the host user's ids yet (/etc/subuid, /etc/subgid). */
export class SubidsMissingError extends UsageError {
  override readonly code = 'SUBIDS_MISSING'
}

/** The backup root is not a separate mounted file system (or not writable): nothing is mirrored or restored. */
export class BackupRootUnsafeError extends SafetyError {
  override readonly code = 'BACKUP_ROOT_UNSAFE'
}

/** A missing or empty repo would turn a mirror with --delete into wiping its backup. */
export class SourceUnsafeError extends SafetyError {
  override readonly code = 'SOURCE_UNSAFE'
}

/** A mount would expose credentials or the host (SSH keys, sockets, $HOME, /etc, ...). */
export class SensitiveMountError extends SafetyError {
  override readonly code = 'SENSITIVE_MOUNT'
}

/** Something still uses what would be removed (a profile used by containers, ...). */
export class InUseError extends SafetyError {
  override readonly code = 'IN_USE'
}

/** An Incus object repoman did not make: repoman leaves it to `incus`. */
export class NotManagedError extends SafetyError {
  override readonly code = 'NOT_MANAGED'
}

/** Another repoman changed the registry meanwhile in a way this run cannot merge (two `new` of one name). */
export class RegistryConflictError extends RepomanError {
  override readonly code = 'REGISTRY_CONFLICT'
}

/** rsync failed (full, read-only, missing, ...). */
export class RsyncError extends RepomanError {
  override readonly code = 'RSYNC_FAILED'
}

/** A step failed and taking back what the run had done failed too: what is left is named. */
export class IncompleteRollbackError extends RepomanError {
  override readonly code = 'ROLLBACK_INCOMPLETE'
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

/** A failed command's stderr as the one-line reason an error message gives. */
export function stderrReason(stderr: string): string {
  return oneLine(stderr) || 'no reason given'
}

/** An error as `--json` reports it. */
export interface ErrorResult {
  error: {
    code: string
    message: string
    exit_code: number
    /** The one thing to do about it (usually a command), when there is one. */
    hint?: string
  }
}

/** The exit code a failure ends with: repoman's own; oclif's for its parse errors (2); else 1. */
export function exitCodeOf(error: unknown): number {
  if (error instanceof RepomanError) return error.exitCode
  const oclifExit = (error as {oclif?: {exit?: unknown}} | null | undefined)?.oclif?.exit
  return typeof oclifExit === 'number' ? oclifExit : 1
}

export function errorResult(error: unknown): ErrorResult {
  const e = error instanceof RepomanError ? error : undefined
  const exitCode = exitCodeOf(error)
  return {
    error: {
      // oclif's parse errors (unknown flag, missing argument) are usage errors too.
      code: e?.code ?? (exitCode === 2 ? 'USAGE' : 'ERROR'),
      message: oneLine(error),
      exit_code: exitCode,
      ...(e?.hint === undefined ? {} : {hint: e.hint}),
    },
  }
}

/** A profile name the library (vendor and user templates) does not have. */
export class ProfileNotFoundError extends UsageError {
  override readonly code = 'PROFILE_NOT_FOUND'
}

/** A mistyped command (`repoman lsit`). */
export class UnknownCommandError extends UsageError {
  override readonly code = 'UNKNOWN_COMMAND'
}

/** No agent launcher by that name. */
export class LauncherNotFoundError extends UsageError {
  override readonly code = 'LAUNCHER_NOT_FOUND'
}

/** A command that finds its project from the working directory ran outside every registered repo. */
export class NotInRepoError extends UsageError {
  override readonly code = 'NOT_IN_REPO'
}

/** A registered project whose container is not in Incus. */
export class ContainerGoneError extends RepomanError {
  override readonly code = 'CONTAINER_GONE'
}

/** The container has no tmux, which detached sessions need. */
export class TmuxMissingError extends RepomanError {
  override readonly code = 'TMUX_MISSING'
}

/** A snapshot name the container already has. */
export class SnapshotExistsError extends UsageError {
  override readonly code = 'SNAPSHOT_EXISTS'
}

/** A rollback to a snapshot the container does not have. */
export class SnapshotNotFoundError extends SafetyError {
  override readonly code = 'SNAPSHOT_NOT_FOUND'
}

/** A restore from a point (the mirror or a dated copy) the backup root does not hold. */
export class RestorePointNotFoundError extends SafetyError {
  override readonly code = 'RESTORE_POINT_NOT_FOUND'
}

/** `accept` of single paths before the project has an integrity baseline. */
export class BaselineMissingError extends UsageError {
  override readonly code = 'BASELINE_MISSING'
}

/** The Incus project the registry names is not there (setup did not run against this daemon). */
export class IncusProjectMissingError extends IncusError {
  override readonly code = 'INCUS_PROJECT_MISSING'
}

/**
 * How a failed command ends, whichever path ran it: one line on stderr, or under --json the
 * error document on stdout; and its exit code (oclif's own for its parse errors).
 */
export function errorOutput(
  error: unknown,
  json: boolean,
): {stream: 'stdout' | 'stderr'; text: string; exitCode: number} {
  const exitCode = exitCodeOf(error)
  return json
    ? {stream: 'stdout', text: `${JSON.stringify(errorResult(error), null, 2)}\n`, exitCode}
    : {stream: 'stderr', text: `Error: ${oneLine(error)}\n`, exitCode}
}

/** repoman's gateway on the host (the containers' way out) is not there or would not start. */
export class GatewayError extends RepomanError {
  override readonly code = 'GATEWAY'
}

/** A removal would lose work the agent has not committed (clone mode). */
export class UnsavedWorkError extends SafetyError {
  override readonly code = 'UNSAVED_WORK'
}

/** What an earlier project of the same name left in the state dir, made by root inside: not yours to delete. */
export class LeftoverError extends RepomanError {
  override readonly code = 'LEFTOVER'
}
