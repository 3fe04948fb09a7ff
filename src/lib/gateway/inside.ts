/**
 * The container's end of the gateway, one of two ways. On a systemd image: the project's socket
 * directory mounted read-only, and a systemd socket unit on the container's loopback whose
 * service (systemd-socket-proxyd) forwards each connection to that socket. It listens from the
 * first moments of the boot, so a session needs nothing more. Elsewhere: an Incus proxy device
 * that listens on the container's loopback and connects to the socket from the host; Incus
 * spends a second starting one, so the gateway or the first session adds it. Both need no
 * network interface, and the proxy variables point every session and the container's init at
 * either. Pure.
 */
import {dirname} from 'node:path'
import {GATEWAY_LISTEN, GATEWAY_URL} from '../agents/credentials.js'
import type {DeviceMap, InstanceFile} from '../incus/types.js'

export const GATEWAY_DEVICE = 'repoman-gateway'
export const GATEWAY_SOCKET_DEVICE = 'repoman-gateway-socket'
/** Where the project's socket directory is mounted inside (not under /run: systemd mounts over it). */
export const INSIDE_SOCKET_DIR = '/var/lib/repoman/gateway'
/** The socket's name in the project's socket directory, on the host as inside. */
export const SOCKET_NAME = 'gateway.sock'
/** `user.repoman.gateway`: `forwarder` (systemd socket unit) or `proxy` (Incus proxy device). */
export const GATEWAY_KEY = 'user.repoman.gateway'
export type GatewayWay = 'forwarder' | 'proxy'

/** Where images keep systemd's forwarder (merged /usr or not). */
export const SOCKET_PROXYD_PATHS = ['/usr/lib/systemd/systemd-socket-proxyd', '/lib/systemd/systemd-socket-proxyd']

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

/**
 * The forwarder's mount: the project's socket directory, read-only (the container can connect
 * to the socket, and create nothing on the host). Not required: a container still starts when
 * the directory is gone, only without its way out.
 */
export function gatewaySocketDevice(socket: string, shift: Record<string, string>): DeviceMap {
  return {
    [GATEWAY_SOCKET_DEVICE]: {
      type: 'disk',
      source: dirname(socket),
      path: INSIDE_SOCKET_DIR,
      readonly: 'true',
      required: 'false',
      ...shift,
    },
  }
}

/**
 * The forwarder's units, written before the first boot. The socket has no default dependencies,
 * so systemd listens before anything else starts; a drop-in on sockets.target pulls it in (a
 * plain file: the file API writes no symlinks).
 */
export function forwarderFiles(proxyd: string): InstanceFile[] {
  const unit = '/etc/systemd/system/repoman-gateway'
  const header = '# Written by repoman: the way out of this container is its gateway, on the host.'
  return [
    {
      path: `${unit}.socket`,
      content: [
        header,
        '[Unit]',
        'Description=repoman gateway',
        'DefaultDependencies=no',
        'Before=sockets.target',
        '[Socket]',
        `ListenStream=${GATEWAY_LISTEN.host}:${GATEWAY_LISTEN.port}`,
        '',
      ].join('\n'),
    },
    {
      path: `${unit}.service`,
      content: [
        header,
        '[Unit]',
        'Description=repoman gateway forwarder',
        'DefaultDependencies=no',
        '[Service]',
        `ExecStart=${proxyd} ${INSIDE_SOCKET_DIR}/${SOCKET_NAME}`,
        '',
      ].join('\n'),
    },
    {
      path: '/etc/systemd/system/sockets.target.d/repoman-gateway.conf',
      content: '[Unit]\nWants=repoman-gateway.socket\n',
    },
  ]
}

/** `environment.*` keys: every `incus exec` and the container's init get them. */
export function proxyEnvironment(): Record<string, string> {
  const values: Record<string, string> = {}
  for (const name of PROXY_VARIABLES)
    values[`environment.${name}`] = name.toLowerCase() === 'no_proxy' ? 'localhost,127.0.0.1,::1' : GATEWAY_URL
  return values
}

/**
 * Whether a container (its expanded config and devices) already reaches the gateway at `socket`:
 * through its forwarder and the socket's directory, or through a proxy device to that socket.
 */
export function reachesGateway(
  instance: {
    config?: Record<string, string>
    devices?: DeviceMap
    expanded_config?: Record<string, string>
    expanded_devices?: DeviceMap
  },
  socket: string,
): boolean {
  const config = instance.expanded_config ?? instance.config
  const devices = instance.expanded_devices ?? instance.devices
  if (config?.[GATEWAY_KEY] === 'forwarder') return devices?.[GATEWAY_SOCKET_DEVICE]?.source === dirname(socket)
  return devices?.[GATEWAY_DEVICE]?.connect === `unix:${socket}`
}
