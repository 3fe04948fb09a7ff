/**
 * The profile library: Incus profile templates in YAML, shipped in the package (`profiles/`,
 * the vendor library) and in the user's config dir (`profiles.d/`), where a file of the same
 * name shadows the vendor one. Templates are rendered with the host's values at install time.
 */
import {existsSync, readdirSync} from 'node:fs'
import {readFile} from 'node:fs/promises'
import {basename, join} from 'node:path'
import {AGENT_HOMES, agentHomeKey, agentHomeKind} from '../agents/home.js'
import {
  type AgentPrograms,
  CONTAINER_PATH,
  type ProgramState,
  programExecutableKey,
  programStateKey,
} from '../agents/programs.js'
import {ConfigError, ProfileNotFoundError} from '../errors.js'
import type {ProfileSpec} from '../incus/types.js'
import {type IdmapMode, planIdmap} from '../lifecycle/containers.js'
import {isWithin, PACKAGE_ROOT} from '../paths.js'
import type {HostRecord, Registry} from '../registry/schema.js'

/** The vendor library, shipped in the package's `profiles/`. */
export const VENDOR_PROFILES_DIR = join(PACKAGE_ROOT, 'profiles')

export type ProfileOrigin = 'vendor' | 'user' | 'user-shadows-vendor'

export interface ProfileTemplate {
  name: string
  origin: ProfileOrigin
  file: string
}

const TEMPLATE_NAME = /^[a-z0-9][a-z0-9-]*$/
/** A command an agent profile or launcher may name: a plain file name, no path. */
export const COMMAND_NAME = /^[A-Za-z0-9][A-Za-z0-9._+-]*$/

function templatesIn(dir: string): Map<string, string> {
  const found = new Map<string, string>()
  if (!existsSync(dir)) return found
  for (const file of readdirSync(dir).sort()) {
    const name = basename(file, '.yaml')
    if (file.endsWith('.yaml') && TEMPLATE_NAME.test(name)) found.set(name, join(dir, file))
  }
  return found
}

/** Every template, the user's shadowing the vendor's of the same name. */
export function listTemplates(userDir: string, vendorDir = VENDOR_PROFILES_DIR): ProfileTemplate[] {
  const vendor = templatesIn(vendorDir)
  const user = templatesIn(userDir)
  const names = [...new Set([...vendor.keys(), ...user.keys()])].sort()
  return names.map((name) => {
    const userFile = user.get(name)
    if (userFile) return {name, origin: vendor.has(name) ? 'user-shadows-vendor' : 'user', file: userFile}
    return {name, origin: 'vendor', file: vendor.get(name) as string}
  })
}

export function findTemplate(name: string, userDir: string, vendorDir = VENDOR_PROFILES_DIR): ProfileTemplate {
  const template = listTemplates(userDir, vendorDir).find((t) => t.name === name)
  if (!template)
    throw new ProfileNotFoundError(`no profile "${name}" in the library; \`repoman profile list\` shows them`, {
      hint: 'repoman profile list',
    })
  return template
}

/** Values substituted for `${NAME}` in templates. */
export function templateVariables(host: HostRecord, idmap: IdmapMode | undefined): Record<string, string> {
  return {
    HOST_LAN_IP: host.lan_ip,
    USER: host.user,
    HOME: host.home,
    UID: String(host.uid),
    GID: String(host.gid),
    // Bind mounts follow the same id mapping as the repo mount (see planIdmap).
    SHIFT: planIdmap(host, idmap).mode === 'shift' ? 'true' : 'false',
  }
}

export function substitute(text: string, variables: Record<string, string>, file: string): string {
  return text.replace(/\$\{([A-Za-z_][A-Za-z0-9_]*)\}/g, (match, name: string) => {
    const value = variables[name]
    if (value === undefined)
      throw new ConfigError(
        `${file}: unknown variable ${match} (known: ${Object.keys(variables)
          .map((v) => `\${${v}}`)
          .join(', ')})`,
      )
    if (value === '')
      throw new ConfigError(`${file}: ${match} is empty on this host; set it with \`repoman setup --lan-ip ADDRESS\``, {
        hint: 'repoman setup --lan-ip ADDRESS',
      })
    return value
  })
}

const stringMap = (value: unknown, what: string, file: string): Record<string, string> => {
  if (value === undefined || value === null) return {}
  if (typeof value !== 'object' || Array.isArray(value)) throw new ConfigError(`${file}: ${what} must be a mapping`)
  return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, typeof v === 'string' ? v : String(v)]))
}

/**
 * The devices and config that share `command`'s install from the host, read-only at the same
 * path, with repoman's link directory first on PATH (for `exec`, and for login shells through
 * /etc/profile.d). The state keys record the outcome and the executable, so `status` can say
 * it without the host's PATH, and `profile list` shows `differs` once the host's program moved.
 */
function programParts(
  command: string,
  programs: AgentPrograms,
  shift: string,
  templateDevices: ProfileSpec['devices'],
): Pick<ProfileSpec, 'config' | 'devices'> {
  const program = programs.find(command)
  if (!program) return {config: {[programStateKey(command)]: 'not on the host, install it inside'}, devices: {}}
  const readOnly = (path: string) => ({type: 'disk', source: path, path, readonly: 'true', shift})
  const state: ProgramState = program.needsNode ? 'shared, needs node inside' : 'shared'
  return {
    config: {
      [programStateKey(command)]: state,
      [programExecutableKey(command)]: program.executable,
      'environment.PATH': `${programs.linksDir}:${CONTAINER_PATH}`,
    },
    devices: {
      // Not when the template already shares a directory holding it (a second mount at the
      // same path is refused by Incus): e.g. a program kept in the agent's own data dir.
      ...(Object.values(templateDevices).some(
        (d) => d.type === 'disk' && d.path && isWithin(program.installDir, d.path),
      )
        ? {}
        : {[`${command}-program`]: readOnly(program.installDir)}),
      // The same two devices in every agent profile: Incus merges them into one.
      'repoman-programs': readOnly(programs.linksDir),
      'repoman-programs-path': {...readOnly(programs.profileScript), path: '/etc/profile.d/repoman-programs.sh'},
    },
  }
}

/** Renders a template into the profile Incus should hold. */
export async function renderTemplate(
  template: ProfileTemplate,
  registry: Pick<Registry, 'host' | 'defaults'>,
  programs: AgentPrograms,
): Promise<ProfileSpec> {
  const {parse} = await import('yaml')
  const variables = templateVariables(registry.host, registry.defaults.idmap)
  const text = substitute(await readFile(template.file, 'utf8'), variables, template.file)
  let doc: unknown
  try {
    doc = parse(text)
  } catch (error) {
    throw new ConfigError(`${template.file}: ${(error as Error).message.split('\n')[0]}`)
  }
  if (typeof doc !== 'object' || doc === null)
    throw new ConfigError(`${template.file}: expected a mapping with description, config, devices`)
  const {description, config, devices, program, agent_home: agentHome, ...rest} = doc as Record<string, unknown>
  const unknown = Object.keys(rest)
  if (unknown.length > 0)
    throw new ConfigError(
      `${template.file}: unknown key ${unknown.join(', ')} (a template has description, program, agent_home, config, devices)`,
    )
  if (agentHome !== undefined && (typeof agentHome !== 'string' || !agentHomeKind(agentHome)))
    throw new ConfigError(`${template.file}: agent_home must be one of ${AGENT_HOMES.map((h) => h.agent).join(', ')}`)
  if (devices !== undefined && devices !== null && (typeof devices !== 'object' || Array.isArray(devices)))
    throw new ConfigError(`${template.file}: devices must be a mapping`)
  if (program !== undefined && (typeof program !== 'string' || !COMMAND_NAME.test(program)))
    throw new ConfigError(`${template.file}: program must be a command name, like claude`)
  const templateDevices = Object.fromEntries(
    Object.entries((devices ?? {}) as Record<string, unknown>).map(([name, d]) => [
      name,
      stringMap(d, `device ${name}`, template.file),
    ]),
  )
  const shared = program
    ? programParts(program, programs, variables.SHIFT as string, templateDevices)
    : {config: {}, devices: {}}
  return {
    name: template.name,
    description: typeof description === 'string' ? description : '',
    config: {
      ...stringMap(config, 'config', template.file),
      ...shared.config,
      // Recorded on the profile, so `new` sees which homes a container's profiles want.
      ...(agentHome ? {[agentHomeKey(agentHome as string)]: 'true'} : {}),
    },
    devices: {...templateDevices, ...shared.devices},
  }
}

/** Host paths a profile mounts that do not exist here (Incus would refuse to start containers). */
export function missingSources(spec: ProfileSpec, exists: (path: string) => boolean): string[] {
  return Object.values(spec.devices)
    .filter((d) => d.type === 'disk' && d.source?.startsWith('/') && d.required !== 'false')
    .map((d) => d.source as string)
    .filter((source) => !exists(source))
}

/** Description, config and devices as canonical YAML (sorted keys), for comparing and diffing. */
export async function canonicalYaml(spec: Pick<ProfileSpec, 'description' | 'config' | 'devices'>): Promise<string> {
  const {stringify} = await import('yaml')
  const sorted = (o: Record<string, unknown>): Record<string, unknown> =>
    Object.fromEntries(
      Object.keys(o)
        .sort()
        .map((k) => {
          const v = o[k]
          return [k, v && typeof v === 'object' ? sorted(v as Record<string, unknown>) : v]
        }),
    )
  return stringify({
    description: spec.description ?? '',
    config: sorted(spec.config ?? {}),
    devices: sorted(spec.devices ?? {}),
  })
}
