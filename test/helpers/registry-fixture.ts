/** Registries for unit tests: a valid schema-3 registry, with only what a test cares about given. */
import type {Defaults, HostRecord, ProjectEntry, Registry} from '../../src/lib/registry/schema.js'

export function testProject(name: string, fields: Partial<ProjectEntry> = {}): ProjectEntry {
  return {
    name,
    repo: name,
    image: 'img',
    profiles: ['default'],
    created: '2026-01-01T00:00:00Z',
    backup: true,
    ...fields,
  }
}

export function testRegistry(
  parts: {host?: Partial<HostRecord>; defaults?: Partial<Defaults>; projects?: ProjectEntry[]} = {},
): Registry {
  return {
    schema: 3,
    repoman: {output: 'quiet'},
    host: {lan_ip: '', user: 'dev', uid: 1000, gid: 1000, home: '/home/dev', ...parts.host},
    defaults: {
      repos_root: '/home/dev/repos',
      backup_root: '/nfs/repos',
      incus_project: 'repoman',
      default_image: 'img',
      profiles: ['default'],
      ...parts.defaults,
    },
    project: parts.projects ?? [],
  }
}
