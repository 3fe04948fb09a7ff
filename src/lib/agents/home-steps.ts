/**
 * Agent homes over a project's life: seeded at `new` (one step before the launch, which also
 * puts their devices and environment into the instance spec), seeded anew by
 * `repoman agent refresh`, and deleted by `remove`.
 */
import {existsSync, lstatSync, readdirSync} from 'node:fs'
import {lchown, mkdtemp, rm, rmdir} from 'node:fs/promises'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {IncusError, ProjectNotFoundError, stderrReason, UsageError} from '../errors.js'
import type {IncusClient} from '../incus/client.js'
import type {IncusProfile, InstanceSpec} from '../incus/types.js'
import {CONFIG_KEYS} from '../lifecycle/containers.js'
import type {CreatePlan} from '../lifecycle/create.js'
import {containerGone} from '../lifecycle/session.js'
import {agentHomeDir, projectHomesDir, type RepomanPaths} from '../paths.js'
import {writableAgentState} from '../profiles/guard.js'
import type {Registry} from '../registry/schema.js'
import type {Step} from '../steps.js'
import {clearLeftovers, emptyInside, emptyTree} from '../trees.js'
import {loginHomeFile} from './credentials.js'
import {
  type AgentHomeKind,
  agentHomeDevice,
  agentHomeKind,
  agentHomeParts,
  agentHomesOf,
  type SeedResult,
  seedAgentHome,
} from './home.js'
import {reinstallCommand} from './home-status.js'

/** Pure: the homes the selected profiles want, from what their installed versions record. */
export function agentHomesWanted(installed: IncusProfile[], selected: string[]): string[] {
  const config = Object.assign(
    {},
    ...selected.map((name) => installed.find((p) => p.name === name)?.config ?? {}),
  ) as Record<string, string>
  return agentHomesOf(config)
}

const kindOf = (agent: string) => agentHomeKind(agent) as AgentHomeKind

/**
 * Gives the host user a tree repoman made as root for them (an agent home, a clone's checkout),
 * as the repo's files are theirs; a link is given itself, never what it points at.
 */
export async function ownAll(dir: string, uid: number, gid: number): Promise<void> {
  if (process.getuid?.() !== 0 || uid === 0) return
  await lchown(dir, uid, gid)
  for (const name of readdirSync(dir)) {
    const path = join(dir, name)
    if (lstatSync(path).isDirectory()) await ownAll(path, uid, gid)
    else await lchown(path, uid, gid)
  }
}

/** `new`'s step: seeds each home, and adds its device and environment to the spec. */
export function agentHomesStep(
  plan: CreatePlan,
  paths: Pick<RepomanPaths, 'stateDir' | 'configDir'>,
  spec: InstanceSpec,
): Step {
  const agents = plan.agentHomes.join(', ')
  return {
    title: `Seed the ${agents} home${plan.agentHomes.length > 1 ? 's' : ''} of "${plan.name}" from yours`,
    async run(control, onUndo) {
      const seeded: SeedResult[] = []
      for (const agent of plan.agentHomes) {
        const kind = kindOf(agent)
        const target = agentHomeDir(paths.stateDir, plan.name, agent)
        // Left by an earlier project of this name whose removal could not finish: not reused.
        await clearLeftovers([target], plan.name)
        onUndo(async () => {
          await rm(target, {recursive: true, force: true})
          await rmdir(projectHomesDir(paths.stateDir, plan.name)).catch(() => undefined)
        })
        seeded.push(await seedAgentHome(kind, plan.host.home, target, loginHomeFile(paths, agent)))
        await ownAll(target, plan.host.uid, plan.host.gid)
        const parts = agentHomeParts(kind, target, plan.host.home, plan.idmap.mode === 'shift')
        Object.assign(spec.devices, parts.devices)
        Object.assign(spec.config, parts.config)
      }
      control.title(
        `Seeded ${seeded.map((s) => `${s.agent}'s home (${s.files} file${s.files === 1 ? '' : 's'})`).join(', ')}`,
      )
      return undefined
    },
  }
}

/** One home as `agent refresh` found it and leaves it. */
export interface RefreshedHome {
  agent: string
  /** The home on the host. */
  home: string
  /** The host dir it was seeded from. */
  from: string
  /** How many entries of the old home were deleted. */
  replaced: number
  /** How many files the new seed holds. */
  files: number
  /** What the seed left out, and why. */
  skipped: Array<{path: string; why: string}>
  /** Old entries that could not be deleted (made by root inside). */
  left: string[]
  /** The container had no device for it yet (made before agent homes): added. */
  device_added: boolean
}

/** What `agent refresh` did (its `--json` result). */
export interface HomesRefreshed {
  name: string
  homes: RefreshedHome[]
}

export interface RefreshPlan {
  name: string
  agents: Array<{
    kind: AgentHomeKind
    home: string
    entries: number
    addDevice: boolean
    /** Running with the home mounted: where, inside, it is written from (see reseedInside). */
    inside?: string
  }>
  shift: boolean
  hostHome: string
  /** You inside (the ids a running container's home is unpacked as). */
  owner: {uid: number; gid: number}
}

/** Pure: which homes to seed anew in this container, or why none can be. */
export function decideRefresh(
  name: string,
  instance: Pick<InstanceSpec, 'config' | 'devices'> & {
    status?: string
    profiles?: string[]
    expanded_config?: Record<string, string>
    expanded_devices?: InstanceSpec['devices']
  },
  options: {
    agent?: string
    hostHome: string
    /** Your ids on the host: yours inside too, unless the container records others. */
    host: {uid: number; gid: number}
    homeOf: (agent: string) => string
    entriesOf: (dir: string) => number
  },
): RefreshPlan {
  const config = instance.expanded_config ?? instance.config
  const devices = instance.expanded_devices ?? instance.devices
  const [old] = writableAgentState({devices}, options.hostHome)
  if (old)
    throw new UsageError(
      `"${name}" still mounts ${old.path} read-write (device ${old.where}); install its profiles again first (\`${reinstallCommand(instance.profiles)}\`), then refresh`,
    )
  const wanted = agentHomesOf(config)
  const agents = options.agent === undefined ? wanted : wanted.filter((a) => a === options.agent)
  if (agents.length === 0)
    throw new UsageError(
      options.agent === undefined
        ? `"${name}" has no agent home: none of its profiles declares one (claude-share, codex-share, ... do)`
        : `"${name}" has no ${options.agent} home; its profiles want ${wanted.join(', ') || 'none'}`,
    )
  return {
    name,
    shift: config['raw.idmap'] === undefined && (instance.config['user.repoman.managed'] ?? '') === 'true',
    hostHome: options.hostHome,
    owner: {
      uid: Number(instance.config[CONFIG_KEYS.uid] ?? options.host.uid),
      gid: Number(instance.config[CONFIG_KEYS.gid] ?? options.host.gid),
    },
    agents: agents.map((agent) => {
      const home = options.homeOf(agent)
      const device = devices[agentHomeDevice(agent)]
      return {
        kind: kindOf(agent),
        home,
        entries: options.entriesOf(home),
        addDevice: !device,
        ...(device?.path && instance.status === 'Running' ? {inside: device.path} : {}),
      }
    }),
  }
}

export async function planRefresh(
  request: {name: string; agent?: string},
  context: {registry: Registry; incus: Pick<IncusClient, 'getInstance'>; paths: Pick<RepomanPaths, 'stateDir'>},
): Promise<RefreshPlan> {
  if (!context.registry.project.some((p) => p.name === request.name))
    throw new ProjectNotFoundError(`no project "${request.name}"; \`repoman list\` shows them`, {hint: 'repoman list'})
  const instance = await context.incus.getInstance(request.name)
  if (!instance) throw containerGone(request.name)
  return decideRefresh(request.name, instance, {
    agent: request.agent,
    hostHome: context.registry.host.home,
    host: context.registry.host,
    homeOf: (agent) => agentHomeDir(context.paths.stateDir, request.name, agent),
    entriesOf: (dir) => (existsSync(dir) ? readdirSync(dir).length : 0),
  })
}

/**
 * A running container's home is written from inside, never by the host: the host writing a tree
 * the agent writes at the same moment could be led, by a link swapped in mid-way, onto your own
 * files. So the seed is made in a directory of the host's alone; root inside empties the home,
 * then you inside unpack the seed into it. What either does lands in the container's own view.
 */
async function reseedInside(
  incus: Pick<IncusClient, 'project' | 'capture' | 'execArgs'>,
  name: string,
  inside: string,
  owner: {uid: number; gid: number},
  seedInto: (dir: string) => Promise<SeedResult>,
): Promise<SeedResult> {
  const staging = await mkdtemp(join(tmpdir(), 'repoman-seed-'))
  try {
    const seed = await seedInto(staging)
    const failed = (what: string, why: string) =>
      new IncusError(
        `could not ${what} ${inside} inside "${name}": ${why}; stop it (\`incus stop --project ${incus.project} ${name}\`) and refresh again`,
      )
    const notEmptied = await emptyInside(incus, name, inside)
    if (notEmptied !== undefined) throw failed('empty', notEmptied)
    const entries = readdirSync(staging)
    if (entries.length === 0) return seed
    const {$} = await import('zx/core')
    const tarball = (await $({quiet: true})`tar -C ${staging} -cf - -- ${entries}`).buffer()
    const unpacked = await incus.capture(incus.execArgs(name, ['tar', '-x', '-p', '-C', inside, '-f', '-'], owner), {
      input: tarball,
    })
    if (unpacked.exitCode !== 0) throw failed('unpack the seed into', stderrReason(unpacked.stderr))
    return seed
  } finally {
    await rm(staging, {recursive: true, force: true})
  }
}

/** One step per home: emptied and seeded in place (from inside, when the container runs), mounted if new. */
export function refreshSteps(
  plan: RefreshPlan,
  deps: {
    incus: Pick<IncusClient, 'project' | 'patchInstance' | 'capture' | 'execArgs'>
    host: {uid: number; gid: number}
    paths: Pick<RepomanPaths, 'configDir'>
  },
): {steps: Step[]; result: HomesRefreshed} {
  const result: HomesRefreshed = {name: plan.name, homes: []}
  const steps: Step[] = plan.agents.map(({kind, home, entries, addDevice, inside}) => ({
    title: `Seed ${kind.agent}'s home in "${plan.name}" anew from ~/${kind.hostDir}`,
    async run() {
      const seedInto = (dir: string) => seedAgentHome(kind, plan.hostHome, dir, loginHomeFile(deps.paths, kind.agent))
      const left = inside ? [] : await emptyTree(home)
      const seed = inside
        ? await reseedInside(deps.incus, plan.name, inside, plan.owner, seedInto)
        : await seedInto(home)
      if (!inside) await ownAll(home, deps.host.uid, deps.host.gid)
      if (addDevice) await deps.incus.patchInstance(plan.name, agentHomeParts(kind, home, plan.hostHome, plan.shift))
      result.homes.push({
        agent: kind.agent,
        home,
        from: seed.from,
        replaced: entries - left.length,
        files: seed.files,
        skipped: seed.skipped.map((s) => ({path: s.rel, why: s.why})),
        left,
        device_added: addDevice,
      })
      return undefined
    },
  }))
  return {steps, result}
}

export function renderRefresh(result: HomesRefreshed): string[] {
  return result.homes.flatMap((h) => [
    `${h.agent}: replaced ${h.replaced} entr${h.replaced === 1 ? 'y' : 'ies'} of ${h.home} with ${h.files} file(s) from ${h.from}${h.device_added ? '; mounted it in the container' : ''}`,
    ...h.skipped.map((s) => `  not copied: ${s.path} (${s.why})`),
    ...h.left.map((path) => `  left: ${path} (made by root inside; \`sudo rm -rf ${path}\` deletes it)`),
  ])
}
