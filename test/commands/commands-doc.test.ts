import {execFileSync} from 'node:child_process'
import {readFileSync} from 'node:fs'
import {join} from 'node:path'
import {expect} from 'chai'

const root = join(import.meta.dirname, '../..')

describe('docs/commands.md', () => {
  it('is what oclif generates from the built commands (`npm run docs` brings it up to date)', () => {
    const generated = execFileSync(
      join(root, 'node_modules/.bin/oclif'),
      ['readme', '--readme-path', 'docs/commands.md', '--no-aliases', '--no-source-links', '--dry-run'],
      {
        cwd: root,
        encoding: 'utf8',
        env: {...process.env, OCLIF_SKIP_UPDATE_CHECK: '1'},
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    )
    const section = (text: string) =>
      text.slice(text.indexOf('<!-- commands -->\n'), text.indexOf('<!-- commandsstop -->'))
    const onDisk = readFileSync(join(root, 'docs/commands.md'), 'utf8')
    expect(section(onDisk), 'docs/commands.md is stale: run `npm run docs`').to.equal(section(generated))
    expect(section(onDisk)).to.include('## `repoman setup`')
  })
})
