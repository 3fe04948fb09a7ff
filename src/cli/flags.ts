/** Flags shared by several commands, defined once. */
import {Args, Flags} from '@oclif/core'

export const yesFlag = Flags.boolean({
  char: 'y',
  description: 'Answer yes to confirmations (needed without a terminal).',
})

export const cwdFlag = Flags.string({
  description: 'Working directory inside the container: relative to the repo, or an absolute path inside it.',
})

export const profileNameArg = Args.string({description: 'Profile name (see `repoman profile list`).', required: true})

export const allowSensitiveFlag = Flags.boolean({
  description: 'Go ahead even if a mount exposes credentials or the host (SSH keys, sockets, $HOME, /etc, ...).',
})
