/**
 * Agent homes: every container gets its agent's config directory of its own, kept on the host
 * in repoman's state dir and mounted read-write into that container only. It is seeded from a
 * filtered copy of the host's agent config at `new` (and again at `agent refresh`); nothing is
 * ever copied back, and no host program is pointed at it, so what the agent writes there
 * cannot reach the host's agent. The decisions (which agents, what is copied) are pure.
 */
import {closeSync, constants, fstatSync, lstatSync, openSync, readdirSync, readFileSync} from 'node:fs'
import {chmod, mkdir, writeFile} from 'node:fs/promises'
import {join} from 'node:path'
import {compareAscii} from '../names.js'

/** One agent's home: where its config lives on the host, what of it is copied, where it goes inside. */
export interface AgentHomeKind {
  agent: string
  /** The host's config directory, relative to HOME: the seed is taken from it. */
  hostDir: string
  /**
   * What is copied from hostDir: top-level names (files or whole directories). An allowlist:
   * credentials, transcripts, caches and anything an agent adds later stay on the host.
   */
  copy: string[]
  /** Where the home is mounted inside, relative to HOME: the agent's usual path. */
  insideDir: string
  /** The variable that points the agent at its home, when it has one. */
  envVar?: string
}

/** The agents whose vendor profiles declare a home (`agent_home:` in the template). */
export const AGENT_HOMES: readonly AgentHomeKind[] = [
  {
    agent: 'claude',
    hostDir: '.claude',
    copy: [
      'CLAUDE.md',
      'settings.json',
      'keybindings.json',
      'agents',
      'commands',
      'hooks',
      'output-styles',
      'plugins',
      'skills',
    ],
    insideDir: '.claude',
    // With it, Claude Code keeps its user config (.claude.json) inside the home too.
    envVar: 'CLAUDE_CONFIG_DIR',
  },
  {
    agent: 'codex',
    hostDir: '.codex',
    copy: ['AGENTS.md', 'config.toml', 'prompts', 'rules', 'skills'],
    insideDir: '.codex',
    envVar: 'CODEX_HOME',
  },
  {
    agent: 'gemini',
    hostDir: '.gemini',
    copy: ['GEMINI.md', 'settings.json', 'commands', 'extensions'],
    insideDir: '.gemini',
  },
  {
    agent: 'opencode',
    hostDir: '.config/opencode',
    copy: ['AGENTS.md', 'opencode.json', 'opencode.jsonc', 'agent', 'command', 'mode', 'plugin', 'themes', 'tool'],
    insideDir: '.config/opencode',
  },
  {
    agent: 'pi',
    hostDir: '.pi/agent',
    copy: ['AGENTS.md', 'models.json', 'settings.json', 'extensions', 'prompts', 'skills', 'themes'],
    insideDir: '.pi/agent',
    envVar: 'PI_CODING_AGENT_DIR',
  },
]

/**
 * Claude Code's user config file, copied into the home as `.claude.json` without the keys
 * that hold or name a login (the login comes from `repoman agent login`).
 */
export const CLAUDE_USER_CONFIG = '.claude.json'
const SECRET_KEY = /token|secret|api.?key|password|oauth|credential/i

/** A single file larger than this is not copied (a cache or a log, not configuration). */
export const MAX_SEED_FILE = 8 * 1024 * 1024

export function agentHomeKind(agent: string): AgentHomeKind | undefined {
  return AGENT_HOMES.find((h) => h.agent === agent)
}

/** The profile key that says a profile wants `agent`'s home in its containers. */
const HOME_PREFIX = 'user.repoman.agent-home.'
export const agentHomeKey = (agent: string) => HOME_PREFIX + agent

/** The agents whose homes a container's (expanded) config, or a rendered profile's, asks for. */
export function agentHomesOf(config: Record<string, string>): string[] {
  return Object.keys(config)
    .filter((key) => key.startsWith(HOME_PREFIX) && config[key] === 'true')
    .map((key) => key.slice(HOME_PREFIX.length))
    .filter((agent) => agentHomeKind(agent) !== undefined)
    .sort(compareAscii)
}

/** The device name of an agent's home on the instance. */
export const agentHomeDevice = (agent: string) => `agent-home-${agent}`

/**
 * The instance device and environment that give a container `agent`'s home: the host dir
 * read-write at the agent's usual path inside (HOME is the host's path inside too).
 */
export function agentHomeParts(
  kind: AgentHomeKind,
  hostHomeDir: string,
  home: string,
  shift: boolean,
): {devices: Record<string, Record<string, string>>; config: Record<string, string>} {
  const path = join(home, kind.insideDir)
  return {
    devices: {
      [agentHomeDevice(kind.agent)]: {type: 'disk', source: hostHomeDir, path, ...(shift ? {shift: 'true'} : {})},
    },
    config: kind.envVar ? {[`environment.${kind.envVar}`]: path} : {},
  }
}

/** An entry of the host's agent dir, as lstat saw it (never through a symlink). */
export interface SeedEntry {
  /** Relative to the host's agent dir. */
  rel: string
  kind: 'file' | 'dir' | 'symlink' | 'other'
  size: number
}

export interface SeedPlan {
  /** Directories to make and files to copy, parents first. */
  copy: SeedEntry[]
  /** What was left out, and why. */
  skipped: Array<{rel: string; why: string}>
}

/**
 * Pure: which of the entries found are copied. Only what lies under an allowlisted top-level
 * name; never a symlink (it could lead out of the agent's dir), a socket, FIFO or device, or
 * a file over MAX_SEED_FILE.
 */
export function planSeed(kind: AgentHomeKind, entries: SeedEntry[]): SeedPlan {
  const plan: SeedPlan = {copy: [], skipped: []}
  for (const entry of entries) {
    const top = entry.rel.split('/')[0] as string
    if (!kind.copy.includes(top)) continue
    if (entry.kind === 'symlink') plan.skipped.push({rel: entry.rel, why: 'a symlink (never followed)'})
    else if (entry.kind === 'other') plan.skipped.push({rel: entry.rel, why: 'not a regular file or directory'})
    else if (entry.kind === 'file' && entry.size > MAX_SEED_FILE)
      plan.skipped.push({rel: entry.rel, why: `larger than ${MAX_SEED_FILE / 1024 / 1024} MiB`})
    else plan.copy.push(entry)
  }
  return plan
}

/** Pure: Claude Code's user config without any key that holds or names a login, at any depth. */
export function filterClaudeUserConfig(text: string): string | undefined {
  let doc: unknown
  try {
    doc = JSON.parse(text)
  } catch {
    return undefined
  }
  const strip = (value: unknown): unknown => {
    if (Array.isArray(value)) return value.map(strip)
    if (value && typeof value === 'object')
      return Object.fromEntries(
        Object.entries(value)
          .filter(([key]) => !SECRET_KEY.test(key))
          .map(([key, v]) => [key, strip(v)]),
      )
    return value
  }
  return `${JSON.stringify(strip(doc), null, 2)}\n`
}

/** Pure: `merge` deep-merged into the JSON object `text` (objects key by key, else merge wins). */
export function mergeJson(text: string | undefined, merge: Record<string, unknown>): {text: string; replaced: boolean} {
  let doc: unknown
  try {
    doc = text === undefined ? {} : JSON.parse(text)
  } catch {
    doc = undefined
  }
  const isObject = (v: unknown): v is Record<string, unknown> =>
    typeof v === 'object' && v !== null && !Array.isArray(v)
  const deep = (base: unknown, over: unknown): unknown =>
    isObject(base) && isObject(over)
      ? Object.fromEntries([
          ...Object.entries(base),
          ...Object.entries(over).map(([key, value]) => [key, deep(base[key], value)]),
        ])
      : over
  const replaced = !isObject(doc)
  return {text: `${JSON.stringify(deep(replaced ? {} : doc, merge), null, 2)}\n`, replaced}
}

const kindOf = (stat: import('node:fs').Stats): SeedEntry['kind'] =>
  stat.isSymbolicLink() ? 'symlink' : stat.isFile() ? 'file' : stat.isDirectory() ? 'dir' : 'other'

/** Walks the allowlisted names of the host's agent dir with lstat, entering directories only. */
export function listSeedEntries(kind: AgentHomeKind, hostDir: string): SeedEntry[] {
  const entries: SeedEntry[] = []
  const visit = (rel: string) => {
    const stat = lstatSync(join(hostDir, rel), {throwIfNoEntry: false})
    if (!stat) return
    const entry: SeedEntry = {rel, kind: kindOf(stat), size: stat.size}
    entries.push(entry)
    if (entry.kind === 'dir')
      for (const name of readdirSync(join(hostDir, rel)).sort(compareAscii)) visit(`${rel}/${name}`)
  }
  for (const name of kind.copy) visit(name)
  return entries
}

/** Reads a regular file without following a symlink, even one swapped in since the walk. */
function readNoFollow(path: string): Buffer | undefined {
  let fd: number
  try {
    fd = openSync(path, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK)
  } catch {
    return undefined
  }
  try {
    const stat = fstatSync(fd)
    if (!stat.isFile() || stat.size > MAX_SEED_FILE) return undefined
    return readFileSync(fd)
  } finally {
    closeSync(fd)
  }
}

/** What a seed did, for the command to say. */
export interface SeedResult {
  agent: string
  /** The host dir it was copied from. */
  from: string
  /** The home on the host. */
  home: string
  /** How many files were copied. */
  files: number
  skipped: Array<{rel: string; why: string}>
}

/**
 * Copies the seed into `target` (made if missing; it must be empty): the planned entries, and
 * for Claude Code its filtered user config. Files keep their permission bits but never setuid,
 * setgid or sticky ones.
 */
export async function seedAgentHome(
  kind: AgentHomeKind,
  hostHome: string,
  target: string,
  login?: {name: string; merge: Record<string, unknown>},
): Promise<SeedResult> {
  const from = join(hostHome, kind.hostDir)
  const plan = planSeed(kind, listSeedEntries(kind, from))
  await mkdir(target, {recursive: true, mode: 0o700})
  let files = 0
  for (const entry of plan.copy) {
    const dest = join(target, entry.rel)
    if (entry.kind === 'dir') {
      await mkdir(dest, {recursive: true})
      continue
    }
    const content = readNoFollow(join(from, entry.rel))
    if (content === undefined) {
      plan.skipped.push({rel: entry.rel, why: 'changed while being copied'})
      continue
    }
    const mode = lstatSync(join(from, entry.rel)).mode & 0o777
    await writeFile(dest, content, {mode})
    await chmod(dest, mode)
    files++
  }
  if (kind.agent === 'claude') {
    const content = readNoFollow(join(hostHome, CLAUDE_USER_CONFIG))
    const filtered = content && filterClaudeUserConfig(content.toString('utf8'))
    if (filtered !== undefined && filtered !== '') {
      await writeFile(join(target, CLAUDE_USER_CONFIG), filtered, {mode: 0o600})
      files++
    } else if (content) plan.skipped.push({rel: `~/${CLAUDE_USER_CONFIG}`, why: 'not valid JSON'})
  }
  if (login) {
    // The target is the fresh copy just made: read and written here, never the host's file.
    const file = join(target, login.name)
    const seeded = readNoFollow(file)
    const merged = mergeJson(seeded?.toString('utf8'), login.merge)
    if (merged.replaced) plan.skipped.push({rel: login.name, why: 'not valid JSON: replaced by the login'})
    await writeFile(file, merged.text, {mode: 0o600})
    await chmod(file, 0o600)
    if (!seeded) files++
  }
  return {agent: kind.agent, from, home: target, files, skipped: plan.skipped}
}
