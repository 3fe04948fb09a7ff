/**
 * The host user's account inside a container: what the image already has (its /etc/passwd and
 * /etc/group, read by one `incus exec`), what must change so that `whoami`, `sudo` and file
 * ownership work for the ids `planIdmap` chose, and the POSIX sh that makes the change. Pure:
 * the lifecycle code runs the scripts.
 *
 * The plan is carried out two ways: `new` writes it into the container before its first boot
 * (preboot-plan.ts: edited account files through the file API, no exec), and repairs
 * (`status --fix`, a stopped container started by `exec`) and launches without the local
 * socket run the script below through `incus exec`. Not cloud-init user-data: an instance's
 * `cloud-init.user-data` would replace any a profile carries, and cloud-init may be absent.
 */
import {PROXY_VARIABLES} from '../gateway/inside.js'

/** Regular accounts and groups start here (login.defs UID_MIN/GID_MIN); below are the system's. */
const FIRST_REGULAR_ID = 1000

export interface AccountWant {
  user: string
  uid: number
  gid: number
  /** Name of the host user's primary group. */
  group: string
  home: string
  /** Passwordless sudo (and membership of `sudo`) on, or off and removed. */
  sudo: boolean
}

/** What the image has, as printed by `accountFactsScript`. */
export interface AccountFacts {
  passwd: string
  group: string
  /** Absolute path of bash, when the image has it. */
  bash?: string
  /** `uid:gid` owning the home directory, when it exists. */
  homeOwner?: string
  /** sudo is installed (visudo validates the entry). */
  sudoInstalled: boolean
  /** repoman's sudoers entry is in place. */
  sudoersPresent: boolean
}

export type AccountAction =
  | {kind: 'add-group'; name: string; gid: number}
  | {kind: 'modify-group'; name: string; newName?: string; gid?: number}
  | {kind: 'add-user'; name: string; uid: number; gid: number; home: string; shell: string}
  | {kind: 'modify-user'; name: string; newName?: string; uid?: number; gid?: number; home?: string; shell?: string}
  | {kind: 'add-to-group'; user: string; group: string}
  | {kind: 'remove-from-group'; user: string; group: string}
  | {kind: 'home'; path: string; uid: number; gid: number}
  | {kind: 'sudoers'; user: string; uid: number}
  | {kind: 'remove-sudoers'; user: string}

export interface AccountPlan {
  /** In order; empty when the account is already as wanted. */
  actions: AccountAction[]
  /** The account's name inside (the host user's, unless a system account holds the uid). */
  user: string
  /** The primary group's name inside. */
  group: string
  /** What the user should know: names kept or moved aside. */
  notes: string[]
}

interface Entry {
  name: string
  id: number
  primaryGid?: number
  home?: string
  shell?: string
  members?: string[]
}

function parseDb(text: string, kind: 'passwd' | 'group'): Entry[] {
  return text
    .split('\n')
    .map((line) => line.split(':'))
    .filter((f) => f.length >= (kind === 'passwd' ? 7 : 4) && f[0] !== '' && !f[0]?.startsWith('#'))
    .map((f) =>
      kind === 'passwd'
        ? {name: f[0] as string, id: Number(f[2]), primaryGid: Number(f[3]), home: f[5], shell: f[6]}
        : {name: f[0] as string, id: Number(f[2]), members: (f[3] ?? '').split(',').filter(Boolean)},
    )
}

/** The first of `name`, `name-host`, `name-host2`, ... that `taken` does not hold. */
function freeName(name: string, taken: (candidate: string) => boolean): string {
  if (!taken(name)) return name
  for (let i = 1; ; i++) {
    const candidate = `${name}-host${i === 1 ? '' : i}`
    if (!taken(candidate)) return candidate
  }
}

/** sudoers.d skips names with a dot (or ending in ~): keep the file's name plain. */
/**
 * The sudoers entry: root for the user, by uid so it holds whatever the account is called;
 * sudo keeps the gateway's proxy variables (it drops them by default, and then apt and curl
 * under sudo would find no way out).
 */
export function sudoersText(user: string, uid: number): string {
  return `# repoman: ${user} is root in this container\n#${uid} ALL=(ALL:ALL) NOPASSWD: ALL\nDefaults:#${uid} env_keep += "${PROXY_VARIABLES.join(' ')}"\n`
}

export function sudoersFile(user: string): string {
  return `/etc/sudoers.d/repoman-${user.replace(/[^A-Za-z0-9_-]/g, '_')}`
}

/**
 * What to change so that the image has the wanted account. Ids decide (they own the files on
 * the host), names follow where that breaks nothing:
 * - the uid's account is renamed to the host user's name when it is a regular account (uid
 *   1000 is `ubuntu` or `debian` on cloud images): one name per uid, never two. A system
 *   account on that uid keeps its name (renaming it would break the image), with a note.
 * - an account that has the host user's name but another uid takes the wanted uid when that
 *   uid is free (the account of that name becomes the user's); when the uid is held by another
 *   account, the one with the name is moved aside to `<name>-old` first.
 * - groups likewise: the gid's group is renamed when it is a regular group whose new name is
 *   free; otherwise the gid keeps its group name. A missing gid is added, under the host
 *   group's name or, when a group elsewhere has that name, a free variant of it.
 * - uid 0 (repoman run as root) is root inside: only the home directory.
 */
export function planUserAccount(facts: AccountFacts, want: AccountWant): AccountPlan {
  const shell = facts.bash ?? '/bin/sh'
  const home: AccountAction[] =
    facts.homeOwner === `${want.uid}:${want.gid}` ? [] : [{kind: 'home', path: want.home, uid: want.uid, gid: want.gid}]
  if (want.uid === 0) return {actions: home, user: 'root', group: 'root', notes: []}
  const users = parseDb(facts.passwd, 'passwd')
  const groups = parseDb(facts.group, 'group')
  const actions: AccountAction[] = []
  const notes: string[] = []

  // The primary group.
  let group = want.group
  const groupByGid = groups.find((g) => g.id === want.gid)
  const groupByName = groups.find((g) => g.name === want.group)
  const groupTaken = (name: string) => groups.some((g) => g.name === name)
  if (groupByGid && groupByGid.name !== want.group) {
    if (groupByGid.id >= FIRST_REGULAR_ID && !groupByName)
      actions.push({kind: 'modify-group', name: groupByGid.name, newName: want.group})
    else {
      group = groupByGid.name
      notes.push(`gid ${want.gid} is group "${group}" inside; it keeps that name`)
    }
  } else if (!groupByGid) {
    if (groupByName && groupByName.id >= FIRST_REGULAR_ID) {
      actions.push({kind: 'modify-group', name: want.group, gid: want.gid})
    } else {
      group = freeName(want.group, groupTaken)
      if (group !== want.group) notes.push(`group "${want.group}" is a system group inside; yours is "${group}"`)
      actions.push({kind: 'add-group', name: group, gid: want.gid})
    }
  }

  // The account.
  let user = want.user
  /** Its name in /etc/group member lists before this plan (usermod -l renames them). */
  let formerName = want.user
  const byUid = users.find((u) => u.id === want.uid)
  const byName = users.find((u) => u.name === want.user)
  const userTaken = (name: string) => users.some((u) => u.name === name)
  const settle = (account: Entry, changes: Omit<Extract<AccountAction, {kind: 'modify-user'}>, 'kind' | 'name'>) => {
    const modify: Extract<AccountAction, {kind: 'modify-user'}> = {kind: 'modify-user', name: account.name, ...changes}
    if (account.primaryGid !== want.gid) modify.gid = want.gid
    if (account.home !== want.home) modify.home = want.home
    if (account.shell !== shell) modify.shell = shell
    if (Object.keys(modify).length > 2) actions.push(modify)
  }
  if (byUid && byUid.name === want.user) settle(byUid, {})
  else if (byUid && byUid.id < FIRST_REGULAR_ID) {
    user = byUid.name
    formerName = byUid.name
    notes.push(`uid ${want.uid} is the system account "${user}" inside; it keeps its name`)
  } else if (byUid) {
    if (byName) {
      const aside = freeName(`${want.user}-old`, userTaken)
      actions.push({kind: 'modify-user', name: want.user, newName: aside})
      notes.push(`the image's account "${want.user}" (uid ${byName.id}) is now "${aside}"`)
    }
    notes.push(`the image's account "${byUid.name}" (uid ${want.uid}) is now "${want.user}"`)
    formerName = byUid.name
    settle(byUid, {newName: want.user})
  } else if (byName && byName.id >= FIRST_REGULAR_ID) {
    notes.push(`the image's account "${want.user}" now has uid ${want.uid} (was ${byName.id})`)
    settle(byName, {uid: want.uid})
  } else {
    user = freeName(want.user, userTaken)
    if (user !== want.user) notes.push(`"${want.user}" is a system account inside; yours is "${user}"`)
    actions.push({kind: 'add-user', name: user, uid: want.uid, gid: want.gid, home: want.home, shell})
  }

  // sudo: membership of the `sudo` group where it exists, and repoman's sudoers entry.
  const sudoGroup = groups.find((g) => g.name === 'sudo')
  const inSudo = sudoGroup?.members?.includes(formerName) ?? false
  if (sudoGroup && want.sudo && !inSudo) actions.push({kind: 'add-to-group', user, group: 'sudo'})
  if (sudoGroup && !want.sudo && inSudo) actions.push({kind: 'remove-from-group', user, group: 'sudo'})
  if (want.sudo && facts.sudoInstalled && !facts.sudoersPresent)
    actions.push({kind: 'sudoers', user: want.user, uid: want.uid})
  if (!want.sudo && facts.sudoersPresent) actions.push({kind: 'remove-sudoers', user: want.user})

  return {actions: [...actions, ...home], user, group, notes}
}

const quote = (value: string | number) => `'${String(value).replace(/'/g, `'\\''`)}'`

/** Section markers in the facts output (no passwd or group line can look like them). */
const MARK = {passwd: '#repoman:passwd', group: '#repoman:group', state: '#repoman:state'}

/** The line after the facts: the script then runs what it is sent on stdin (see `accountScript`). */
export const FACTS_END = '#repoman:end'

/**
 * Waits until cloud-init has finished, where it runs. `cloud-init status --wait` costs 0.4 to
 * 2.5 s (Python) even when there is nothing to wait for, so it is skipped where cloud-init's
 * systemd generator has disabled it (no datasource). Right after a start the generator may not
 * have run yet: give it up to 2 s to leave its verdict in /run/cloud-init first.
 */
export const CLOUD_INIT_WAIT = [
  'if command -v cloud-init >/dev/null 2>&1; then',
  'i=0; while [ ! -e /run/cloud-init/enabled ] && [ ! -e /run/cloud-init/disabled ] && [ $i -lt 40 ]; do sleep 0.05; i=$((i+1)); done',
  'if [ ! -e /run/cloud-init/disabled ]; then cloud-init status --wait >/dev/null 2>&1 || true; fi',
  'fi',
].join('\n')

/**
 * One script for the whole job, so that it costs one `incus exec`: it prints the facts
 * `planUserAccount` needs (after cloud-init, when `waitForCloudInit`, has made the image's own
 * first user), then the FACTS_END line, then runs as root what it reads on stdin (the apply
 * script, or nothing). Arguments: $1 home, $2 sudoers file.
 */
export function accountScript(waitForCloudInit: boolean): string {
  return [
    ...(waitForCloudInit ? [CLOUD_INIT_WAIT] : []),
    `echo '${MARK.passwd}'; cat /etc/passwd`,
    `echo '${MARK.group}'; cat /etc/group`,
    `echo '${MARK.state}'`,
    'echo "bash=$(command -v bash || true)"',
    'if [ -d "$1" ]; then echo "home=$(stat -c %u:%g "$1")"; fi',
    'if command -v visudo >/dev/null 2>&1; then echo sudo=yes; fi',
    'if [ -e "$2" ]; then echo sudoers=yes; fi',
    `echo '${FACTS_END}'`,
    'apply=$(cat)',
    'if [ -n "$apply" ]; then exec sh -c "$apply"; fi',
  ].join('\n')
}

export function parseAccountFacts(output: string): AccountFacts {
  const section = (from: string, to: string) => {
    const start = output.indexOf(`${from}\n`)
    const end = output.indexOf(`${to}\n`)
    return start < 0 || end < 0 ? '' : output.slice(start + from.length + 1, end)
  }
  const state = Object.fromEntries(
    output
      .slice(output.indexOf(`${MARK.state}\n`) + MARK.state.length + 1)
      .split('\n')
      .filter((line) => line.includes('='))
      .map((line) => [line.slice(0, line.indexOf('=')), line.slice(line.indexOf('=') + 1)]),
  )
  return {
    passwd: section(MARK.passwd, MARK.group),
    group: section(MARK.group, MARK.state),
    bash: state.bash || undefined,
    homeOwner: state.home || undefined,
    sudoInstalled: state.sudo === 'yes',
    sudoersPresent: state.sudoers === 'yes',
  }
}

/**
 * Helpers for the apply script: the shadow tools where the image has them (they keep shadow,
 * gshadow and member lists in step), plain edits of /etc/passwd and /etc/group where it has
 * not (busybox and other minimal images, which have no shadow files either).
 */
const APPLY_PRELUDE = `set -e
has() { command -v "$1" >/dev/null 2>&1; }
# setf FILE NAME FIELD VALUE: sets one field of NAME's line, in place (same inode and mode).
setf() { awk -F: -v OFS=: -v k="$2" -v n="$3" -v v="$4" '$1==k{$n=v}1' "$1" >"$1.repoman"; cat "$1.repoman" >"$1"; rm -f "$1.repoman"; }
# members USER GROUP add|del|rename [NEW]: edits member lists (rename: in every group).
members() { awk -F: -v OFS=: -v u="$1" -v g="$2" -v op="$3" -v new="$4" 'NF < 4 { print; next }
{ n = split($4, m, ","); out = ""; seen = 0
  for (i = 1; i <= n; i++) {
    x = m[i]
    if (x == u) { seen = 1; if (op == "rename") x = new; else if (op == "del" && $1 == g) continue }
    out = out (out == "" ? "" : ",") x
  }
  if (op == "add" && $1 == g && !seen) out = out (out == "" ? "" : ",") u
  $4 = out; print }' /etc/group >/etc/group.repoman; cat /etc/group.repoman >/etc/group; rm -f /etc/group.repoman; }
`

function applyLine(action: AccountAction): string {
  const q = quote
  switch (action.kind) {
    case 'add-group':
      return `if has groupadd; then groupadd -g ${action.gid} ${q(action.name)}; else echo ${q(`${action.name}:x:${action.gid}:`)} >>/etc/group; fi`
    case 'modify-group': {
      const flags = [
        ...(action.gid === undefined ? [] : ['-g', String(action.gid)]),
        ...(action.newName === undefined ? [] : ['-n', q(action.newName)]),
      ]
      const fallback = [
        ...(action.gid === undefined ? [] : [`setf /etc/group ${q(action.name)} 3 ${action.gid}`]),
        ...(action.newName === undefined ? [] : [`setf /etc/group ${q(action.name)} 1 ${q(action.newName)}`]),
      ]
      return `if has groupmod; then groupmod ${flags.join(' ')} ${q(action.name)}; else ${fallback.join('; ')}; fi`
    }
    case 'add-user': {
      const line = `${action.name}:x:${action.uid}:${action.gid}::${action.home}:${action.shell}`
      return `if has useradd; then useradd -M -u ${action.uid} -g ${action.gid} -d ${q(action.home)} -s ${q(action.shell)} ${q(action.name)}; else echo ${q(line)} >>/etc/passwd; fi`
    }
    case 'modify-user': {
      const fields: Array<[string, number, string | number | undefined]> = [
        ['-u', 3, action.uid],
        ['-g', 4, action.gid],
        ['-d', 6, action.home],
        ['-s', 7, action.shell],
      ]
      const set = fields.filter(([, , value]) => value !== undefined)
      const flags = [
        ...set.map(([flag, , value]) => `${flag} ${q(value as string | number)}`),
        ...(action.newName === undefined ? [] : [`-l ${q(action.newName)}`]),
      ]
      const fallback = [
        ...set.map(([, field, value]) => `setf /etc/passwd ${q(action.name)} ${field} ${q(value as string | number)}`),
        ...(action.newName === undefined
          ? []
          : [
              `setf /etc/passwd ${q(action.name)} 1 ${q(action.newName)}`,
              `members ${q(action.name)} '' rename ${q(action.newName)}`,
            ]),
      ]
      return `if has usermod; then usermod ${flags.join(' ')} ${q(action.name)}; else ${fallback.join('; ')}; fi`
    }
    case 'add-to-group':
      return `if has usermod; then usermod -aG ${q(action.group)} ${q(action.user)}; else members ${q(action.user)} ${q(action.group)} add; fi`
    case 'remove-from-group':
      return `if has gpasswd; then gpasswd -d ${q(action.user)} ${q(action.group)} >/dev/null; else members ${q(action.user)} ${q(action.group)} del; fi`
    case 'home':
      // The home directory itself only: the repo (and other mounts) may sit under it.
      return [
        `mkdir -p ${q(action.path)}`,
        `chown ${action.uid}:${action.gid} ${q(action.path)}`,
        `if [ -d /etc/skel ]; then for f in /etc/skel/.[!.]* /etc/skel/*; do [ -e "$f" ] || continue; t=${q(action.path)}/"\${f##*/}"; [ -e "$t" ] || { cp -R "$f" "$t" && chown -R ${action.uid}:${action.gid} "$t"; }; done; fi`,
      ].join('\n')
    case 'sudoers': {
      // By uid, so it holds whatever the account is called; validated before it is put in
      // place, as a sudoers file with bad syntax breaks sudo for everyone.
      const file = sudoersFile(action.user)
      const text = sudoersText(action.user, action.uid)
      return `mkdir -p /etc/sudoers.d; printf %s ${q(text)} >${q(`${file}.new`)}; chmod 0440 ${q(`${file}.new`)}; if visudo -cqf ${q(`${file}.new`)}; then mv -f ${q(`${file}.new`)} ${q(file)}; else rm -f ${q(`${file}.new`)}; echo 'repoman: the sudoers entry did not validate' >&2; exit 3; fi`
    }
    case 'remove-sudoers':
      return `rm -f ${q(sudoersFile(action.user))}`
  }
}

/** The root sh script that carries out `actions`, in order; stops at the first failure. */
export function accountApplyScript(actions: AccountAction[]): string {
  return `${APPLY_PRELUDE}${actions.map(applyLine).join('\n')}\n`
}

/** One line per change, for logs and `status --fix`. */
export function describeAction(action: AccountAction): string {
  switch (action.kind) {
    case 'add-group':
      return `added group ${action.name} (gid ${action.gid})`
    case 'modify-group':
      return `group ${action.name}: ${[action.newName && `renamed to ${action.newName}`, action.gid !== undefined && `gid ${action.gid}`].filter(Boolean).join(', ')}`
    case 'add-user':
      return `added user ${action.name} (uid ${action.uid})`
    case 'modify-user':
      return `user ${action.name}: ${[
        action.newName && `renamed to ${action.newName}`,
        action.uid !== undefined && `uid ${action.uid}`,
        action.gid !== undefined && `gid ${action.gid}`,
        action.home && `home ${action.home}`,
        action.shell && `shell ${action.shell}`,
      ]
        .filter(Boolean)
        .join(', ')}`
    case 'add-to-group':
      return `added ${action.user} to ${action.group}`
    case 'remove-from-group':
      return `removed ${action.user} from ${action.group}`
    case 'home':
      return `home ${action.path} owned by ${action.uid}:${action.gid}`
    case 'sudoers':
      return `passwordless sudo for ${action.user}`
    case 'remove-sudoers':
      return `removed passwordless sudo for ${action.user}`
  }
}
