/**
 * `repoman setup`: the Incus project, its default profile, and the registry. Idempotent: the
 * plan compares what is there with what should be, and the steps change only the difference.
 */
import {existsSync} from 'node:fs'
import {mkdir} from 'node:fs/promises'
import {oneLine, RepomanError, UsageError} from '../errors.js'
import {gatewayUnitPending} from '../gateway/unit.js'
import {detectHostUser, detectLanIp, hostIpv4Cidrs, missingSubids} from '../host.js'
import {describeIncusCommand, IncusClient} from '../incus/client.js'
import type {DeviceMap, IncusNetwork, IncusProfile, IncusProject, IncusStoragePool} from '../incus/types.js'
import {planIdmap} from '../lifecycle/containers.js'
import {isIpv4} from '../lifecycle/network.js'
import {isValidIncusProjectName} from '../names.js'
import {expandHome, type RepomanPaths} from '../paths.js'
import {
  CURRENT_SCHEMA,
  DEFAULT_IMAGE,
  DEFAULT_INCUS_PROJECT,
  DEFAULT_PROFILES,
  type HostRecord,
  type HostUser,
  type Registry,
} from '../registry/schema.js'
import {RegistryStore, serializeRegistry} from '../registry/store.js'
import type {Step, StepControl} from '../steps.js'
import {type BridgePlan, bridgeConfig, planBridge, sharedNetworks} from './network.js'

/** What the user asked for; anything unset keeps its current value (or gets the default). */
export interface SetupRequest {
  reposRoot?: string
  backupRoot?: string
  image?: string
  profiles?: string[]
  incusProject?: string
  storagePool?: string
  network?: string
  lanIp?: string
}

/** The values setup asks for when they are neither given nor already recorded. */
export const ASKED_VALUES = ['reposRoot', 'backupRoot', 'image', 'profiles'] as const
export type AskedValue = (typeof ASKED_VALUES)[number]

export const BUILTIN_DEFAULTS = {
  reposRoot: '~/repos',
  backupRoot: '/nfs/repos',
  image: DEFAULT_IMAGE,
  profiles: DEFAULT_PROFILES,
} as const

/** The setup `--json` result. */
export interface SetupResult {
  registry_file: string
  incus_project: string
  /** One line per change made; empty when everything was already in place. */
  changes: string[]
  warnings: string[]
  /** Advice that needs no action now (e.g. a faster storage pool). */
  notes: string[]
  idmapped_mounts: boolean
  host: HostRecord
  defaults: Registry['defaults']
}

export function missingValues(request: SetupRequest, current: Registry | undefined): AskedValue[] {
  const recorded: Record<AskedValue, unknown> = {
    reposRoot: current?.defaults.repos_root,
    backupRoot: current?.defaults.backup_root,
    image: current?.defaults.default_image,
    profiles: current?.defaults.profiles,
  }
  return ASKED_VALUES.filter((key) => request[key] === undefined && recorded[key] === undefined)
}

export function isIpAddress(value: string): boolean {
  return isIpv4(value) || (/^[0-9a-f:]+$/i.test(value) && value.includes(':'))
}

/** The pool for the root disk: the one named, else the only one, else `default`. */
export function choosePool(pools: IncusStoragePool[], requested?: string): string {
  const names = pools.map((p) => p.name)
  if (requested) {
    if (!names.includes(requested))
      throw new UsageError(`storage pool "${requested}" does not exist (pools: ${names.join(', ') || 'none'})`)
    return requested
  }
  if (names.length === 1) return names[0] as string
  if (names.includes('default')) return 'default'
  if (names.length === 0)
    throw new RepomanError(
      'Incus has no storage pool; create one (e.g. `incus storage create default dir`) and run setup again',
      {hint: 'incus storage create default dir'},
    )
  throw new UsageError(`several storage pools (${names.join(', ')}); choose one with --storage-pool`, {
    hint: `repoman setup --storage-pool ${names[0]}`,
  })
}

/**
 * The managed network for the NIC: the one named, else the only managed one, else none.
 * The bridges repoman makes for isolated projects are never candidates.
 */
export function chooseNetwork(networks: IncusNetwork[], requested?: string): string | undefined {
  const managed = sharedNetworks(networks).map((n) => n.name)
  if (requested) {
    if (!managed.includes(requested))
      throw new UsageError(`"${requested}" is not a managed Incus network (managed: ${managed.join(', ') || 'none'})`)
    return requested
  }
  return managed.length === 1 ? managed[0] : undefined
}

/**
 * The devices the project's default profile should have: a root disk on `pool` and, when a
 * network is chosen, an eth0 NIC on it. Existing devices stay unless a flag names another
 * pool or network. Returns undefined when nothing needs to change.
 */
export function planDefaultProfile(
  profile: IncusProfile,
  pool: string,
  network: string | undefined,
  explicit: {pool: boolean; network: boolean},
): DeviceMap | undefined {
  const devices: DeviceMap = structuredClone(profile.devices ?? {})
  let changed = false
  const root = Object.entries(devices).find(([, d]) => d.type === 'disk' && d.path === '/')
  if (!root) {
    devices.root = {type: 'disk', path: '/', pool}
    changed = true
  } else if (explicit.pool && root[1].pool !== pool) {
    root[1].pool = pool
    changed = true
  }
  if (network) {
    const nic = Object.entries(devices).find(([, d]) => d.type === 'nic')
    if (!nic) {
      devices.eth0 = {type: 'nic', name: 'eth0', network}
      changed = true
    } else if (explicit.network && nic[1].network !== network) {
      devices[nic[0]] = {type: 'nic', name: nic[1].name ?? 'eth0', network}
      changed = true
    }
  }
  return changed ? devices : undefined
}

/**
 * One line of advice when new containers' root disks live on a `dir` pool: there every `new`
 * copies the whole image (a Debian cloud rootfs is ~0.5 GB, seconds of I/O) and every snapshot
 * is a full copy, where btrfs, zfs or lvm-thin clone it in an instant.
 */
export function poolAdvice(pools: IncusStoragePool[], devices: DeviceMap): string | undefined {
  const pool = Object.values(devices).find((d) => d.type === 'disk' && d.path === '/')?.pool
  if (pools.find((p) => p.name === pool)?.driver !== 'dir') return undefined
  const why = `storage pool "${pool}" is a dir pool: each \`repoman new\` copies the whole image; a btrfs or zfs pool clones it instantly`
  const cloning = pools.find((p) => ['btrfs', 'zfs', 'lvm'].includes(p.driver))
  if (cloning) return `${why}, and "${cloning.name}" is one: \`repoman setup --storage-pool ${cloning.name}\``
  return `${why} (on a loop file: \`incus storage create fast btrfs size=12GiB\`, then \`repoman setup --storage-pool fast\`)`
}

export interface ResolvedSetup {
  reposRoot: string
  backupRoot: string
  image: string
  profiles: string[]
  incusProject: string
  lanIp: string
}

/** The registry setup writes: the current one with the resolved values, projects untouched. */
export function buildRegistry(current: Registry | undefined, values: ResolvedSetup, host: HostUser): Registry {
  return {
    schema: CURRENT_SCHEMA,
    repoman: current?.repoman ?? {output: 'quiet'},
    host: {lan_ip: values.lanIp, user: host.user, uid: host.uid, gid: host.gid, home: host.home},
    defaults: {
      ...current?.defaults,
      repos_root: values.reposRoot,
      backup_root: values.backupRoot,
      incus_project: values.incusProject,
      default_image: values.image,
      profiles: values.profiles,
    },
    project: current?.project ?? [],
  }
}

/** Flags, else the recorded value, else `answers` (prompted) or the built-in default. */
export function resolveSetup(
  request: SetupRequest,
  current: Registry | undefined,
  answers: Partial<Record<AskedValue, string | string[]>>,
  host: HostUser,
  detectedLanIp: () => string,
): ResolvedSetup {
  const pick = <K extends AskedValue>(key: K, recorded: unknown) =>
    request[key] ?? recorded ?? answers[key] ?? BUILTIN_DEFAULTS[key]
  if (request.lanIp !== undefined && !isIpAddress(request.lanIp))
    throw new UsageError(`--lan-ip "${request.lanIp}" is not an IP address`)
  const profiles = pick('profiles', current?.defaults.profiles) as string[]
  const incusProject = request.incusProject ?? current?.defaults.incus_project ?? DEFAULT_INCUS_PROJECT
  if (!isValidIncusProjectName(incusProject))
    throw new UsageError(`--incus-project "${incusProject}" is not a valid Incus project name`)
  return {
    reposRoot: expandHome(pick('reposRoot', current?.defaults.repos_root) as string, host.home),
    backupRoot: expandHome(pick('backupRoot', current?.defaults.backup_root) as string, host.home),
    image: pick('image', current?.defaults.default_image) as string,
    profiles: profiles.length === 0 ? [...DEFAULT_PROFILES] : profiles,
    incusProject,
    lanIp: request.lanIp ?? (current?.host.lan_ip || detectedLanIp()),
  }
}

/** The project settings repoman needs: its own profiles, and the default project's images. */
const PROJECT_CONFIG: Record<string, string> = {'features.images': 'false', 'features.profiles': 'true'}

/** What becomes of the Incus project: created, some settings changed (with what they were), or nothing. */
export type ProjectChange =
  | {action: 'create'; config: Record<string, string>}
  | {action: 'patch'; config: Record<string, string>; previous: Record<string, string>}
  | {action: 'none'}

export function planProject(project: IncusProject | undefined): ProjectChange {
  if (!project) return {action: 'create', config: PROJECT_CONFIG}
  const differs = Object.entries(PROJECT_CONFIG).filter(([key, value]) => project.config[key] !== value)
  if (differs.length === 0) return {action: 'none'}
  return {
    action: 'patch',
    config: Object.fromEntries(differs),
    // An unset key is restored by setting it empty.
    previous: Object.fromEntries(differs.map(([key]) => [key, project.config[key] ?? ''])),
  }
}

/** The default profile's new devices (undefined: as it is) and the advice about its pool. */
export interface ProfileDecision {
  devices: DeviceMap | undefined
  advice: string | undefined
}

export function decideProfile(
  profile: IncusProfile,
  plan: Pick<SetupPlan, 'pools' | 'pool' | 'network' | 'explicit'>,
): ProfileDecision {
  const devices = planDefaultProfile(profile, plan.pool, plan.network, plan.explicit)
  return {devices, advice: poolAdvice(plan.pools, devices ?? profile.devices ?? {})}
}

export type SetupIncus = Pick<
  IncusClient,
  | 'server'
  | 'getProject'
  | 'createProject'
  | 'patchProject'
  | 'deleteProject'
  | 'storagePools'
  | 'networks'
  | 'getProfile'
  | 'updateProfile'
  | 'createNetwork'
  | 'deleteNetwork'
  | 'resolveImage'
>

export interface SetupDeps {
  paths: Pick<RepomanPaths, 'registryFile' | 'overridesDir' | 'userProfilesDir'>
  store: Pick<RegistryStore, 'exists' | 'read' | 'replace'>
  /** A client scoped to the Incus project setup settles on (known only once the plan has it). */
  incus(project: string): SetupIncus
  host: HostUser
  detectLanIp(): string
  /** The command that lets root map the host user's ids, when that is still missing. */
  missingSubids(host: HostUser): Promise<string | undefined>
  /** The host's network interfaces and their addresses (CIDRs), which a new bridge must avoid. */
  hostNetwork(): {interfaces: string[]; cidrs: string[]}
}

/** The real host, Incus and registry; `echo` receives each Incus call (--verbose). */
export function setupDeps(paths: RepomanPaths, echo?: (line: string) => void): SetupDeps {
  return {
    paths,
    store: RegistryStore.of(paths),
    incus: (project) =>
      new IncusClient({project, onCommand: echo ? (entry) => echo(describeIncusCommand(entry)) : undefined}),
    host: detectHostUser(),
    detectLanIp,
    missingSubids,
    hostNetwork,
  }
}

function hostNetwork(): {interfaces: string[]; cidrs: string[]} {
  const {readdirSync} = process.getBuiltinModule('node:fs')
  const {networkInterfaces} = process.getBuiltinModule('node:os')
  // /sys/class/net lists interfaces without an address too (another daemon's bridge, say).
  const interfaces = existsSync('/sys/class/net') ? readdirSync('/sys/class/net') : Object.keys(networkInterfaces())
  return {interfaces, cidrs: hostIpv4Cidrs()}
}

/** The registry as it is, or undefined before the first setup. */
export async function currentRegistry(store: Pick<RegistryStore, 'exists' | 'read'>): Promise<Registry | undefined> {
  return store.exists() ? await store.read() : undefined
}

export interface SetupPlan {
  values: ResolvedSetup
  host: HostUser
  registryFile: string
  /** The registry as setup leaves it (the write rebuilds it from the file under the lock). */
  registry: Registry
  registryChanged: boolean
  idmappedMounts: boolean
  project: ProjectChange
  /**
   * The default profile: its current state and new devices, or `pending` when the project has
   * no profiles of its own yet (the step reads the one Incus makes, and decides then).
   */
  profile: {pending: false; current: IncusProfile; devices: DeviceMap | undefined} | {pending: true}
  pools: IncusStoragePool[]
  pool: string
  network: string | undefined
  /** The bridge to create first, when Incus has no network for the NIC (then `network` names it). */
  bridge: BridgePlan | undefined
  /** The pool and network were named by flags (then they replace what the profile has). */
  explicit: {pool: boolean; network: boolean}
  /** Directories to create (config dirs and the repos root). */
  dirs: string[]
  warnings: string[]
  notes: string[]
}

/**
 * Why `repoman new` could not get `image`, if it could not: neither cached (the images the
 * project sees) nor served by a remote that answers. Setup records it anyway (a remote may be
 * down for now), but says so now rather than at the first `new`.
 */
async function checkImage(incus: Pick<IncusClient, 'resolveImage'>, image: string): Promise<string | undefined> {
  let why = 'no cached image and no configured remote has it'
  try {
    if (await incus.resolveImage(image)) return undefined
  } catch (error) {
    why = oneLine(error).replace(/^Error: /, '')
  }
  return `default image "${image}" cannot be had (${why}): \`repoman new\` will fail; \`incus image list\` shows the cached images and \`incus remote list\` the remotes; choose one with \`repoman setup --image ALIAS\``
}

/** Gathers what is there (Incus, the registry, the host) and decides what setup changes. */
export async function planSetup(
  request: SetupRequest,
  answers: Partial<Record<AskedValue, string | string[]>>,
  deps: SetupDeps,
): Promise<SetupPlan> {
  const current = await currentRegistry(deps.store)
  const {host} = deps
  const values = resolveSetup(request, current, answers, host, deps.detectLanIp)
  const incus = deps.incus(values.incusProject)
  const [server, project, pools] = await Promise.all([incus.server(), incus.getProject(), incus.storagePools()])
  // A project setup creates shares the default project's networks (it does not turn on features.networks).
  const networks = await (project ? incus : deps.incus('default')).networks()
  const choice = {
    pools,
    pool: choosePool(pools, request.storagePool),
    network: chooseNetwork(networks, request.network),
    explicit: {pool: request.storagePool !== undefined, network: request.network !== undefined},
  }
  const warnings: string[] = []
  const notes: string[] = []
  const shared = sharedNetworks(networks)
  if (choice.network === undefined && shared.length > 1)
    warnings.push(
      `several managed networks (${shared.map((n) => n.name).join(', ')}): new containers get no NIC; choose one with \`repoman setup --network ${shared[0]?.name}\``,
    )

  const idmappedMounts = server.environment.kernel_features?.idmapped_mounts === 'true'
  if (!idmappedMounts)
    warnings.push(
      'this kernel has no idmapped mounts, so shift=true repo mounts will not start; see docs/troubleshooting.md',
    )

  let profile: SetupPlan['profile'] = {pending: true}
  if (project?.config['features.profiles'] === 'true') {
    const current = await incus.getProfile('default')
    if (!current)
      throw new RepomanError(`project "${values.incusProject}" has no default profile; is it an Incus project?`)
    profile = {pending: false, current, devices: undefined}
  }
  // No network at all, and no NIC of the user's own on the profile: containers would get only `lo`.
  const hasNic = !profile.pending && Object.values(profile.current.devices ?? {}).some((d) => d.type === 'nic')
  let bridge: BridgePlan | undefined
  if (shared.length === 0 && !hasNic) {
    const host = deps.hostNetwork()
    bridge = planBridge(networks, host.interfaces, host.cidrs)
    choice.network = bridge.name
  }
  if (!profile.pending) {
    const decision = decideProfile(profile.current, choice)
    if (decision.advice) notes.push(decision.advice)
    profile = {...profile, devices: decision.devices}
  }

  const imageProblem = await checkImage(project ? incus : deps.incus('default'), values.image)
  if (imageProblem) warnings.push(imageProblem)

  const registry = buildRegistry(current, values, host)
  if (planIdmap(host, registry.defaults.idmap).mode === 'raw.idmap') {
    const command = await deps.missingSubids(host)
    if (command)
      warnings.push(
        `\`repoman new\` maps only your ids into containers (raw.idmap); let Incus do that once: ${command}`,
      )
  }
  const registryChanged =
    current === undefined || (await serializeRegistry(registry)) !== (await serializeRegistry(current))

  return {
    values,
    host,
    registryFile: deps.paths.registryFile,
    registry,
    registryChanged,
    idmappedMounts,
    project: planProject(project),
    profile,
    ...choice,
    bridge,
    dirs: [deps.paths.overridesDir, deps.paths.userProfilesDir, values.reposRoot].filter((dir) => !existsSync(dir)),
    warnings,
    notes,
  }
}

/** The steps that change what differs, and the result they fill in. */
export function setupSteps(
  plan: SetupPlan,
  deps: Pick<SetupDeps, 'incus' | 'store'>,
): {steps: Step[]; result: SetupResult} {
  const {values, host} = plan
  const name = values.incusProject
  const incus = deps.incus(name)
  const result: SetupResult = {
    registry_file: plan.registryFile,
    incus_project: name,
    changes: [],
    warnings: [...plan.warnings],
    notes: [...plan.notes],
    idmapped_mounts: plan.idmappedMounts,
    host: {lan_ip: values.lanIp, ...host},
    defaults: plan.registry.defaults,
  }
  /** Records a change and shows it as the step's title. */
  const changed = (control: StepControl, change: string) => {
    result.changes.push(change)
    control.title(change)
  }
  const steps: Step[] = []
  const {project} = plan

  if (project.action === 'create')
    steps.push({
      title: `Create Incus project "${name}"`,
      async run(control, onUndo) {
        await incus.createProject(name, project.config, 'Containers managed by repoman')
        // Deleting it also deletes the default profile Incus made in it.
        onUndo(() => incus.deleteProject(name))
        changed(control, `created Incus project "${name}"`)
        return undefined
      },
    })
  if (project.action === 'patch') {
    const settings = (config: Record<string, string>) =>
      Object.entries(config)
        .map(([key, value]) => `${key}=${value || '(unset)'}`)
        .join(', ')
    steps.push({
      title: `Set ${settings(project.config)} on project "${name}"`,
      async run(control, onUndo) {
        try {
          await incus.patchProject(name, project.config)
        } catch (error) {
          // Incus refuses some of these on a project that already holds containers: repoman works on.
          const warning = `project "${name}" keeps ${settings(project.previous)}: ${(error as Error).message}`
          result.warnings.push(warning)
          control.output(`warning: ${warning}`)
          return undefined
        }
        onUndo(() => incus.patchProject(name, project.previous))
        changed(control, `set ${settings(project.config)} on project "${name}"`)
        return undefined
      },
    })
  }

  const {bridge} = plan
  if (bridge) {
    // Networks live in the default project, which repoman's project shares.
    const networks = deps.incus('default')
    steps.push({
      title: `Create network "${bridge.name}" (Incus has none, and containers need one)`,
      async run(control, onUndo) {
        const create = (auto: boolean) =>
          networks.createNetwork({
            name: bridge.name,
            type: 'bridge',
            description: 'repoman: the network of new containers',
            config: bridgeConfig(bridge, auto),
          })
        // Incus picks a free subnet itself where it can; where it cannot (no route to probe), the planned one.
        let subnet = 'a subnet Incus chose'
        try {
          await create(true)
        } catch {
          await create(false)
          subnet = bridge.subnet
        }
        onUndo(() => networks.deleteNetwork(bridge.name))
        changed(control, `created network "${bridge.name}" (${subnet}, NAT to the host's network)`)
        return undefined
      },
    })
  }

  const {profile} = plan
  if (profile.pending || profile.devices)
    steps.push({
      title: 'Root disk (and network) on the default profile',
      async run(control, onUndo) {
        let current: IncusProfile | undefined
        let devices: DeviceMap | undefined
        if (profile.pending) {
          current = await incus.getProfile('default')
          if (!current) throw new RepomanError(`project "${name}" has no default profile; is it an Incus project?`)
          const decision = decideProfile(current, plan)
          if (decision.advice) result.notes.push(decision.advice)
          devices = decision.devices
        } else ({current, devices} = profile)
        if (!devices) {
          control.title('The default profile has its root disk')
          return undefined
        }
        const {description, config} = current
        await incus.updateProfile({name: 'default', description, config, devices})
        onUndo(() => incus.updateProfile({name: 'default', description, config, devices: current.devices ?? {}}))
        changed(
          control,
          `default profile: root disk on pool "${plan.pool}"${plan.network ? `, eth0 on network "${plan.network}"` : ''}`,
        )
        return undefined
      },
    })

  if (plan.dirs.length > 0)
    steps.push({
      title: `Create ${plan.dirs.join(', ')}`,
      async run() {
        // No undo: an empty directory left by a failed run is harmless, and the next run uses it.
        for (const dir of plan.dirs) {
          await mkdir(dir, {recursive: true})
          result.changes.push(`created ${dir}`)
        }
        return undefined
      },
    })

  // Only where a systemd user manager runs and the unit is not in place yet: elsewhere the
  // gateway starts on demand, and setup has nothing to do for it.
  if (gatewayUnitPending(process.env))
    steps.push({
      title: "Run repoman's gateway as a systemd user unit",
      async run(control) {
        const {installGatewayUnit} = await import('../gateway/unit.js')
        const outcome = await installGatewayUnit(process.env)
        if (outcome === 'installed') changed(control, 'installed and started the systemd user unit repoman-gateway')
        else if (outcome === 'unchanged') control.title("repoman's gateway unit is up to date")
        else control.title("No systemd user manager: repoman's gateway starts on demand")
        return undefined
      },
    })

  if (plan.registryChanged)
    steps.push({
      title: `Write ${plan.registryFile}`,
      async run(control) {
        // Rebuilt from the file as it is under the lock: another repoman's projects are kept.
        const {changed: wrote, registry} = await deps.store.replace((current) => buildRegistry(current, values, host))
        result.defaults = registry.defaults
        if (wrote) changed(control, `wrote ${plan.registryFile}`)
        else control.title(`Registry ${plan.registryFile} is up to date`)
        return undefined
      },
    })
  return {steps, result}
}

/** What the command prints after the steps (warnings go to stderr apart). */
export function renderSetup(result: SetupResult): string[] {
  return [
    ...result.notes.map((note) => `Note: ${note}`),
    result.changes.length === 0
      ? 'Nothing to change: repoman is already set up.'
      : `Set up: ${result.changes.length} change(s). Next: repoman new <name>`,
  ]
}
