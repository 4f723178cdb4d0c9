/**
 * Where a Docker bot's engine and files live: the local engine with the local disk, or the Docker engine of a
 * registered SSH host with that host's disk.
 *
 * - `EngineFiles` is the small file interface the provider writes through: `localFiles()` is the local fs (the
 *   provider's original behaviour, unchanged), `remoteFiles()` goes over the shared SshPool (SFTP for content,
 *   argv commands for mkdir/chmod/chown/rm/tail), so a remote bot's state dir, env file and config are written on
 *   the host whose engine bind-mounts them — never on the appliance.
 * - `RemoteEngines` keeps one dockerode client per host, created lazily: its transport is a pool forward
 *   (`pool.forward(id, { socketPath: /var/run/docker.sock })`, a listener on the appliance's 127.0.0.1 piped
 *   through `direct-streamlocal@openssh.com`). Every HTTP request to the engine opens a channel on the host's
 *   CURRENT pooled connection, so the client follows the pool's reconnects, and host-key pinning is the pool's.
 *   docker-modem's own SSH transport is not used: it has no host-key pinning.
 */

import { createHash, randomBytes } from "node:crypto";
import {
  chmodSync,
  chownSync,
  existsSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  realpathSync,
  renameSync,
  rmSync,
  unlinkSync,
  writeFileSync,
} from "node:fs";
import { Agent } from "node:http";
import { tmpdir } from "node:os";
import { dirname, join, posix } from "node:path";
import Dockerode from "dockerode";
import { type HostInfo, remoteLayout } from "../../src/hosts/host-access.ts";
import type { LocalForward } from "../../src/ssh/forward.ts";
import { assertSafePath } from "../checks.ts";
import { lastLines } from "../command-output.ts";
import { ProviderError } from "../provider.ts";
import { toProviderError } from "../ssh/errors.ts";
import { RemoteHost, type RemotePool, tailArgv } from "../ssh/remote-host.ts";
import { followFile } from "./logs.ts";
import { CONTAINER_GID, CONTAINER_UID } from "./spec.ts";

interface FileOwner {
  uid: number;
  gid: number;
}

export interface FilesLogger {
  warn(msg: string, fields?: Record<string, unknown>): void;
}

/** The file operations of the Docker provider, on the machine that runs the engine. */
export interface EngineFiles {
  /** "this machine" or "host nas", for messages */
  readonly where: string;
  /** joins path segments the way the engine's machine does */
  join(...parts: string[]): string;
  /** uid/gid 1000 when the files may be handed to the container's user (root); otherwise undefined */
  containerOwner(signal: AbortSignal): Promise<FileOwner | undefined>;
  /** creates `dir` (and parents) and makes it 0700, owned by `owner` when given */
  ensurePrivateDir(dir: string, owner: FileOwner | undefined, signal: AbortSignal): Promise<void>;
  /** atomic write (temp file + rename) with `mode`, owned by `owner` when given */
  writeAtomic(path: string, content: string, mode: number, owner: FileOwner | undefined, signal: AbortSignal): Promise<void>;
  /** the file's text, or null when it is missing */
  readText(path: string, signal: AbortSignal): Promise<string | null>;
  exists(path: string, signal: AbortSignal): Promise<boolean>;
  /** removes `dir` after checking it is a plain directory exactly two levels under `root` */
  purgeDir(dir: string, root: string, signal: AbortSignal): Promise<void>;
  /** tail + follow of a log file */
  followLog(path: string, opts: { follow: boolean; tail?: number }, signal: AbortSignal): AsyncIterable<string>;
}

// ---------------------------------------------------------------------------------------------- local

/** Atomic write (temp file + rename) with a mode and optionally an owner. */
function writeFileAtomic(path: string, content: string, mode: number, owner?: FileOwner): void {
  const tmp = `${path}.tmp-${process.pid}-${randomBytes(4).toString("hex")}`;
  try {
    writeFileSync(tmp, content, { mode, flag: "wx" });
    chmodSync(tmp, mode);
    if (owner) chownSync(tmp, owner.uid, owner.gid);
    renameSync(tmp, path);
  } catch (e) {
    try {
      unlinkSync(tmp);
    } catch {
      /* already gone */
    }
    throw e;
  }
}

/** The local disk (the local engine's bind mounts resolve here). */
export function localFiles(log: FilesLogger): EngineFiles {
  return {
    where: "this machine",
    join: (...parts) => join(...parts),
    async containerOwner() {
      if (process.getuid?.() === 0) return { uid: CONTAINER_UID, gid: CONTAINER_GID };
      if (process.getuid?.() !== CONTAINER_UID)
        log.warn("not running as root: the bot's state dir is not chowned to uid 1000, the gateway may be unable to write it");
      return undefined;
    },
    async ensurePrivateDir(dir, owner) {
      mkdirSync(dir, { recursive: true, mode: 0o700 });
      chmodSync(dir, 0o700);
      if (owner) chownSync(dir, owner.uid, owner.gid);
    },
    async writeAtomic(path, content, mode, owner) {
      writeFileAtomic(path, content, mode, owner);
    },
    async readText(path) {
      try {
        return readFileSync(path, "utf8");
      } catch {
        return null;
      }
    },
    async exists(path) {
      return existsSync(path);
    },
    async purgeDir(dir, root) {
      if (!existsSync(dir)) return;
      const st = lstatSync(dir);
      if (st.isSymbolicLink() || !st.isDirectory())
        throw new ProviderError(`refusing to purge ${dir}: it is not a plain directory`, "failed");
      const real = realpathSync(dir);
      const realRoot = realpathSync(root);
      if (dirname(dirname(real)) !== realRoot)
        throw new ProviderError(`refusing to purge ${dir}: it resolves outside ${realRoot}`, "failed");
      rmSync(dir, { recursive: true, force: true });
    },
    followLog: (path, opts, signal) => followFile(path, opts, signal),
  };
}

// ---------------------------------------------------------------------------------------------- remote

export interface RemoteFilesOptions {
  pool: RemotePool;
  host: HostInfo;
  log: FilesLogger;
  /** deadline of one command or transfer (default 30 s) */
  timeoutMs?: number;
}

/**
 * The disk of a registered host, over the pool: content over SFTP (atomic: temp file + rename), everything else
 * as argv commands. Paths must pass `assertSafePath` (absolute, letters, digits and `. _ + @ - /`): they also end
 * up in bind specs (`src:dst:rw`), where a colon or a space would change the meaning.
 */
export function remoteFiles(opts: RemoteFilesOptions): EngineFiles {
  const { pool, host, log } = opts;
  const timeoutMs = opts.timeoutMs ?? 30_000;
  const where = `host ${host.name}`;
  let uid: Promise<number> | undefined;

  const remote = new RemoteHost(pool, host.poolId, host.name, timeoutMs);
  const run = (argv: string[], signal: AbortSignal) => remote.run(argv, signal);
  const must = (argv: string[], signal: AbortSignal, what: string) => remote.must(argv, signal, what);
  const write = (path: string, content: string, mode: number, signal: AbortSignal) => remote.write(path, content, mode, signal);
  const owned = (owner: FileOwner) => `${owner.uid}:${owner.gid}`;

  return {
    where,
    join: (...parts) => posix.join(...parts),
    async containerOwner(signal) {
      uid ??= run(["id", "-u"], signal).then((r) => {
        const n = Number(r.stdout.trim());
        if (r.code !== 0 || !Number.isInteger(n))
          throw new ProviderError(`\`id -u\` failed on ${host.name}: ${lastLines(r.stderr, 3) || `exit ${r.code}`}`, "failed");
        return n;
      });
      uid.catch(() => (uid = undefined));
      const n = await uid;
      if (n === 0) return { uid: CONTAINER_UID, gid: CONTAINER_GID };
      if (n !== CONTAINER_UID) {
        log.warn(
          "the login user of the Docker host is not root: the bot's state dir is not chowned to uid 1000, the gateway may be unable to write it",
          { host: host.name, uid: n },
        );
      }
      return undefined;
    },
    async ensurePrivateDir(dir, owner, signal) {
      assertSafePath(dir, "bot state dir");
      await must(["mkdir", "-p", "-m", "0700", "--", dir], signal, `creating ${dir}`);
      await must(["chmod", "0700", "--", dir], signal, `securing ${dir}`);
      if (owner) await must(["chown", owned(owner), "--", dir], signal, `handing ${dir} to uid ${owner.uid}`);
    },
    async writeAtomic(path, content, mode, owner, signal) {
      assertSafePath(path, "file path");
      if (!owner) return write(path, content, mode, signal);
      // uploaded beside the target, chowned, then renamed over it: still atomic for a reader of the target
      const staged = `${path}.molthub-new`;
      await write(staged, content, mode, signal);
      try {
        await must(["chown", owned(owner), "--", staged], signal, `chown of ${staged}`);
        await must(["mv", "-f", "--", staged, path], signal, `renaming ${staged}`);
      } catch (e) {
        await run(["rm", "-f", "--", staged], AbortSignal.timeout(timeoutMs)).catch(() => {});
        throw e;
      }
    },
    readText: (path, signal) => remote.read(path, signal),
    async exists(path, signal) {
      assertSafePath(path, "path");
      return (await run(["test", "-e", path], signal)).code === 0;
    },
    async purgeDir(dir, root, signal) {
      assertSafePath(dir, "bot state dir");
      assertSafePath(root, "state root");
      if ((await run(["test", "-e", dir], signal)).code !== 0) return;
      if ((await run(["test", "-L", dir], signal)).code === 0 || (await run(["test", "-d", dir], signal)).code !== 0) {
        throw new ProviderError(`refusing to purge ${dir} on ${host.name}: it is not a plain directory`, "failed");
      }
      const real = (await must(["realpath", "--", dir], signal, `resolving ${dir}`)).stdout.trim();
      const realRoot = (await must(["realpath", "--", root], signal, `resolving ${root}`)).stdout.trim();
      if (posix.dirname(posix.dirname(real)) !== realRoot)
        throw new ProviderError(`refusing to purge ${dir} on ${host.name}: it resolves outside ${realRoot}`, "failed");
      await must(["rm", "-rf", "--", dir], signal, `purging ${dir}`);
    },
    async *followLog(path, o, signal) {
      assertSafePath(path, "log file");
      const tail = Math.max(0, Math.min(100_000, Math.floor(o.tail ?? 200)));
      try {
        yield* remote.stream(tailArgv(path, { follow: o.follow, tail }), signal);
      } catch (e) {
        if (signal.aborted) return;
        throw toProviderError(e, `logs from ${path} on ${host.name}`);
      }
    },
  };
}

/** Makes the dockerode client of a remote engine from its local forward (tests substitute a fake). */
export type RemoteEngineFactory = (forward: LocalForward, host: HostInfo) => Dockerode;

/**
 * Plain HTTP to the forward's loopback port: the bytes go to the host's Docker socket inside the SSH channel.
 * No keep-alive: a pooled HTTP connection would stay piped to the channel of a dropped SSH connection and fail the
 * next request (ECONNRESET); a fresh connection per request opens its channel on the pool's current connection.
 */
export const defaultRemoteEngine: RemoteEngineFactory = (forward) => {
  // docker-modem passes `agent` to http.request; @types/dockerode does not list it
  const opts: Dockerode.DockerOptions & { agent: Agent } = forward.path
    ? { socketPath: forward.path, agent: new Agent({ keepAlive: false }) }
    : { protocol: "http", host: "127.0.0.1", port: forward.port, agent: new Agent({ keepAlive: false }) };
  return new Dockerode(opts);
};

let privateDir: string | undefined;
/** A 0700 directory of this process for the engine sockets (created once, removed at exit). */
function engineSocketDir(): string {
  if (!privateDir) {
    privateDir = mkdtempSync(join(tmpdir(), "molthub-engines-")); // mkdtemp makes it 0700
    const dir = privateDir;
    process.once("exit", () => rmSync(dir, { recursive: true, force: true }));
  }
  return privateDir;
}

const DEFAULT_REMOTE_SOCKET = "/var/run/docker.sock";

interface RemoteEngineEntry {
  forward: LocalForward;
  docker: Dockerode;
}

/** One dockerode client per host (by pool id), over a pool forward to the host's Docker socket. */
export class RemoteEngines {
  private readonly entries = new Map<string, Promise<RemoteEngineEntry>>();

  constructor(
    private readonly pool: RemotePool,
    private readonly opts: { socketPath?: string; factory?: RemoteEngineFactory } = {},
  ) {}

  get socketPath(): string {
    return this.opts.socketPath ?? DEFAULT_REMOTE_SOCKET;
  }

  /** The host's engine client, creating its forward on first use (and again if it was closed). */
  async get(host: HostInfo): Promise<Dockerode> {
    for (;;) {
      const cur = this.entries.get(host.poolId);
      if (cur) {
        const e = await cur.catch(() => null);
        if (e && !e.forward.closed) return e.docker;
        if (this.entries.get(host.poolId) === cur) this.entries.delete(host.poolId);
        continue;
      }
      const p = (async () => {
        // a unix socket only this user can open: the engine is root-equivalent on the host, so no loopback port
        // a fresh name per forward: a closing forward removes its own socket file, never a newer one's
        const listenPath = join(
          engineSocketDir(),
          `${createHash("sha256").update(host.poolId).digest("hex").slice(0, 12)}-${randomBytes(4).toString("hex")}.sock`,
        );
        const forward = await this.pool.forward(host.poolId, { socketPath: this.socketPath }, { listenPath });
        try {
          return { forward, docker: (this.opts.factory ?? defaultRemoteEngine)(forward, host) };
        } catch (e) {
          await forward.close();
          throw e;
        }
      })();
      this.entries.set(host.poolId, p);
      p.catch(() => {
        if (this.entries.get(host.poolId) === p) this.entries.delete(host.poolId);
      });
      try {
        return (await p).docker;
      } catch (e) {
        throw toProviderError(e, `forwarding the Docker socket of host ${host.name}`);
      }
    }
  }

  /** Hosts with an open engine forward (pool ids). */
  open(): string[] {
    return [...this.entries.keys()];
  }

  async close(poolId: string): Promise<void> {
    const cur = this.entries.get(poolId);
    this.entries.delete(poolId);
    const e = await cur?.catch(() => null);
    await e?.forward.close();
  }

  async closeAll(): Promise<void> {
    await Promise.all([...this.entries.keys()].map((id) => this.close(id)));
  }
}

/** Where a remote host keeps Docker bots' state: `<base>/docker` (/var/lib/molthub/docker as root, ~/.molthub/docker otherwise). */
export function defaultRemoteRoot(host: HostInfo): string {
  return `${remoteLayout(host).base}/docker`;
}
