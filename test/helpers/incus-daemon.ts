/**
 * A private Incus daemon for the integration tests: its own INCUS_DIR under /tmp, a `dir`
 * storage pool, a busybox image built from busybox-static and the real-distro image (Debian 13
 * with systemd, built from Debian's packages by scripts/build-test-image.sh and cached), so no
 * image server is needed. Its socket is open to the test host user's group. It never touches the
 * user's own Incus.
 */
import {execFileSync, spawn} from 'node:child_process'
import {
  chmodSync,
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  realpathSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs'
import {dirname, join, resolve} from 'node:path'
import {ensureTestUser, type TestUser} from './test-user.js'

export const TEST_IMAGE = 'busybox'
/** Debian 13 with systemd, cloud-init, sudo, git, bash and tmux: what users really run. */
export const REAL_IMAGE = 'debian13'
/** A copy-on-write pool on a loop file, besides the `dir` pool `default`: where `new` is as fast as Incus. */
export const BTRFS_POOL = 'btrfs'
const BUILD_REAL_IMAGE = resolve(import.meta.dirname, '../../scripts/build-test-image.sh')
const INCUSD = '/usr/libexec/incus/incusd'
const BUSYBOX = '/bin/busybox'

export interface TestDaemon {
  dir: string
  /** The non-root host user the user-facing tests run as (uid 1001). */
  user: TestUser
  /** Why the real-distro image is not there, or undefined when it is. */
  realImageMissing?: string
  /** Why there is no BTRFS_POOL (btrfs-progs missing), or undefined when there is. */
  btrfsMissing?: string
  env: NodeJS.ProcessEnv
  incus(args: string[], input?: string): string
  stop(): void
}

/** Why there is no daemon to test against, or undefined when one can be started. */
export function missingIncus(): string | undefined {
  if (!existsSync(INCUSD)) return `${INCUSD} is not installed (run scripts/install-system.sh)`
  if (!existsSync(BUSYBOX)) return `${BUSYBOX} is not installed (busybox-static)`
  if (process.getuid?.() !== 0) return 'the private Incus daemon needs root'
  return undefined
}

/** Copies a host binary and the shared libraries it links into the image (for git inside). */
function addHostBinary(rootfs: string, binary: string): void {
  const libraries = execFileSync('ldd', [binary], {encoding: 'utf8'})
    .split('\n')
    .map((line) => /(\/\S+) \(0x/.exec(line)?.[1])
    .filter((path): path is string => path !== undefined)
  for (const file of [binary, ...libraries]) {
    mkdirSync(join(rootfs, dirname(file)), {recursive: true})
    copyFileSync(realpathSync(file), join(rootfs, file))
    chmodSync(join(rootfs, file), 0o755)
  }
}

function buildBusyboxImage(daemon: TestDaemon): void {
  const work = mkdtempSync('/tmp/rm-img-')
  const rootfs = join(work, 'rootfs')
  for (const d of ['bin', 'sbin', 'etc', 'dev', 'proc', 'sys', 'tmp', 'root', 'run', 'var', 'home'])
    mkdirSync(join(rootfs, d), {recursive: true})
  copyFileSync(BUSYBOX, join(rootfs, 'bin/busybox'))
  const applets = execFileSync(BUSYBOX, ['--list'], {encoding: 'utf8'}).split('\n').filter(Boolean)
  for (const applet of applets) if (applet !== 'busybox') symlinkSync('busybox', join(rootfs, 'bin', applet))
  symlinkSync('../bin/busybox', join(rootfs, 'sbin/init'))
  addHostBinary(rootfs, '/usr/bin/git')
  writeFileSync(join(rootfs, 'etc/passwd'), 'root:x:0:0:root:/root:/bin/sh\n')
  writeFileSync(join(rootfs, 'etc/group'), 'root:x:0:\n')
  writeFileSync(join(rootfs, 'etc/inittab'), '::sysinit:/bin/true\n::respawn:/bin/sleep 1000000\n')
  writeFileSync(
    join(work, 'metadata.yaml'),
    `architecture: x86_64\ncreation_date: ${Math.floor(Date.now() / 1000)}\nproperties:\n  description: busybox test image\n  os: busybox\n  release: "1"\n`,
  )
  execFileSync('tar', ['-C', work, '-czf', join(work, 'meta.tar.gz'), 'metadata.yaml'])
  execFileSync('tar', ['-C', rootfs, '-czf', join(work, 'rootfs.tar.gz'), '.'])
  daemon.incus(['image', 'import', join(work, 'meta.tar.gz'), join(work, 'rootfs.tar.gz'), '--alias', TEST_IMAGE])
  rmSync(work, {recursive: true, force: true})
}

/**
 * Builds (or takes from the cache) the Debian image and imports it. Set REPOMAN_TEST_REAL_IMAGE=0
 * to leave it out; the real-image suites then say so (and fail under CI=true).
 */
function importRealImage(daemon: TestDaemon): string | undefined {
  if (process.env.REPOMAN_TEST_REAL_IMAGE === '0') return 'REPOMAN_TEST_REAL_IMAGE=0'
  let built: string
  try {
    built = execFileSync('bash', [BUILD_REAL_IMAGE], {encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit']}).trim()
  } catch (error) {
    return `scripts/build-test-image.sh failed: ${(error as Error).message.split('\n')[0]}`
  }
  daemon.incus(['image', 'import', join(built, 'meta.tar.gz'), join(built, 'rootfs.tar.gz'), '--alias', REAL_IMAGE])
  return undefined
}

/** The loop-file btrfs pool (under the daemon's dir, gone with it); why not, when it cannot be made. */
function createBtrfsPool(daemon: TestDaemon): string | undefined {
  if (!existsSync('/usr/sbin/mkfs.btrfs') && !existsSync('/sbin/mkfs.btrfs'))
    return 'btrfs-progs is not installed (scripts/install-system.sh --test)'
  daemon.incus(['storage', 'create', BTRFS_POOL, 'btrfs', 'size=12GiB'])
  return undefined
}

export async function startTestDaemon(): Promise<TestDaemon> {
  // Before the daemon starts: Incus reads /etc/subuid and /etc/subgid when it starts.
  const user = ensureTestUser()
  // Short path: the daemon's unix socket path must stay under 108 bytes.
  const dir = mkdtempSync('/tmp/rm-incus-')
  const env = {...process.env, INCUS_DIR: dir}
  // The socket's group is the test user's, as incus-admin is a real user's.
  const child = spawn(INCUSD, ['--group', user.group], {env, stdio: ['ignore', 'ignore', 'ignore'], detached: true})
  child.unref()
  const daemon: TestDaemon = {
    dir,
    user,
    env,
    incus(args, input) {
      return execFileSync('incus', args, {env, encoding: 'utf8', input: input ?? '', stdio: ['pipe', 'pipe', 'pipe']})
    },
    stop() {
      try {
        execFileSync('incus', ['admin', 'shutdown', '--timeout', '30'], {env, stdio: 'ignore', timeout: 60_000})
      } catch {
        child.kill('SIGKILL')
      }
      // Containers' mounts must be gone before the directory can go.
      try {
        execFileSync('sh', ['-c', `grep -o " ${dir}[^ ]*" /proc/mounts | sort -r | xargs -r -n1 umount -l`], {
          stdio: 'ignore',
        })
      } catch {
        // nothing mounted
      }
      rmSync(dir, {recursive: true, force: true})
      user.restore()
    },
  }
  // The socket's directory must be reachable by the test user.
  chmodSync(dir, 0o755)
  execFileSync('incus', ['admin', 'waitready', '--timeout', '60'], {env, stdio: 'ignore'})
  daemon.incus(['storage', 'create', 'default', 'dir'])
  daemon.incus(['profile', 'device', 'add', 'default', 'root', 'disk', 'path=/', 'pool=default'])
  daemon.btrfsMissing = createBtrfsPool(daemon)
  buildBusyboxImage(daemon)
  daemon.realImageMissing = importRealImage(daemon)
  return daemon
}
