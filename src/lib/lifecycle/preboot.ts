/**
 * Writing into a created, never started container through Incus's file API: the files the
 * launch takes (the containment drop-in and whatever else must be there at the first boot) and
 * the host user's account, decided by preboot-plan.ts from the image's own files. The reads go
 * out side by side; the writes go over one SFTP session (the first request waits some 30 ms
 * while Incus mounts the root disk, the rest cost a fraction of a millisecond each), and no
 * directory is looked up only to learn whether to make it.
 */
import {dirname} from 'node:path'
import {IncusNotFoundError} from '../errors.js'
import {SOCKET_PROXYD_PATHS} from '../gateway/inside.js'
import type {IncusClient} from '../incus/client.js'
import type {InstanceFile, InstanceFiles} from '../incus/types.js'
import {type AccountPlan, type AccountWant, planUserAccount, sudoersFile} from './account-plan.js'
import type {BootReader} from './image-files.js'
import {
  BASH_PATHS,
  CLOUD_INIT_FINISHED,
  type PrebootReads,
  prebootAccountWrites,
  prebootFacts,
  type StatedFile,
  VISUDO_PATHS,
} from './preboot-plan.js'

/** Where the image keeps systemd's socket forwarder, or undefined when it has none. */
export async function socketProxydOf(files: BootReader): Promise<string | undefined> {
  const found = await Promise.all(SOCKET_PROXYD_PATHS.map((path) => files.stat(path)))
  return SOCKET_PROXYD_PATHS.find((_, i) => found[i] !== undefined)
}

/**
 * The account's writes and the plan they carry out, or undefined when this image cannot be
 * prepared so (no /etc/passwd or /etc/group to edit, or a change only a shell inside can make):
 * then the account is made through `incus exec` after the start, as `status --fix` does.
 */
export async function prebootAccount(
  files: BootReader,
  want: AccountWant,
): Promise<{writes: InstanceFile[]; plan: AccountPlan} | undefined> {
  const {read, stat} = files
  const probes = [...BASH_PATHS, ...VISUDO_PATHS, sudoersFile(want.user)]
  const [passwd, group, shadow, gshadow, home, skel, sudoersDir, ...probed] = await Promise.all([
    read('/etc/passwd'),
    read('/etc/group'),
    read('/etc/shadow'),
    read('/etc/gshadow'),
    stat(want.home),
    read('/etc/skel'),
    stat('/etc/sudoers.d'),
    ...probes.map(stat),
  ])
  const reads: PrebootReads = {
    passwd,
    group,
    shadow,
    gshadow,
    home,
    skel,
    sudoersDir,
    present: probes.filter((_, i) => probed[i] !== undefined),
  }
  const facts = prebootFacts(reads, want)
  if (!facts) return undefined
  const plan = planUserAccount(facts, want)
  const newHome = home === undefined && plan.actions.some((action) => action.kind === 'home')
  const names = newHome && skel?.type === 'directory' ? skel.content.split('\n').filter(Boolean) : []
  const skelFiles = (await Promise.all(names.map((entry) => read(`/etc/skel/${entry}`))))
    .map((file, i) => ({name: names[i] as string, file}))
    // Regular files only, as they are in every image's skel; nothing of a directory is copied.
    .filter((entry): entry is {name: string; file: StatedFile} => entry.file?.type === 'file')
  const writes = prebootAccountWrites(reads, plan, skelFiles)
  return writes && {writes, plan}
}

/**
 * Writes `files` into the container: its directories first, in the order given, then the
 * directories the files need, then the files side by side. A directory is made as `mkdir -p`
 * would, root's and 0755 where `files` do not say; one that is there already is left as it is,
 * so each costs one request, and its parents are made only when the daemon says they are
 * missing.
 */
export async function writeBootFiles(writer: Pick<InstanceFiles, 'write'>, files: InstanceFile[]): Promise<void> {
  const made = new Set<string>()
  const ensure = async (directory: InstanceFile): Promise<void> => {
    if (made.has(directory.path)) return
    try {
      await writer.write(directory)
    } catch (error) {
      const parent = dirname(directory.path)
      if (!(error instanceof IncusNotFoundError) || parent === directory.path) throw error
      await ensure({path: parent, type: 'directory', mode: 0o755})
      await writer.write(directory)
    }
    made.add(directory.path)
  }
  for (const directory of files.filter((file) => file.type === 'directory')) await ensure(directory)
  const plain = files.filter((file) => file.type !== 'directory')
  // /etc is there: the account's reads came from it.
  const parents = [...new Set(plain.map((file) => dirname(file.path)))].filter((path) => path !== '/etc')
  await Promise.all(parents.map((path) => ensure({path, type: 'directory', mode: 0o755})))
  await Promise.all(plain.map((file) => writer.write(file)))
}

/**
 * Waits, after the first start, until cloud-init has finished (it makes the image's own first
 * user, and user-data may install what the user expects), by reading the markers its last
 * stage leaves on the root disk through the file API, instead of `cloud-init status --wait` in
 * an exec. Only called when it has a datasource (`cloudInitSeeded`).
 */
export async function waitForCloudInit(
  incus: Pick<IncusClient, 'readInstanceFile'>,
  name: string,
  limits = {finishMs: 10 * 60_000, pollMs: 200},
): Promise<void> {
  const finished = async () =>
    (await Promise.all(CLOUD_INIT_FINISHED.map((path) => incus.readInstanceFile(name, path, {content: false})))).some(
      (stat) => stat !== undefined,
    )
  const finishBy = Date.now() + limits.finishMs
  while (!(await finished()) && Date.now() < finishBy)
    await new Promise((resolve) => setTimeout(resolve, limits.pollMs))
}
