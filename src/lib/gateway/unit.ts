/**
 * The gateway as a systemd user unit, where the user has a systemd user manager: `setup`
 * installs and starts it, systemd restarts it if it dies, and `ensureGateway` starts the unit
 * rather than a process of its own. Without a user manager (root in CI, a container), the
 * gateway runs detached, started on demand.
 */
import {spawnSync} from 'node:child_process'
import {existsSync, mkdirSync, readFileSync} from 'node:fs'
import {dirname, join} from 'node:path'
import {PACKAGE_ROOT} from '../paths.js'

export const GATEWAY_UNIT = 'repoman-gateway.service'

export function unitFileOf(env: NodeJS.ProcessEnv): string {
  const config = env.XDG_CONFIG_HOME || join(env.HOME ?? '', '.config')
  return join(config, 'systemd/user', GATEWAY_UNIT)
}

/** Pure: the unit's text for this node and this install of repoman. */
export function unitText(node: string, runJs: string): string {
  return `# Written by repoman setup: the host-side gateway, the containers' one way out.
[Unit]
Description=repoman gateway (egress and agent logins for repoman's containers)

[Service]
ExecStart=${node} ${runJs} gateway run
Restart=always
RestartSec=2

[Install]
WantedBy=default.target
`
}

const systemctl = (...args: string[]) =>
  spawnSync('systemctl', ['--user', ...args], {encoding: 'utf8', timeout: 10_000, stdio: ['ignore', 'pipe', 'pipe']})

/** Whether this user has a systemd user manager to run the unit. */
export function hasUserManager(): boolean {
  const answer = systemctl('is-system-running')
  return answer.error === undefined && /^(running|degraded|starting)/.test(answer.stdout ?? '')
}

/** Whether setup has the unit to install or update: a user manager runs, and the unit is not as this repoman writes it. */
export function gatewayUnitPending(env: NodeJS.ProcessEnv): boolean {
  if (!hasUserManager()) return false
  const file = unitFileOf(env)
  return (
    !existsSync(file) || readFileSync(file, 'utf8') !== unitText(process.execPath, join(PACKAGE_ROOT, 'bin/run.js'))
  )
}

/** Installs (or updates) and starts the unit; says what it did, or why not. */
export async function installGatewayUnit(env: NodeJS.ProcessEnv): Promise<'installed' | 'unchanged' | 'no-systemd'> {
  if (!hasUserManager()) return 'no-systemd'
  const file = unitFileOf(env)
  const text = unitText(process.execPath, join(PACKAGE_ROOT, 'bin/run.js'))
  const same = existsSync(file) && readFileSync(file, 'utf8') === text
  if (!same) {
    mkdirSync(dirname(file), {recursive: true})
    const {default: writeFileAtomic} = await import('write-file-atomic')
    await writeFileAtomic(file, text)
    systemctl('daemon-reload')
  }
  systemctl('enable', GATEWAY_UNIT)
  // Another gateway started on demand holds the lock: the unit takes over once it is stopped.
  const {stopGateway} = await import('./daemon.js')
  const {resolvePaths} = await import('../paths.js')
  if (!same) await stopGateway(resolvePaths().stateDir)
  systemctl(same ? 'start' : 'restart', GATEWAY_UNIT)
  return same ? 'unchanged' : 'installed'
}

/** Starts the installed unit; false when there is none or systemd would not. */
export function startGatewayUnit(env: NodeJS.ProcessEnv): boolean {
  return existsSync(unitFileOf(env)) && systemctl('start', GATEWAY_UNIT).status === 0
}

/** Restarts the unit when `pid` is its process (systemd then runs the installed build); false when it is not. */
export function restartGatewayUnit(pid: number): boolean {
  const main = systemctl('show', '--property=MainPID', '--value', GATEWAY_UNIT)
  if (main.status !== 0 || main.stdout.trim() !== String(pid)) return false
  return systemctl('restart', GATEWAY_UNIT).status === 0
}
