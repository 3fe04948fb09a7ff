/**
 * Does typing NAME reach the launcher in every shell the user opens? A login shell (SSH, a
 * console) and an interactive one read different start-up files, and Debian's ~/.profile puts
 * ~/.local/bin (where npm puts `claude`) first on PATH after ~/.bashrc ran: there `claude`
 * would run on the host, the one thing the launcher exists to prevent. So the user's own shell
 * is asked, each way, what `command -v NAME` is; the decisions are pure, the probe spawns.
 */
import {execFile} from 'node:child_process'
import {appendFileSync, existsSync, mkdirSync, readFileSync} from 'node:fs'
import {basename, dirname, join} from 'node:path'
import {pathLine} from './launcher.js'

export type ShellKind = 'login' | 'interactive'
export const SHELL_KINDS: readonly ShellKind[] = ['login', 'interactive']

/** What NAME is in one kind of shell. */
export interface ShellCheck {
  shell: ShellKind
  /** What `command -v NAME` printed (a path, or an alias or function); null when nothing, or the shell could not be asked. */
  resolves_to: string | null
  /** It is the launcher. */
  first: boolean
}

/** The start-up file each kind of the user's shell reads (the one a PATH line goes into). */
export function startupFiles(
  shell: string,
  home: string,
  exists: (path: string) => boolean,
): Record<ShellKind, string> {
  switch (basename(shell)) {
    case 'fish':
      return {login: '~/.config/fish/config.fish', interactive: '~/.config/fish/config.fish'}
    case 'zsh':
      return {login: '~/.zprofile', interactive: '~/.zshrc'}
    case 'bash': {
      // bash reads the first of these that exists, in login shells.
      const login = ['~/.bash_profile', '~/.bash_login'].find((f) => exists(join(home, f.slice(2)))) ?? '~/.profile'
      return {login, interactive: '~/.bashrc'}
    }
    default:
      return {login: '~/.profile', interactive: '~/.profile'}
  }
}

/** The shell that is asked: the user's, else bash. */
export function userShell(env: NodeJS.ProcessEnv): string {
  return env.SHELL || '/bin/bash'
}

/** The probe's argument list: the shell, as a login or an interactive one, printing `NAME<TAB>what` per name. */
export function probeArgs(shell: string, kind: ShellKind, names: string[]): string[] {
  const script =
    basename(shell) === 'fish'
      ? 'for n in $argv; printf "%s\\t%s\\n" $n (command -v $n); end'
      : 'for n in "$@"; do printf "%s\\t%s\\n" "$n" "$(command -v "$n")"; done'
  const flag = kind === 'login' ? '-lc' : '-ic'
  return basename(shell) === 'fish' ? [flag, script, ...names] : [flag, script, 'repoman-probe', ...names]
}

/** What the probe printed, per name (start-up files may print more; the last line for a name counts). */
export function parseProbe(stdout: string, names: string[]): Map<string, string | null> {
  const found = new Map<string, string | null>(names.map((n) => [n, null]))
  for (const line of stdout.split('\n')) {
    const tab = line.indexOf('\t')
    const name = line.slice(0, tab)
    if (tab > 0 && found.has(name)) found.set(name, line.slice(tab + 1).trim() || null)
  }
  return found
}

const PROBE_TIMEOUT_MS = 10_000

/** Asks the user's shell, both ways at once, what each name is. */
export async function probeShells(
  names: string[],
  env: NodeJS.ProcessEnv,
): Promise<Record<ShellKind, Map<string, string | null>>> {
  const shell = userShell(env)
  const ask = (kind: ShellKind) =>
    new Promise<Map<string, string | null>>((resolve) => {
      const child = execFile(
        shell,
        probeArgs(shell, kind, names),
        {env, cwd: env.HOME, timeout: PROBE_TIMEOUT_MS, encoding: 'utf8'},
        // A shell that fails or hangs has answered nothing: every name counts as not found there.
        (_error, stdout) => resolve(parseProbe(stdout ?? '', names)),
      )
      child.stdin?.end()
    })
  const [login, interactive] = await Promise.all([ask('login'), ask('interactive')])
  return {login, interactive}
}

export function shellChecks(
  answers: Record<ShellKind, Map<string, string | null>>,
  name: string,
  launcher: string,
): ShellCheck[] {
  return SHELL_KINDS.map((shell) => {
    const resolves = answers[shell].get(name) ?? null
    return {shell, resolves_to: resolves, first: resolves === launcher}
  })
}

/** For `agent list`: `login, interactive` when the launcher wins in both, else what each shell runs instead. */
export function describeChecks(checks: ShellCheck[]): string {
  if (checks.every((c) => c.first)) return 'login, interactive'
  return checks.map((c) => (c.first ? c.shell : `${c.shell}: NO (${c.resolves_to ?? 'not found'})`)).join(', ')
}

/** The start-up files to append the PATH line to: those of the shells where the launcher loses and that lack the line. */
export function filesToFix(
  checks: ShellCheck[],
  files: Record<ShellKind, string>,
  line: string,
  read: (file: string) => string | undefined,
): string[] {
  const lacking = checks
    .filter((c) => !c.first)
    .map((c) => files[c.shell])
    .filter((file) => !(read(file) ?? '').split('\n').includes(line))
  return [...new Set(lacking)]
}

/** Why NAME does not reach the launcher in one shell, and what to do: one line. */
export function explainShadow(check: ShellCheck, name: string, file: string, launcherDir: string): string {
  const what =
    check.resolves_to === null
      ? `\`${name}\` is not found`
      : `\`${name}\` is ${check.resolves_to}${check.resolves_to.startsWith('/') ? ', which runs on the host,' : ''} not the launcher`
  return `in a ${check.shell} shell ${what}: ${file} has the PATH line, so something that runs after it puts another directory before ${launcherDir}; move the line to the end of what runs last, or remove that`
}

/** After `agent install`: the PATH line added where a shell misses it, and how each shell then resolves NAME. */
export interface ShellSettlement {
  checks: ShellCheck[]
  /** Start-up files the PATH line was appended to. */
  edited: string[]
  /** One line per shell where NAME still is not the launcher. */
  problems: string[]
}

/** Checks both shells, appends the PATH line where it lacks, and checks again. */
export async function settleShells(
  name: string,
  launcher: string,
  launcherDir: string,
  env: NodeJS.ProcessEnv,
): Promise<ShellSettlement> {
  const home = env.HOME ?? ''
  const shell = userShell(env)
  const files = startupFiles(shell, home, existsSync)
  const {line} = pathLine(shell, launcherDir, home)
  const expand = (file: string) => join(home, file.slice(2))
  const read = (file: string) => (existsSync(expand(file)) ? readFileSync(expand(file), 'utf8') : undefined)
  let checks = shellChecks(await probeShells([name], env), name, launcher)
  const edited = filesToFix(checks, files, line, read)
  for (const file of edited) {
    const text = read(file) ?? ''
    const separator = text === '' || text.endsWith('\n') ? '' : '\n'
    mkdirSync(dirname(expand(file)), {recursive: true})
    appendFileSync(
      expand(file),
      `${separator}# repoman agent launchers first on PATH (\`repoman agent install\` added this)\n${line}\n`,
    )
  }
  if (edited.length > 0) checks = shellChecks(await probeShells([name], env), name, launcher)
  const problems = checks.filter((c) => !c.first).map((c) => explainShadow(c, name, files[c.shell], launcherDir))
  return {checks, edited, problems}
}
