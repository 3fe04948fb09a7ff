import {readdirSync, readFileSync} from 'node:fs'
import {join} from 'node:path'
import {expect} from 'chai'
import {generateSchemas, nonSnakeKeys, schemaDir, schemaTargets, untypedPaths} from '../scripts/schemas.js'

describe('the --json contract: schemas/ (no Incus)', function () {
  // One TypeScript program over src/commands; about 5 s on a 2-core machine.
  this.timeout(60_000)

  it('the checked-in schemas are the ones the result types give', async () => {
    const generated = await generateSchemas()
    const checkedIn = readdirSync(schemaDir)
      .filter((f) => f.endsWith('.json'))
      .map((f) => f.replace(/\.json$/, ''))
    const targets = new Map((await schemaTargets()).map((t) => [t.id, t]))
    const drift: string[] = []
    for (const [id, text] of generated) {
      const {typeName} = targets.get(id) ?? {typeName: '?'}
      if (!checkedIn.includes(id)) drift.push(`${id}: schemas/${id}.json is missing`)
      else if (readFileSync(join(schemaDir, `${id}.json`), 'utf8') !== text)
        drift.push(`${id}: schemas/${id}.json differs from ${typeName}`)
    }
    for (const id of checkedIn) if (!generated.has(id)) drift.push(`${id}: schemas/${id}.json has no command`)
    if (drift.length > 0)
      expect.fail(`the --json contract changed (${drift.join('; ')}): run npm run schemas and review the diff`)
  })

  it('covers every command with --json and no command without it', async () => {
    const ids = (await schemaTargets()).map((t) => t.id)
    expect(ids).to.include.members(['status', 'list', 'setup', 'profile-list', 'snapshot', 'snapshot-list', 'error'])
    expect(ids).to.not.include.members(['exec', 'shell', 'attach', 'agent-run'])
  })

  it('flags a type that accepts anything and a key that is not snake_case', () => {
    const schema = {
      definitions: {
        Row: {
          type: 'object',
          properties: {ok_key: {type: 'string'}, badKey: {type: 'number'}, loose: {}},
          additionalProperties: {},
        },
      },
    }
    expect(untypedPaths(schema)).to.deep.equal([
      '/definitions/Row/properties/loose',
      '/definitions/Row/additionalProperties',
    ])
    expect(nonSnakeKeys(schema)).to.deep.equal(['/definitions/Row/properties/badKey'])
  })
})
