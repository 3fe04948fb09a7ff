/** The Incus side of network isolation: a project's own bridge and ACL (see network.ts for the rules). */

import {IncusNotFoundError, UsageError} from '../errors.js'
import {hostIpv4Cidrs} from '../host.js'
import type {IncusClient} from '../incus/client.js'
import type {DeviceMap, IncusInstance, IncusProfile} from '../incus/types.js'
import {substitute, templateVariables} from '../profiles/library.js'
import type {ProjectOverride} from '../registry/overrides.js'
import type {Registry} from '../registry/schema.js'
import type {Undo} from '../steps.js'
import {CONFIG_KEYS} from './containers.js'
import {aclNameFor, bridgeNameFor, checkNetworkMode, chooseSubnet, egressRules, type NetworkPolicy} from './network.js'

/** The project's policy: the override's [network], else [defaults].network and network_allow. */
export function resolvePolicy(registry: Registry, override: ProjectOverride, file: string): NetworkPolicy {
  const mode = checkNetworkMode(
    override.network?.mode ?? registry.defaults.network ?? 'open',
    override.network?.mode ? file : '[defaults].network',
  )
  const variables = templateVariables(registry.host, registry.defaults.idmap)
  const allow = (override.network?.allow ?? registry.defaults.network_allow ?? []).map((entry) =>
    substitute(entry, variables, override.network?.allow ? file : '[defaults].network_allow'),
  )
  return {mode, allow}
}

/**
 * The NIC device an isolated container's own bridge replaces. A second NIC from the profiles
 * would bypass the isolation, so it is refused rather than run open.
 */
export function nicToReplace(profiles: IncusProfile[], selected: string[]): string {
  const nics = profiles
    .filter((p) => selected.includes(p.name))
    .flatMap((p) =>
      Object.entries(p.devices)
        .filter(([, d]) => d.type === 'nic')
        .map(([device]) => ({device, profile: p.name})),
    )
  const names = [...new Set(nics.map((n) => n.device))]
  if (names.length > 1)
    throw new UsageError(
      `profiles add several NICs (${nics.map((n) => `${n.device} from ${n.profile}`).join(', ')}); an isolated project can have only the one repoman controls`,
    )
  return names[0] ?? 'eth0'
}

export interface Isolation {
  devices: DeviceMap
  config: Record<string, string>
}

/**
 * Creates the project's ACL and bridge, registering the removal of each right after it exists;
 * returns the NIC that puts the container on the bridge.
 */
export async function isolate(
  incus: Pick<IncusClient, 'project' | 'networks' | 'putAcl' | 'createNetwork' | 'deleteNetwork' | 'deleteAcl'>,
  name: string,
  policy: NetworkPolicy,
  nicDevice: string,
  onUndo: (undo: Undo) => void,
): Promise<Isolation> {
  const bridge = bridgeNameFor(incus.project, name)
  const acl = aclNameFor(name)
  const networks = await incus.networks()
  const subnet = chooseSubnet([...networks.map((n) => n.config?.['ipv4.address'] ?? ''), ...hostIpv4Cidrs()])
  await incus.putAcl({
    name: acl,
    description: `repoman: ${policy.mode} egress of "${name}"`,
    egress: egressRules(policy) as unknown as Array<Record<string, string>>,
    ingress: [],
    config: {},
  })
  onUndo(() => incus.deleteAcl(acl))
  await incus.createNetwork({
    name: bridge,
    type: 'bridge',
    description: `repoman: ${policy.mode} network of "${name}"`,
    config: {
      'ipv4.address': subnet,
      'ipv4.nat': 'true',
      'ipv6.address': 'none',
      'security.acls': acl,
      'security.acls.default.egress.action': 'reject',
      'security.acls.default.ingress.action': 'reject',
    },
  })
  onUndo(() => incus.deleteNetwork(bridge))
  return {
    devices: {[nicDevice]: {type: 'nic', network: bridge, name: 'eth0'}},
    config: {[CONFIG_KEYS.network]: bridge, [CONFIG_KEYS.networkMode]: policy.mode},
  }
}

/** Deletes an isolated project's bridge and ACL once its container is gone. */
export async function removeIsolation(
  incus: Pick<IncusClient, 'deleteNetwork' | 'deleteAcl'>,
  instance: IncusInstance,
): Promise<void> {
  const bridge = instance.config[CONFIG_KEYS.network]
  if (!bridge) return
  const ignoreMissing = (error: unknown) => {
    if (!(error instanceof IncusNotFoundError)) throw error
  }
  await incus.deleteNetwork(bridge).catch(ignoreMissing)
  await incus.deleteAcl(aclNameFor(instance.name)).catch(ignoreMissing)
}
