// An example third-party command for repoman. It uses repoman's public library API (the
// registry and the Incus client), loaded from the repoman installation that runs the plugin.

import {join} from 'node:path'
import {pathToFileURL} from 'node:url'
import {Command, Flags} from '@oclif/core'

/** repoman's entry point (`repoman` in package.json exports), from the CLI running this plugin. */
async function repomanLibrary(config) {
  return import(pathToFileURL(join(config.root, 'dist', 'index.js')).href)
}

export default class ProjectsCount extends Command {
  static summary = 'Count projects per container state (example plugin).'
  static enableJsonFlag = true
  static flags = {
    offline: Flags.boolean({description: 'Only read the registry; do not ask Incus.'}),
  }

  async run() {
    const {flags} = await this.parse(ProjectsCount)
    const {RegistryStore, IncusClient, resolvePaths} = await repomanLibrary(this.config)
    const registry = await RegistryStore.of(resolvePaths()).read()
    const counts = {registered: registry.project.length}
    if (!flags.offline) {
      const incus = new IncusClient({project: registry.defaults.incus_project})
      for (const instance of await incus.listInstances()) {
        const state = instance.status.toLowerCase()
        counts[state] = (counts[state] ?? 0) + 1
      }
    }
    this.log(
      Object.entries(counts)
        .map(([k, v]) => `${k}: ${v}`)
        .join('\n'),
    )
    return counts
  }
}
