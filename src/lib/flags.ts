/** Flags shared by several commands, defined once. */
import {Args, Flags} from '@oclif/core'

export const yesFlag = Flags.boolean({
  char: 'y',
  description: 'Answer yes to confirmations (needed without a terminal).',
})

export const projectNameArg = (description: string, required: boolean) => Args.string({description, required})

export const cwdFlag = Flags.string({
  description: 'Working directory inside the container: relative to the repo, or an absolute path inside it.',
})
