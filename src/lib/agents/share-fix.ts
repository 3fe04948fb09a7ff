/**
 * `status --fix` for containers made by an older repoman, whose profiles shared your host's
 * agent dirs (`~/.claude`, ...) read-write: the profiles are installed again from the library
 * (whose templates share none), then each container gets homes of its own, as `agent refresh`
 * gives them. Pure decision, then steps.
 */
import type {IncusClient} from '../incus/client.js'
import type {IncusProfile, InstanceSpec} from '../incus/types.js'
import {compareAscii} from '../names.js'
import type {RepomanPaths} from '../paths.js'
import {writableAgentState} from '../profiles/guard.js'
import {
  type InstallOutcome,
  type ProfileInstallDeps,
  type ProfileInstallPlan,
  planProfileInstall,
  profileInstallSteps,
  renderProfileInstall,
} from '../profiles/install.js'
import type {Registry} from '../registry/schema.js'
import type {Step} from '../steps.js'
import {type HomesRefreshed, planRefresh, refreshSteps, renderRefresh} from './home-steps.js'

/** `status --fix` for containers that still share a host agent dir read-write (made by an older repoman). */
export interface ShareFixPlan {
  /** The profiles that carry such a share, installed again from the library (which shares none). */
  profiles: string[]
  /** The projects whose containers then get their homes seeded and mounted. */
  projects: string[]
}

/** Pure: which installed profiles share an agent dir read-write, and which registered containers use them. */
export function decideShareFix(
  registry: Registry,
  instances: Array<
    Pick<IncusProfile, 'config'> & {
      name: string
      profiles: string[]
      expanded_devices?: InstanceSpec['devices']
      devices: InstanceSpec['devices']
    }
  >,
  profiles: IncusProfile[],
  name?: string,
): ShareFixPlan {
  const home = registry.host.home
  const sharing = new Set(profiles.filter((p) => writableAgentState(p, home).length > 0).map((p) => p.name))
  const projects = instances.filter(
    (i) =>
      registry.project.some((p) => p.name === i.name && (name === undefined || p.name === name)) &&
      writableAgentState({devices: i.expanded_devices ?? i.devices}, home).length > 0,
  )
  const used = new Set(projects.flatMap((i) => i.profiles.filter((p) => sharing.has(p))))
  return {profiles: [...used].sort(compareAscii), projects: projects.map((i) => i.name).sort(compareAscii)}
}

/**
 * The conversion as steps: the profiles installed again (as `profile install`; refused, with
 * nothing changed, if your own template in profiles.d still shares the dir), then each
 * container's homes seeded and mounted (as `agent refresh`), planned once the profiles say
 * which homes they want.
 */
export function shareFixSteps(
  plan: ShareFixPlan & {install: ProfileInstallPlan},
  deps: {
    incus: Pick<IncusClient, 'project' | 'getInstance' | 'patchInstance' | 'capture' | 'execArgs'> & ProfileInstallDeps
    registry: Registry
    paths: Pick<RepomanPaths, 'stateDir' | 'configDir'>
  },
): {steps: Step[]; result: {profiles: InstallOutcome[]; homes: HomesRefreshed[]}} {
  const installed = profileInstallSteps(plan.install, deps.incus)
  const result = {profiles: installed.result, homes: [] as HomesRefreshed[]}
  const homes = plan.projects.map(
    (name): Step => ({
      title: `Give "${name}" agent homes of its own instead of your host's agent dirs`,
      async run() {
        const refresh = refreshSteps(await planRefresh({name}, deps), {
          incus: deps.incus,
          host: deps.registry.host,
          paths: deps.paths,
        })
        result.homes.push(refresh.result)
        return {steps: refresh.steps, concurrency: 1}
      },
    }),
  )
  return {steps: [...installed.steps, ...homes], result}
}

/** The facts from Incus, the decision, and the profile install it takes (planned: nothing changed yet). */
export async function planShareFix(
  context: {registry: Registry; incus: Pick<IncusClient, 'listProfiles'>; paths: RepomanPaths},
  instances: Parameters<typeof decideShareFix>[1],
  profiles: IncusProfile[],
  name?: string,
): Promise<ShareFixPlan & {install: ProfileInstallPlan}> {
  const plan = decideShareFix(context.registry, instances, profiles, name)
  const install =
    plan.profiles.length > 0
      ? await planProfileInstall(plan.profiles, context, {allowSensitive: false, installed: profiles})
      : {profiles: []}
  return {...plan, install}
}

/** What the fix says it changed. */
export function renderShareFix(result: {profiles: InstallOutcome[]; homes: HomesRefreshed[]}): string[] {
  return [...renderProfileInstall(result.profiles), ...result.homes.flatMap(renderRefresh)]
}
