/**
 * An agent's program on the host (`claude`, `codex`, ...): where the host user's PATH finds it,
 * and the narrowest directory that holds its whole install, so a profile can mount that
 * read-only at the same path inside. The decisions are pure, over a small file-system view.
 */
import {
  closeSync,
  mkdirSync,
  openSync,
  readFileSync,
  readSync,
  realpathSync,
  renameSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs'
import {basename, dirname, isAbsolute, join, relative, sep} from 'node:path'
import {compareAscii} from '../names.js'
import {expandHome, isWithin, type RepomanPaths} from '../paths.js'

/** What resolution needs to know about the host's files. */
export interface ProgramFs {
  /** The path with every symlink resolved, or undefined when it leads nowhere. */
  realpath(path: string): string | undefined
  /** True for a regular file that may be executed. */
  isExecutableFile(path: string): boolean
  /** The file's first bytes (its magic number or `#!` line). */
  head(path: string): Buffer
}

export interface HostProgram {
  command: string
  /** The real executable, every symlink resolved. */
  executable: string
  /** What to mount at the same path inside: the install directory, or the lone executable. */
  installDir: string
  /** A JavaScript program (`#!/usr/bin/env node`): node must be installed inside. */
  needsNode: boolean
}

/** The container's default PATH (Incus's for `exec`), after repoman's directory of program links. */
export const CONTAINER_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'

/** The profile keys that say what became of a template's `program` on this host. */
const STATE_PREFIX = 'user.repoman.program.'
const EXECUTABLE_PREFIX = 'user.repoman.program-executable.'
export const programStateKey = (command: string) => STATE_PREFIX + command
export const programExecutableKey = (command: string) => EXECUTABLE_PREFIX + command

/** What a template's `program` became: shared from the host, or to be installed inside. */
export type ProgramState = 'shared' | 'shared, needs node inside' | 'not on the host, install it inside'

export interface ProgramShare {
  command: string
  state: ProgramState
  /** The host's real executable that repoman's link points at, when shared. */
  executable: string | null
}

/** The programs a rendered profile (or a container's expanded config) shares or wants. */
export function programShares(config: Record<string, string>): ProgramShare[] {
  return Object.entries(config)
    .filter(([key]) => key.startsWith(STATE_PREFIX))
    .map(([key, state]) => {
      const command = key.slice(STATE_PREFIX.length)
      return {command, state: state as ProgramState, executable: config[programExecutableKey(command)] ?? null}
    })
    .sort((a, b) => compareAscii(a.command, b.command))
}

/**
 * npm's global prefix for this user, as npm decides it: `npm_config_prefix` in the environment,
 * else `prefix=` in ~/.npmrc, else the directory above node's own `bin`.
 */
export function npmPrefixOf(env: NodeJS.ProcessEnv, npmrc: string, nodeExecPath: string, home: string): string {
  const fromEnv = env.npm_config_prefix ?? env.NPM_CONFIG_PREFIX
  if (fromEnv) return expandHome(fromEnv, home)
  const line = npmrc.split('\n').find((l) => /^\s*prefix\s*=/.test(l))
  const fromRc = line
    ?.slice(line.indexOf('=') + 1)
    .trim()
    .replace(/^["']|["']$/g, '')
    .replace(/^\$\{HOME\}|^\$HOME/, home)
  if (fromRc) return expandHome(fromRc, home)
  return dirname(dirname(nodeExecPath))
}

/**
 * Where the host user's shell would look for an agent: PATH, then ~/.local/bin and npm's global
 * bin (often missing from a non-interactive PATH). `skip` holds repoman's own launcher and link
 * directories, which must never resolve to themselves.
 */
export function programSearchDirs(pathVar: string, home: string, npmPrefix: string, skip: string[]): string[] {
  const dirs = [...pathVar.split(':'), join(home, '.local/bin'), join(npmPrefix, 'bin')]
  return [...new Set(dirs.filter((d) => isAbsolute(d)))].filter((d) => !skip.some((s) => isWithin(d, s)))
}

/** Directories too broad to share whole: they hold more than one program, or the user's data. */
function tooBroad(dir: string, home: string): boolean {
  const broad = ['/', '/usr', '/usr/local', '/usr/lib', '/usr/local/lib', '/opt', '/home']
  const inHome = ['', '.local', '.local/bin', '.local/lib', '.local/share', '.config', '.cache', 'bin']
  return broad.includes(dir) || inHome.some((p) => dir === join(home, p)) || !isAbsolute(dir)
}

/**
 * The narrowest directory that holds the whole install of the program at `executable` (a real
 * path): its npm package (the outermost one, so native binaries in nested per-platform packages
 * come along), a `~/.local/share/<name>` tree (Claude's native installer keeps its versions
 * there), or `<dir>` for `<dir>/bin/<exe>` outside the standard prefixes. Else the file alone.
 */
export function installDirOf(executable: string, home: string): string {
  const parts = executable.split(sep)
  const nodeModules = parts.indexOf('node_modules')
  let dir: string | undefined
  if (nodeModules > 0 && nodeModules + 1 < parts.length - 1) {
    const scoped = parts[nodeModules + 1]?.startsWith('@') ? 1 : 0
    if (nodeModules + 1 + scoped < parts.length - 1) dir = parts.slice(0, nodeModules + 2 + scoped).join(sep)
  } else if (isWithin(executable, join(home, '.local/share'))) {
    const first = relative(join(home, '.local/share'), executable).split(sep)[0] as string
    if (first !== basename(executable)) dir = join(home, '.local/share', first)
  } else if (basename(dirname(executable)) === 'bin') dir = dirname(dirname(executable))
  return dir && !tooBroad(dir, home) ? dir : executable
}

/** True when the file starts with a `#!` line that runs node. */
export function runsOnNode(head: Buffer): boolean {
  const text = head.toString('latin1')
  if (!text.startsWith('#!')) return false
  const line = text.slice(2).split('\n')[0] ?? ''
  return /(^|[\s/])node(\s|$)/.test(line)
}

/** The first executable `command` in `dirs` and its install, or undefined when the host has none. */
export function findProgram(command: string, dirs: string[], home: string, fs: ProgramFs): HostProgram | undefined {
  for (const dir of dirs) {
    const candidate = join(dir, command)
    if (!fs.isExecutableFile(candidate)) continue
    const executable = fs.realpath(candidate)
    if (!executable) continue
    return {command, executable, installDir: installDirOf(executable, home), needsNode: runsOnNode(fs.head(executable))}
  }
  return undefined
}

/** The real file system, as findProgram sees it. */
export const hostFs: ProgramFs = {
  realpath(path) {
    try {
      return realpathSync(path)
    } catch {
      return undefined
    }
  },
  isExecutableFile(path) {
    try {
      const stat = statSync(path)
      return stat.isFile() && (stat.mode & 0o111) !== 0
    } catch {
      return false
    }
  },
  head(path) {
    const buffer = Buffer.alloc(128)
    const fd = openSync(path, 'r')
    try {
      return buffer.subarray(0, readSync(fd, buffer, 0, buffer.length, 0))
    } finally {
      closeSync(fd)
    }
  },
}

/** The agent programs the host user has, as the profile library asks for them. */
export interface AgentPrograms {
  /** repoman's directory of links to shared programs: mounted read-only and put on PATH inside. */
  linksDir: string
  /** A file for login shells inside (/etc/profile.d), which reset PATH. */
  profileScript: string
  find(command: string): HostProgram | undefined
}

export function hostPrograms(
  host: {home: string},
  paths: RepomanPaths,
  env: NodeJS.ProcessEnv = process.env,
  fs: ProgramFs = hostFs,
): AgentPrograms {
  let npmrc = ''
  try {
    npmrc = readFileSync(join(host.home, '.npmrc'), 'utf8')
  } catch {
    // No user npm config: npm's defaults apply.
  }
  const prefix = npmPrefixOf(env, npmrc, process.execPath, host.home)
  const dirs = programSearchDirs(env.PATH ?? '', host.home, prefix, [paths.launcherDir, paths.programsDir])
  return {
    linksDir: paths.programsDir,
    profileScript: paths.programsProfileScript,
    find: (command) => findProgram(command, dirs, host.home, fs),
  }
}

/** The login-shell snippet that puts the links directory first on PATH (Debian's /etc/profile resets PATH). */
export function programsProfileScriptText(linksDir: string): string {
  return `# Written by repoman: the agent programs shared from the host.\ncase ":$PATH:" in *":${linksDir}:"*) ;; *) PATH="${linksDir}:$PATH" ;; esac\n`
}

/**
 * Points `<linksDir>/<command>` at the program (replacing an older link in one step) and writes
 * the login-shell snippet, so the mount sources exist before the profile is installed.
 */
export function writeProgramLink(programs: AgentPrograms, command: string, executable: string): void {
  mkdirSync(programs.linksDir, {recursive: true})
  const link = join(programs.linksDir, command)
  const temporary = `${link}.${process.pid}.tmp`
  symlinkSync(executable, temporary)
  renameSync(temporary, link)
  // Written then renamed: a container reading it never sees half a file.
  const script = `${programs.profileScript}.${process.pid}.tmp`
  writeFileSync(script, programsProfileScriptText(programs.linksDir))
  renameSync(script, programs.profileScript)
}
