/** Reads a registry in a process of its own, through the parse cache, and prints it as JSON. */
import {RegistryStore} from '../../src/lib/registry/store.js'

const [file, parseCacheFile, user] = process.argv.slice(2) as [string, string, string]
const store = new RegistryStore(file, {
  hostUser: () => ({user, uid: 1, gid: 1, home: '/h'}),
  lanIp: () => '',
  parseCacheFile,
})
process.stdout.write(JSON.stringify(await store.read()))
