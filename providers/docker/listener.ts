/**
 * The proof for a host-network container: is the socket listening on the bot's port one of the container's?
 *
 * A host-network container shares the host's network stack, so anything on the host can take the port first, and
 * a client trusting the number would hand it the gateway token. The check runs inside the container (one
 * `docker exec` through the engine API, so it works the same for a remote engine, with no SSH of its own): its
 * /proc/net/tcp{,6} is the host's table (same network namespace), while its /proc lists only the container's own
 * processes (own PID namespace). A listening socket whose inode no process in the container holds is someone
 * else's. On the local engine the holder is then named from the appliance's own /proc when it may see it.
 *
 * Bridge containers need none of this: the relay dials 127.0.0.1 inside the container's own network namespace,
 * where only the container's processes can listen.
 */
import type Dockerode from "dockerode";
import type { HostInfo } from "../../src/hosts/host-access.ts";
import { scrubSecrets } from "../command-output.ts";
import { guardedEndpoint, type RecentProofs } from "../guarded-endpoint.ts";
import { foreignListenerError, type PortHolder, portTakenLines, procListeners, reachesLoopback } from "../listener.ts";
import { describeProcess, processParents, readTcpTables, socketOwners } from "../proc-sockets.ts";
import { abortable, type Endpoint, ProviderError } from "../provider.ts";
import { parsePortOwners, portOwnersArgv } from "../ssh/port-owners.ts";
import type { RemotePool } from "../ssh/remote-host.ts";
import { containerLogs } from "./logs.ts";
import { FrameDemuxer } from "./stream.ts";

const FD_MARK = "-- molthub fds --";

/** Runs in the container as `sh -c SCRIPT sh <port>`: the table rows of the port, then every socket fd by pid. */
const LISTENER_SCRIPT = `grep -i -e "$(printf ':%04X ' "$1")" /proc/net/tcp /proc/net/tcp6 2>/dev/null
echo "${FD_MARK}"
ls -l /proc/[0-9]*/fd 2>/dev/null | grep -e '^/proc/' -e 'socket:'`;

/** The listeners of `port` from the script's output, each with the container pid holding it (if any). */
export function parseContainerListeners(stdout: string, port: number): PortHolder[] | null {
  const at = stdout.indexOf(FD_MARK);
  if (at < 0) return null;
  const holders = procListeners(stdout.slice(0, at), port);
  const owners = new Map<number, number>();
  let pid: number | undefined;
  for (const line of stdout.slice(at + FD_MARK.length).split("\n")) {
    const dir = /^\/proc\/(\d+)\/fd:/.exec(line);
    if (dir) pid = Number(dir[1]);
    const sock = /socket:\[(\d+)\]/.exec(line);
    if (sock && pid !== undefined && !owners.has(Number(sock[1]))) owners.set(Number(sock[1]), pid);
  }
  return holders.map((h) => (h.inode !== undefined && owners.has(h.inode) ? { ...h, pid: owners.get(h.inode) } : h));
}

async function execOutput(container: Dockerode.Container, cmd: string[], signal: AbortSignal): Promise<string> {
  const exec = await abortable(container.exec({ Cmd: cmd, AttachStdout: true, AttachStderr: true, Tty: false }), signal);
  const stream = await abortable(exec.start({ hijack: true, stdin: false }), signal);
  let out = "";
  const demux = new FrameDemuxer((kind, payload) => {
    if (kind === "stdout" && out.length < 1_000_000) out += payload.toString("utf8");
  });
  const done = new Promise<void>((resolve, reject) => {
    stream.on("data", (c: Buffer) => demux.push(c));
    stream.on("end", () => resolve());
    stream.on("close", () => resolve());
    stream.on("error", reject);
  });
  try {
    await abortable(done, signal);
  } finally {
    stream.destroy();
  }
  return out;
}

export interface HostNetworkEndpointOptions {
  container: Dockerode.Container;
  /** the container's name and id, for messages */
  containerName: string;
  bot: { id: string; name: string; port: number };
  /** the engine's host (a registered host's name), or undefined for the local engine */
  hostName?: string;
  /** where a proven connection goes: the port itself, a forward to it, or an exec relay */
  upstream: () => Promise<{ host: string; port: number }>;
  proofs: RecentProofs;
  /** the container's main pid (State.Pid), for the cache of recent proofs */
  mainPid: number;
}

/** Proves (or refuses) the bot's port for a host-network container; nothing listening passes only with `allowNone`. */
async function proveContainerPort(o: HostNetworkEndpointOptions, signal: AbortSignal, allowNone: boolean): Promise<void> {
  const cacheable = Number.isInteger(o.mainPid) && o.mainPid > 0;
  if (cacheable && o.proofs.fresh(o.bot.id) === o.mainPid) return;
  let stdout: string;
  try {
    stdout = await execOutput(o.container, ["sh", "-c", LISTENER_SCRIPT, "sh", String(o.bot.port)], signal);
  } catch (e) {
    if (e instanceof ProviderError) throw e;
    throw new ProviderError(
      `could not check who listens on port ${o.bot.port} from container ${o.containerName} (${(e as Error).message}), so the gateway token is not sent there; is the container running?`,
      "unreachable",
    );
  }
  const holders = parseContainerListeners(stdout, o.bot.port);
  if (!holders)
    throw new ProviderError(
      `could not check who listens on port ${o.bot.port} from container ${o.containerName} (its image needs sh, grep and ls), so the gateway token is not sent there`,
      "failed",
    );
  const relevant = holders.filter((h) => reachesLoopback(h.address));
  const foreign = relevant.filter((h) => h.pid === undefined);
  if (foreign.length) {
    throw foreignListenerError({
      bot: o.bot.name,
      port: o.bot.port,
      where: o.hostName ? `on host ${o.hostName}` : "on 127.0.0.1",
      host: o.hostName,
      holders: o.hostName ? foreign : nameLocally(foreign),
      expected: `a process of its container ${o.containerName}`,
    });
  }
  if (relevant.length) {
    if (cacheable) o.proofs.remember(o.bot.id, o.mainPid);
  } else if (!allowNone)
    throw new ProviderError(`the gateway of ${o.bot.name} is not listening on port ${o.bot.port} (yet)`, "unreachable");
}

/** Holders named from this machine's /proc (local engine): best effort, unnamed when not visible. */
function nameLocally(holders: PortHolder[]): PortHolder[] {
  const owners = socketOwners(new Set(holders.map((h) => h.inode ?? 0)), [], processParents());
  return holders.flatMap((h) => {
    const pids = h.inode ? (owners.get(h.inode) ?? []) : [];
    return pids.length ? pids.map((pid) => ({ ...h, pid, ...describeProcess(pid) })) : [h];
  });
}

/**
 * The endpoint of a host-network container: the port is proven to be the container's before this returns and
 * before every connection (see providers/guarded-endpoint.ts).
 */
export async function hostNetworkEndpoint(o: HostNetworkEndpointOptions, signal: AbortSignal): Promise<Endpoint> {
  await proveContainerPort(o, signal, true);
  return guardedEndpoint({ upstream: o.upstream, prove: (s) => proveContainerPort(o, s, false) });
}

/**
 * Whether `port` can be the bot's on its engine's host: with a running host-network container of the bot, nothing
 * but that container listens there (asked inside it); otherwise nothing listens there at all (this machine's /proc
 * for the local engine, `ss` over SSH for a remote one). A bridge container's port is in its own namespace: free.
 */
export async function enginePortFree(
  o: {
    port: number;
    network: string | undefined;
    /** the bot's running container, if any */
    container?: Dockerode.Container;
    remote?: { pool: RemotePool; host: HostInfo; timeoutMs: number };
  },
  signal: AbortSignal,
): Promise<boolean> {
  if (o.network !== "host") return true;
  if (o.container) {
    const out = await execOutput(o.container, ["sh", "-c", LISTENER_SCRIPT, "sh", String(o.port)], signal);
    const holders = parseContainerListeners(out, o.port);
    if (!holders) throw new ProviderError(`could not check port ${o.port} from the bot's container`, "failed");
    return !holders.some((h) => reachesLoopback(h.address) && h.pid === undefined);
  }
  if (!o.remote) return !procListeners(readTcpTables(), o.port).some((h) => reachesLoopback(h.address));
  const { pool, host, timeoutMs } = o.remote;
  const r = await pool.exec(host.poolId, portOwnersArgv(host.platform, o.port), { timeoutMs, signal });
  const parsed = r.code === 0 ? parsePortOwners(r.stdout, host.platform, o.port) : null;
  if (!parsed)
    throw new ProviderError(
      `could not tell who listens on port ${o.port} on ${host.name}: install iproute2 (\`ss\`) and procps there`,
      "failed",
    );
  return !parsed.holders.some((h) => reachesLoopback(h.address));
}

/** The container output's lines saying the gateway's port was taken (OpenClaw prints them to stderr), or undefined. */
export async function containerExitCause(container: Dockerode.Container, signal: AbortSignal): Promise<string | undefined> {
  const lines: string[] = [];
  try {
    for await (const l of containerLogs(container, { follow: false, tail: 60 }, signal)) lines.push(l);
  } catch {
    return undefined; // no container (any more), or the engine did not answer: nothing to say
  }
  const taken = portTakenLines(scrubSecrets(lines.join("\n"), {}));
  return taken.length ? taken.join("\n") : undefined;
}
