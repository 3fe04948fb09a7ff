import {expect} from 'chai'
import {UnknownCommandError} from '../../src/lib/errors.js'
import {closestCommand, editDistance, unknownCommand} from '../../src/lib/suggest.js'

describe('unknown commands', () => {
  const commands = ['list', 'new', 'remove', 'restore', 'status', 'agent install', 'agent list']

  it('counts a swap of neighbours as one edit', () => {
    expect(editDistance('lsit', 'list')).to.equal(1)
    expect(editDistance('stauts', 'status')).to.equal(1)
    expect(editDistance('', 'new')).to.equal(3)
  })

  it('suggests the nearest command only when it is near', () => {
    expect(closestCommand('lsit', commands)).to.equal('list')
    expect(closestCommand('agent instal', commands)).to.equal('agent install')
    expect(closestCommand('frobnicate', commands)).to.equal(undefined)
  })

  it('is a usage error (exit 2) that names the command to run', () => {
    const error = unknownCommand('lsit', commands, 'repoman')
    expect(error).to.be.instanceOf(UnknownCommandError)
    expect(error.exitCode).to.equal(2)
    expect(error.message).to.equal(
      '"lsit" is not a repoman command; did you mean `repoman list`? (`repoman --help` lists them)',
    )
    expect(error.hint).to.equal('repoman list')
    expect(unknownCommand('zzz', commands, 'repoman').hint).to.equal('repoman --help')
    // oclif hands the arguments over with the mistyped command.
    expect(unknownCommand('agent instal claude', commands, 'repoman').message).to.match(
      /^"agent instal" is not .* `repoman agent install`/,
    )
  })
})
