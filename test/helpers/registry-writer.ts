/** Run as a child process by the lock test: adds projects to a registry, one update each. */
import {RegistryStore} from '../../src/lib/registry/store.js'

const [file, prefix, count] = process.argv.slice(2) as [string, string, string]
const store = new RegistryStore(file, {hostUser: () => ({user: 'u', uid: 1, gid: 1, home: '/h'}), lanIp: () => ''})
for (let i = 0; i < Number(count); i++) {
  await store.update((registry) => {
    registry.project.push({
      name: `${prefix}-${i}`,
      repo: `${prefix}-${i}`,
      image: 'i',
      profiles: [],
      created: new Date().toISOString(),
      backup: true,
    })
  })
}
