/**
 * Agent homes over a project's life: seeded at `new` (one step before the launch, which also
 * puts their devices and environment into the instance spec), seeded anew by
 * `repoman agent refresh`, and deleted by `remove`.
 */
import {existsSync, lstatSync, readdirSync} from 'node:fs'
import {lchown, rm, rmdir} from 'node:fs/promises'
import {join} from 'node:path'
import {ProjectNotFoundError, UsageError} from '../errors.js'
import type {IncusClient} from '../incus/client.js'
import type {IncusProfile, InstanceSpec} from '../incus/types.js'
import type {CreatePlan} from '../lifecycle/create.js'
import {containerGone} from '../lifecycle/session.js'
import {agentHomeDir, projectHomesDir, type RepomanPaths} from '../paths.js'
import {writableAgentState} from '../profiles/guard.js'
import type {Registry} from '../registry/schema.js'
import type {Step} from '../steps.js'
import {loginHomeFile} from './credentials.js'
import {
  type AgentHomeKind,
  agentHomeDevice,
  agentHomeKind,
  agentHomeParts,
  agentHomesOf,
  emptyAgentHome,
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
        await emptyAgentHome(target)
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
  agents: Array<{kind: AgentHomeKind; home: string; entries: number; addDevice: boolean}>
  shift: boolean
  hostHome: string
}

/** Pure: which homes to seed anew in this container, or why none can be. */
export function decideRefresh(
  name: string,
  instance: Pick<InstanceSpec, 'config' | 'devices'> & {
    profiles?: string[]
    expanded_config?: Record<string, string>
    expanded_devices?: InstanceSpec['devices']
  },
  options: {agent?: string; hostHome: string; homeOf: (agent: string) => string; entriesOf: (dir: string) => number},
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
    agents: agents.map((agent) => {
      const home = options.homeOf(agent)
      return {kind: kindOf(agent), home, entries: options.entriesOf(home), addDevice: !devices[agentHomeDevice(agent)]}
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
    homeOf: (agent) => agentHomeDir(context.paths.stateDir, request.name, agent),
    entriesOf: (dir) => (existsSync(dir) ? readdirSync(dir).length : 0),
  })
}

/** One step per home: empty it in place (a running container has it mounted), seed it, mount it if new. */
export function refreshSteps(
  plan: RefreshPlan,
  deps: {
    incus: Pick<IncusClient, 'patchInstance'>
    host: {uid: number; gid: number}
    paths: Pick<RepomanPaths, 'configDir'>
  },
): {steps: Step[]; result: HomesRefreshed} {
  const result: HomesRefreshed = {name: plan.name, homes: []}
  const steps: Step[] = plan.agents.map(({kind, home, entries, addDevice}) => ({
    title: `Seed ${kind.agent}'s home in "${plan.name}" anew from ~/${kind.hostDir}`,
    async run() {
      const left = await emptyAgentHome(home)
      const seed = await seedAgentHome(kind, plan.hostHome, home, loginHomeFile(deps.paths, kind.agent))
      await ownAll(home, deps.host.uid, deps.host.gid)
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

/**
 * `remove`'s step: deletes the project's homes. Returns what could not be deleted (files that
 * root made inside belong to a host uid in the container's range).
 */
export async function deleteProjectHomes(stateDir: string, project: string): Promise<string[]> {
  const dir = projectHomesDir(stateDir, project)
  if (!existsSync(dir)) return []
  const left: string[] = []
  for (const agent of readdirSync(dir)) left.push(...(await emptyAgentHome(join(dir, agent))))
  await rm(dir, {recursive: true, force: true}).catch(() => undefined)
  return left
}
