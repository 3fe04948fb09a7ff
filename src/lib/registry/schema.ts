/**
 * The registry file (`repoman.toml`), schema 3: its types, and pure functions that parse,
 * migrate, validate and serialize it. No I/O here; see `store.ts` for that.
 */
import {join} from 'node:path'
import {ConfigError, ProjectNotFoundError} from '../errors.js'
import type {IdmapMode} from '../lifecycle/containers.js'
import {IPV4_PATTERN, NETWORK_MODES} from '../lifecycle/network.js'
import {INCUS_PROJECT_NAME, isValidIncusProjectName, isValidProjectName, NAME_RULE} from '../names.js'
import {expandHome} from '../paths.js'
import {lineOf, type Table, TomlValidator} from './toml-check.js'

export const CURRENT_SCHEMA = 3

/** The host user repoman acts for (with sudo: the invoking user, not root). */
export interface HostUser {
  user: string
  uid: number
  gid: number
  home: string
}

export interface HostRecord extends HostUser {
  /** The host's LAN address, substituted for `${HOST_LAN_IP}` in profiles. Empty when unknown. */
  lan_ip: string
}

export interface Defaults {
  repos_root: string
  backup_root: string
  /** Log directory; when unset, `$XDG_STATE_HOME/repoman`. */
  logdir?: string
  incus_project: string
  default_image: string
  profiles: string[]
  /** Allow `sync` to a backup root that is not a separate mount. */
  backup_allow_local?: boolean
  /** Repo paths mounted read-only in every container; unset means the built-in list, [] turns it off. */
  protected_paths?: string[]
  /** Network isolation for new containers: open (default), restricted or allowlist. */
  network?: string
  /** Hosts/CIDRs (optionally :port) a restricted or allowlist project may reach; ${HOST_LAN_IP} allowed. */
  network_allow?: string[]
  /** How new containers map the host user's ids: raw.idmap (default: only your ids) or shift. */
  idmap?: IdmapMode
  /** Passwordless sudo for the host user in new containers; unset means on. */
  sudo?: boolean
  /** What new containers work in: `shared` (your working tree, the default) or `clone` (a checkout of their own). */
  tree?: WorkTree
}

export const WORK_TREES = ['shared', 'clone'] as const
export type WorkTree = (typeof WORK_TREES)[number]

export interface ProjectEntry {
  name: string
  /** Repo directory name under `repos_root`. */
  repo: string
  image: string
  profiles: string[]
  created: string
  last_sync?: string
  backup: boolean
  /**
   * Clone mode: the container has a checkout of its own (in repoman's state dir) instead of the
   * host's working tree, on `branch`, made from the host commit `base`.
   */
  clone?: CloneEntry
}

/** A clone-mode project's branch, the host commit its checkout was made from, and the host branch that was on. */
export interface CloneEntry {
  branch: string
  base: string
  from?: string
}

export interface Registry {
  schema: typeof CURRENT_SCHEMA
  repoman: {output: 'quiet' | 'verbose'}
  host: HostRecord
  defaults: Defaults
  project: ProjectEntry[]
}

export const DEFAULT_INCUS_PROJECT = 'repoman'
export const DEFAULT_IMAGE = 'images:ubuntu/26.04/cloud'
export const DEFAULT_PROFILES = ['default']

const KNOWN = {
  root: ['schema', 'repoman', 'host', 'defaults', 'project'],
  repoman: ['output'],
  host: ['lan_ip', 'user', 'uid', 'gid', 'home'],
  defaults: [
    'repos_root',
    'backup_root',
    'logdir',
    'incus_project',
    'default_image',
    'profiles',
    'backup_allow_local',
    'protected_paths',
    'network',
    'network_allow',
    'idmap',
    'sudo',
    'tree',
  ],
  project: ['name', 'repo', 'image', 'profiles', 'created', 'last_sync', 'backup', 'clone'],
} as const

/** The error for a project name the registry does not hold. */
export function projectNotFound(name: string): ProjectNotFoundError {
  return new ProjectNotFoundError(`no project "${name}"; \`repoman list\` shows the projects`, {hint: 'repoman list'})
}

/** The registered project of that name; anything else is the one "no project" error. */
export function findProject(registry: Registry, name: string): ProjectEntry {
  const project = registry.project.find((p) => p.name === name)
  if (!project) throw projectNotFound(name)
  return project
}

/** Date-times as the registry writes them: RFC 3339, UTC, whole seconds. */
export function registryTimestamp(date = new Date()): string {
  return date.toISOString().replace(/\.\d+Z$/, 'Z')
}

/** A repo dirname is one path segment: it must not climb out of repos_root or backup_root. */
export function isSafeDirname(dirname: string): boolean {
  return dirname !== '' && dirname !== '.' && dirname !== '..' && !dirname.includes('/') && !dirname.includes('\0')
}

/**
 * Validates a schema-3 document and fills in defaults. `hostUser` supplies the user fields of
 * `[host]` that a hand-written file may leave out.
 */
export function validateRegistry(doc: Table, text: string, file: string, hostUser: HostUser): Registry {
  const v = new TomlValidator(text, file)
  v.noUnknownKeys(doc, '', KNOWN.root)

  const repoman = v.table(doc, 'repoman', false)
  v.noUnknownKeys(repoman, 'repoman', KNOWN.repoman)
  const output = v.string(repoman, 'repoman', 'output', 'quiet')
  if (output !== 'quiet' && output !== 'verbose') v.fail('repoman', 'output', 'must be "quiet" or "verbose"')

  const host = v.table(doc, 'host', false)
  v.noUnknownKeys(host, 'host', KNOWN.host)
  const hostRecord: HostRecord = {
    lan_ip: host.lan_ip === '' ? '' : v.string(host, 'host', 'lan_ip', ''),
    user: v.string(host, 'host', 'user', hostUser.user),
    uid: v.integer(host, 'host', 'uid', hostUser.uid),
    gid: v.integer(host, 'host', 'gid', hostUser.gid),
    home: v.string(host, 'host', 'home', hostUser.home),
  }

  const defaults = v.table(doc, 'defaults', true)
  v.noUnknownKeys(defaults, 'defaults', KNOWN.defaults)
  const defaultsRecord: Defaults = {
    repos_root: v.string(defaults, 'defaults', 'repos_root'),
    backup_root: v.string(defaults, 'defaults', 'backup_root'),
    logdir: v.optionalString(defaults, 'defaults', 'logdir'),
    incus_project: v.string(defaults, 'defaults', 'incus_project', DEFAULT_INCUS_PROJECT),
    default_image: v.string(defaults, 'defaults', 'default_image', DEFAULT_IMAGE),
    profiles: v.strings(defaults, 'defaults', 'profiles', DEFAULT_PROFILES),
    backup_allow_local:
      defaults.backup_allow_local === undefined ? undefined : v.boolean(defaults, 'defaults', 'backup_allow_local'),
    protected_paths:
      defaults.protected_paths === undefined ? undefined : v.strings(defaults, 'defaults', 'protected_paths', []),
    network: v.optionalString(defaults, 'defaults', 'network'),
    network_allow:
      defaults.network_allow === undefined ? undefined : v.strings(defaults, 'defaults', 'network_allow', []),
    idmap: v.optionalString(defaults, 'defaults', 'idmap') as IdmapMode | undefined,
    sudo: defaults.sudo === undefined ? undefined : v.boolean(defaults, 'defaults', 'sudo'),
    tree: v.optionalString(defaults, 'defaults', 'tree') as WorkTree | undefined,
  }
  if (defaultsRecord.tree && !(WORK_TREES as readonly string[]).includes(defaultsRecord.tree))
    v.fail('defaults', 'tree', 'must be "shared" (your working tree) or "clone" (a checkout of its own)')
  if (defaultsRecord.idmap && !['raw.idmap', 'shift'].includes(defaultsRecord.idmap))
    v.fail('defaults', 'idmap', 'must be "raw.idmap" (only your ids are mapped) or "shift"')
  if (defaultsRecord.network && !(NETWORK_MODES as readonly string[]).includes(defaultsRecord.network))
    v.fail('defaults', 'network', `must be one of ${NETWORK_MODES.join(', ')}`)
  if (!isValidIncusProjectName(defaultsRecord.incus_project))
    v.fail('defaults', 'incus_project', 'must be a valid Incus project name')

  const rawProjects = doc.project ?? []
  if (!Array.isArray(rawProjects)) v.fail(undefined, 'project', 'must be an array of tables ([[project]])')
  const seen = new Set<string>()
  const projects = (rawProjects as unknown[]).map((raw, i): ProjectEntry => {
    if (typeof raw !== 'object' || raw === null) v.fail('project', 'name', 'must be a table', i)
    const p = raw as Table
    v.noUnknownKeys(p, 'project', KNOWN.project, i)
    const name = v.string(p, 'project', 'name', undefined, i)
    if (!isValidProjectName(name)) v.fail('project', 'name', `"${name}" is not a valid name (${NAME_RULE})`, i)
    if (seen.has(name)) v.fail('project', 'name', `"${name}" appears twice`, i)
    seen.add(name)
    const repo = v.string(p, 'project', 'repo', name, i)
    if (!isSafeDirname(repo)) v.fail('project', 'repo', `"${repo}" must be a single directory name under repos_root`, i)
    return {
      name,
      repo,
      image: v.string(p, 'project', 'image', defaultsRecord.default_image, i),
      profiles: v.strings(p, 'project', 'profiles', defaultsRecord.profiles, i),
      created: v.dateTime(p, 'project', 'created', i, true) as string,
      last_sync: v.dateTime(p, 'project', 'last_sync', i, false),
      backup: v.boolean(p, 'project', 'backup', true, i),
      ...(p.clone === undefined ? {} : {clone: cloneOf(p.clone, v, i)}),
    }
  })

  return {
    schema: CURRENT_SCHEMA,
    repoman: {output: output as Registry['repoman']['output']},
    host: hostRecord,
    defaults: defaultsRecord,
    project: projects,
  }
}

/** A project's `clone = {branch, base}` table, checked. */
function cloneOf(raw: unknown, v: TomlValidator, i: number): CloneEntry {
  if (typeof raw !== 'object' || raw === null) v.fail('project', 'clone', 'must be a table {branch, base}', i)
  const table = raw as Table
  v.noUnknownKeys(table, 'project.clone', ['branch', 'base', 'from'], i)
  const branch = v.string(table, 'project.clone', 'branch', undefined, i)
  const base = v.string(table, 'project.clone', 'base', undefined, i)
  if (!/^[0-9a-f]{40}([0-9a-f]{24})?$/.test(base)) v.fail('project', 'clone.base', 'must be a commit id', i)
  const from = v.optionalString(table, 'project.clone', 'from', i)
  return {branch, base, ...(from === undefined ? {} : {from})}
}

/** Which schema a parsed document declares; a file without `schema` is schema 1. */
export function schemaOf(doc: Table, text: string, file: string): number {
  const schema = doc.schema ?? 1
  if (typeof schema !== 'number' || !Number.isInteger(schema) || schema < 1) {
    const line = lineOf(text, undefined, 'schema')
    throw new ConfigError(`${file}${line ? `:${line}` : ''}: schema must be a positive integer; fix the file`)
  }
  if (schema > CURRENT_SCHEMA)
    throw new ConfigError(
      `${file}: schema ${schema} is newer than this repoman understands (${CURRENT_SCHEMA}); upgrade repoman`,
    )
  return schema
}

const IPV4_IN_TEXT = new RegExp(`\\b(${IPV4_PATTERN})\\b`)

/**
 * Brings an older document up to schema 3 without losing anything it meant:
 * 1 → 2 adds the `[repoman]` table; 2 → 3 drops `[defaults].llm` (the `llm-share` profile
 * replaced it) and keeps the LAN host it named as `[host].lan_ip`.
 */
export function migrate(doc: Table, from: number, detectedLanIp: string): Table {
  const next: Table = structuredClone(doc)
  if (from < 2) {
    next.repoman ??= {output: 'quiet'}
  }
  if (from < 3) {
    const defaults = (next.defaults ?? {}) as Table
    const llm = defaults.llm
    delete defaults.llm
    const host = (next.host ?? {}) as Table
    if (host.lan_ip === undefined) {
      const fromLlm = IPV4_IN_TEXT.exec(typeof llm === 'string' ? llm : JSON.stringify(llm ?? ''))?.[1]
      host.lan_ip = fromLlm ?? detectedLanIp
    }
    next.host = host
    next.defaults = defaults
  }
  next.schema = CURRENT_SCHEMA
  return next
}

/** The document to write: fixed table order, no undefined values. */
export function toDocument(registry: Registry): Table {
  const {schema, repoman, host, defaults, project} = registry
  // An empty `project = []` would sit above the tables; leave it out instead.
  return project.length > 0 ? {schema, repoman, host, defaults, project} : {schema, repoman, host, defaults}
}

/**
 * The Incus project a registry's text most likely names, found without parsing it. Only a
 * guess, for reading ahead: the parsed registry decides.
 */
export function likelyIncusProject(text: string): string {
  return (
    new RegExp(`^\\s*incus_project\\s*=\\s*["'](${INCUS_PROJECT_NAME})["']`, 'm').exec(text)?.[1] ??
    DEFAULT_INCUS_PROJECT
  )
}

/** The repos root, `~` expanded for the host user. */
export function reposRootOf(registry: Registry): string {
  return expandHome(registry.defaults.repos_root, registry.host.home)
}

/** The backup root, `~` expanded for the host user. */
export function backupRootOf(registry: Registry): string {
  return expandHome(registry.defaults.backup_root, registry.host.home)
}

/** Where a project's repo lives on the host. */
export function repoPathOf(registry: Registry, dirname: string): string {
  return join(reposRootOf(registry), dirname)
}
