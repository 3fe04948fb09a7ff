/**
 * The host user's account written into a created container before it first boots: the same
 * `planUserAccount` decides from the image's own /etc/passwd and /etc/group (read through
 * Incus's file API), and its actions become edited copies of the account files and the
 * directories and files they imply, instead of a script for `incus exec`. Pure: preboot.ts
 * reads and writes.
 *
 * Why before the boot: a container is usable the moment it starts, without an `incus exec`
 * (which costs a process, an attach and a shell), and a first boot finds everything in place:
 * cloud-init's own first user is then added next to ours (docs/account.md says how they agree).
 */
import type {DeviceMap, InstanceFile, InstanceFileStat} from '../incus/types.js'
import {
  type AccountAction,
  type AccountFacts,
  type AccountPlan,
  type AccountWant,
  sudoersFile,
  sudoersText,
} from './account-plan.js'

/** An account file as read: its text, owner and mode (written back with the same). */
export type StatedFile = InstanceFileStat & {content: string}

/** What is read from the image first; a path is undefined when the image does not have it. */
export interface PrebootReads {
  passwd?: StatedFile
  group?: StatedFile
  shadow?: StatedFile
  gshadow?: StatedFile
  home?: StatedFile
  /** /etc/skel's names, one a line. */
  skel?: StatedFile
  sudoersDir?: StatedFile
  /** The paths of PREBOOT_PROBES that exist. */
  present: string[]
}

/** Where bash and visudo may be, in the order `command -v` would find them. */
export const BASH_PATHS = ['/usr/bin/bash', '/bin/bash']
export const VISUDO_PATHS = ['/usr/sbin/visudo']

/** The facts `planUserAccount` needs, from the reads; undefined when the image has no account files to edit. */
export function prebootFacts(reads: PrebootReads, want: AccountWant): AccountFacts | undefined {
  if (!reads.passwd || !reads.group) return undefined
  return {
    passwd: reads.passwd.content,
    group: reads.group.content,
    bash: BASH_PATHS.find((path) => reads.present.includes(path)),
    homeOwner: reads.home?.type === 'directory' ? `${reads.home.uid}:${reads.home.gid}` : undefined,
    sudoInstalled: VISUDO_PATHS.some((path) => reads.present.includes(path)),
    sudoersPresent: reads.present.includes(sudoersFile(want.user)),
  }
}

type Table = string[][]
const parse = (text: string): Table =>
  text
    .split('\n')
    .filter((line, i, all) => line !== '' || i < all.length - 1)
    .map((line) => line.split(':'))
const format = (table: Table) => table.map((fields) => fields.join(':')).join('\n') + (table.length > 0 ? '\n' : '')
const row = (table: Table, name: string) => table.find((fields) => fields[0] === name)
const setField = (table: Table | undefined, name: string, field: number, value: string) => {
  const found = table && row(table, name)
  if (found) found[field] = value
}
/** Adds or removes `user` in a comma-separated member field, or renames it there. */
const editMembers = (fields: string[] | undefined, at: number, user: string, op: 'add' | 'del' | {rename: string}) => {
  if (!fields) return
  while (fields.length <= at) fields.push('')
  const members = (fields[at] ?? '').split(',').filter(Boolean)
  const next =
    op === 'add'
      ? members.includes(user)
        ? members
        : [...members, user]
      : op === 'del'
        ? members.filter((m) => m !== user)
        : members.map((m) => (m === user ? op.rename : m))
  fields[at] = next.join(',')
}

/** The account files after `actions`, as the shadow tools would leave them (shadow and gshadow only where the image has them). */
export function applyAccountActions(
  files: {passwd: string; group: string; shadow?: string; gshadow?: string},
  actions: AccountAction[],
): {passwd: string; group: string; shadow?: string; gshadow?: string} {
  const passwd = parse(files.passwd)
  const group = parse(files.group)
  const shadow = files.shadow === undefined ? undefined : parse(files.shadow)
  const gshadow = files.gshadow === undefined ? undefined : parse(files.gshadow)
  for (const action of actions) {
    switch (action.kind) {
      case 'add-group':
        group.push([action.name, 'x', String(action.gid), ''])
        gshadow?.push([action.name, '!', '', ''])
        break
      case 'modify-group': {
        const old = row(group, action.name)
        if (action.gid !== undefined && old) {
          // groupmod -g keeps the group the primary group of the accounts that have it.
          for (const user of passwd) if (user[3] === old[2]) user[3] = String(action.gid)
          old[2] = String(action.gid)
        }
        if (action.newName !== undefined) {
          setField(group, action.name, 0, action.newName)
          setField(gshadow, action.name, 0, action.newName)
        }
        break
      }
      case 'add-user':
        passwd.push([action.name, 'x', String(action.uid), String(action.gid), '', action.home, action.shell])
        // A locked password, as useradd leaves it: sudo is passwordless, logins are exec's.
        shadow?.push([action.name, '!', '', '', '', '', '', '', ''])
        break
      case 'modify-user': {
        if (action.uid !== undefined) setField(passwd, action.name, 2, String(action.uid))
        if (action.gid !== undefined) setField(passwd, action.name, 3, String(action.gid))
        if (action.home !== undefined) setField(passwd, action.name, 5, action.home)
        if (action.shell !== undefined) setField(passwd, action.name, 6, action.shell)
        const newName = action.newName
        if (newName !== undefined) {
          setField(passwd, action.name, 0, newName)
          setField(shadow, action.name, 0, newName)
          for (const fields of group) editMembers(fields, 3, action.name, {rename: newName})
          for (const fields of gshadow ?? []) {
            editMembers(fields, 2, action.name, {rename: newName})
            editMembers(fields, 3, action.name, {rename: newName})
          }
        }
        break
      }
      case 'add-to-group':
      case 'remove-from-group': {
        const op = action.kind === 'add-to-group' ? 'add' : 'del'
        editMembers(row(group, action.group), 3, action.user, op)
        editMembers(gshadow && row(gshadow, action.group), 3, action.user, op)
        break
      }
      case 'home':
      case 'sudoers':
      case 'remove-sudoers':
        // Not in these files: see prebootAccountWrites.
        break
    }
  }
  return {
    passwd: format(passwd),
    group: format(group),
    shadow: shadow && format(shadow),
    gshadow: gshadow && format(gshadow),
  }
}

/** The sudoers entry repoman writes: by uid, so it holds whatever the account is called. */

/**
 * What to write for `plan` (account files, home, /etc/skel's files into a new home, sudoers),
 * or undefined when it needs what only a shell inside can do (taking a sudoers entry away).
 * `skel` holds /etc/skel's regular files as read.
 */
export function prebootAccountWrites(
  reads: PrebootReads,
  plan: AccountPlan,
  skel: Array<{name: string; file: StatedFile}>,
): InstanceFile[] | undefined {
  if (plan.actions.some((action) => action.kind === 'remove-sudoers')) return undefined
  const {passwd, group} = reads
  if (!passwd || !group) return undefined
  const writes: InstanceFile[] = []
  const edited = applyAccountActions(
    {passwd: passwd.content, group: group.content, shadow: reads.shadow?.content, gshadow: reads.gshadow?.content},
    plan.actions,
  )
  for (const [key, file] of [
    ['passwd', passwd],
    ['group', group],
    ['shadow', reads.shadow],
    ['gshadow', reads.gshadow],
  ] as const) {
    const content = edited[key]
    if (file && content !== undefined && content !== file.content)
      writes.push({path: `/etc/${key}`, content, uid: file.uid, gid: file.gid, mode: file.mode})
  }
  for (const action of plan.actions) {
    if (action.kind === 'home') {
      // The home directory itself only: the repo (and other mounts) may sit under it.
      writes.push({path: action.path, type: 'directory', uid: action.uid, gid: action.gid, mode: 0o755})
      // A home that is new gets /etc/skel's files, as useradd -m would give it.
      if (reads.home === undefined)
        for (const {name, file} of skel)
          writes.push({
            path: `${action.path}/${name}`,
            content: file.content,
            uid: action.uid,
            gid: action.gid,
            mode: file.mode,
          })
    }
    if (action.kind === 'sudoers') {
      // Not run through visudo as the exec path does: this text is fixed, and valid.
      if (!reads.sudoersDir) writes.push({path: '/etc/sudoers.d', type: 'directory', mode: 0o755})
      writes.push({path: sudoersFile(action.user), content: sudoersText(action.user, action.uid), mode: 0o440})
    }
  }
  return writes
}

/**
 * Whether cloud-init will run at the first boot: it finds a datasource (a NoCloud seed mounted
 * from the host, or user, vendor or network data in the config). Without one its systemd
 * generator disables it, and there is nothing to wait for.
 */
export function cloudInitSeeded(sources: Array<{config?: Record<string, string>; devices?: DeviceMap}>): boolean {
  return sources.some(
    ({config = {}, devices = {}}) =>
      Object.keys(config).some((key) =>
        /^(cloud-init\.|user\.(user-data|vendor-data|meta-data|network-config)$)/.test(key),
      ) ||
      Object.values(devices).some((device) => device.type === 'disk' && device.path?.startsWith('/var/lib/cloud/seed')),
  )
}

/** Written on the root disk when cloud-init's last stage is done: visible through the file API in any state. */
export const CLOUD_INIT_FINISHED = ['/var/lib/cloud/instance/boot-finished', '/var/lib/cloud/data/result.json']
