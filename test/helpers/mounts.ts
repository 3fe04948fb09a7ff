/** Real mounts for the backup tests: a tmpfs stands in for the NFS share (tests run as root). */
import {execFileSync} from 'node:child_process'
import {mkdirSync} from 'node:fs'
import type {Context} from 'mocha'

export function requireRoot(context: Context): void {
  if (process.getuid?.() === 0) return
  if (process.env.CI === 'true') throw new Error('CI=true and not root: the backup tests mount a tmpfs')
  console.warn('      skipped: mounting a tmpfs needs root')
  context.skip()
}

export function mountTmpfs(dir: string, options = 'size=64m'): void {
  mkdirSync(dir, {recursive: true})
  execFileSync('mount', ['-t', 'tmpfs', '-o', options, 'tmpfs', dir])
}

export function remount(dir: string, options: string): void {
  execFileSync('mount', ['-o', `remount,${options}`, dir])
}

export function unmount(dir: string): void {
  try {
    execFileSync('umount', ['-l', dir], {stdio: 'ignore'})
  } catch {
    // not mounted
  }
}
