/** Plain aligned columns, like `gh` and `git` print: no borders, so output stays grep-able. */
export async function renderTable(head: string[], rows: string[][]): Promise<string> {
  const {default: Table} = await import('cli-table3')
  const none = {
    top: '',
    'top-mid': '',
    'top-left': '',
    'top-right': '',
    bottom: '',
    'bottom-mid': '',
    'bottom-left': '',
    'bottom-right': '',
    left: '',
    'left-mid': '',
    mid: '',
    'mid-mid': '',
    right: '',
    'right-mid': '',
    middle: '  ',
  }
  const table = new Table({head, chars: none, style: {head: [], border: [], 'padding-left': 0, 'padding-right': 0}})
  table.push(...rows)
  return table
    .toString()
    .split('\n')
    .map((line) => line.trimEnd())
    .join('\n')
}
