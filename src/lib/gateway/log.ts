/**
 * Each project's gateway log: one JSON line per allowed or refused connection, in the state
 * dir (`gateway/logs/<name>.jsonl`), kept to about 1 MiB (the older half moves to `.1`).
 */
import {appendFileSync, mkdirSync, readFileSync, renameSync, statSync} from 'node:fs'
import {join} from 'node:path'
import {gatewayDir} from '../paths.js'
import type {GatewayEvent} from './server.js'

const MAX_LOG_BYTES = 1024 * 1024

export type GatewayLogEntry = GatewayEvent & {time: string}

export const gatewayLogFile = (stateDir: string, name: string) => join(gatewayDir(stateDir), 'logs', `${name}.jsonl`)

export function appendGatewayLog(stateDir: string, name: string, event: GatewayEvent, now = new Date()): void {
  const file = gatewayLogFile(stateDir, name)
  const entry: GatewayLogEntry = {time: now.toISOString(), ...event}
  try {
    if ((statSync(file, {throwIfNoEntry: false})?.size ?? 0) > MAX_LOG_BYTES) renameSync(file, `${file}.1`)
    appendFileSync(file, `${JSON.stringify(entry)}\n`, {mode: 0o600})
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error
    mkdirSync(join(gatewayDir(stateDir), 'logs'), {recursive: true, mode: 0o700})
    appendFileSync(file, `${JSON.stringify(entry)}\n`, {mode: 0o600})
  }
}

/** The project's last `count` entries (refusals only with `refusedOnly`), oldest first. */
export function readGatewayLog(
  stateDir: string,
  name: string,
  options: {count: number; refusedOnly?: boolean},
): GatewayLogEntry[] {
  let text: string
  try {
    text = readFileSync(gatewayLogFile(stateDir, name), 'utf8')
  } catch {
    return []
  }
  const entries: GatewayLogEntry[] = []
  for (const line of text.split('\n')) {
    if (!line) continue
    try {
      const entry = JSON.parse(line) as GatewayLogEntry
      if (!options.refusedOnly || entry.action === 'refused') entries.push(entry)
    } catch {
      // A line cut short by a crash: skipped.
    }
  }
  return entries.slice(-options.count)
}

/** One entry as `logs` prints it. */
export function renderGatewayEntry(entry: GatewayLogEntry): string {
  return `${entry.time} ${entry.action.padEnd(7)} ${entry.target}${entry.reason ? `: ${entry.reason}` : ''}`
}
