/**
 * `repoman new` as a person sees it, whichever entry path took the command (the oclif command,
 * or the fast path for its everyday shape): the open choices asked on a terminal, the plan's
 * steps drawn, its warnings, then the line that says what was made.
 */
import type {CommandOutput, RepomanContext} from '../lib/context.js'
import type {NewRequest, NewResult} from '../lib/lifecycle/create.js'
import {parseList} from '../lib/names.js'
import {askText, preloadSteps, printWarning, showSteps} from './ui.js'

export interface NewIo {
  /** A person can answer questions (stdin and stdout are terminals, no --json, no --non-interactive). */
  ask: boolean
  json: boolean
}

export async function runNew(
  context: RepomanContext,
  request: NewRequest,
  io: NewIo,
): Promise<CommandOutput<NewResult>> {
  const {createSteps, openChoices, planCreate, renderCreate} = await import('../lib/lifecycle/create.js')
  // listr2 loads while Incus answers the plan's reads, not after them.
  preloadSteps()
  if (io.ask) {
    const open = await openChoices(request, context)
    if (open.image !== undefined) request = {...request, image: await askText('Image?', open.image)}
    // The answer is the whole list: a default left out is left out.
    if (open.profiles !== undefined)
      request = {
        ...request,
        profiles: parseList(await askText('Profiles (comma-separated)?', open.profiles.join(','))),
        noDefaultProfiles: true,
      }
  }
  const plan = await planCreate(request, context)
  const {steps, result} = createSteps(plan, context)
  await showSteps(steps, {json: io.json})
  for (const warning of result.warnings) printWarning(warning, io.json)
  return {result, lines: io.json ? [] : renderCreate(result), exitCode: 0}
}
