/**
 * `repoman profile install`: render the library's templates, check them, and bring the Incus
 * project's profiles in step with them. The plan renders and checks every template before
 * anything changes (a refusal leaves Incus as it was); the steps create or update one profile
 * each, and a failure half-way puts back what the earlier steps changed.
 */
import {existsSync} from 'node:fs'
import {hostPrograms, type ProgramShare, programShares, writeProgramLink} from '../agents/programs.js'
import {MountSourceMissingError, SensitiveMountError} from '../errors.js'
import type {IncusClient} from '../incus/client.js'
import type {IncusProfile, ProfileSpec} from '../incus/types.js'
import {guardContextOf} from '../lifecycle/containers.js'
import {compareAscii} from '../names.js'
import type {RepomanPaths} from '../paths.js'
import type {Registry} from '../registry/schema.js'
import type {Step} from '../steps.js'
import {findExposures} from './guard.js'
import {
  canonicalYaml,
  findTemplate,
  missingSources,
  type ProfileOrigin,
  type ProfileTemplate,
  renderTemplate,
} from './library.js'

/** One profile in `profile install --json`. */
export interface InstallOutcome {
  name: string
  origin: ProfileOrigin
  action: 'created' | 'updated' | 'unchanged' | 'skipped'
  /** Why a profile was skipped (with --all: what it shares is not on this host). */
  reason?: string
  /** The agent program the profile shares, and whether this host has it. */
  program?: ProgramShare
}

/** A template as the plan found it: rendered and checked, or skipped (with --all) and why. */
export type RenderedProfile =
  | {template: ProfileTemplate; spec: ProfileSpec}
  | {template: ProfileTemplate; skipped: string}

interface Planned {
  name: string
  origin: ProfileOrigin
  program?: ProgramShare
}

/** What install does to one profile. */
export type PlannedProfile =
  | (Planned & {action: 'create'; spec: ProfileSpec})
  /** `previous` is what Incus holds now: what undo puts back. */
  | (Planned & {action: 'update'; spec: ProfileSpec; previous: ProfileSpec})
  | (Planned & {action: 'unchanged'})
  | (Planned & {action: 'skipped'; reason: string})

export interface ProfileInstallPlan {
  /** Every profile named, by name. */
  profiles: PlannedProfile[]
}

export interface ProfileInstallContext {
  registry: Registry
  paths: RepomanPaths
  incus: Pick<IncusClient, 'listProfiles'>
}

export type ProfileInstallDeps = Pick<IncusClient, 'createProfile' | 'updateProfile' | 'deleteProfile'>

/** Renders and checks a template: every mount source must exist, and nothing sensitive may be exposed unless allowed. */
async function renderChecked(
  template: ProfileTemplate,
  ctx: Pick<ProfileInstallContext, 'registry' | 'paths'>,
  allowSensitive: boolean,
): Promise<ProfileSpec> {
  const programs = hostPrograms(ctx.registry.host, ctx.paths)
  const spec = await renderTemplate(template, ctx.registry, programs)
  // The links the profile mounts must exist before the check (and before Incus sees them).
  // Writing one again is harmless: it points at the same host program.
  for (const {command, executable} of programShares(spec.config))
    if (executable) writeProgramLink(programs, command, executable)
  const missing = missingSources(spec, existsSync)
  if (missing.length > 0)
    throw new MountSourceMissingError(
      `profile "${template.name}" mounts ${missing.join(', ')}, which ${missing.length > 1 ? 'do' : 'does'} not exist on this host; create it (or log in to the agent once) first`,
    )
  if (!allowSensitive) {
    const first = findExposures(spec, guardContextOf(ctx.registry, ctx.paths))[0]
    if (first)
      throw new SensitiveMountError(
        `profile "${template.name}" would expose ${first.path} (${first.why}) through ${first.where}; refused. Pass --allow-sensitive if you really mean it`,
        {hint: `repoman profile install ${template.name} --allow-sensitive`},
      )
  }
  return spec
}

const specOf = (profile: IncusProfile): ProfileSpec => ({
  name: profile.name,
  description: profile.description,
  config: profile.config,
  devices: profile.devices,
})

/**
 * What install does to each profile, from the rendered templates and the profiles Incus holds:
 * create what is missing, update what differs, leave what is in step. Sorted by name.
 */
export async function decideProfileInstall(
  rendered: RenderedProfile[],
  installed: IncusProfile[],
): Promise<PlannedProfile[]> {
  const held = new Map(installed.map((p) => [p.name, p]))
  const planned: PlannedProfile[] = []
  for (const entry of rendered) {
    const {name, origin} = entry.template
    if ('skipped' in entry) {
      planned.push({name, origin, action: 'skipped', reason: entry.skipped})
      continue
    }
    const program = programShares(entry.spec.config)[0]
    const base = {name, origin, ...(program ? {program} : {})}
    const current = held.get(name)
    if (!current) planned.push({...base, action: 'create', spec: entry.spec})
    else if ((await canonicalYaml(entry.spec)) === (await canonicalYaml(current)))
      planned.push({...base, action: 'unchanged'})
    else planned.push({...base, action: 'update', spec: entry.spec, previous: specOf(current)})
  }
  return planned.sort((a, b) => compareAscii(a.name, b.name))
}

/**
 * Renders and checks every named template, then compares with what Incus holds. Throws before
 * anything changed: an unknown name, a missing mount source (with `skipMissing`, as for --all,
 * that profile is skipped instead), an exposure without `allowSensitive`.
 */
export async function planProfileInstall(
  names: string[],
  ctx: ProfileInstallContext,
  options: {
    allowSensitive: boolean
    skipMissing?: boolean
    /** The profiles in Incus now, when the caller has listed them already. */
    installed?: IncusProfile[]
  },
): Promise<ProfileInstallPlan> {
  const templates = names.map((name) => findTemplate(name, ctx.paths.userProfilesDir))
  const rendered: RenderedProfile[] = []
  for (const template of templates) {
    try {
      rendered.push({template, spec: await renderChecked(template, ctx, options.allowSensitive)})
    } catch (error) {
      if (!(options.skipMissing && error instanceof MountSourceMissingError)) throw error
      rendered.push({template, skipped: error.message})
    }
  }
  const installed = options.installed ?? (rendered.some((r) => 'spec' in r) ? await ctx.incus.listProfiles() : [])
  return {profiles: await decideProfileInstall(rendered, installed)}
}

const DONE = {create: 'created', update: 'updated', unchanged: 'unchanged', skipped: 'skipped'} as const

const outcomeOf = (p: PlannedProfile): InstallOutcome => ({
  name: p.name,
  origin: p.origin,
  action: DONE[p.action],
  ...(p.action === 'skipped' ? {reason: p.reason} : {}),
  ...(p.program ? {program: p.program} : {}),
})

/**
 * One step per profile to create or update. A created profile is deleted again on undo, an
 * updated one gets its previous spec back. `result` holds every profile once the steps ran.
 */
export function profileInstallSteps(
  plan: ProfileInstallPlan,
  deps: ProfileInstallDeps,
): {steps: Step[]; result: InstallOutcome[]} {
  const result = plan.profiles.map(outcomeOf)
  const steps: Step[] = []
  for (const p of plan.profiles) {
    if (p.action !== 'create' && p.action !== 'update') continue
    const change =
      p.action === 'create'
        ? {
            verb: 'Create',
            done: 'Created',
            apply: () => deps.createProfile(p.spec),
            undo: () => deps.deleteProfile(p.name),
          }
        : {
            verb: 'Update',
            done: 'Updated',
            apply: () => deps.updateProfile(p.spec),
            undo: () => deps.updateProfile(p.previous),
          }
    steps.push({
      title: `${change.verb} profile ${p.name}`,
      async run(control, onUndo) {
        await change.apply()
        onUndo(change.undo)
        control.title(`${change.done} profile ${p.name}`)
        return undefined
      },
    })
  }
  return {steps, result}
}

/** What the command prints after the steps: one line per profile. */
export function renderProfileInstall(result: InstallOutcome[]): string[] {
  return result.map(
    (o) =>
      `${o.name}: ${o.action} (${o.origin})${o.reason ? `: ${o.reason}` : ''}${o.program ? `; ${o.program.command}: ${o.program.state}` : ''}`,
  )
}
