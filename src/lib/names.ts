/** Project (and container) names: what Incus accepts and what is safe in paths and shells. */
export const NAME_RULE =
  'names are 1 to 63 lowercase letters, digits and hyphens, starting with a letter and not ending with a hyphen'

const NAME = /^[a-z](?:[a-z0-9-]{0,61}[a-z0-9])?$/

export function isValidProjectName(name: string): boolean {
  return NAME.test(name)
}
