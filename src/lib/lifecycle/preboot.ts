/**
 * Writing into a created, never started container through Incus's file API: the files the
 * launch takes (the containment drop-in and whatever else must be there at the first boot) and
 * the host user's account, decided by preboot-plan.ts from the image's own files. Reads go out
 * side by side; the writes follow in order, parents first.
 */
import type {IncusClient} from '../incus/client.js'
import type {InstanceFile} from '../incus/types.js'
import {type AccountPlan, type AccountWant, planUserAccount, sudoersFile} from './account-plan.js'
import {
  BASH_PATHS,
  CLOUD_INIT_FINISHED,
  type PrebootReads,
  parentsOf,
  prebootAccountWrites,
  prebootFacts,
  type StatedFile,
  VISUDO_PATHS,
  withParents,
} from './preboot-plan.js'

type FileApi = Pick<IncusClient, 'readInstanceFile' | 'writeInstanceFiles'>

/**
 * The account's writes and the plan they carry out, or undefined when this image cannot be
 * prepared so (no /etc/passwd or /etc/group to edit, or a change only a shell inside can make):
 * then the account is made through `incus exec` after the start, as `status --fix` does.
 */
export async function prebootAccount(
  incus: FileApi,
  name: string,
  want: AccountWant,
  /** Directories whose existence to learn in the same round (the parents of the other boot files). */
  alsoStat: string[] = [],
): Promise<{writes: InstanceFile[]; plan: AccountPlan; existing: Set<string>} | undefined> {
  const read = (path: string) => incus.readInstanceFile(name, path)
  const stat = (path: string) => incus.readInstanceFile(name, path, {content: false})
  const probes = [...BASH_PATHS, ...VISUDO_PATHS, sudoersFile(want.user)]
  // Where the writes will go: known now, so that writing needs no round of reads of its own.
  const directories = [...new Set([...alsoStat, ...parentsOf(want.home), '/etc'])]
  const [passwd, group, shadow, gshadow, home, skel, sudoersDir, ...probed] = await Promise.all([
    read('/etc/passwd'),
    read('/etc/group'),
    read('/etc/shadow'),
    read('/etc/gshadow'),
    stat(want.home),
    read('/etc/skel'),
    stat('/etc/sudoers.d'),
    ...[...probes, ...directories].map(stat),
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
  const existing = new Set(directories.filter((_, i) => probed[probes.length + i] !== undefined))
  if (sudoersDir) existing.add('/etc/sudoers.d')
  return writes && {writes, plan, existing}
}

/**
 * Writes `files` into the container, making the directories above them that it lacks first;
 * `known` are directories already known to exist, the rest are looked up first.
 */
export async function writeBootFiles(
  incus: FileApi,
  name: string,
  files: InstanceFile[],
  known: Set<string> = new Set(),
): Promise<void> {
  const written = new Set(files.filter((file) => file.type === 'directory').map((file) => file.path))
  const parents = [...new Set(files.flatMap((file) => parentsOf(file.path)))].filter(
    (path) => !known.has(path) && !written.has(path),
  )
  const stats = await Promise.all(parents.map((path) => incus.readInstanceFile(name, path, {content: false})))
  const existing = new Set([...known, ...parents.filter((_, i) => stats[i] !== undefined)])
  await incus.writeInstanceFiles(
    name,
    withParents(files, (path) => existing.has(path)),
  )
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
