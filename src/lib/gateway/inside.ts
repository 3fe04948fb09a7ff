/**
 * The container's end of the gateway: an Incus proxy device that listens on the container's
 * loopback and connects to the project's socket on the host (it needs no network interface),
 * and the proxy variables that point every session and the container's init at it. Pure.
 */
import {GATEWAY_LISTEN, GATEWAY_URL} from '../agents/credentials.js'
import type {DeviceMap} from '../incus/types.js'

export const GATEWAY_DEVICE = 'repoman-gateway'

/** Both spellings: curl, apt and most tools read the lower case, some only the upper. */
export const PROXY_VARIABLES = ['HTTPS_PROXY', 'HTTP_PROXY', 'NO_PROXY', 'https_proxy', 'http_proxy', 'no_proxy']

/** The proxy device of a container whose project's gateway socket is `socket`. */
export function gatewayDevice(socket: string): DeviceMap {
  return {
    [GATEWAY_DEVICE]: {
      type: 'proxy',
      bind: 'instance',
      listen: `tcp:${GATEWAY_LISTEN.host}:${GATEWAY_LISTEN.port}`,
      connect: `unix:${socket}`,
    },
  }
}

/** `environment.*` keys: every `incus exec` and the container's init get them. */
export function proxyEnvironment(): Record<string, string> {
  const values: Record<string, string> = {}
  for (const name of PROXY_VARIABLES)
    values[`environment.${name}`] = name.toLowerCase() === 'no_proxy' ? 'localhost,127.0.0.1,::1' : GATEWAY_URL
  return values
}

/** Whether `devices` (expanded) already reach the gateway at `socket`. */
export function hasGatewayDevice(devices: DeviceMap | undefined, socket: string): boolean {
  return devices?.[GATEWAY_DEVICE]?.connect === `unix:${socket}`
}
