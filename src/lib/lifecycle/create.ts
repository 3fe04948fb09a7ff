/**
 * `repoman new`: check everything first, create and start the container in one request, then
 * record it. Every step registers how to take back what it did, so a failure anywhere deletes
 * the container again (only if it is the one this run made), takes down its network, removes
 * what was created in the repo, and leaves the registry as it was.
 */
import {randomBytes} from 'node:crypto'
import {existsSync, statSync} from 'node:fs'
import {chown, mkdir, readFile, rm, rmdir, writeFile} from 'node:fs/promises'
import {dirname, join} from 'node:path'
import {agentHomeKind} from '../agents/home.js'
import {agentHomesStep, agentHomesWanted, ownAll} from '../agents/home-steps.js'
import {
  ImageNotFoundError,
  IncusAlreadyExistsError,
  MountSourceMissingError,
  ProfileNotInstalledError,
  ProjectExistsError,
  RegistryConflictError,
  RepoNotFoundError,
  SensitiveMountError,
  SubidsMissingError,
  UsageError,
} from '../errors.js'
import {ensureGateway, socketFor} from '../gateway/daemon.js'
import {forwarderFiles, GATEWAY_KEY, SOCKET_PROXYD_PATHS} from '../gateway/inside.js'
import {parseAllowTarget} from '../gateway/policy.js'
import {
  checkoutClone,
  fillAgentGitDir,
  type HostGitKind,
  hostGitKind,
  makeAgentGitDir,
  removeAgentGit,
} from '../git/agent-git.js'
import {isSafeRefName} from '../git/refs.js'
import {missingSubids} from '../host.js'
import type {IncusClient} from '../incus/client.js'
import type {DeviceMap, IncusProfile, InstanceFile, InstanceSpec} from '../incus/types.js'
import {baselineFile, recordBaseline} from '../integrity/snapshot.js'
import {compareAscii, isValidProjectName, NAME_RULE} from '../names.js'
import {agentGitDir, cloneTreeDir, expandHome, isWithin, type RepomanPaths} from '../paths.js'
import type {GuardContext} from '../profiles/guard.js'
import {findExposures} from '../profiles/guard.js'
import {type ProjectOverride, readOverride} from '../registry/overrides.js'
import {
  type CloneEntry,
  type HostRecord,
  isSafeDirname,
  type ProjectEntry,
  type Registry,
  registryTimestamp,
  repoPathOf,
} from '../registry/schema.js'
import type {RegistryStore} from '../registry/store.js'
import {type Step, together} from '../steps.js'
import {clearLeftovers} from '../trees.js'
import {accountWant, defaultSudo, ensureAccount} from './account.js'
import type {AccountWant} from './account-plan.js'
import {
  buildInstanceSpec,
  CONFIG_KEYS,
  DEFAULT_PROTECTED_PATHS,
  type GuardPaths,
  guardContextOf,
  type IdmapPlan,
  isSetpriv,
  missingBaseDevices,
  type ProtectionPlan,
  planIdmap,
  planProtection,
  repoPathProblem,
  SETPRIV,
} from './containers.js'
import {SYSTEMD_DROPIN} from './containment.js'
import {imageFileReader, imageFilesFile, recordedStats} from './image-files.js'
import {isolate, nicToReplace, resolvePolicy} from './isolation.js'
import type {NetworkMode, NetworkPolicy} from './network.js'
import {prebootAccount, socketProxydOf, waitForCloudInit, writeBootFiles} from './preboot.js'
import {cloudInitSeeded} from './preboot-plan.js'

export interface NewRequest {
  name: string
  repo?: string
  image?: string
  /** Added to the project's base profiles (repos.d's, else [defaults].profiles), or all of them with `noDefaultProfiles`. */
  profiles?: string[]
  noDefaultProfiles?: boolean
  /** Passwordless sudo inside; default `[defaults] sudo` (on). */
  sudo?: boolean
  /** Accept override mounts that expose credentials or the host. */
  allowSensitive?: boolean
  /** A checkout of its own instead of the host's working tree (clone mode). */
  clone?: boolean
  /** With `clone`: the agent's branch (default `repoman/<name>`). */
  branch?: string
}

/** The `new --json` result. */
export interface NewResult {
  name: string
  repo: string
  path: string
  image: string
  profiles: string[]
  idmap: IdmapPlan['mode']
  /** The host user's account name inside. */
  user: string
  /** Passwordless sudo inside. */
  sudo: boolean
  /** Repo paths mounted read-only over the repo. */
  protected_paths: string[]
  /** open, restricted or allowlist. */
  network: NetworkMode
  /** Clone mode: the agent's branch and the host commit its checkout was made from. */
  clone: CloneEntry | null
  state: string
  created: string
  warnings: string[]
}

export function checkName(name: string): void {
  if (!isValidProjectName(name)) throw new UsageError(`invalid project name ${JSON.stringify(name)}: ${NAME_RULE}`)
}

/**
 * Image, profiles and repo dirname: flags, then the override file, then the registry's
 * defaults. `--profile` adds to the base list (a profile such as claude-share brings mounts,
 * not a root disk); `--no-default-profiles` makes the flags the whole list.
 */
export function resolveNewRequest(request: NewRequest, override: ProjectOverride, registry: Registry) {
  checkName(request.name)
  const repo = request.repo ?? request.name
  if (!isSafeDirname(repo))
    throw new UsageError(`--repo ${JSON.stringify(repo)} must be a directory name under repos_root`)
  const base = request.noDefaultProfiles ? [] : (override.profiles ?? registry.defaults.profiles)
  return {
    repo,
    image: request.image ?? override.image ?? registry.defaults.default_image,
    profiles: [...new Set([...base, ...(request.profiles ?? [])])],
  }
}

/**
 * What a person may still choose (neither the flags nor repos.d/<name>.toml set it), with the
 * value taken when nobody is asked. The command asks for these on a terminal.
 */
export async function openChoices(
  request: NewRequest,
  deps: {registry: Registry; paths: Pick<RepomanPaths, 'overridesDir'>},
): Promise<{image?: string; profiles?: string[]}> {
  checkName(request.name)
  const override = await readOverride(deps.paths.overridesDir, request.name)
  const defaults = resolveNewRequest(request, override, deps.registry)
  return {
    image: request.image === undefined && override.image === undefined ? defaults.image : undefined,
    profiles:
      request.profiles === undefined && !request.noDefaultProfiles && override.profiles === undefined
        ? defaults.profiles
        : undefined,
  }
}

/** What the host says about the repo and the override, before Incus is asked anything. */
export interface HostFacts {
  registry: Registry
  override: ProjectOverride
  /** What is at a path relative to the repo (`.` is the repo itself): a directory, something else, or nothing. */
  repoEntry(rel: string): 'dir' | 'other' | undefined
  /** What the repo's `.git` is: a repository, a file (a linked worktree), or none (an empty `.git` left by an earlier project is none). */
  hostGit: HostGitKind
  /** Override mount sources (home expanded) that do not exist on this host. */
  missingMountSources: string[]
  /** What lets root map the host user's ids (raw.idmap), when /etc/subuid or /etc/subgid lack it. */
  subidsFix?: string
  /** What the credential guard judges the repo's extra mounts against. */
  guard: GuardContext
}

/** A `new` that the host side allows: everything but what only Incus can tell. */
export interface CreateBasis {
  name: string
  repo: string
  repoPath: string
  image: string
  profiles: string[]
  host: HostRecord
  idmap: IdmapPlan
  sudo: boolean
  /** The account made for the host user inside. */
  account: AccountWant
  policy: NetworkPolicy
  override: ProjectOverride
  protection: ProtectionPlan
  /** Clone mode: the branch its own checkout is on (the base commit is read when it is made). */
  clone?: {branch: string}
  warnings: string[]
}

/** A `new` that will be carried out: the basis plus what the installed profiles and the image decide. */
export interface CreatePlan extends CreateBasis {
  /** Root disk (and NIC) the profiles lack, from the default profile. */
  baseDevices: DeviceMap
  /** The NIC an isolated project's own bridge replaces; none when the network is open. */
  nicDevice?: string
  /** The image runs cloud-init: `new` returns once it has finished. */
  cloudInit: boolean
  /**
   * The local image's fingerprint, when Incus answers on its local socket: the container is
   * then created stopped, everything is written into it, and it first boots ready. Without
   * it (a remote image, or a remote daemon) it is launched, and the account made by exec.
   */
  imageFingerprint?: string
  /** cloud-init has a datasource at the first boot (`cloudInitSeeded`): `new` waits until it is done. */
  cloudInitSeeded: boolean
  /** Agents whose homes the profiles want (seeded and mounted by the step before the launch). */
  agentHomes: string[]
  /**
   * The directories in your home inside that mounts sit in (`~/.local`, `~/.local/share`,
   * `~/.config`, ...): made yours before the first start, or Incus makes them root's.
   */
  homeDirs: string[]
}

/** Pure: every directory strictly between `home` and a mount path under it, parents first. */
export function homeMountParents(home: string, paths: string[]): string[] {
  const dirs = new Set<string>()
  for (const path of paths) {
    if (!isWithin(path, home)) continue
    for (let dir = dirname(path); dir !== home && isWithin(dir, home); dir = dirname(dir)) dirs.add(dir)
  }
  return [...dirs].sort((a, b) => a.split('/').length - b.split('/').length || compareAscii(a, b))
}

/** Refuses, with the specific error, what the host side rules out; otherwise settles everything but Incus's part. */
export function decideHost(request: NewRequest, facts: HostFacts): CreateBasis {
  const {registry, override} = facts
  const {repo, image, profiles} = resolveNewRequest(request, override, registry)
  const repoPath = repoPathOf(registry, repo)
  const file = `repos.d/${request.name}.toml`
  const policy = resolvePolicy(registry, override, file)
  for (const entry of policy.allow) parseAllowTarget(entry)
  if (registry.project.some((p) => p.name === request.name))
    throw new ProjectExistsError(
      `project "${request.name}" already exists; pick another name or \`repoman remove ${request.name}\``,
    )
  if (facts.repoEntry('.') !== 'dir')
    throw new RepoNotFoundError(`repo ${repoPath} does not exist; create or clone it there first, or pass --repo DIR`)
  const hidden = repoPathProblem(repoPath)
  if (hidden) throw new UsageError(hidden)
  if (facts.hostGit === 'file')
    throw new UsageError(
      `${repoPath}/.git is a file (a linked worktree or a submodule's checkout); repoman gives a container a git dir of its own only for a repository's main checkout: register that one`,
    )
  const warnings =
    facts.hostGit === 'dir' || facts.repoEntry('.hg') ? [] : [`${repoPath} is neither a git nor an hg repo`]
  const [missingSource] = facts.missingMountSources
  if (missingSource)
    throw new MountSourceMissingError(`mount source ${missingSource} (${file}) does not exist on this host`)
  const idmap = planIdmap(registry.host, registry.defaults.idmap)
  if (!request.allowSensitive) checkOverrideExposure(request.name, override, facts, repoPath, idmap)
  if (idmap.mode === 'raw.idmap' && facts.subidsFix)
    throw new SubidsMissingError(
      `repoman maps only your ids into the container (raw.idmap), and Incus allows that once root may map them; run \`${facts.subidsFix}\`, then \`repoman new\` again`,
      {hint: facts.subidsFix},
    )
  const clone =
    (request.clone ?? (override.tree ?? registry.defaults.tree) === 'clone')
      ? decideClone(request, facts.hostGit, repoPath)
      : undefined
  if (!clone && request.branch !== undefined)
    throw new UsageError(`--branch names the branch of a checkout of its own; add --clone, or leave out --branch`)
  // One working tree, one agent: the others on a repo get checkouts of their own.
  const inTree = clone ? undefined : registry.project.find((p) => p.repo === repo && !p.clone)
  if (inTree)
    throw new UsageError(
      `"${inTree.name}" already works in ${repoPath}; give "${request.name}" a checkout of its own with --clone, or \`repoman remove ${inTree.name}\` first`,
    )
  // A clone's container never sees the host's tree: nothing of it to mount read-only.
  const protection = clone
    ? {mount: [], create: []}
    : planProtection(
        override.protectedPaths ?? registry.defaults.protected_paths ?? DEFAULT_PROTECTED_PATHS,
        (rel) => facts.repoEntry(rel) !== undefined,
        {hg: facts.repoEntry('.hg') === 'dir'},
      )
  const sudo = request.sudo ?? defaultSudo(registry)
  return {
    name: request.name,
    repo,
    repoPath,
    image,
    profiles,
    host: registry.host,
    idmap,
    sudo,
    account: accountWant(registry, idmap, sudo),
    policy,
    override,
    protection,
    ...(clone ? {clone} : {}),
    warnings,
  }
}

/** Clone mode needs a git repository (its commits are where the checkout comes from) and a branch name git accepts. */
function decideClone(request: NewRequest, hostGit: string, repoPath: string): {branch: string} {
  if (hostGit !== 'dir')
    throw new UsageError(
      `--clone makes its checkout from a git repository; ${repoPath} is none (git init and commit first, or leave out --clone)`,
    )
  const branch = request.branch ?? `repoman/${request.name}`
  if (!isSafeRefName(`refs/heads/${branch}`))
    throw new UsageError(
      `--branch ${JSON.stringify(branch)} is not a branch name git accepts (e.g. repoman/${request.name})`,
    )
  return {branch}
}

/** Extra mounts from repos.d must, unless allowed, expose no credentials (same guard as profiles). */
function checkOverrideExposure(
  name: string,
  override: ProjectOverride,
  {registry, guard}: Pick<HostFacts, 'registry' | 'guard'>,
  repoPath: string,
  idmap: IdmapPlan,
): void {
  const spec = buildInstanceSpec({
    name,
    image: '',
    profiles: [],
    repoPath,
    host: registry.host,
    idmap,
    override,
    token: '',
  })
  const [exposure] = findExposures(
    {
      name,
      description: '',
      config: {},
      devices: Object.fromEntries(Object.entries(spec.devices).filter(([d]) => d !== 'repo')),
    },
    guard,
  )
  if (exposure)
    throw new SensitiveMountError(
      `repos.d/${name}.toml would expose ${exposure.path} (${exposure.why}); refused. Pass --allow-sensitive if you really mean it`,
      {hint: `repoman new ${name} --allow-sensitive`},
    )
}

/** What Incus says, read in one go once the host side allows the project. */
export interface IncusFacts {
  incusProject: string
  /** A container of the name exists already (left by an interrupted `new`, or made by hand). */
  containerExists: boolean
  installed: IncusProfile[]
  /** The image's properties (and local fingerprint); none when Incus does not know it, or why it could not be resolved. */
  image: {properties?: Record<string, string>; fingerprint?: string; error?: string}
}

/** Refuses, with the specific error, what Incus rules out; otherwise the plan. */
export function decideCreate(basis: CreateBasis, facts: IncusFacts): CreatePlan {
  const {name, image, profiles} = basis
  if (facts.containerExists)
    throw new ProjectExistsError(
      `a container "${name}" already exists in Incus project "${facts.incusProject}" but not in the registry (an interrupted \`repoman new\`?); \`repoman remove ${name}\` deletes it`,
      {hint: `repoman remove ${name}`},
    )
  const installed = new Set(facts.installed.map((p) => p.name))
  const missing = profiles.filter((p) => !installed.has(p))
  if (missing.length > 0)
    throw new ProfileNotInstalledError(
      `profile ${missing.map((m) => `"${m}"`).join(', ')} is not installed in Incus project "${facts.incusProject}"; run \`repoman profile install ${missing.join(' ')}\``,
      {hint: `repoman profile install ${missing.join(' ')}`},
    )
  const remote = image.includes(':') ? image.slice(0, image.indexOf(':') + 1) : ''
  const listImages = `incus image list ${remote}`.trim()
  if (facts.image.error !== undefined)
    throw new ImageNotFoundError(
      `image "${image}" cannot be resolved (${facts.image.error}); check the name and that its remote is reachable`,
      {hint: listImages},
    )
  if (!facts.image.properties)
    throw new ImageNotFoundError(`image "${image}" is not available; check the name with \`incus image list\``, {
      hint: listImages,
    })
  const agentHomes = agentHomesWanted(facts.installed, profiles)
  return {
    ...basis,
    baseDevices: missingBaseDevices(facts.installed, profiles),
    nicDevice: basis.policy.mode === 'open' ? undefined : nicToReplace(facts.installed, profiles),
    cloudInit: facts.image.properties.variant === 'cloud' || /\/cloud$/.test(image),
    imageFingerprint: facts.image.fingerprint,
    cloudInitSeeded: cloudInitSeeded([
      ...facts.installed.filter((profile) => profiles.includes(profile.name)),
      {devices: Object.fromEntries(basis.override.mounts.map((m, i) => [String(i), {type: 'disk', path: m.path}]))},
    ]),
    agentHomes,
    homeDirs: homeMountParents(basis.account.home, [
      ...facts.installed
        .filter((profile) => profiles.includes(profile.name))
        .flatMap((profile) => Object.values(profile.devices))
        .flatMap((device) => (device.type === 'disk' && device.path ? [device.path] : [])),
      ...basis.override.mounts.map((mount) => mount.path),
      basis.repoPath,
      ...agentHomes.flatMap((agent) => {
        const kind = agentHomeKind(agent)
        return kind ? [join(basis.account.home, kind.insideDir)] : []
      }),
    ]),
  }
}

/** What planning reads: the registry, the override file, the repo, and Incus (GETs only). */
export interface PlanCreateDeps {
  registry: Registry
  incus: Pick<IncusClient, 'project' | 'getInstance' | 'listProfiles' | 'resolveImage'>
  paths: Pick<RepomanPaths, 'overridesDir' | GuardPaths>
}

/** Sends the reads `planCreate` makes of Incus before the registry is parsed (IncusClient.readAhead). */
export function readAheadForCreate(
  incus: Pick<IncusClient, 'readAhead' | 'instancePath' | 'profilesPath' | 'imagesPath'>,
  name: string,
): void {
  incus.readAhead(incus.instancePath(name))
  incus.readAhead(incus.profilesPath())
  incus.readAhead(incus.imagesPath())
}

/** Gathers the facts and decides; a refusal is thrown before anything changed, and before Incus is asked when the host side already refuses. */
export async function planCreate(request: NewRequest, deps: PlanCreateDeps): Promise<CreatePlan> {
  const {registry, incus} = deps
  checkName(request.name)
  const override = await readOverride(deps.paths.overridesDir, request.name)
  const repoPath = repoPathOf(registry, resolveNewRequest(request, override, registry).repo)
  const idmap = planIdmap(registry.host, registry.defaults.idmap)
  const basis = decideHost(request, {
    registry,
    override,
    repoEntry: (rel) => {
      const stat = statSync(join(repoPath, rel), {throwIfNoEntry: false})
      return stat ? (stat.isDirectory() ? 'dir' : 'other') : undefined
    },
    hostGit: hostGitKind(repoPath),
    missingMountSources: override.mounts
      .map((mount) => expandHome(mount.source, registry.host.home))
      .filter((source) => !existsSync(source)),
    subidsFix: idmap.mode === 'raw.idmap' ? await missingSubids(registry.host) : undefined,
    guard: guardContextOf(registry, deps.paths),
  })
  const [existing, installed, image] = await Promise.all([
    incus.getInstance(request.name),
    incus.listProfiles(),
    incus.resolveImage(basis.image).then(
      (found) => ({properties: found?.properties, fingerprint: found?.fingerprint}),
      (error: Error) => ({error: error.message}),
    ),
  ])
  return decideCreate(basis, {incusProject: incus.project, containerExists: Boolean(existing), installed, image})
}

/** What carrying out a plan changes: Incus, the registry, and the baseline in the state dir. */
export interface CreateDeps {
  incus: Pick<
    IncusClient,
    | 'project'
    | 'getInstance'
    | 'launch'
    | 'deleteInstance'
    | 'networks'
    | 'putAcl'
    | 'createNetwork'
    | 'deleteNetwork'
    | 'deleteAcl'
    | 'dialogue'
    | 'execArgs'
    | 'createInstance'
    | 'readInstanceFile'
    | 'openFiles'
    | 'instanceTemplates'
    | 'startOverSocket'
    | 'patchOverSocket'
  >
  store: Pick<RegistryStore, 'update' | 'prepareWrite'>
  paths: Pick<RepomanPaths, 'stateDir' | 'cacheDir' | 'configDir'>
}

/**
 * The step that gives the container a git dir of its own: the directories its devices mount
 * now, filled from the host's repository by `fill` (while Incus creates the container, which
 * only needs them to be there).
 */
function agentGitStep(plan: CreatePlan, stateDir: string, result: NewResult): {step: Step; fill: () => Promise<void>} {
  const tree = cloneTreeDir(stateDir, plan.name)
  return {
    step: {
      title: 'Give the container a git dir of its own',
      async run(_control, onUndo) {
        await clearLeftovers([agentGitDir(stateDir, plan.name), ...(plan.clone ? [tree] : [])], plan.name)
        const madeGitDir = !existsSync(join(plan.repoPath, '.git'))
        onUndo(async () => {
          await removeAgentGit(stateDir, plan.name)
          if (madeGitDir) await rmdir(join(plan.repoPath, '.git')).catch(() => undefined)
        })
        makeAgentGitDir(plan.repoPath, stateDir, plan.name)
        if (madeGitDir && process.getuid?.() === 0)
          await chown(join(plan.repoPath, '.git'), plan.host.uid, plan.host.gid)
        if (plan.clone) {
          // Incus checks a disk's source before it creates the container: there, empty, now.
          await rm(tree, {recursive: true, force: true})
          // With .git in it: the agent's git dir is mounted there, as on your repo in shared mode.
          await mkdir(join(tree, '.git'), {recursive: true, mode: 0o755})
          onUndo(() => rm(tree, {recursive: true, force: true}))
        }
        return undefined
      },
    },
    fill: async () => {
      await fillAgentGitDir(plan.repoPath, stateDir, plan.name)
      if (!plan.clone) return
      const start = await checkoutClone(plan.repoPath, stateDir, plan.name, plan.clone.branch, tree)
      // Made as the host user, as a checkout of theirs would be.
      await ownAll(tree, plan.host.uid, plan.host.gid)
      result.clone = {branch: plan.clone.branch, ...start}
    },
  }
}

/**
 * The step that makes the container; its undo deletes it only if it is this run's. "Already
 * exists" is another run's container, which won the race; any other failure may have left
 * ours half-made. `create` may register undos of its own for what it does alongside.
 */
function creationStep(
  title: string,
  create: (onUndo: (undo: () => Promise<void>) => void) => Promise<void>,
  deleteOurs: () => Promise<void>,
): Step {
  return {
    title,
    async run(_control, onUndo) {
      try {
        await create(onUndo)
      } catch (error) {
        if (!(error instanceof IncusAlreadyExistsError)) onUndo(deleteOurs)
        throw error
      }
      onUndo(deleteOurs)
      return undefined
    },
  }
}

/** The steps of a `new`, each undone (in reverse) when a later one fails; they fill in the result. */
export function createSteps(plan: CreatePlan, deps: CreateDeps): {steps: Step[]; result: NewResult} {
  const {incus} = deps
  const {name, repoPath} = plan
  const result: NewResult = {
    name,
    repo: plan.repo,
    path: repoPath,
    image: plan.image,
    profiles: plan.profiles,
    idmap: plan.idmap.mode,
    user: plan.host.user,
    sudo: plan.sudo,
    protected_paths: plan.protection.mount,
    network: plan.policy.mode,
    clone: null,
    state: 'running',
    created: '',
    warnings: [...plan.warnings],
  }
  const gatewaySocket = socketFor(deps.paths.stateDir, name)
  const recorded = recordedImageFacts(deps.paths.cacheDir, plan.imageFingerprint)
  const spec: InstanceSpec = buildInstanceSpec({
    name,
    image: plan.image,
    profiles: plan.profiles,
    repoPath,
    host: plan.host,
    idmap: plan.idmap,
    override: plan.override,
    // Marks the container as this run's: only that one is ours to delete on the way back.
    token: randomBytes(8).toString('hex'),
    protectedPaths: plan.protection.mount,
    sudo: plan.sudo,
    agentGit: {dir: agentGitDir(deps.paths.stateDir, name), host: hostGitKind(repoPath)},
    gateway: {socket: gatewaySocket, forwarder: recorded.forwarder},
    ...(plan.clone ? {treeSource: cloneTreeDir(deps.paths.stateDir, name)} : {}),
  })
  Object.assign(spec.devices, plan.baseDevices)
  // The first session need not ask then (a file stat and a config write on its way in).
  if (recorded.setpriv !== undefined) spec.config[CONFIG_KEYS.setpriv] = String(recorded.setpriv)
  const agentGit = agentGitStep(plan, deps.paths.stateDir, result)
  const steps: Step[] = [agentGit.step]

  if (plan.protection.create.length > 0)
    steps.push({
      title: `Create ${plan.protection.create.map((c) => c.path).join(', ')} in the repo, to mount read-only inside`,
      async run(_control, onUndo) {
        for (const entry of plan.protection.create) {
          const full = join(repoPath, entry.path)
          if (entry.kind === 'dir') await mkdir(full, {recursive: true})
          else await writeFile(full, '', {flag: 'a'})
          onUndo(() => removeIfUnused(full, entry.kind))
          // Created as the host user, as git itself would have.
          if (process.getuid?.() === 0) await chown(full, plan.host.uid, plan.host.gid)
        }
        return undefined
      },
    })

  const {nicDevice} = plan
  // allowlist: no network interface at all, so nothing leaves but through the gateway.
  if (nicDevice && plan.policy.mode === 'allowlist') {
    spec.devices[nicDevice] = {type: 'none'}
    spec.config[CONFIG_KEYS.networkMode] = 'allowlist'
  } else if (nicDevice)
    steps.push({
      title: `Create the ${plan.policy.mode} network of "${name}"`,
      async run(_control, onUndo) {
        const isolation = await isolate(incus, name, plan.policy, nicDevice, onUndo)
        Object.assign(spec.devices, isolation.devices)
        Object.assign(spec.config, isolation.config)
        return undefined
      },
    })

  if (plan.agentHomes.length > 0) steps.push(agentHomesStep(plan, deps.paths, spec))

  /** What the host-run files look like before anything ran in the container (not even its boot): later sessions compare with it. */
  const recordRepoBaseline = async (onUndo: (undo: () => Promise<void>) => void) => {
    const file = baselineFile(deps.paths.stateDir, name)
    const before = await readFile(file, 'utf8').catch(() => undefined)
    onUndo(() => (before === undefined ? rm(file, {force: true}) : writeFile(file, before)))
    await recordBaseline(deps.paths.stateDir, name, repoPath)
  }

  const deleteOurs = async () => {
    const instance = await incus.getInstance(name)
    if (instance?.config[CONFIG_KEYS.token] === spec.config[CONFIG_KEYS.token]) await incus.deleteInstance(name)
  }
  /** Adds the project to the registry; its undo takes this entry out again, if it is still there. */
  const recordProject = async (onUndo: (undo: () => Promise<void>) => void) => {
    const entry: ProjectEntry = {
      name,
      repo: plan.repo,
      image: plan.image,
      profiles: plan.profiles,
      created: registryTimestamp(),
      backup: true,
      ...(result.clone ? {clone: result.clone} : {}),
    }
    await deps.store.update((current) => {
      if (current.project.some((p) => p.name === name))
        throw new RegistryConflictError(`project "${name}" was registered by another repoman meanwhile`)
      current.project.push(entry)
    })
    onUndo(() =>
      deps.store.update((current) => {
        current.project = current.project.filter((p) => p.name !== name || p.created !== entry.created)
      }),
    )
    result.created = entry.created
    // The gateway learns of the project now; the first session waits until it listens.
    await ensureGateway(deps.paths.stateDir, name, {wait: false, attach: true}).catch(() => undefined)
  }

  /** What must be in the container before its first boot. */
  const bootFiles: InstanceFile[] = [SYSTEMD_DROPIN]
  const {imageFingerprint} = plan
  if (imageFingerprint === undefined)
    steps.push(
      {
        title: "Record the repo's host-run files as they are now",
        async run(_control, onUndo) {
          await recordRepoBaseline(onUndo)
          return undefined
        },
      },
      ...launchSteps(plan, deps, spec, bootFiles, deleteOurs, result, agentGit.fill),
    )
  else {
    /** Set when the image could not be prepared so: the account is then made by exec after the start. */
    let accountByExec = false
    steps.push(
      creationStep(
        `Create container "${name}", and record the repo's host-run files as they are`,
        (onUndo) =>
          together(
            incus.createInstance(spec, imageFingerprint),
            agentGit.fill(),
            recordRepoBaseline(onUndo),
            // The forwarder's mount is there at the start (the gateway makes it again, the same).
            mkdir(dirname(gatewaySocket), {recursive: true, mode: 0o700}),
          ),
        deleteOurs,
      ),
      {
        title: `Write your account "${plan.account.user}", the containment drop-in and the gateway's forwarder into it`,
        async run() {
          const files = await incus.openFiles(name)
          try {
            const image = imageFileReader(incus, files, name, imageFilesFile(deps.paths.cacheDir, imageFingerprint))
            const [account, proxyd] = await Promise.all([
              prebootAccount(image.reader, plan.account),
              socketProxydOf(image.reader),
              // Only for the record: the next container of this image is made knowing it.
              image.reader.stat(SETPRIV),
            ])
            await image.save()
            // No systemd forwarder in this image after all: the gateway adds a proxy device instead.
            if (!proxyd && spec.config[GATEWAY_KEY] === 'forwarder')
              await incus.patchOverSocket(name, {config: {[GATEWAY_KEY]: 'proxy'}, devices: {}})
            if (account) {
              result.user = account.plan.user
              result.warnings.push(...account.plan.notes)
            } else accountByExec = true
            const {uid, gid} = plan.account
            const homeDirs = account ? plan.homeDirs.map((path) => ({path, type: 'directory' as const, uid, gid})) : []
            const forwarder = proxyd ? forwarderFiles(proxyd) : []
            await writeBootFiles(files, [...bootFiles, ...forwarder, ...(account?.writes ?? []), ...homeDirs])
          } finally {
            await files.close()
          }
          return undefined
        },
      },
      {
        title: `Start container "${name}", and record the project in the registry`,
        async run(_control, onUndo) {
          const started = async () => {
            await incus.startOverSocket(name)
            if (accountByExec) {
              const account = await ensureAccount(incus, name, plan.account, plan.cloudInit ? 'wait' : 'skip')
              result.user = account.user
              result.warnings.push(...account.notes)
            } else if (plan.cloudInit && plan.cloudInitSeeded) await waitForCloudInit(incus, name)
          }
          // The registry is written while Incus starts the container: a failure of either takes both back.
          await together(started(), recordProject(onUndo))
          return undefined
        },
      },
    )
  }
  if (imageFingerprint === undefined)
    steps.push({
      title: 'Record the project in the registry',
      async run(_control, onUndo) {
        await recordProject(onUndo)
        return undefined
      },
    })
  return {steps, result}
}

/**
 * What the record of the image says before anything of the container is read. `forwarder`:
 * whether it may get the gateway's forwarder, where the image can be prepared before its first
 * boot, unless the record says it has no systemd-socket-proxyd (the first `new` from an image
 * finds out then, and corrects this). `setpriv`: whether it has setpriv, once a `new` from it
 * has looked (its first session asks otherwise).
 */
function recordedImageFacts(
  cacheDir: string,
  fingerprint: string | undefined,
): {forwarder: boolean; setpriv?: boolean} {
  if (fingerprint === undefined) return {forwarder: false}
  const [setpriv, ...proxyds] = recordedStats(imageFilesFile(cacheDir, fingerprint), [SETPRIV, ...SOCKET_PROXYD_PATHS])
  return {
    forwarder: !proxyds.every((stat) => stat === null),
    ...(setpriv === undefined ? {} : {setpriv: isSetpriv(setpriv)}),
  }
}

/** Without the local socket (a remote image or daemon): one `incus launch` with the boot files, then the account by exec. */
function launchSteps(
  plan: CreatePlan,
  deps: CreateDeps,
  spec: InstanceSpec,
  bootFiles: InstanceFile[],
  deleteOurs: () => Promise<void>,
  result: NewResult,
  fillGitDir: () => Promise<void>,
): Step[] {
  const {incus} = deps
  return [
    creationStep(
      `Create and start container "${plan.name}"`,
      async () => {
        await fillGitDir()
        const launching = incus.launch(spec, bootFiles)
        // The registry's write libraries load while Incus launches.
        deps.store.prepareWrite()
        await launching
      },
      deleteOurs,
    ),
    {
      title: `Make your account "${plan.account.user}" inside`,
      async run() {
        const account = await ensureAccount(incus, plan.name, plan.account, plan.cloudInit ? 'wait' : 'skip')
        result.user = account.user
        result.warnings.push(...account.notes)
        return undefined
      },
    },
  ]
}

/** Takes back a path made in .git/.hg, only while still empty: git may have used it meanwhile. */
async function removeIfUnused(full: string, kind: 'dir' | 'file'): Promise<void> {
  if (kind === 'dir') await rmdir(full).catch(() => undefined)
  else if (existsSync(full) && statSync(full).size === 0) await rm(full, {force: true})
}

/** What `new` prints once the project exists (its warnings go to stderr apart). */
export function renderCreate(result: NewResult): string[] {
  return [`Created "${result.name}": ${result.path} is mounted at the same path. Next: repoman shell ${result.name}`]
}
