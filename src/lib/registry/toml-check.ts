/**
 * Checks parsed TOML against what repoman expects and reports problems as `file:line: what`,
 * so a user can go straight to the line. Shared by the registry and the per-project overrides.
 */
import {ConfigError} from '../errors.js'

/** Tables written as `[[name]]`: their keys are reported as `name[i].key`. */
const ARRAY_TABLES = new Set(['project', 'mount'])

export type Table = Record<string, unknown>

/**
 * Locates `key = ...` inside `[section]` (or the `index`-th `[[section]]`) so errors can name a
 * line; falls back to the table's header line when the key itself is missing.
 */
export function lineOf(text: string, section: string | undefined, key: string, index = 0): number | undefined {
  const escaped = key.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')
  const keyPattern = new RegExp(`^\\s*["']?${escaped}["']?\\s*=`)
  let current: string | undefined
  let arrayIndex = -1
  const arrayCounts = new Map<string, number>()
  let headerLine: number | undefined
  for (const [i, raw] of text.split('\n').entries()) {
    const header = /^\s*\[\[?\s*([^\]]+?)\s*\]/.exec(raw)
    if (header) {
      current = header[1]
      if (current && raw.trim().startsWith('[[')) {
        arrayIndex = arrayCounts.get(current) ?? 0
        arrayCounts.set(current, arrayIndex + 1)
      }
      if (current === section && (!ARRAY_TABLES.has(section ?? '') || arrayIndex === index)) headerLine ??= i + 1
      continue
    }
    const inTable = current === section && (!ARRAY_TABLES.has(section ?? '') || arrayIndex === index)
    if (inTable && keyPattern.test(raw)) return i + 1
  }
  return headerLine
}

export class TomlValidator {
  constructor(
    private readonly text: string,
    private readonly file: string,
  ) {}

  fail(section: string | undefined, key: string, problem: string, index = 0): never {
    const line = lineOf(this.text, section, key, index)
    const where = line ? `${this.file}:${line}` : this.file
    const name = section ? (ARRAY_TABLES.has(section) ? `${section}[${index}].${key}` : `${section}.${key}`) : key
    throw new ConfigError(`${where}: ${name} ${problem}; fix the file and run the command again`)
  }

  table(root: Table, name: string, required: boolean): Table {
    const value = root[name]
    if (value === undefined) {
      if (required) this.fail(undefined, name, `is missing (the [${name}] table)`)
      return {}
    }
    if (typeof value !== 'object' || value === null || Array.isArray(value) || value instanceof Date)
      this.fail(undefined, name, 'must be a table')
    return value as Table
  }

  noUnknownKeys(table: Table, section: string, known: readonly string[], index = 0): void {
    for (const key of Object.keys(table))
      if (!known.includes(key)) this.fail(section, key, `is not a known setting (known: ${known.join(', ')})`, index)
  }

  string(table: Table, section: string, key: string, fallback?: string, index = 0): string {
    const value = table[key]
    if (value === undefined) {
      if (fallback !== undefined) return fallback
      this.fail(section, key, 'is missing', index)
    }
    if (value instanceof Date) return value.toISOString().replace('.000Z', 'Z')
    if (typeof value !== 'string' || value === '') this.fail(section, key, 'must be a non-empty string', index)
    return value
  }

  optionalString(table: Table, section: string, key: string, index = 0): string | undefined {
    return table[key] === undefined ? undefined : this.string(table, section, key, undefined, index)
  }

  boolean(table: Table, section: string, key: string, fallback?: boolean, index = 0): boolean {
    const value = table[key]
    if (value === undefined && fallback !== undefined) return fallback
    if (typeof value !== 'boolean')
      this.fail(section, key, `must be true or false (got ${JSON.stringify(value)})`, index)
    return value
  }

  integer(table: Table, section: string, key: string, fallback: number): number {
    const value = table[key]
    if (value === undefined) return fallback
    if (typeof value !== 'number' || !Number.isInteger(value) || value < 0)
      this.fail(section, key, 'must be a non-negative integer')
    return value
  }

  strings(table: Table, section: string, key: string, fallback: string[], index = 0): string[] {
    const value = table[key]
    if (value === undefined) return [...fallback]
    if (!Array.isArray(value) || value.some((v) => typeof v !== 'string' || v === ''))
      this.fail(section, key, 'must be a list of non-empty strings', index)
    return value as string[]
  }

  dateTime(table: Table, section: string, key: string, index: number, required: boolean): string | undefined {
    const value = required
      ? this.string(table, section, key, undefined, index)
      : this.optionalString(table, section, key, index)
    if (value !== undefined && Number.isNaN(Date.parse(value)))
      this.fail(section, key, `must be an RFC 3339 date-time (got "${value}")`, index)
    return value
  }
}

/** smol-toml's parse error as `file:line: what`, and what to do. */
export function tomlSyntaxError(error: unknown, file: string): ConfigError {
  const e = error as Error & {line?: number}
  const what = e.message.split('\n')[0]?.replace(/^Invalid TOML document: /, '') || 'invalid TOML'
  return new ConfigError(`${file}${e.line ? `:${e.line}` : ''}: ${what}; fix the TOML syntax and run the command again`)
}
