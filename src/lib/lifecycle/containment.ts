/**
 * What keeps root inside a project's container away from the repo's protected paths: a seccomp
 * policy that takes away the mount operations which would remove or get around the read-only
 * mounts over them, and the systemd drop-in that lets a systemd image boot cleanly without
 * those operations. Pure: the policy text and its recognition; applying them is create.ts's job.
 *
 * Why these syscalls: root in an unprivileged container can `umount` (or `umount -l`) its own
 * mounts, bind the repo again without the read-only mounts on top (`mount --bind`), move them
 * away (`mount --move`), clear their read-only flag (`mount_setattr`), or do any of that in a
 * private mount namespace of its own (`unshare -m`). Denying the whole mount family stops
 * systemd from booting; this list leaves mounting new file systems (tmpfs, proc, ...) and
 * recursive binds (which carry the read-only mounts along) allowed, and was checked against a
 * Debian 13 systemd image (see docs/safety.md for the attack table).
 */

/** First line of repoman's part of the policy: how `status` recognises it. */
export const CONTAINMENT_MARKER = '# repoman containment v1'

// Flag bits of mount(2) and clone(2)/unshare(2), from <linux/mount.h> and <linux/sched.h>.
const MS_REMOUNT = 0x20
const MS_BIND = 0x1000
const MS_MOVE = 0x2000
const MS_REC = 0x4000
const CLONE_NEWNS = 0x20000
const EPERM = 1
const ENOSYS = 38

/** LXC's argument filter: deny when `(arg & mask) === value`. */
const masked = (arg: number, value: number, mask: number) => `[${arg},${value},SCMP_CMP_MASKED_EQ,${mask}]`

/**
 * The whole `raw.seccomp` value: Incus's own default denials (raw.seccomp replaces them, so
 * they are repeated here) and repoman's, for every architecture the kernel runs (`[all]`: the
 * 32-bit syscall table too).
 */
export function containmentSeccompPolicy(): string {
  return [
    '2',
    'denylist',
    'reject_force_umount',
    '[all]',
    // Incus's defaults.
    'kexec_load errno 38',
    'open_by_handle_at errno 38',
    'init_module errno 38',
    'finit_module errno 38',
    'delete_module errno 38',
    CONTAINMENT_MARKER,
    // Taking a mount away: it would uncover the repo path beneath it.
    `umount2 errno ${EPERM}`,
    `umount errno ${EPERM}`,
    `pivot_root errno ${EPERM}`,
    // A plain (non-recursive) bind copies a mount without the read-only mounts on top of it.
    `mount errno ${EPERM} ${masked(3, MS_BIND, MS_BIND | MS_REC | MS_REMOUNT | MS_MOVE)}`,
    `mount errno ${EPERM} ${masked(3, MS_MOVE, MS_MOVE)}`,
    // A private mount namespace would be a place to do all of the above. systemd runs services
    // without one when it is refused (it treats that as "containerized execution").
    `unshare errno ${EPERM} ${masked(0, CLONE_NEWNS, CLONE_NEWNS)}`,
    `clone errno ${EPERM} ${masked(0, CLONE_NEWNS, CLONE_NEWNS)}`,
    // clone3 takes its flags in memory, out of seccomp's sight; ENOSYS makes libc use clone.
    `clone3 errno ${ENOSYS}`,
    // The new mount API does the same through file descriptors; ENOSYS makes mount(8) and
    // systemd fall back to mount(2), which the rules above judge.
    ...['open_tree', 'move_mount', 'mount_setattr', 'fsopen', 'fsconfig', 'fsmount', 'fspick'].map(
      (call) => `${call} errno ${ENOSYS}`,
    ),
    '',
  ].join('\n')
}

export type ContainmentState = 'enforced' | 'modified' | 'none'

/** Whether a container's `raw.seccomp` is repoman's policy, as this version writes it. */
export function containmentState(rawSeccomp: string | undefined): ContainmentState {
  if (rawSeccomp === undefined || !rawSeccomp.includes(CONTAINMENT_MARKER)) return 'none'
  return rawSeccomp === containmentSeccompPolicy() ? 'enforced' : 'modified'
}

/**
 * systemd 257 sets up service credentials in a private mount namespace with binds and moves,
 * which the policy refuses, and then fails the unit (journald, tmpfiles, sysusers, getty).
 * A container has no credentials to pass, so every service is told to import none; systemd
 * then skips that step. Written into the container before its first boot.
 */
export const SYSTEMD_DROPIN = {
  path: '/etc/systemd/system/service.d/10-repoman-containment.conf',
  content: [
    '# Written by repoman: its seccomp policy refuses the private mount namespace in which',
    '# systemd sets up service credentials, and a container has none to pass.',
    '[Service]',
    'ImportCredential=',
    'LoadCredential=',
    'SetCredential=',
    '',
  ].join('\n'),
}
