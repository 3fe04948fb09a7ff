/**
 * A real terminal for tests of interactive commands: `repoman ARGS` runs in a tmux session on the
 * host (its own tmux server), which the test reads (`screen`) and types into (`type`).
 */
import {execFileSync} from 'node:child_process'
import type {Context} from 'mocha'
import {BIN, type World} from './world.js'

export interface Terminal {
  /** Waits (10 s at most) until the screen matches, and returns what it shows then. */
  screen(pattern: RegExp): Promise<string>
  /** Types keys (tmux key names: `Enter`, `C-c`, or text). */
  type(...keys: string[]): void
  /** Closes the terminal (its tmux server), as a user closing the window. */
  close(): void
}

/** Skips without a host tmux; under CI=true that is a failure instead. */
export function requireHostTmux(context: Context): void {
  try {
    execFileSync('sh', ['-c', 'command -v tmux'], {stdio: 'ignore'})
  } catch {
    if (process.env.CI === 'true') throw new Error('CI=true and no tmux on the host to drive a terminal')
    console.warn('      skipped: no tmux on the host to drive a terminal')
    context.skip()
  }
}

let terminals = 0

export function openTerminal(world: World, args: string[]): Terminal {
  const socket = ['-L', `rmtest-${process.pid}-${++terminals}`]
  const tmux = (more: string[]) => execFileSync('tmux', [...socket, ...more], {encoding: 'utf8'})
  const asUser = world.user ? `setpriv --reuid=${world.user.uid} --regid=${world.user.gid} --init-groups ` : ''
  const quoted = args.map((a) => `'${a.replaceAll("'", "'\\''")}'`).join(' ')
  tmux([
    'new-session',
    '-d',
    '-x',
    '160',
    '-y',
    '40',
    ...Object.entries(world.env).flatMap(([key, value]) => ['-e', `${key}=${value}`]),
    '-c',
    world.home,
    // As the world's user, like world.cli; the pane stays after the command ends, showing how it ended.
    `${asUser}"${process.execPath}" "${BIN}" ${quoted}; echo "exit code: $?"; sleep 600`,
  ])
  return {
    async screen(pattern) {
      let text = ''
      for (let i = 0; i < 50; i++) {
        text = tmux(['capture-pane', '-p'])
        if (pattern.test(text)) break
        await new Promise((r) => setTimeout(r, 200))
      }
      return text
    },
    type(...keys) {
      tmux(['send-keys', ...keys])
    },
    close() {
      try {
        tmux(['kill-server'])
      } catch {
        // already gone
      }
    },
  }
}
