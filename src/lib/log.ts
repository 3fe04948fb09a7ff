/**
 * Invocation logs: each run that changes something writes what it ran and what the tools said
 * to a file under the log dir ([defaults].logdir, else $XDG_STATE_HOME/repoman).
 */
import {appendFileSync, mkdirSync} from 'node:fs'
import {join} from 'node:path'
import {expandHome, type RepomanPaths} from './paths.js'
import type {Registry} from './registry/schema.js'

export function logDirOf(registry: Registry, paths: RepomanPaths): string {
  return registry.defaults.logdir ? expandHome(registry.defaults.logdir, registry.host.home) : paths.stateDir
}

/** A moment as a file or directory name can hold it (no colons): `2026-11-23T20-17-03-123Z`. */
export function fileStamp(date = new Date()): string {
  return date.toISOString().replace(/[:.]/g, '-')
}

export class RunLog {
  readonly file: string

  /**
   * Appends to `<dir>/repoman.log` (one journal of every change), or with `ownFile` writes
   * `<dir>/<command>-<timestamp>.log` (sync keeps one per run). `echo` receives every line too
   * (--verbose).
   */
  constructor(
    dir: string,
    command: string,
    private readonly echo?: (line: string) => void,
    ownFile = false,
  ) {
    mkdirSync(dir, {recursive: true})
    this.file = join(dir, ownFile ? `${command}-${fileStamp()}-${process.pid}.log` : 'repoman.log')
    this.write(`repoman ${command.replaceAll(':', ' ')} (pid ${process.pid}) ${process.argv.slice(2).join(' ')}`)
  }

  write(text: string): void {
    const lines = text.endsWith('\n') ? text : `${text}\n`
    appendFileSync(this.file, `${new Date().toISOString()} ${lines}`)
    this.echo?.(text.trimEnd())
  }
}
