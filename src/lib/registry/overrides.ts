/**
 * Per-project overrides, `repos.d/<name>.toml`:
 *
 *   [container]  image, profiles, protected_paths, tree
 *   [[mount]]    source, path, readonly
 *   [env]        KEY = "value"
 *   [network]    mode, allow
 */
import {readFile} from 'node:fs/promises'
import {join} from 'node:path'
import {ConfigError} from '../errors.js'
import {WORK_TREES, type WorkTree} from './schema.js'
import {type Table, TomlValidator, tomlSyntaxError} from './toml-check.js'

export interface ExtraMount {
  source: string
  path: string
  readonly: boolean
}

export interface ProjectOverride {
  image?: string
  profiles?: string[]
  /** Replaces [defaults].protected_paths for this project; [] turns protection off. */
  protectedPaths?: string[]
  /** Replaces [defaults].tree for this project. */
  tree?: WorkTree
  mounts: ExtraMount[]
  env: Record<string, string>
  /** [network] mode and allow: replace the registry's defaults for this project. */
  network?: {mode?: string; allow?: string[]}
}

export const EMPTY_OVERRIDE: ProjectOverride = {mounts: [], env: {}}

const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/

export async function parseOverride(text: string, file: string): Promise<ProjectOverride> {
  const {parse} = await import('smol-toml')
  let doc: Table
  try {
    doc = parse(text)
  } catch (error) {
    throw tomlSyntaxError(error, file)
  }
  const v = new TomlValidator(text, file)
  v.noUnknownKeys(doc, '', ['container', 'mount', 'env', 'network'])
  const network = v.table(doc, 'network', false)
  v.noUnknownKeys(network, 'network', ['mode', 'allow'])
  const container = v.table(doc, 'container', false)
  v.noUnknownKeys(container, 'container', ['image', 'profiles', 'protected_paths', 'tree'])
  const rawMounts = doc.mount ?? []
  if (!Array.isArray(rawMounts)) v.fail(undefined, 'mount', 'must be an array of tables ([[mount]])')
  const mounts = (rawMounts as Table[]).map((m, i): ExtraMount => {
    v.noUnknownKeys(m, 'mount', ['source', 'path', 'readonly'], i)
    const path = v.string(m, 'mount', 'path', undefined, i)
    if (!path.startsWith('/')) v.fail('mount', 'path', 'must be an absolute path inside the container', i)
    return {
      source: v.string(m, 'mount', 'source', undefined, i),
      path,
      readonly: v.boolean(m, 'mount', 'readonly', false, i),
    }
  })
  const tree = v.optionalString(container, 'container', 'tree')
  if (tree !== undefined && !(WORK_TREES as readonly string[]).includes(tree))
    v.fail('container', 'tree', 'must be "shared" (your working tree) or "clone" (a checkout of its own)')
  const env = v.table(doc, 'env', false)
  for (const [key, value] of Object.entries(env)) {
    if (!ENV_NAME.test(key)) v.fail('env', key, 'is not a valid environment variable name')
    if (typeof value !== 'string') v.fail('env', key, 'must be a string')
  }
  return {
    image: v.optionalString(container, 'container', 'image'),
    profiles: container.profiles === undefined ? undefined : v.strings(container, 'container', 'profiles', []),
    protectedPaths:
      container.protected_paths === undefined ? undefined : v.strings(container, 'container', 'protected_paths', []),
    ...(tree === undefined ? {} : {tree: tree as WorkTree}),
    mounts,
    env: env as Record<string, string>,
    ...(doc.network === undefined
      ? {}
      : {
          network: {
            mode: v.optionalString(network, 'network', 'mode'),
            allow: network.allow === undefined ? undefined : v.strings(network, 'network', 'allow', []),
          },
        }),
  }
}

/** The override for `name`, or an empty one when there is no file. */
export async function readOverride(overridesDir: string, name: string): Promise<ProjectOverride> {
  const file = join(overridesDir, `${name}.toml`)
  let text: string
  try {
    text = await readFile(file, 'utf8')
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return EMPTY_OVERRIDE
    throw new ConfigError(`cannot read ${file}: ${(error as Error).message}`)
  }
  return parseOverride(text, file)
}
