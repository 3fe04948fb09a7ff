/**
 * `repoman new`: check everything first, create and start the container in one request, then
 * record it. A failure after the container exists deletes it again (only if it is the one this
 * run made) and leaves the registry as it was.
 */
import {randomBytes} from 'node:crypto'
import {existsSync, statSync} from 'node:fs'
import {chown, mkdir, rm, rmdir, writeFile} from 'node:fs/promises'
import {join} from 'node:path'
import type {ListrTask} from 'listr2'
import {
  buildInstanceSpec,
  CONFIG_KEYS,
  DEFAULT_PROTECTED_PATHS,
  guardContextOf,
  type IdmapPlan,
  missingBaseDevices,
  type ProtectionPlan,
  planIdmap,
  planProtection,
  repoPathProblem,
} from '../containers.js'
import {SYSTEMD_DROPIN} from '../containment.js'
import {IncusAlreadyExistsError, RepomanError, SafetyError, UsageError} from '../errors.js'
import {missingSubids} from '../host.js'
import type {IncusClient} from '../incus/client.js'
import type {DeviceMap, InstanceSpec} from '../incus/types.js'
import {recordBaseline} from '../integrity/snapshot.js'
import {isValidProjectName, NAME_RULE, parseList} from '../names.js'
import {type NetworkMode, parseAllowEntry} from '../network.js'
import {type ProjectOverride, readOverride} from '../overrides.js'
import {expandHome, type RepomanPaths} from '../paths.js'
import {findExposures} from '../profiles/guard.js'
import {isSafeDirname, type ProjectEntry, type Registry, registryTimestamp, repoPathOf} from '../registry/schema.js'
import type {RegistryStore} from '../registry/store.js'
import {accountWant, defaultSudo, ensureAccount} from './account.js'
import {isolate, nicToReplace, resolvePolicy} from './isolation.js'

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

interface CreateDeps {
  registry: Registry
  store: RegistryStore
  incus: IncusClient
  paths: RepomanPaths
}

interface CreateContext {
  nicDevice?: string
  /** Root disk (and NIC) the profiles lack, from the default profile. */
  baseDevices: DeviceMap
  cloudInit: boolean
  /** What this run changed, undone in reverse order if a later step fails. */
  undo: Array<() => Promise<void>>
}

async function undoAll(c: CreateContext): Promise<void> {
  for (const step of c.undo.reverse()) await step()
}

/** Deletes the container only if it is the one this run created (its token matches). */
async function rollback(incus: IncusClient, spec: InstanceSpec): Promise<void> {
  const instance = await incus.getInstance(spec.name).catch(() => undefined)
  if (instance && instance.config[CONFIG_KEYS.token] === spec.config[CONFIG_KEYS.token])
    await incus.deleteInstance(spec.name)
}

export async function createTasks(
  request: NewRequest,
  deps: CreateDeps,
): Promise<{tasks: ListrTask<CreateContext>[]; result: NewResult; ctx: CreateContext}> {
  const {registry, incus} = deps
  checkName(request.name)
  const override = await readOverride(deps.paths.overridesDir, request.name)
  const {repo, image, profiles} = resolveNewRequest(request, override, registry)
  const repoPath = repoPathOf(registry, repo)
  const idmap = planIdmap(registry.host, registry.defaults.idmap)
  const sudo = request.sudo ?? defaultSudo(registry)
  const policy = resolvePolicy(registry, override, `repos.d/${request.name}.toml`)
  for (const entry of policy.allow) parseAllowEntry(entry)
  const result: NewResult = {
    name: request.name,
    repo,
    path: repoPath,
    image,
    profiles,
    idmap: idmap.mode,
    user: registry.host.user,
    sudo,
    protected_paths: [],
    network: policy.mode,
    state: 'running',
    created: '',
    warnings: [],
  }
  const ctx: CreateContext = {cloudInit: false, baseDevices: {}, undo: []}

  const tasks: ListrTask<CreateContext>[] = [
    {
      title: `Check name, repo, profiles and image for "${request.name}"`,
      task: async (c, task) => {
        if (registry.project.some((p) => p.name === request.name))
          throw new UsageError(
            `project "${request.name}" already exists; pick another name or \`repoman remove ${request.name}\``,
          )
        if (!existsSync(repoPath) || !statSync(repoPath).isDirectory())
          throw new UsageError(`repo ${repoPath} does not exist; create or clone it there first, or pass --repo DIR`)
        const hidden = repoPathProblem(repoPath)
        if (hidden) throw new UsageError(hidden)
        if (!existsSync(join(repoPath, '.git')) && !existsSync(join(repoPath, '.hg'))) {
          const warning = `${repoPath} is neither a git nor an hg repo`
          result.warnings.push(warning)
          task.output = `warning: ${warning}`
        }
        checkOverrideMounts(request, override, registry, repoPath, idmap)
        if (idmap.mode === 'raw.idmap') await checkSubids(registry)
        const [existing, installed, imageInfo] = await Promise.all([
          incus.getInstance(request.name),
          incus.listProfiles(),
          incus.imageProperties(image).catch((error: Error) => {
            throw new UsageError(
              `image "${image}" cannot be resolved (${error.message}); check the name and that its remote is reachable`,
            )
          }),
        ])
        if (existing)
          throw new UsageError(
            `a container "${request.name}" already exists in Incus project "${incus.project}" but not in the registry (an interrupted \`repoman new\`?); \`repoman remove ${request.name}\` deletes it`,
          )
        const installedNames = new Set(installed.map((p) => p.name))
        const missing = profiles.filter((p) => !installedNames.has(p))
        if (missing.length > 0)
          throw new UsageError(
            `profile ${missing.map((m) => `"${m}"`).join(', ')} is not installed in Incus project "${incus.project}"; run \`repoman profile install ${missing.join(' ')}\``,
          )
        if (!imageInfo)
          throw new UsageError(`image "${image}" is not available; check the name with \`incus image list\``)
        c.cloudInit = imageInfo.variant === 'cloud' || /\/cloud$/.test(image)
        c.baseDevices = missingBaseDevices(installed, profiles)
        if (policy.mode !== 'open') c.nicDevice = nicToReplace(installed, profiles)
      },
    },
    {
      title: `Create and start container "${request.name}"`,
      task: async (c) => {
        const protection = await protectRepo(
          repoPath,
          override.protectedPaths ?? registry.defaults.protected_paths ?? DEFAULT_PROTECTED_PATHS,
          registry,
        )
        result.protected_paths = protection.mount
        c.undo.push(() => unprotectRepo(repoPath, protection))
        const spec = buildInstanceSpec({
          protectedPaths: protection.mount,
          name: request.name,
          image,
          profiles,
          repoPath,
          host: registry.host,
          idmap,
          override,
          token: randomBytes(8).toString('hex'),
          sudo,
        })
        Object.assign(spec.devices, c.baseDevices)
        try {
          if (c.nicDevice) {
            const isolation = await isolate(incus, request.name, policy, c.nicDevice)
            c.undo.push(isolation.undo)
            Object.assign(spec.devices, isolation.devices)
            Object.assign(spec.config, isolation.config)
          }
          // Only the container carrying this run's token is ours to delete: another `new` of the
          // same name may have won the race.
          c.undo.push(() => rollback(incus, spec))
          // The registry is written next: its modules load while Incus creates the container.
          deps.store.prepareWrite()
          await incus.launch(spec, [SYSTEMD_DROPIN])
          const want = accountWant(registry, idmap, sudo)
          const account = await ensureAccount(incus, request.name, want, c.cloudInit ? 'wait' : 'skip')
          result.user = account.user
          result.warnings.push(...account.notes)
          // What the host-run files look like before any agent ran: later sessions compare with it.
          await recordBaseline(deps.paths.stateDir, request.name, repoPath)
        } catch (error) {
          if (error instanceof IncusAlreadyExistsError) c.undo.pop()
          await undoAll(c)
          throw error
        }
      },
    },
    {
      title: 'Record the project in the registry',
      task: async (c) => {
        const entry: ProjectEntry = {
          name: request.name,
          repo,
          image,
          profiles,
          created: registryTimestamp(),
          backup: true,
        }
        try {
          await deps.store.update((current) => {
            if (current.project.some((p) => p.name === request.name))
              throw new RepomanError(`project "${request.name}" was registered by another repoman meanwhile`)
            current.project.push(entry)
          })
        } catch (error) {
          await undoAll(c)
          throw error
        }
        result.created = entry.created
      },
    },
  ]
  return {tasks, result, ctx}
}

/** raw.idmap needs root to own the host ids in /etc/subuid and /etc/subgid; say exactly what to add. */
async function checkSubids(registry: Registry): Promise<void> {
  const command = await missingSubids(registry.host)
  if (command)
    throw new UsageError(
      `repoman maps only your ids into the container (raw.idmap), and Incus allows that once root may map them; run \`${command}\`, then \`repoman new\` again`,
    )
}

/**
 * Plans the read-only mounts over the repo's execution-relevant paths and creates, on the
 * host, the ones inside .git/.hg that do not exist yet (so they cannot be created from inside).
 */
async function protectRepo(repoPath: string, paths: string[], registry: Registry): Promise<ProtectionPlan> {
  const isDir = (rel: string) => existsSync(join(repoPath, rel)) && statSync(join(repoPath, rel)).isDirectory()
  const plan = planProtection(paths, (rel) => existsSync(join(repoPath, rel)), {git: isDir('.git'), hg: isDir('.hg')})
  for (const {path, kind} of plan.create) {
    const full = join(repoPath, path)
    if (kind === 'dir') await mkdir(full, {recursive: true})
    else await writeFile(full, '', {flag: 'a'})
    // Created as the host user, as git itself would have.
    if (process.getuid?.() === 0) await chown(full, registry.host.uid, registry.host.gid)
  }
  return plan
}

/** Undoes protectRepo's creations (only while still empty: git may have used them meanwhile). */
async function unprotectRepo(repoPath: string, plan: ProtectionPlan): Promise<void> {
  for (const {path, kind} of plan.create) {
    const full = join(repoPath, path)
    if (kind === 'dir') await rmdir(full).catch(() => undefined)
    else if (existsSync(full) && statSync(full).size === 0) await rm(full, {force: true})
  }
}

/** Extra mounts from repos.d must exist and, unless allowed, expose no credentials (same guard as profiles). */
function checkOverrideMounts(
  request: NewRequest,
  override: ProjectOverride,
  registry: Registry,
  repoPath: string,
  idmap: IdmapPlan,
): void {
  const file = `repos.d/${request.name}.toml`
  for (const mount of override.mounts) {
    const source = expandHome(mount.source, registry.host.home)
    if (!existsSync(source)) throw new UsageError(`mount source ${source} (${file}) does not exist on this host`)
  }
  if (request.allowSensitive) return
  const spec = buildInstanceSpec({
    name: request.name,
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
      name: request.name,
      description: '',
      config: {},
      devices: Object.fromEntries(Object.entries(spec.devices).filter(([d]) => d !== 'repo')),
    },
    guardContextOf(registry),
  )
  if (exposure)
    throw new SafetyError(
      `${file} would expose ${exposure.path} (${exposure.why}); refused. Pass --allow-sensitive if you really mean it`,
    )
}

/** Asks for what the flags left open (on a terminal), then runs the create task list. */
export async function createProject(
  request: NewRequest,
  deps: CreateDeps,
  options: {json: boolean; interactive: boolean},
): Promise<NewResult> {
  const {askText, runTasks} = await import('../../cli/ui.js')
  checkName(request.name)
  const asked = {...request}
  if (options.interactive) {
    const override = await readOverride(deps.paths.overridesDir, request.name)
    const defaults = resolveNewRequest(request, override, deps.registry)
    if (request.image === undefined && override.image === undefined)
      asked.image = await askText('Image?', defaults.image)
    if (request.profiles === undefined && !request.noDefaultProfiles && override.profiles === undefined)
      asked.profiles = parseList(await askText('Profiles (comma-separated)?', defaults.profiles.join(',')))
  }
  const {tasks, result, ctx} = await createTasks(asked, deps)
  await runTasks(tasks, ctx, {json: options.json})
  return result
}
