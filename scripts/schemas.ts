/**
 * JSON Schemas of every command's `--json` result, generated from the TypeScript result types.
 * The schemas are checked in (schemas/<command-id>.json) so a change to the contract shows as a
 * diff; test/schemas.test.ts regenerates them in memory and fails when they drift.
 *
 * Convention: the command file src/commands/<a>/<b>.ts exports `type <A><B>Result` (its run()
 * result); src/commands/<a>/index.ts is command <a>. Commands with `enableJsonFlag = false` have
 * no schema. schemas/error.json is the error document every command prints under --json.
 *
 * `npm run schemas` writes them; run it after changing a result type and review the diff.
 */
import {mkdir, readdir, rm, writeFile} from 'node:fs/promises'
import path from 'node:path'
import {fileURLToPath, pathToFileURL} from 'node:url'
import {
  type CompletedConfig,
  createFormatter,
  createParser,
  createProgram,
  DEFAULT_CONFIG,
  SchemaGenerator,
} from 'ts-json-schema-generator'

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..')
export const schemaDir = path.join(root, 'schemas')
const commandsDir = path.join(root, 'src/commands')
const errorsFile = path.join(root, 'src/lib/errors.ts')

export interface SchemaTarget {
  /** The file name under schemas/ without .json: the command id with `-` for spaces, or `error`. */
  id: string
  file: string
  typeName: string
}

const pascal = (id: string): string =>
  id
    .split('-')
    .map((part) => part.charAt(0).toUpperCase() + part.slice(1))
    .join('')

/** Every command that has `--json`, and the error document. */
export async function schemaTargets(): Promise<SchemaTarget[]> {
  const files = (await readdir(commandsDir, {recursive: true})).filter((f) => f.endsWith('.ts')).sort()
  const targets: SchemaTarget[] = []
  for (const relative of files) {
    const file = path.join(commandsDir, relative)
    const command = (await import(pathToFileURL(file).href)).default as {enableJsonFlag?: boolean}
    if (!command.enableJsonFlag) continue
    const id = relative
      .replace(/\.ts$/, '')
      .replace(/\/index$/, '')
      .split(path.sep)
      .join('-')
    targets.push({id, file, typeName: `${pascal(id)}Result`})
  }
  targets.push({id: 'error', file: errorsFile, typeName: 'ErrorResult'})
  return targets
}

/** JSON pointers of schemas that accept anything (an `any` or `unknown` in a result type). */
export function untypedPaths(schema: unknown, at = ''): string[] {
  if (schema === null || typeof schema !== 'object') return []
  if (!Array.isArray(schema) && Object.keys(schema).length === 0) return [at || '/']
  const found: string[] = []
  for (const [key, value] of Object.entries(schema)) {
    found.push(...untypedPaths(value, `${at}/${key}`))
  }
  return found
}

/** Property names that are not snake_case. */
export function nonSnakeKeys(schema: unknown, at = ''): string[] {
  if (schema === null || typeof schema !== 'object') return []
  const found: string[] = []
  for (const [key, value] of Object.entries(schema)) {
    if (key === 'properties' && value && typeof value === 'object')
      for (const name of Object.keys(value)) if (!/^[a-z][a-z0-9_]*$/.test(name)) found.push(`${at}/properties/${name}`)
    found.push(...nonSnakeKeys(value, `${at}/${key}`))
  }
  return found
}

/** Generates every schema in one TypeScript program (one program is what keeps this fast). */
export async function generateSchemas(): Promise<Map<string, string>> {
  const targets = await schemaTargets()
  const config: CompletedConfig = {
    ...DEFAULT_CONFIG,
    tsconfig: path.join(root, 'tsconfig.json'),
    path: `${root}/src/{commands/**/*.ts,lib/errors.ts}`,
    expose: 'export',
    topRef: true,
    jsDoc: 'extended',
    additionalProperties: false,
    skipTypeCheck: true,
    functions: 'fail',
  }
  const program = createProgram(config)
  const generator = new SchemaGenerator(program, createParser(program, config), createFormatter(config), config)
  const schemas = new Map<string, string>()
  const problems: string[] = []
  for (const target of targets) {
    const schema = generator.createSchema(target.typeName)
    for (const at of untypedPaths(schema))
      problems.push(`${target.id} (${target.typeName}): ${at} accepts anything (an any or unknown in the type)`)
    for (const at of nonSnakeKeys(schema)) problems.push(`${target.id} (${target.typeName}): ${at} is not snake_case`)
    schemas.set(target.id, `${JSON.stringify({$id: `repoman/${target.id}.json`, ...schema}, null, 2)}\n`)
  }
  if (problems.length > 0) throw new Error(`--json contract rules broken:\n${problems.join('\n')}`)
  return schemas
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const schemas = await generateSchemas()
  await rm(schemaDir, {recursive: true, force: true})
  await mkdir(schemaDir)
  for (const [id, text] of schemas) await writeFile(path.join(schemaDir, `${id}.json`), text)
  console.log(`wrote ${schemas.size} schemas to schemas/`)
}
