/** Flags shared by several commands, defined once. */
import {Args, Flags} from '@oclif/core'

/** One meaning everywhere: answer yes to a confirmation (remove, restore, rollback, ...). */
export const yesFlag = Flags.boolean({
  char: 'y',
  description: 'Answer yes to confirmations (needed without a terminal).',
})

/** Questions about values the flags left open (new, setup): never asked; the defaults are taken. */
export const nonInteractiveFlag = Flags.boolean({
  description: 'Never ask; values the flags leave open take their defaults.',
})

export const cwdFlag = Flags.string({
  description: 'Working directory inside the container: relative to the repo, or an absolute path inside it.',
})

export const profileNameArg = Args.string({description: 'Profile name (see `repoman profile list`).', required: true})

export const allowSensitiveFlag = Flags.boolean({
  description: 'Go ahead even if a mount exposes credentials or the host (SSH keys, sockets, $HOME, /etc, ...).',
})
