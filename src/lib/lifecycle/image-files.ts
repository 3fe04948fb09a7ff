/**
 * What `new` reads of a created container before its first boot (its account files, /etc/skel,
 * where bash and visudo are), kept per image. Until a container first boots, those files are
 * its image's, and an image is what its fingerprint hashes, so the second `new` from an image
 * reads them from here instead of from the container (about 15 reads). Paths the image's
 * templates render at creation differ from one container to the next: they are never kept.
 */
import {mkdirSync, readFileSync, renameSync, writeFileSync} from 'node:fs'
import {dirname, join} from 'node:path'
import type {IncusClient} from '../incus/client.js'
import type {InstanceFiles} from '../incus/types.js'
import type {StatedFile} from './preboot-plan.js'

/** The reads `prebootAccount` makes; undefined where there is nothing. */
export interface BootReader {
  read(path: string): Promise<StatedFile | undefined>
  stat(path: string): Promise<StatedFile | undefined>
}

interface ImageFilesRecord {
  version: 1
  /** The paths the image's templates render (read every time, never kept). */
  templates: string[]
  /** `read PATH` or `stat PATH`: what it gave, null for nothing there. */
  files: Record<string, StatedFile | null>
}

export function imageFilesFile(cacheDir: string, fingerprint: string): string {
  return join(cacheDir, 'images', `${fingerprint}.json`)
}

/** A path whose content a template may make or change (itself, or, for a directory's names, something in it). */
export function templated(templates: string[], path: string): boolean {
  return templates.some((target) => target === path || target.startsWith(`${path}/`))
}

function loadRecord(file: string): ImageFilesRecord | undefined {
  try {
    const record = JSON.parse(readFileSync(file, 'utf8')) as ImageFilesRecord
    return record.version === 1 && Array.isArray(record.templates) && typeof record.files === 'object'
      ? record
      : undefined
  } catch {
    return undefined
  }
}

/** What the record of an image says a stat of each path found: null for nothing there, undefined when never asked. */
export function recordedStats(file: string, paths: string[]): Array<StatedFile | null | undefined> {
  const record = loadRecord(file)
  return paths.map((path) => record?.files[`stat ${path}`])
}

/**
 * A reader of the never-booted container `name` (its `files`) that answers from the record of
 * its image in `file` where it can, and `save()`, which adds what it had to read to that
 * record (a failure to save costs only the next `new` its speed).
 */
export function imageFileReader(
  incus: Pick<IncusClient, 'instanceTemplates'>,
  files: Pick<InstanceFiles, 'read'>,
  name: string,
  file: string,
): {reader: BootReader; save(): Promise<void>} {
  const record = loadRecord(file)
  // Only a record's first filling asks which paths the templates render.
  const templates = record ? Promise.resolve(record.templates) : incus.instanceTemplates(name).catch(() => undefined)
  const learned = new Map<string, StatedFile | null>()
  const lookup = (kind: 'read' | 'stat') => async (path: string) => {
    const key = `${kind} ${path}`
    const kept = record && !templated(record.templates, path) ? record.files[key] : undefined
    if (kept !== undefined) return kept ?? undefined
    const found = await files.read(path, {content: kind === 'read'})
    learned.set(key, found ?? null)
    return found
  }
  return {
    reader: {read: lookup('read'), stat: lookup('stat')},
    async save() {
      const paths = await templates
      if (learned.size === 0 || paths === undefined) return
      const files = {...record?.files}
      for (const [key, found] of learned) if (!templated(paths, key.slice(key.indexOf(' ') + 1))) files[key] = found
      try {
        mkdirSync(dirname(file), {recursive: true, mode: 0o700})
        const temporary = `${file}.${process.pid}`
        // The image's shadow files are in it: for this user alone, as the image store is root's.
        const text = `${JSON.stringify({version: 1, templates: paths, files} satisfies ImageFilesRecord)}\n`
        writeFileSync(temporary, text, {mode: 0o600})
        renameSync(temporary, file)
      } catch {
        // Only speed is lost.
      }
    },
  }
}
