/**
 * The non-root host user the user-facing integration tests run as: uid and gid 1001 (not 1000,
 * as the issue reports and many hosts have), with `root:1001:1` in /etc/subuid and /etc/subgid
 * so Incus may map that uid into containers (what `repoman setup` tells a real user to add).
 * The files' earlier contents are kept in memory and put back when the run ends.
 */
import {execFileSync} from 'node:child_process'
import {readFileSync, writeFileSync} from 'node:fs'

export interface TestUser {
  name: string
  group: string
  uid: number
  gid: number
  /** Puts /etc/subuid and /etc/subgid back as they were. */
  restore(): void
}

const UID = 1001

function passwdName(file: string, id: number): string | undefined {
  return readFileSync(file, 'utf8')
    .split('\n')
    .map((line) => line.split(':'))
    .find((f) => Number(f[2]) === id)?.[0]
}

export function ensureTestUser(): TestUser {
  if (!passwdName('/etc/group', UID)) execFileSync('groupadd', ['-g', String(UID), 'rmtest'])
  if (!passwdName('/etc/passwd', UID))
    execFileSync('useradd', ['-M', '-u', String(UID), '-g', String(UID), '-s', '/bin/bash', 'rmtest'])
  const saved = new Map<string, string>()
  for (const file of ['/etc/subuid', '/etc/subgid']) {
    const text = readFileSync(file, 'utf8')
    saved.set(file, text)
    const line = `root:${UID}:1`
    if (!text.split('\n').includes(line))
      writeFileSync(file, `${text}${text.endsWith('\n') || text === '' ? '' : '\n'}${line}\n`)
  }
  return {
    name: passwdName('/etc/passwd', UID) as string,
    group: passwdName('/etc/group', UID) as string,
    uid: UID,
    gid: UID,
    restore() {
      for (const [file, text] of saved) writeFileSync(file, text)
    },
  }
}
