/**
 * Deleting, on the host, the trees a container wrote: its agent homes, its git dir, a clone's
 * checkout. These run only where nothing inside can race them (the container is gone, stopped,
 * or the tree is not mounted): while it runs, a tree is emptied from inside instead.
 *
 * The agent can leave a directory of yours without write permission; it is opened up first. What
 * root inside made belongs, on the host, to a uid of the container's range, so it is not yours
 * to delete: it is named, never silently kept.
 */
import {chmod, lstat, readdir, rm} from 'node:fs/promises'
import {join} from 'node:path'
import {LeftoverError, stderrReason} from './errors.js'
import type {IncusClient} from './incus/client.js'

/** Deletes what is in `dir`, keeping `dir` (it may be mounted); returns what could not go. */
export async function emptyTree(dir: string): Promise<string[]> {
  const left: string[] = []
  for (const name of await readdir(dir).catch(() => [] as string[])) {
    const path = join(dir, name)
    if (!(await deleted(path))) left.push(path)
  }
  return left
}

/** Deletes `dir` and all in it; returns what could not go. */
export async function deleteTree(dir: string): Promise<string[]> {
  const left = await emptyTree(dir)
  if (left.length === 0 && !(await deleted(dir))) left.push(dir)
  return left
}

async function deleted(path: string): Promise<boolean> {
  const attempt = () =>
    rm(path, {recursive: true, force: true}).then(
      () => true,
      () => false,
    )
  if (await attempt()) return true
  await openUp(path)
  return attempt()
}

/** Gives you read, write and search on each directory of yours at and under `path`; a link is never followed. */
async function openUp(path: string): Promise<void> {
  const stat = await lstat(path).catch(() => undefined)
  if (!stat?.isDirectory() || stat.uid !== process.getuid?.()) return
  if ((stat.mode & 0o700) !== 0o700) await chmod(path, (stat.mode & 0o7777) | 0o700).catch(() => undefined)
  for (const name of await readdir(path).catch(() => [] as string[])) await openUp(join(path, name))
}

/**
 * Empties `inside`, a tree mounted in the running container `name`, as root there: the host
 * deleting what the agent writes at that moment could be led out of the tree by a link swapped
 * in mid-way. Returns why it failed, if it did.
 */
export async function emptyInside(
  incus: Pick<IncusClient, 'capture' | 'execArgs'>,
  name: string,
  inside: string,
): Promise<string | undefined> {
  const run = await incus.capture(incus.execArgs(name, ['find', inside, '-mindepth', '1', '-delete']))
  return run.exitCode === 0 ? undefined : stderrReason(run.stderr)
}

/** Deletes what an earlier project of this name left there; refuses, saying how, where root inside made part of it. */
export async function clearLeftovers(dirs: string[], name: string): Promise<void> {
  const left = (await Promise.all(dirs.map(deleteTree))).flat()
  if (left.length > 0)
    throw new LeftoverError(
      `an earlier "${name}" left ${left.join(', ')}, made by root inside it and not yours to delete: \`sudo rm -rf ${left.join(' ')}\`, then try again`,
      {hint: `sudo rm -rf ${left.join(' ')}`},
    )
}
