/**
 * Agent launchers: `repoman agent install claude` writes a small sh script `claude` into
 * repoman's launcher directory. With that directory first on PATH, typing `claude` in a repo
 * runs it in the repo's container (through the fast path: no oclif load); `claude --host` runs
 * the host's own, the next `claude` on PATH.
 */
import {chmodSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync} from 'node:fs'
import {basename, join} from 'node:path'
import {LauncherNotFoundError, NotManagedError, UsageError} from '../errors.js'
import {HOST_FLAG} from '../lifecycle/session.js'
import {compareAscii} from '../names.js'
import {PACKAGE_ROOT, type RepomanPaths} from '../paths.js'
import {COMMAND_NAME} from '../profiles/library.js'
import {findProgram, hostFs, type ProgramFs} from './programs.js'

/** The line that marks a launcher as repoman's (so `remove` never deletes anything else). */
export const LAUNCHER_MARKER = '# repoman agent launcher'

/** `text` as one sh word. */
export function shellQuote(text: string): string {
  return `'${text.replaceAll("'", `'\\''`)}'`
}

/** The launcher script for `command`: node on repoman's entry (which takes the fast path). */
export function launcherText(command: string, node: string, entry: string): string {
  const name = shellQuote(command)
  return `#!/bin/sh
${LAUNCHER_MARKER} for ${command} (\`repoman agent remove ${command}\` removes it).
# Runs ${command} in the container of the repo you are in; \`${command} ${HOST_FLAG} ...\` runs the host's own.
if [ "$1" = ${HOST_FLAG} ]; then
  shift
  IFS=:
  for dir in $PATH; do
    if [ -n "$dir" ] && [ -f "$dir"/${name} ] && [ -x "$dir"/${name} ] && ! [ "$dir"/${name} -ef "$0" ]; then
      unset IFS
      exec "$dir"/${name} "$@"
    fi
  done
  echo "${command}: no ${command} on PATH besides this launcher ($0)" >&2
  exit 127
fi
exec ${shellQuote(node)} ${shellQuote(entry)} agent run ${name} -- "$@"
`
}

/** The line that puts the launcher directory first on PATH, for the user's shell. */
export function pathLine(shell: string, launcherDir: string, home: string): {file: string; line: string} {
  const dir = launcherDir.startsWith(`${home}/`) ? `$HOME/${launcherDir.slice(home.length + 1)}` : launcherDir
  switch (basename(shell)) {
    case 'fish':
      return {file: '~/.config/fish/config.fish', line: `fish_add_path --prepend --move "${dir}"`}
    case 'zsh':
      return {file: '~/.zshrc', line: `export PATH="${dir}:$PATH"`}
    case 'bash':
      return {file: '~/.bashrc', line: `export PATH="${dir}:$PATH"`}
    default:
      return {file: '~/.profile', line: `export PATH="${dir}:$PATH"`}
  }
}

/** The `agent install --json` result. */
export interface LauncherInstalled {
  name: string
  path: string
  /** The launcher directory is already first on PATH. */
  first_on_path: boolean
  /** What to add to the shell's start-up file, when it is not. */
  path_hint: {file: string; line: string} | null
}

/** One row of `agent list --json`. */
export interface LauncherRow {
  name: string
  path: string
  /** What `NAME --host` runs: the host's own program, next on PATH. */
  host_program: string | null
}

function checkName(command: string): void {
  if (!COMMAND_NAME.test(command) || command === 'repoman')
    throw new UsageError(`"${command}" cannot be a launcher; name a command, like claude`)
}

/** Writes (or rewrites) the launcher for `command`. */
export function installLauncher(paths: RepomanPaths, command: string, env: NodeJS.ProcessEnv): LauncherInstalled {
  checkName(command)
  mkdirSync(paths.launcherDir, {recursive: true})
  const path = join(paths.launcherDir, command)
  const existing = readIfExists(path)
  if (existing !== undefined && !existing.includes(LAUNCHER_MARKER))
    throw new NotManagedError(`${path} exists and is not a repoman launcher; move it away first`)
  const temporary = `${path}.${process.pid}.tmp`
  writeFileSync(temporary, launcherText(command, process.execPath, join(PACKAGE_ROOT, 'bin/run.js')))
  chmodSync(temporary, 0o755)
  renameSync(temporary, path)
  const first = (env.PATH ?? '').split(':')[0] === paths.launcherDir
  const home = env.HOME ?? ''
  return {
    name: command,
    path,
    first_on_path: first,
    path_hint: first ? null : pathLine(env.SHELL ?? '', paths.launcherDir, home),
  }
}

function readIfExists(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8')
  } catch {
    return undefined
  }
}

/** The launchers repoman wrote, and the host program each one's `--host` would run. */
export function listLaunchers(paths: RepomanPaths, env: NodeJS.ProcessEnv, fs: ProgramFs = hostFs): LauncherRow[] {
  let names: string[] = []
  try {
    names = readdirSync(paths.launcherDir)
  } catch {
    return []
  }
  const dirs = (env.PATH ?? '').split(':').filter((d) => d.startsWith('/') && d !== paths.launcherDir)
  return names
    .filter((name) => readIfExists(join(paths.launcherDir, name))?.includes(LAUNCHER_MARKER))
    .sort(compareAscii)
    .map((name) => ({
      name,
      path: join(paths.launcherDir, name),
      host_program: findProgram(name, dirs, env.HOME ?? '', fs)?.executable ?? null,
    }))
}

export function removeLauncher(paths: RepomanPaths, command: string): {name: string; removed: true} {
  checkName(command)
  const path = join(paths.launcherDir, command)
  const text = readIfExists(path)
  if (text === undefined)
    throw new LauncherNotFoundError(`no launcher "${command}"; \`repoman agent list\` shows them`, {
      hint: 'repoman agent list',
    })
  if (!text.includes(LAUNCHER_MARKER)) throw new NotManagedError(`${path} is not a repoman launcher; it stays`)
  rmSync(path)
  return {name: command, removed: true}
}
