/** Project (and container) names: what Incus accepts and what is safe in paths and shells. */
export const NAME_RULE =
  'names are 1 to 63 lowercase letters, digits and hyphens, starting with a letter and not ending with a hyphen'

const NAME = /^[a-z](?:[a-z0-9-]{0,61}[a-z0-9])?$/

export function isValidProjectName(name: string): boolean {
  return NAME.test(name)
}

/**
 * Sort order for names, devices and other ASCII identifiers: by code unit. `localeCompare`
 * would load ICU's collator on first use, which costs more than a whole `repoman list`.
 */
export function compareAscii(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0
}

/** Incus project names, as a pattern to embed (the registry is searched for one before it is parsed). */
export const INCUS_PROJECT_NAME = '[A-Za-z0-9][A-Za-z0-9_-]*'

export function isValidIncusProjectName(name: string): boolean {
  return new RegExp(`^${INCUS_PROJECT_NAME}$`).test(name)
}

/** A comma-separated list as flags and prompts take it: items trimmed, empty ones dropped. */
export function parseList(text: string): string[] {
  return text
    .split(',')
    .map((item) => item.trim())
    .filter(Boolean)
}
