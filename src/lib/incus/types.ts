/** The parts of Incus API objects repoman reads or writes. */
export type DeviceMap = Record<string, Record<string, string>>

export interface IncusServer {
  api_extensions: string[]
  environment: {
    server_version: string
    kernel_features?: Record<string, string>
  }
}

export interface IncusProject {
  name: string
  description: string
  config: Record<string, string>
}

export interface IncusStoragePool {
  name: string
  driver: string
  status: string
}

export interface IncusNetwork {
  name: string
  type: string
  managed: boolean
  config?: Record<string, string>
}

export interface IncusAcl {
  name: string
  description: string
  egress: Array<Record<string, string>>
  ingress: Array<Record<string, string>>
  config: Record<string, string>
  used_by?: string[]
}

export interface IncusInstance {
  name: string
  status: string
  type: string
  created_at: string
  profiles: string[]
  config: Record<string, string>
  devices: DeviceMap
  expanded_config?: Record<string, string>
  expanded_devices?: DeviceMap
}

export interface IncusSnapshot {
  name: string
  created_at: string
  stateful: boolean
}

export interface IncusProfile {
  name: string
  description: string
  config: Record<string, string>
  devices: DeviceMap
  used_by?: string[]
}

export type ProfileSpec = Omit<IncusProfile, 'used_by'>

/** A file (or directory) to place into an instance's root file system. */
export interface InstanceFile {
  /** Absolute path inside. */
  path: string
  /** A file's content; a directory has none. */
  content?: string
  type?: 'file' | 'directory'
  /** Owner and mode inside: root's, 0644 (0755 for a directory), unless given. */
  uid?: number
  gid?: number
  mode?: number
}

/** Reads and writes in one instance's file system, over one session (IncusClient.openFiles). */
export interface InstanceFiles {
  /**
   * A path's owner, mode and content (a directory's names, one a line; a symlink's target), as
   * the file API tells them, or undefined when nothing is there; `content: false` for the
   * stat alone.
   */
  read(path: string, options?: {content?: boolean}): Promise<(InstanceFileStat & {content: string}) | undefined>
  /**
   * Writes a file, or makes a directory, with the owner and mode given (root's, 0644 or 0755,
   * where not). Its directory must be there (else IncusNotFoundError); a directory that is
   * there already is left as it is.
   */
  write(file: InstanceFile): Promise<void>
  /** Ends the session once the daemon has let go of the file system (an instance can start then). */
  close(): Promise<void>
}

/** What the file API says about a path inside an instance (its content only when read). */
export interface InstanceFileStat {
  type: 'file' | 'directory' | 'symlink'
  uid: number
  gid: number
  mode: number
}

export interface InstanceSpec {
  name: string
  image: string
  profiles: string[]
  config: Record<string, string>
  devices: DeviceMap
}

/** An image as `/1.0/images?recursion=1` lists it (the fields repoman reads). */
export interface IncusImage {
  fingerprint: string
  aliases?: Array<{name: string}>
  properties?: Record<string, string>
}
