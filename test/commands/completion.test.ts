import {execFileSync} from 'node:child_process'
import {mkdirSync, symlinkSync} from 'node:fs'
import {join} from 'node:path'
import {expect} from 'chai'
import {BIN, makeWorld, type World} from '../helpers/world.js'

describe('shell completion (real bash)', () => {
  let world: World
  let bin: string
  before(async () => {
    world = makeWorld('/tmp/rm-completion-needs-no-incus')
    world.writeRegistry([{name: 'alpha'}, {name: 'beta'}, {name: 'gamma'}])
    bin = join(world.home, 'bin')
    mkdirSync(bin)
    symlinkSync(BIN, join(bin, 'repoman'))
    const generated = await world.cli(['autocomplete', 'bash'])
    expect(generated.exitCode, generated.stderr).to.equal(0)
  })
  after(() => world.dispose())

  /** What bash's completion offers for the words typed so far (the last one being completed). */
  const complete = (...words: string[]): string[] => {
    const script = [
      `source "${world.home}/.cache/repoman/autocomplete/bash_setup"`,
      `COMP_WORDS=(${words.map((w) => `'${w}'`).join(' ')})`,
      `COMP_CWORD=${words.length - 1}`,
      `COMP_LINE='${words.join(' ')}'`,
      '$(complete -p repoman | sed -E "s/.*-F ([^ ]+).*/\\1/")',
      'printf "%s\\n" "${COMPREPLY[@]}"',
    ].join('\n')
    const out = execFileSync('bash', ['-c', script], {
      env: {...world.env, PATH: `${bin}:${process.env.PATH}`},
      encoding: 'utf8',
    })
    return out.split('\n').filter(Boolean).sort()
  }

  it('completes commands and flags from oclif', () => {
    expect(complete('repoman', 'sta')).to.deep.equal(['status'])
    expect(complete('repoman', 'sync', '--d')).to.deep.equal(['--dry-run'])
  })

  it('completes project names for the commands that take one, even before the cache exists', () => {
    expect(complete('repoman', 'shell', '')).to.deep.equal(['alpha', 'beta', 'gamma'])
    expect(complete('repoman', 'remove', 'b')).to.deep.equal(['beta'])
    expect(complete('repoman', 'exec', 'g')).to.deep.equal(['gamma'])
  })

  it('completes profile names for the profile commands, vendor and user alike', () => {
    expect(complete('repoman', 'profile', 'show', 'cl')).to.deep.equal(['claude-share'])
    expect(complete('repoman', 'profile', 'install', 'claude-share', 'l')).to.deep.equal(['llm-share'])
  })

  it('keeps project names current after the registry changes', async () => {
    world.writeRegistry([{name: 'alpha'}, {name: 'delta'}])
    await world.cli(['completion-names', 'projects'])
    expect(complete('repoman', 'status', '')).to.deep.equal(['alpha', 'delta'])
  })
})
