/**
 * The network setup gives a fresh Incus: a daemon the installer started (or one never
 * initialised) has no managed network, and a container without a NIC has only `lo`, so the
 * agent can reach neither its API nor a package mirror. Pure decisions; setup.ts runs them.
 */
import type {IncusNetwork} from '../incus/types.js'
import {chooseSubnet, isProjectBridge} from '../lifecycle/network.js'

/** The bridge setup creates: its name and the subnet to use when Incus cannot pick one itself. */
export interface BridgePlan {
  name: string
  /** The bridge's own address with prefix, e.g. 10.213.1.1/24, free on the host and in Incus. */
  subnet: string
}

const BRIDGE_PREFIX = 'repomanbr'

/**
 * A bridge to create when Incus has no managed network that is not a project's own: a name no
 * Incus network or host interface has (interfaces are host-wide, shared by every daemon), and a
 * subnet clear of the host's addresses and of every Incus network's.
 */
export function planBridge(networks: IncusNetwork[], hostInterfaces: string[], hostCidrs: string[]): BridgePlan {
  const taken = new Set([...networks.map((n) => n.name), ...hostInterfaces])
  let index = 0
  while (taken.has(`${BRIDGE_PREFIX}${index}`)) index++
  const subnet = chooseSubnet([...networks.map((n) => n.config?.['ipv4.address'] ?? ''), ...hostCidrs])
  return {name: `${BRIDGE_PREFIX}${index}`, subnet}
}

/** The managed networks a NIC on the default profile may use (not the isolated projects' bridges). */
export function sharedNetworks(networks: IncusNetwork[]): IncusNetwork[] {
  return networks.filter((n) => n.managed && !isProjectBridge(n.name))
}

/** The bridge's settings: Incus picks the subnet (`auto`), or the planned one is given. */
export function bridgeConfig(plan: BridgePlan, auto: boolean): Record<string, string> {
  return auto
    ? {'ipv4.address': 'auto', 'ipv4.nat': 'true', 'ipv6.address': 'none'}
    : {'ipv4.address': plan.subnet, 'ipv4.nat': 'true', 'ipv6.address': 'none'}
}
