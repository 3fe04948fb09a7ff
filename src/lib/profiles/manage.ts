/** `repoman profile ...`: the library's templates against what the Incus project holds. */
import {type AgentPrograms, hostPrograms, type ProgramShare, programShares} from '../agents/programs.js'
import {InUseError, ProfileNotInstalledError} from '../errors.js'
import type {IncusClient} from '../incus/client.js'
import type {IncusProfile, ProfileSpec} from '../incus/types.js'
import {compareAscii} from '../names.js'
import type {RepomanPaths} from '../paths.js'
import type {Registry} from '../registry/schema.js'
import {
  canonicalYaml,
  findTemplate,
  listTemplates,
  type ProfileOrigin,
  type ProfileTemplate,
  renderTemplate,
} from './library.js'

export interface ProfileContext {
  registry: Registry
  incus: IncusClient
  paths: RepomanPaths
}

export type ProfileState = 'not installed' | 'in step' | 'differs' | 'installed' | 'invalid'

/** One row of `profile list --json`. */
export interface ProfileRow {
  name: string
  /** Where the template comes from; `incus` for a profile the library does not have (e.g. default). */
  origin: ProfileOrigin | 'incus'
  state: ProfileState
  description: string
  used_by: string[]
  /** Why the template cannot be rendered, when state is `invalid`. */
  problem?: string
  /** The agent program the profile shares, and whether this host has it. */
  program?: ProgramShare
}

/** The host's agent programs, for this context's host user. */
const programsOf = (ctx: ProfileContext): AgentPrograms => hostPrograms(ctx.registry.host, ctx.paths)

const render = (template: ProfileTemplate, ctx: ProfileContext) =>
  renderTemplate(template, ctx.registry, programsOf(ctx))

export interface ProfileDiff {
  name: string
  in_step: boolean
  diff: string
}

/** Instance names from a profile's `used_by` URLs. */
export function instancesUsing(profile: IncusProfile | undefined): string[] {
  return (profile?.used_by ?? [])
    .filter((url) => url.startsWith('/1.0/instances/'))
    .map((url) => decodeURIComponent(url.slice('/1.0/instances/'.length).split('?')[0] ?? ''))
    .sort()
}

async function inStep(spec: ProfileSpec, installed: IncusProfile): Promise<boolean> {
  return (await canonicalYaml(spec)) === (await canonicalYaml(installed))
}

export async function listProfileRows(ctx: ProfileContext): Promise<ProfileRow[]> {
  const installed = new Map((await ctx.incus.listProfiles()).map((p) => [p.name, p]))
  const templates = listTemplates(ctx.paths.userProfilesDir)
  const rows: ProfileRow[] = []
  for (const template of templates) {
    const current = installed.get(template.name)
    const row: ProfileRow = {
      name: template.name,
      origin: template.origin,
      state: 'not installed',
      description: '',
      used_by: instancesUsing(current),
    }
    try {
      const spec = await render(template, ctx)
      row.description = spec.description
      const program = programShares(spec.config)[0]
      if (program) row.program = program
      if (current) row.state = (await inStep(spec, current)) ? 'in step' : 'differs'
    } catch (error) {
      row.state = 'invalid'
      row.problem = (error as Error).message
    }
    rows.push(row)
  }
  const inLibrary = new Set(templates.map((t) => t.name))
  for (const profile of installed.values())
    if (!inLibrary.has(profile.name))
      rows.push({
        name: profile.name,
        origin: 'incus',
        state: 'installed',
        description: profile.description,
        used_by: instancesUsing(profile),
      })
  return rows.sort((a, b) => compareAscii(a.name, b.name))
}

export async function diffProfile(name: string, ctx: ProfileContext): Promise<ProfileDiff> {
  const template = findTemplate(name, ctx.paths.userProfilesDir)
  const [spec, current] = await Promise.all([render(template, ctx), ctx.incus.getProfile(name)])
  const [{createTwoFilesPatch}, wanted, held] = await Promise.all([
    import('diff'),
    canonicalYaml(spec),
    current ? canonicalYaml(current) : Promise.resolve(''),
  ])
  if (held === wanted) return {name, in_step: true, diff: ''}
  const diff = createTwoFilesPatch(
    `incus/${ctx.incus.project}/${name}`,
    `template/${name}`,
    held,
    wanted,
    current ? '' : '(not installed)',
    template.file,
  )
  return {name, in_step: false, diff}
}

export async function showProfile(
  name: string,
  ctx: ProfileContext,
): Promise<{spec: ProfileSpec; yaml: string; origin: ProfileOrigin}> {
  const template = findTemplate(name, ctx.paths.userProfilesDir)
  const spec = await render(template, ctx)
  return {spec, yaml: await canonicalYaml(spec), origin: template.origin}
}

export async function removeProfile(name: string, ctx: ProfileContext): Promise<{name: string; removed: true}> {
  const profile = await ctx.incus.getProfile(name)
  if (!profile)
    throw new ProfileNotInstalledError(`profile "${name}" is not installed in Incus project "${ctx.incus.project}"`, {
      hint: 'repoman profile list',
    })
  if (name === 'default') throw new InUseError('the default profile holds the root disk of every container; it stays')
  const users = instancesUsing(profile)
  if (users.length > 0)
    throw new InUseError(
      `profile "${name}" is used by ${users.join(', ')}; remove those containers (or the profile from them) first`,
    )
  await ctx.incus.deleteProfile(name)
  return {name, removed: true}
}
