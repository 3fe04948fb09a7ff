/** `repoman status`: is each project's container there, are its mounts there, is the backup current and reachable? */
import {existsSync} from 'node:fs'
import {relative} from 'node:path'
import {agentHomeProblems} from '../agents/home-status.js'
import {type ProgramShare, programShares} from '../agents/programs.js'
import {type BackupRootState, inspectBackupRoot} from '../backup/mounts.js'
import type {CommandOutput} from '../context.js'
import {gatewayPid, socketFor} from '../gateway/daemon.js'
import {type GatewayLogEntry, readGatewayLog} from '../gateway/log.js'
import {agentGitWreck, hostGitKind, importAndReport} from '../git/agent-git.js'
import type {IncusClient} from '../incus/client.js'
import type {IncusInstance} from '../incus/types.js'
import {
  type IntegrityChange,
  type IntegrityState,
  integrityProblems,
  type SpecialFile,
} from '../integrity/fingerprint.js'
import {checkWatched, recordFlagged, scanSpecialFiles} from '../integrity/snapshot.js'
import {compareAscii} from '../names.js'
import {isWithin, type RepomanPaths} from '../paths.js'
import {type Exposure, findExposures, type GuardContext} from '../profiles/guard.js'
import {backupRootOf, projectNotFound, type Registry, repoPathOf, reposRootOf} from '../registry/schema.js'
import type {Step} from '../steps.js'
import {CONFIG_KEYS, guardContextOf, type ProjectRow, projectRows} from './containers.js'
import {type ContainmentState, containmentState} from './containment.js'
import {type GitLayout, gitLayoutOf, gitLayoutProblem, gitWreckProblem} from './git-layout.js'

export interface MountStatus {
  device: string
  source: string
  path: string
  source_exists: boolean
  readonly: boolean
}

export interface ProjectStatus {
  name: string
  state: string
  registered: boolean
  healthy: boolean
  problems: string[]
  /** `shift`, `raw.idmap`, or `unknown` for a container repoman did not make. */
  idmap: string
  /**
   * Whether repoman's seccomp policy keeps root inside from unmounting or getting around the
   * read-only paths: `enforced`, `modified` (raw.seccomp changed by hand) or `none`.
   */
  containment: ContainmentState
  mounts: MountStatus[]
  /** Repo paths mounted read-only over the repo (the host-execution guard). */
  protected_paths: string[]
  /** Host paths or settings that look like secrets or the host itself. */
  exposures: Exposure[]
  /** Agent programs its profiles share from the host, or say to install inside. */
  programs: ProgramShare[]
  /**
   * Which git dir the container writes at the repo's `.git`: `own` (a git dir of its own, whose
   * commits repoman takes as data), `host` (the host's own .git: a problem), `none` (no git repo).
   */
  git_dir: GitLayout | null
  /** Network mode in force: open, restricted or allowlist. */
  network: string
  /** The container's network interfaces, as `eth0 on incusbr0`; empty when it has only `lo`. */
  interfaces: string[]
  /** The project's way out: whether the gateway runs and listens for it, and its last refusals. */
  gateway: {running: boolean; listening: boolean; refused: GatewayLogEntry[]}
  /** Passwordless sudo for you inside; null when the container does not record it (not made by this repoman). */
  sudo: boolean | null
  /** The files the host runs: as accepted (clean), changed, or unknown (no baseline yet). */
  integrity: IntegrityState
  /** What changed in them since the user accepted them. */
  changes: IntegrityChange[]
  /** setuid/setgid files, device nodes, FIFOs, sockets and closed directories anywhere in the repo. */
  special_files: SpecialFile[]
  backup: boolean | null
  last_sync: string | null
  last_sync_age_seconds: number | null
}

/** The `status --json` result. */
export interface StatusReport {
  healthy: boolean
  incus_project: string
  backup_root: BackupRootState
  projects: ProjectStatus[]
  /** With --fix only: what was repaired in each running container. */
  fixed?: AccountFix[]
}

/** What `status --fix` did for one project. */
export interface AccountFix {
  name: string
  /** One line per change; empty when the account was in place. */
  changes: string[]
  notes: string[]
  /** Why it was not checked (a stopped container is checked when exec or shell starts it). */
  skipped: string | null
}

/** Disk devices that bind a host path (not the root disk or pool volumes). */
function hostMounts(instance: IncusInstance, sourceExists: (path: string) => boolean): MountStatus[] {
  const devices = instance.expanded_devices ?? instance.devices
  return Object.entries(devices)
    .filter(([, d]) => d.type === 'disk' && d.source?.startsWith('/'))
    .map(([device, d]) => ({
      device,
      source: d.source as string,
      path: d.path ?? '',
      source_exists: sourceExists(d.source as string),
      readonly: d.readonly === 'true',
    }))
    .sort((a, b) => compareAscii(a.device, b.device))
}

/**
 * The NICs the container really gets (its profiles' and its own), and whether it has none
 * because a profile or the container asked for none (a `type: none` device over the NIC).
 */
export function containerInterfaces(instance: IncusInstance): {interfaces: string[]; askedForNone: boolean} {
  const devices = Object.entries(instance.expanded_devices ?? instance.devices)
  const interfaces = devices
    .filter(([, d]) => d.type === 'nic')
    .map(([device, d]) => `${d.name ?? device} on ${d.network ?? d.parent ?? d.nictype ?? 'unknown'}`)
    .sort(compareAscii)
  return {interfaces, askedForNone: devices.some(([, d]) => d.type === 'none')}
}

/** What the integrity checks found in one repo. */
export interface IntegrityFacts {
  integrity: IntegrityState
  changes: IntegrityChange[]
  special_files: SpecialFile[]
  /** Why the watched paths could not be compared (an unreadable baseline). */
  problem?: string
}

const NO_INTEGRITY_FACTS: IntegrityFacts = {integrity: 'unknown', changes: [], special_files: []}

export function projectStatus(
  row: ProjectRow,
  instance: IncusInstance | undefined,
  facts: {
    sourceExists: (path: string) => boolean
    now: Date
    guard: GuardContext
    integrityOf: (row: ProjectRow) => IntegrityFacts
    hostGit: (repoPath: string) => 'dir' | 'file' | 'none'
    /** Why the project's own git dir is broken, if it is (agent-git.ts). */
    gitWreck: (name: string, repoPath: string) => string | undefined
    gatewayOf: (name: string) => ProjectStatus['gateway']
  },
): ProjectStatus {
  const {sourceExists, now} = facts
  const problems: string[] = []
  if (row.drift) problems.push(row.drift)
  if (row.state === 'error') problems.push('the container is in an error state; `incus info` shows why')
  const mounts = instance ? hostMounts(instance, sourceExists) : []
  for (const m of mounts)
    if (!m.source_exists) problems.push(`mount source ${m.source} (${m.device}) is missing on the host`)
  const repoExists = sourceExists(row.path)
  if (row.registered && !repoExists) problems.push(`repo ${row.path} is missing on the host`)
  const {problem, ...integrity} = row.registered && repoExists ? facts.integrityOf(row) : NO_INTEGRITY_FACTS
  if (problem) problems.push(problem)
  problems.push(...integrityProblems(row.name, integrity.changes, integrity.special_files))
  const programs = instance ? programShares(instance.expanded_config ?? instance.config) : []
  for (const p of programs)
    if (p.executable && !sourceExists(p.executable))
      problems.push(
        `${p.command}: ${p.executable} is gone from the host (updated?); install the profile that shares it again (\`repoman profile list\` shows it as differs)`,
      )
  if (instance) problems.push(...agentHomeProblems(row.name, instance, facts.guard.home))
  const protectedPaths = mounts
    .filter((m) => m.device.startsWith('ro-') && m.readonly && isWithin(m.path, row.path))
    .map((m) => relative(row.path, m.path))
  const exposures = instance
    ? findExposures(
        {
          name: row.name,
          description: '',
          config: instance.expanded_config ?? instance.config,
          devices: instance.expanded_devices ?? instance.devices,
        },
        facts.guard,
      )
    : []
  const idmap = instance?.config['raw.idmap']
    ? 'raw.idmap'
    : instance?.config[CONFIG_KEYS.managed]
      ? 'shift'
      : 'unknown'
  const layout =
    instance && row.registered && repoExists ? gitLayoutOf(instance, row.path, facts.hostGit(row.path)) : null
  const wreck = layout === 'own' ? facts.gitWreck(row.name, row.path) : undefined
  const gitDir = wreck ? 'wrecked' : layout
  if (gitDir === 'host') problems.push(gitLayoutProblem(row.name))
  if (wreck) problems.push(gitWreckProblem(row.name, wreck))
  const nics = instance ? containerInterfaces(instance) : {interfaces: [], askedForNone: false}
  if (instance && nics.interfaces.length === 0 && !nics.askedForNone)
    problems.push(
      'no network interface (only lo): the agent reaches no API and apt nothing; `repoman setup` puts a NIC on the default profile, then `repoman remove` and `repoman new`',
    )
  const containment = containmentState(instance?.config['raw.seccomp'])
  if (instance && containment !== 'enforced')
    problems.push(
      containment === 'none'
        ? 'made without the containment policy (by an older repoman?): root inside can unmount the read-only paths; make it anew (`repoman remove`, `repoman new`)'
        : 'raw.seccomp was changed by hand: root inside may get around the read-only paths; restore it or make the container anew',
    )
  const age = row.last_sync ? Math.max(0, Math.round((now.getTime() - Date.parse(row.last_sync)) / 1000)) : null
  return {
    name: row.name,
    state: row.state,
    registered: row.registered,
    healthy: problems.length === 0,
    problems: [...new Set(problems)],
    idmap,
    containment,
    mounts,
    protected_paths: protectedPaths,
    exposures,
    programs,
    git_dir: gitDir,
    network: instance?.config[CONFIG_KEYS.networkMode] ?? 'open',
    interfaces: nics.interfaces,
    gateway: facts.gatewayOf(row.name),
    sudo: instance?.config[CONFIG_KEYS.sudo] === undefined ? null : instance.config[CONFIG_KEYS.sudo] === 'true',
    ...integrity,
    backup: row.backup,
    last_sync: row.last_sync,
    last_sync_age_seconds: age,
  }
}

/** The gateway's side of a project: one pid check, one stat, the tail of its log. */
function gatewayFacts(stateDir: string, name: string): ProjectStatus['gateway'] {
  const running = gatewayPid(stateDir) !== undefined
  return {
    running,
    listening: running && existsSync(socketFor(stateDir, name)),
    refused: readGatewayLog(stateDir, name, {count: 5, refusedOnly: true}),
  }
}

/** The cheap check of the watched paths and the full scan of the repo. */
export function integrityFacts(stateDir: string, name: string, repoPath: string, home: string): IntegrityFacts {
  const {state, changes, problem} = checkWatched(stateDir, name, repoPath)
  const special = scanSpecialFiles(repoPath, home)
  try {
    recordFlagged(stateDir, name, special)
  } catch {
    // Only list's mark is stale then; status itself reports what it found.
  }
  return {integrity: state, changes, special_files: special, problem}
}

export async function gatherStatus(
  context: {registry: Registry; incus: IncusClient; paths: RepomanPaths},
  name?: string,
): Promise<StatusReport> {
  const {registry, incus} = context
  const answers = Promise.all([
    incus.listInstances(),
    inspectBackupRoot(backupRootOf(registry), reposRootOf(registry), {
      allowLocal: registry.defaults.backup_allow_local === true,
      autofsWaitMs: 5_000,
    }),
  ])
  // Should the file-system work below throw, the answers' own failure is not left unhandled.
  answers.catch(() => undefined)
  // Meanwhile (Incus and the mount table answer in the background), the repos on disk: what the
  // agents committed first, then what is in the trees.
  const integrity = new Map<string, IntegrityFacts>()
  for (const project of registry.project) {
    const repoPath = repoPathOf(registry, project.repo)
    if ((name === undefined || project.name === name) && existsSync(repoPath)) {
      await importAndReport(repoPath, context.paths.stateDir, project.name)
      integrity.set(project.name, integrityFacts(context.paths.stateDir, project.name, repoPath, registry.host.home))
    }
  }
  const [instances, backupRoot] = await answers
  let rows = projectRows(registry, instances)
  if (name !== undefined) {
    rows = rows.filter((r) => r.name === name)
    if (rows.length === 0) throw projectNotFound(name)
  }
  const byName = new Map(instances.map((i) => [i.name, i]))
  const facts = {
    sourceExists: existsSync,
    now: new Date(),
    guard: guardContextOf(registry, context.paths),
    integrityOf: (row: ProjectRow) => integrity.get(row.name) ?? NO_INTEGRITY_FACTS,
    hostGit: hostGitKind,
    gitWreck: (project: string, repoPath: string) => agentGitWreck(context.paths.stateDir, project, repoPath),
    gatewayOf: (project: string) => gatewayFacts(context.paths.stateDir, project),
  }
  const projects = rows.map((row) => projectStatus(row, byName.get(row.name), facts))
  return {
    healthy: backupRoot.problem === null && projects.every((p) => p.healthy),
    incus_project: incus.project,
    backup_root: backupRoot,
    projects,
  }
}

/**
 * `repoman status` on either path: the report, its lines unless --json (after what `--fix` did,
 * when it ran), and exit 1 when anything is unhealthy.
 */
export async function runStatus(
  context: {registry: Registry; incus: IncusClient; paths: RepomanPaths},
  request: {json: boolean; name?: string; fixed?: AccountFix[]; verbose?: boolean},
): Promise<CommandOutput<StatusReport>> {
  const {fixed} = request
  const report = {...(await gatherStatus(context, request.name)), ...(fixed ? {fixed} : {})}
  const lines = request.json ? [] : [...renderFixes(fixed ?? []), ...renderStatus(report, request.verbose ?? false)]
  return {result: report, lines, exitCode: report.healthy ? 0 : 1}
}

/** What `status --fix` does, in registry order: a running container is checked, the others say why not. */
export type AccountFixPlan = Array<{name: string; instance?: IncusInstance; skipped: string | null}>

/** Pure: the projects asked about, against the containers Incus has. */
export function decideAccountFix(registry: Registry, instances: IncusInstance[], name?: string): AccountFixPlan {
  const projects = registry.project.filter((p) => name === undefined || p.name === name)
  if (name !== undefined && projects.length === 0) throw projectNotFound(name)
  return projects.map((project) => {
    const instance = instances.find((i) => i.name === project.name)
    if (!instance) return {name: project.name, skipped: 'the container is gone'}
    if (instance.status !== 'Running')
      return {name: project.name, skipped: `${instance.status.toLowerCase()}; checked when exec or shell starts it`}
    return {name: project.name, instance, skipped: null}
  })
}

/**
 * `status --fix`: gives each registered, running container back the host user's account (a
 * container re-provisioned from its image has lost it), as `new` made it: one step each, which
 * reads, plans and applies in one `incus exec` (nothing is left half-done to undo).
 */
export function accountFixSteps(
  plan: AccountFixPlan,
  registry: Registry,
  incus: IncusClient,
): {steps: Step[]; result: AccountFix[]} {
  const result: AccountFix[] = plan.map(({name, skipped}) => ({name, changes: [], notes: [], skipped}))
  const steps: Step[] = []
  plan.forEach(({name, instance}, i) => {
    const fix = result[i] as AccountFix
    if (instance)
      steps.push({
        title: `Your account in "${name}"`,
        async run(control) {
          const [{describeAction}, {ensureAccount, instanceAccountWant}] = await Promise.all([
            import('./account-plan.js'),
            import('./account.js'),
          ])
          const account = await ensureAccount(incus, name, instanceAccountWant(registry, instance), 'on-change')
          fix.changes = account.actions.map(describeAction)
          fix.notes = account.notes
          control.title(`Your account in "${name}": ${fix.changes.length > 0 ? 'repaired' : 'in place'}`)
          return undefined
        },
      })
  })
  return {steps, result}
}

/** The lines `status --fix` prints before the report. */
export function renderFixes(fixes: AccountFix[]): string[] {
  return fixes.map((f) => {
    if (f.skipped) return `fix    ${f.name}: not checked (${f.skipped})`
    const what = f.changes.length > 0 ? `account repaired: ${f.changes.join('; ')}` : 'account in place'
    return `fix    ${f.name}: ${what}${f.notes.length > 0 ? ` (${f.notes.join('; ')})` : ''}`
  })
}

/** "3h ago", "2d ago": how stale a sync is, at a glance. */
export function formatAge(seconds: number | null): string {
  if (seconds === null) return 'never'
  const units: [number, string][] = [
    [86_400, 'd'],
    [3_600, 'h'],
    [60, 'm'],
  ]
  for (const [size, unit] of units) if (seconds >= size) return `${Math.floor(seconds / size)}${unit} ago`
  return `${seconds}s ago`
}

/** What each id mapping lets through to the host, in a few words. */
function describeIdmap(idmap: string): string {
  if (idmap === 'raw.idmap') return 'raw.idmap (only your ids reach the host)'
  if (idmap === 'shift') return 'shift (container root writes as host root)'
  return `idmap ${idmap}`
}

/** The human view: the backup root, then a line per project (and its exposures when it matters). */
export function renderStatus(report: StatusReport, verbose: boolean): string[] {
  const b = report.backup_root
  // A problem names the backup root itself.
  const lines = [b.problem ?? `backup root ${b.root}: ok (${b.fs_type} at ${b.mount_point})`]
  for (const p of report.projects) {
    const sync = p.backup === false ? 'backup off' : `last sync ${formatAge(p.last_sync_age_seconds)}`
    const sudo = p.sudo === null ? '' : p.sudo ? ', sudo' : ', no sudo'
    const network =
      p.interfaces.length > 0
        ? `network ${p.network} (${p.interfaces.join(', ')})`
        : p.network === 'allowlist'
          ? 'network allowlist (the gateway only)'
          : 'no network'
    const mounts = `${p.mounts.length} mount(s), ${p.protected_paths.length} protected, ${describeIdmap(p.idmap)}, ${network}${sudo}`
    const problems = p.problems.length > 0 ? `: ${p.problems.join('; ')}` : ''
    lines.push(`${p.healthy ? 'ok     ' : 'PROBLEM'} ${p.name}: ${p.state}, ${mounts}, ${sync}${problems}`)
    // The exposure report: what this container can reach on the host.
    if (verbose || !p.healthy || p.exposures.length > 0) {
      for (const m of p.mounts)
        lines.push(
          `          ${m.readonly ? 'ro' : 'rw'} ${m.source} -> ${m.path}${m.source_exists ? '' : ' (missing)'}`,
        )
      for (const e of p.exposures) lines.push(`          exposes ${e.path}: ${e.why} (${e.where})`)
    }
    for (const e of p.gateway.refused.slice(-3))
      lines.push(`          gateway refused ${e.target}: ${e.reason} (${e.time})`)
    for (const program of p.programs)
      if (verbose || program.state !== 'shared') lines.push(`          ${program.command}: ${program.state}`)
  }
  if (report.projects.length === 0) lines.push('No projects yet.')
  return lines
}
