import type { SshPool } from "../ssh/pool.ts";

/** A registered host as the remote providers need it. */
export interface HostInfo {
  /** the id the shared SshPool knows the host by */
  poolId: string;
  name: string;
  address: string;
  port: number;
  username: string;
  /** connecting as root: system units with `User=`; otherwise user units with lingering */
  isRoot: boolean;
  os: string | null;
  /** systemd | launchd | none, as the doctor found it */
  init: string | null;
}

/**
 * How providers reach registered hosts: one shared connection pool, and a lookup that refuses hosts whose key
 * is not confirmed or no longer matches (the pool itself refuses a changed key before authenticating).
 * Implemented over the store by src/hosts/directory.ts; tests can implement it over a bare SshPool.
 */
export interface HostAccess {
  readonly pool: SshPool;
  /** Resolves `hostName` in the bot's workspace and makes sure the pool has its current address, key and pin. */
  get(workspaceId: string, hostName: string): Promise<HostInfo>;
}
