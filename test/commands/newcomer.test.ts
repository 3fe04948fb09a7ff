/**
 * The README, followed by a newcomer: a fresh non-root user with passwordless sudo, a clean copy
 * of this checkout, and an Incus daemon as a fresh install leaves it (no storage pool, no
 * network, the user outside its group). As that user: `./install.sh`, then in a login shell
 * `repoman new`, `repoman exec -- whoami`, `repoman agent install claude` and `claude --version`.
 * The daemon is a private one of this test's (INCUS_DIR), which the installer must use as it
 * is, never starting a second.
 */
import {execFileSync, spawn, spawnSync} from 'node:child_process'
import {chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync} from 'node:fs'
import {join, resolve} from 'node:path'
import {expect} from 'chai'
import {installClaudeCodeFor} from '../helpers/claude-npm.js'
import {REAL_IMAGE} from '../helpers/incus-daemon.js'
import {requireRealImage} from '../helpers/world.js'

const ROOT = resolve(import.meta.dirname, '../..')
const USER = 'rmnewcomer'
const UID = 1002
/** The group of the daemon's socket: the newcomer's incus-admin. */
const GROUP = 'rmnc-incus'
const SUDOERS = `/etc/sudoers.d/${USER}`

const run = (command: string, args: string[], env?: NodeJS.ProcessEnv) =>
  execFileSync(command, args, {encoding: 'utf8', env: env ?? process.env, stdio: ['ignore', 'pipe', 'pipe']})

/**
 * Deletes the newcomer with their home. Their processes go first: `new` leaves the user's
 * gateway daemon running, and userdel refuses a user with a live process.
 */
function deleteUser(): void {
  if (spawnSync('id', [USER]).status !== 0) return
  spawnSync('pkill', ['-KILL', '-u', USER])
  for (let i = 0; i < 50 && spawnSync('pgrep', ['-u', USER]).status === 0; i++) spawnSync('sleep', ['0.1'])
  run('userdel', ['-r', USER])
}

/** root:UID:1 in /etc/subuid and /etc/subgid, as the installer adds them for a daemon it starts. */
function addSubids(): void {
  for (const file of ['/etc/subuid', '/etc/subgid']) {
    const text = readFileSync(file, 'utf8')
    if (!text.split('\n').includes(`root:${UID}:1`))
      writeFileSync(file, `${text}${text === '' || text.endsWith('\n') ? '' : '\n'}root:${UID}:1\n`)
  }
}

/** `script` in a login shell of the newcomer's (a new login: the groups /etc/group gives now). */
function asNewcomer(
  script: string,
  env: Record<string, string>,
): {status: number | null; stdout: string; stderr: string} {
  const exports = Object.entries(env).map(([k, v]) => `export ${k}='${v}';`)
  const result = spawnSync('su', ['-', USER, '-c', `${exports.join(' ')} ${script}`], {
    encoding: 'utf8',
    timeout: 15 * 60_000,
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  return {status: result.status, stdout: result.stdout, stderr: result.stderr}
}

describe("a newcomer's path: the README's install as a fresh user, to an agent in its container", function () {
  this.timeout(30 * 60_000)
  const home = `/home/${USER}`
  const clone = join(home, 'src/repoman')
  let incusDir: string
  let daemonEnv: NodeJS.ProcessEnv
  const saved = new Map<string, string>()

  before(function () {
    requireRealImage(this)
    const image = run('bash', [join(ROOT, 'scripts/build-test-image.sh')]).trim()
    // A fresh user, Debian's start-up files from /etc/skel, sudo without a password.
    deleteUser()
    run('useradd', ['-m', '-u', String(UID), '-U', '-s', '/bin/bash', USER])
    writeFileSync(SUDOERS, `${USER} ALL=(ALL) NOPASSWD:ALL\n`, {mode: 0o440})
    if (spawnSync('getent', ['group', GROUP]).status !== 0) run('groupadd', ['--system', GROUP])
    // Incus reads /etc/subuid and /etc/subgid when it starts (the installer adds them for a daemon it starts).
    for (const file of ['/etc/subuid', '/etc/subgid']) saved.set(file, readFileSync(file, 'utf8'))
    addSubids()
    incusDir = mkdtempSync('/tmp/rm-nc-')
    chmodSync(incusDir, 0o755)
    daemonEnv = {...process.env, INCUS_DIR: incusDir}
    const daemon = spawn('/usr/libexec/incus/incusd', ['--group', GROUP], {
      env: daemonEnv,
      stdio: 'ignore',
      detached: true,
    })
    daemon.unref()
    run('incus', ['admin', 'waitready', '--timeout', '60'], daemonEnv)
    // As a fresh install: no storage pool, no network; only the image (no image server here).
    run(
      'incus',
      ['image', 'import', join(image, 'meta.tar.gz'), join(image, 'rootfs.tar.gz'), '--alias', REAL_IMAGE],
      daemonEnv,
    )

    // A clean clone: the checkout's files, nothing built, owned by the user.
    run('sh', [
      '-c',
      `mkdir -p ${clone} && cd ${ROOT} && git ls-files -co --exclude-standard -z | xargs -0 tar -cf - | tar -C ${clone} -xf -`,
    ])
    // This machine's npm needs the system CA bundle named, and its registry, which root's config has.
    const registry = run('npm', ['config', 'get', 'registry']).trim()
    writeFileSync(join(home, '.npmrc'), `cafile=/etc/ssl/certs/ca-certificates.crt\nregistry=${registry}\n`)
    run('chown', ['-R', `${USER}:${USER}`, join(home, 'src'), join(home, '.npmrc')])
  })

  after(() => {
    if (incusDir) {
      spawnSync('incus', ['admin', 'shutdown', '--timeout', '60'], {env: daemonEnv, stdio: 'ignore'})
      spawnSync('sh', ['-c', `grep -o " ${incusDir}[^ ]*" /proc/mounts | sort -r | xargs -r -n1 umount -l`])
      rmSync(incusDir, {recursive: true, force: true})
    }
    for (const [file, text] of saved) writeFileSync(file, text)
    rmSync(SUDOERS, {force: true})
    deleteUser()
    spawnSync('groupdel', [GROUP], {stdio: 'ignore'})
  })

  it('installs as the user, then new, exec, agent install and claude in a login shell all work', () => {
    const env = {INCUS_DIR: incusDir}
    const install = asNewcomer(
      `cd ${clone} && ./install.sh --repos-root ~/repos --backup-root ~/backup --image ${REAL_IMAGE} --lan-ip 192.0.2.10`,
      env,
    )
    expect(install.status, `${install.stdout}\n${install.stderr}`).to.equal(0)
    // sudo for the root steps only, each said; the group is handled and the next step named.
    expect(install.stdout).to.include(`==> Adding you (${USER}) to group ${GROUP}, which may use Incus (sudo)`)
    expect(install.stdout).to.include('==> Creating a storage pool (dir driver) for a fresh Incus')
    expect(install.stdout).to.include(`newgrp ${GROUP}`)
    expect(install.stdout + install.stderr).not.to.include('Starting the Incus daemon')
    expect(run('id', ['-nG', USER]).split(/\s+/)).to.include(GROUP)

    // The registry is the user's, and nothing in the clone or the home is root's.
    const registry = join(home, '.config/repoman/repoman.toml')
    expect(statSync(registry).uid).to.equal(UID)
    expect(readFileSync(registry, 'utf8')).to.match(new RegExp(`user = "${USER}"`))
    expect(run('find', [home, '!', '-user', USER]).trim()).to.equal('')
    expect(existsSync(join(home, '.local/bin/repoman'))).to.equal(true)

    // The first project, from a login shell (a new login: the group is there now).
    // Other test runs on this machine put back their own copy of these files when they end.
    addSubids()
    const created = asNewcomer(
      'mkdir -p ~/repos/hello && cd ~/repos/hello && repoman new hello && repoman exec -- whoami',
      env,
    )
    expect(created.status, created.stderr).to.equal(0)
    expect(created.stdout.trimEnd().split('\n').pop()).to.equal(USER)

    // The container has a NIC on the bridge setup made, up and with an address. (The test image
    // configures no DHCP client: its minbase has no udev, which systemd-networkd waits for; so
    // the address is the link-local one, where a cloud image's networkd adds an IPv4 lease.)
    const state = JSON.parse(run('incus', ['query', '/1.0/instances/hello/state?project=repoman'], daemonEnv))
    const eth0 = state.network?.eth0 as {state: string; addresses: Array<{family: string; address: string}>} | undefined
    expect(eth0, JSON.stringify(Object.keys(state.network ?? {}))).not.to.equal(undefined)
    expect(eth0?.state).to.equal('up')
    expect(eth0?.addresses.length, JSON.stringify(eth0)).to.be.greaterThan(0)
    const status = asNewcomer('repoman status hello --json', env)
    expect(JSON.parse(status.stdout).projects[0].interfaces).to.satisfy((nics: string[]) =>
      nics.some((nic) => /^eth0 on repomanbr\d+$/.test(nic)),
    )

    // The first agent: npm's claude in ~/.local/bin (which Debian's ~/.profile puts first), shared in.
    const version = installClaudeCodeFor(home, UID, UID)
    const agent = asNewcomer(
      'mkdir -p ~/.claude && echo {} > ~/.claude.json && repoman profile install claude-share && cd ~/repos && mkdir agent && cd agent && repoman new agent --profile default --profile claude-share && repoman agent install claude',
      env,
    )
    expect(agent.status, `${agent.stdout}\n${agent.stderr}`).to.equal(0)
    expect(agent.stdout).to.include('`claude` runs the launcher in login and interactive shells')

    // A new login shell (SSH-like): `claude` is the launcher, answered from the container.
    const launched = asNewcomer('cd ~/repos/agent && DEBUG=repoman claude --version', env)
    expect(launched.stdout, launched.stderr).to.equal(`${version} (Claude Code)\n`)
    expect(launched.stderr).to.equal('repoman:fast-path ran agent run\n')
    const list = asNewcomer('repoman agent list', env)
    expect(list.status, list.stdout).to.equal(0)
    expect(list.stdout).to.match(/claude .* login, interactive /)
  })
})
