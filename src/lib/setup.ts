/**
 * `repoman setup`: the Incus project, its default profile, and the registry. Idempotent: each
 * step compares what is there with what should be and changes only the difference.
 */
import {existsSync} from 'node:fs'
import {mkdir} from 'node:fs/promises'
import type {ListrTask} from 'listr2'
import {planIdmap} from './containers.js'
import {RepomanError, UsageError} from './errors.js'
import {detectHostUser, detectLanIp, missingSubids} from './host.js'
import {describeIncusCommand, IncusClient, type IncusCommandEntry} from './incus/client.js'
import type {DeviceMap, IncusNetwork, IncusProfile, IncusStoragePool} from './incus/types.js'
import {isValidIncusProjectName, parseList} from './names.js'
import {isIpv4, isProjectBridge} from './network.js'
import {expandHome, type RepomanPaths} from './paths.js'
import {
  CURRENT_SCHEMA,
  DEFAULT_IMAGE,
  DEFAULT_INCUS_PROJECT,
  DEFAULT_PROFILES,
  type HostRecord,
  type HostUser,
  type Registry,
} from './registry/schema.js'
import type {RegistryStore} from './registry/store.js'

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
    )
  throw new UsageError(`several storage pools (${names.join(', ')}); choose one with --storage-pool`)
}

/**
 * The managed network for the NIC: the one named, else the only managed one, else none.
 * The bridges repoman makes for isolated projects are never candidates.
 */
export function chooseNetwork(networks: IncusNetwork[], requested?: string): string | undefined {
  const managed = networks.filter((n) => n.managed && !isProjectBridge(n.name)).map((n) => n.name)
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
  return `storage pool "${pool}" is a dir pool: each \`repoman new\` copies the whole image; a btrfs or zfs pool clones it instantly (\`incus storage create fast btrfs\`, then \`repoman setup --storage-pool fast\`)`
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

interface SetupContext {
  result: SetupResult
}

export interface SetupPlanInput {
  request: SetupRequest
  current: Registry | undefined
  answers: Partial<Record<AskedValue, string | string[]>>
  paths: RepomanPaths
  store: RegistryStore
  onCommand?: ConstructorParameters<typeof IncusClient>[0]['onCommand']
}

/** The task list `repoman setup` runs, and the result it fills in. */
export function setupTasks(input: SetupPlanInput): {tasks: ListrTask<SetupContext>[]; result: SetupResult} {
  const host = detectHostUser()
  const values = resolveSetup(input.request, input.current, input.answers, host, detectLanIp)
  const incus = new IncusClient({project: values.incusProject, onCommand: input.onCommand})
  const result: SetupResult = {
    registry_file: input.paths.registryFile,
    incus_project: values.incusProject,
    changes: [],
    warnings: [],
    notes: [],
    idmapped_mounts: false,
    host: {lan_ip: values.lanIp, ...host},
    defaults: buildRegistry(input.current, values, host).defaults,
  }
  /** Records a change and shows it as the task's title. */
  const changed = (task: {title: string}, change: string) => {
    result.changes.push(change)
    task.title = change
  }

  const tasks: ListrTask<SetupContext>[] = [
    {
      title: 'Check that Incus answers',
      task: async (_, task) => {
        const server = await incus.server()
        result.idmapped_mounts = server.environment.kernel_features?.idmapped_mounts === 'true'
        task.title = `Incus ${server.environment.server_version} answers`
        if (!result.idmapped_mounts) {
          const warning =
            'this kernel has no idmapped mounts, so shift=true repo mounts will not start; see docs/troubleshooting.md'
          result.warnings.push(warning)
          task.output = `warning: ${warning}`
        }
      },
    },
    {
      title: `Incus project "${values.incusProject}"`,
      task: async (_, task) => {
        const wanted = {'features.images': 'false', 'features.profiles': 'true'}
        const project = await incus.getProject()
        if (!project) {
          await incus.createProject(values.incusProject, wanted, 'Containers managed by repoman')
          return changed(task, `created Incus project "${values.incusProject}"`)
        }
        const differs = Object.entries(wanted).filter(([k, v]) => project.config[k] !== v)
        if (differs.length === 0) {
          task.title = `Incus project "${values.incusProject}" is in place`
          return
        }
        try {
          await incus.patchProject(values.incusProject, Object.fromEntries(differs))
          changed(task, `set ${differs.map(([k, v]) => `${k}=${v}`).join(', ')} on project "${values.incusProject}"`)
        } catch (error) {
          const warning = `project "${values.incusProject}" keeps ${differs.map(([k]) => `${k}=${project.config[k]}`).join(', ')}: ${(error as Error).message}`
          result.warnings.push(warning)
          task.output = `warning: ${warning}`
        }
      },
    },
    {
      title: 'Root disk (and network) on the default profile',
      task: async (_, task) => {
        const [pools, networks, profile] = await Promise.all([
          incus.storagePools(),
          incus.networks(),
          incus.getProfile('default'),
        ])
        if (!profile)
          throw new RepomanError(`project "${values.incusProject}" has no default profile; is it an Incus project?`)
        const pool = choosePool(pools, input.request.storagePool)
        const network = chooseNetwork(networks, input.request.network)
        const devices = planDefaultProfile(profile, pool, network, {
          pool: input.request.storagePool !== undefined,
          network: input.request.network !== undefined,
        })
        const advice = poolAdvice(pools, devices ?? profile.devices ?? {})
        if (advice) result.notes.push(advice)
        if (!devices) {
          task.title = 'The default profile has its root disk'
          return
        }
        await incus.updateProfile({name: 'default', description: profile.description, config: profile.config, devices})
        changed(task, `default profile: root disk on pool "${pool}"${network ? `, eth0 on network "${network}"` : ''}`)
      },
    },
    {
      title: 'Your ids can be mapped into containers',
      task: async (_, task) => {
        if (planIdmap(host, result.defaults.idmap).mode !== 'raw.idmap') {
          task.title =
            host.uid === 0
              ? 'Your ids are shifted into containers (you are root: container root writes as root through the repo mount)'
              : 'Your ids are shifted into containers (idmap = "shift")'
          return
        }
        const command = await missingSubids(host)
        if (!command) {
          task.title = `Your uid ${host.uid} and gid ${host.gid} can be mapped into containers`
          return
        }
        const warning = `\`repoman new\` maps only your ids into containers (raw.idmap); let Incus do that once: ${command}`
        result.warnings.push(warning)
        task.output = `warning: ${warning}`
      },
    },
    {
      title: 'Registry and config directories',
      task: async (_, task) => {
        const dirs = [input.paths.overridesDir, input.paths.userProfilesDir, values.reposRoot]
        for (const dir of dirs) {
          if (existsSync(dir)) continue
          await mkdir(dir, {recursive: true})
          result.changes.push(`created ${dir}`)
        }
        const {changed: wrote, registry} = await input.store.replace((current) => buildRegistry(current, values, host))
        result.defaults = registry.defaults
        if (wrote) changed(task, `wrote ${input.paths.registryFile}`)
        else task.title = `Registry ${input.paths.registryFile} is up to date`
      },
    },
  ]
  return {tasks, result}
}

export interface RunSetupInput {
  request: SetupRequest
  paths: RepomanPaths
  /** A person is there to answer prompts. */
  interactive: boolean
  /** --non-interactive: take defaults for anything unset. */
  nonInteractive: boolean
  json: boolean
  verbose?: (line: string) => void
}

const QUESTIONS: Record<AskedValue, string> = {
  reposRoot: 'Where do your repos live?',
  backupRoot: 'Backup root (an NFS mount) for `repoman sync`?',
  image: 'Default image for new containers?',
  profiles: 'Default profiles for new containers (comma-separated)?',
}

export async function runSetup(input: RunSetupInput): Promise<SetupResult> {
  const {RegistryStore} = await import('./registry/store.js')
  const {askText, runTasks} = await import('../cli/ui.js')
  const {NeedsTtyError} = await import('./errors.js')
  const store = RegistryStore.of(input.paths)
  const current = store.exists() ? await store.read() : undefined

  const missing = missingValues(input.request, current)
  const answers: Partial<Record<AskedValue, string | string[]>> = {}
  if (missing.length > 0 && !input.nonInteractive) {
    if (!input.interactive)
      throw new NeedsTtyError(
        `setup needs ${missing.map((m) => `--${m.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`).join(', ')} or a terminal to ask on; pass them, or --non-interactive to take the defaults`,
      )
    for (const key of missing) {
      const initial = BUILTIN_DEFAULTS[key]
      const answer = await askText(QUESTIONS[key], Array.isArray(initial) ? initial.join(',') : (initial as string))
      answers[key] = key === 'profiles' ? parseList(answer) : answer
    }
  }

  const verbose = input.verbose
  const onCommand = verbose ? (e: IncusCommandEntry) => verbose(describeIncusCommand(e)) : undefined
  const {tasks, result} = setupTasks({request: input.request, current, answers, paths: input.paths, store, onCommand})
  await runTasks(tasks, {result}, {json: input.json})
  return result
}
