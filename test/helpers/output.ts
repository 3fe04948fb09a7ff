/**
 * What a command printed besides its steps: listr2 draws each step as lines (❯ running, ✔ done,
 * ✖ failed, ...) when stdout is not a terminal, before the command's own lines.
 */
export const withoutSteps = (stdout: string): string =>
  stdout
    .split('\n')
    .filter((line) => !/^[❯✔✖↓◼] /.test(line))
    .join('\n')
