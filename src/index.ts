/**
 * repoman's public library API, for plugins and scripts. Commands are thin; everything they do
 * is reachable from here.
 */
export {RepomanCommand, type RepomanContext} from './cli/command.js'
export * from './lib/errors.js'
export {IncusClient, type IncusClientOptions} from './lib/incus/client.js'
export type * from './lib/incus/types.js'
export {type RepomanPaths, resolvePaths} from './lib/paths.js'
export type {Defaults, HostRecord, ProjectEntry, Registry} from './lib/registry/schema.js'
export {RegistryStore} from './lib/registry/store.js'
