/** What `status` says about a container's agent homes: the old read-write share, or a home not mounted yet. */
import type {IncusInstance} from '../incus/types.js'
import {writableAgentState} from '../profiles/guard.js'
import {agentHomeDevice, agentHomesOf} from './home.js'

/** The command that installs a container's profiles again (the vendor ones no longer share agent dirs). */
export function reinstallCommand(profiles: string[] | undefined): string {
  const named = (profiles ?? []).filter((p) => p !== 'default')
  return `repoman profile install ${named.length > 0 ? named.join(' ') : '--all'}`
}

/** Pure: one problem per host agent dir mounted read-write, and per wanted home the container lacks. */
export function agentHomeProblems(name: string, instance: IncusInstance, home: string): string[] {
  const devices = instance.expanded_devices ?? instance.devices
  const reinstall = reinstallCommand(instance.profiles)
  const problems = writableAgentState({devices}, home).map(
    (e) =>
      `mounts ${e.path} read-write (${e.where}): the agent inside can make your host's agent run commands; \`repoman status ${name} --fix\` installs its profiles again and gives it a home of its own (or by hand: \`${reinstall}\`, then \`repoman agent refresh ${name}\`)`,
  )
  for (const agent of agentHomesOf(instance.expanded_config ?? instance.config))
    if (!devices[agentHomeDevice(agent)])
      problems.push(`has no ${agent} home of its own yet; \`repoman agent refresh ${name}\` seeds and mounts it`)
  return problems
}
