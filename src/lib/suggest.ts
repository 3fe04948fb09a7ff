/** "Did you mean": the command closest to a mistyped one. Pure. */
import {UnknownCommandError} from './errors.js'

/** Edits (insert, delete, replace, swap of neighbours) between two words. */
export function editDistance(a: string, b: string): number {
  const d = Array.from({length: a.length + 1}, (_, i) =>
    Array.from({length: b.length + 1}, (_, j) => (i === 0 ? j : j === 0 ? i : 0)),
  )
  for (let i = 1; i <= a.length; i++)
    for (let j = 1; j <= b.length; j++) {
      const row = d[i] as number[]
      const above = d[i - 1] as number[]
      row[j] = Math.min(
        (above[j] as number) + 1,
        (row[j - 1] as number) + 1,
        (above[j - 1] as number) + (a[i - 1] === b[j - 1] ? 0 : 1),
      )
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1])
        row[j] = Math.min(row[j] as number, ((d[i - 2] as number[])[j - 2] as number) + 1)
    }
  return (d[a.length] as number[])[b.length] as number
}

/** The command nearest `typed`, when one is near enough to be what was meant (ids as typed: `agent list`). */
export function closestCommand(typed: string, commands: string[]): string | undefined {
  const limit = Math.max(2, Math.floor(typed.length / 3))
  const ranked = commands
    .map((command) => ({command, distance: editDistance(typed, command)}))
    .filter((c) => c.distance <= limit)
    .sort((a, b) => a.distance - b.distance || a.command.localeCompare(b.command))
  return ranked[0]?.command
}

/** A command this repoman does not have: what was typed, the likely one, and where the list is. */
export function unknownCommand(id: string, commands: string[], bin: string): UnknownCommandError {
  // oclif counts arguments into the id (`agent instal claude`): the start nearest a command is what was mistyped.
  const words = id.split(' ')
  const starts = words.map((_, i) => words.slice(0, words.length - i).join(' '))
  const nearest = (start: string) => {
    const command = closestCommand(start, commands)
    return {start, command, distance: command === undefined ? Number.POSITIVE_INFINITY : editDistance(start, command)}
  }
  // The nearest of all; of equals, the longest start.
  const best = starts.map(nearest).reduce((best, next) => (next.distance < best.distance ? next : best))
  const near = best.command
  const typed = near === undefined ? words[0] : best.start
  const guess = near ? `; did you mean \`${bin} ${near}\`?` : ''
  return new UnknownCommandError(`"${typed}" is not a ${bin} command${guess} (\`${bin} --help\` lists them)`, {
    hint: near ? `${bin} ${near}` : `${bin} --help`,
  })
}
