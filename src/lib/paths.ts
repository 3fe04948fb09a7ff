import {homedir} from 'node:os'
import {isAbsolute, join, resolve} from 'node:path'
import {fileURLToPath} from 'node:url'

/**
 * The installed package's root. This module sits two levels below it (src/lib, dist/lib), as
 * does the fast path's bundle, so every package-relative path is computed from here.
 */
export const PACKAGE_ROOT = fileURLToPath(new URL('../../', import.meta.url))

/** Where repoman keeps its files; everything follows XDG variables and HOME so tests and users can move it. */
export interface RepomanPaths {
  configDir: string
  registryFile: string
  /** Per-project overrides, `repos.d/<name>.toml`. */
  overridesDir: string
  /** User profiles that add to or shadow the vendor library. */
  userProfilesDir: string
  /** Default log dir when `[defaults].logdir` is not set. */
  stateDir: string
  /** Cached completion data (project and profile names). */
  cacheDir: string
  /** Agent launchers (`repoman agent install`), meant to come first on the user's PATH. */
  launcherDir: string
  /** Links to the agent programs the profiles share, mounted read-only and on PATH inside. */
  programsDir: string
  /** The login-shell snippet that puts programsDir on PATH inside (mounted in /etc/profile.d). */
  programsProfileScript: string
}

export function resolvePaths(env: NodeJS.ProcessEnv = process.env): RepomanPaths {
  const home = env.HOME || homedir()
  const xdg = (name: string, fallback: string): string => {
    const value = env[name]
    return value && isAbsolute(value) ? value : join(home, fallback)
  }

  const configDir = join(xdg('XDG_CONFIG_HOME', '.config'), 'repoman')
  // Also where oclif keeps user plugins (bin/run.js looks there too).
  const dataDir = join(xdg('XDG_DATA_HOME', '.local/share'), 'repoman')
  return {
    configDir,
    registryFile: join(configDir, 'repoman.toml'),
    overridesDir: join(configDir, 'repos.d'),
    userProfilesDir: join(configDir, 'profiles.d'),
    stateDir: join(xdg('XDG_STATE_HOME', '.local/state'), 'repoman'),
    cacheDir: join(xdg('XDG_CACHE_HOME', '.cache'), 'repoman'),
    launcherDir: join(dataDir, 'bin'),
    programsDir: join(dataDir, 'programs'),
    programsProfileScript: join(dataDir, 'programs-profile.sh'),
  }
}

/** Expands a leading `~` to `home` and makes the path absolute. */
export function expandHome(path: string, home: string): string {
  if (path === '~') return home
  if (path.startsWith('~/')) return join(home, path.slice(2))
  return resolve(path)
}

/** True when `child` is `parent` or lies below it (both absolute, normalized). */
export function isWithin(child: string, parent: string): boolean {
  const c = resolve(child)
  const p = resolve(parent)
  return c === p || c.startsWith(p.endsWith('/') ? p : `${p}/`)
}

/** A project's agent homes on the host: `$XDG_STATE_HOME/repoman/homes/<project>`. */
export function projectHomesDir(stateDir: string, project: string): string {
  return join(stateDir, 'homes', project)
}

/** One agent's home in a project's container, kept on the host (docs/profiles.md). */
export function agentHomeDir(stateDir: string, project: string, agent: string): string {
  return join(projectHomesDir(stateDir, project), agent)
}

/** The agent's git dir of a project (git/agent-git.ts), beside repoman's record of what crossed. */
export function agentGitDir(stateDir: string, name: string): string {
  return join(stateDir, 'agent-git', name)
}

/** The trees in the state dir that a project's container mounts and writes: its homes, git dir and checkout. */
export function projectTreeDirs(stateDir: string, project: string): string[] {
  return [projectHomesDir(stateDir, project), agentGitDir(stateDir, project), cloneTreeDir(stateDir, project)]
}

/** The gateway's own dir in the state dir: its pid file, lock, logs and sockets. */
export function gatewayDir(stateDir: string): string {
  return join(stateDir, 'gateway')
}

/** Where each project's gateway socket has a directory of its own (which its container mounts). */
export function gatewaySocketsDir(stateDir: string): string {
  return join(gatewayDir(stateDir), 'sockets')
}

/**
 * Clone mode: the container's own checkout of a project. It is in repoman's state dir, where
 * no host tool looks for a repository or its config (see docs/safety.md).
 */
export function cloneTreeDir(stateDir: string, project: string): string {
  return join(stateDir, 'clones', project)
}
