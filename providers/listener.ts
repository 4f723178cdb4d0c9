/**
 * Who holds a gateway port, and whether that is the bot's own process.
 *
 * Why: a gateway port is only a number. If something else listens there (another user's process that bound it
 * first, a gateway whose unit was lost, a second host entry for the same machine), a client that trusts the
 * number sends the bot's gateway token to it in its `connect` frame. So before any connection carries a token,
 * each provider proves that every socket listening on the port (as far as a connection to 127.0.0.1 can reach
 * it) belongs to the bot's own process tree: the local child, the unit's MainPID, the LaunchAgent's pid, the
 * container's processes. What it cannot see (another user's socket it may not inspect) counts as foreign.
 *
 * This file holds the shared, pure part: parsers for the kernel's and the tools' views (`/proc/net/tcp{,6}`,
 * `ss -ltnpH`, `lsof -F`, macOS `netstat -an`, `ps`), the verdict, the typed error and the lines of a gateway's
 * output that say its port was taken. Providers gather the raw text their own way (files, SSH, docker exec).
 */
import { ProviderError } from "./provider.ts";

/** One listening TCP socket on the port, and who holds it when the tool could tell. */
export interface PortHolder {
  /** the local address as the tool shows it: 127.0.0.1, 0.0.0.0, ::, ::1, * */
  address: string;
  pid?: number;
  /** the process name (comm), never its argv: another process's arguments may carry its own secrets */
  command?: string;
  user?: string;
  /** the socket's inode (Linux), which identifies it while it is open */
  inode?: number;
  /** the socket owner's uid (Linux `ss -e`), known even when its process is hidden from this login */
  uid?: number;
}

export type ListenerVerdict =
  /** nothing that a connection to 127.0.0.1:<port> would reach listens there */
  | { state: "none" }
  /** every such listener is the bot's own process (or a descendant) */
  | { state: "ours"; pids: number[] }
  /** at least one is not (or could not be identified) */
  | { state: "foreign"; foreign: PortHolder[] };

/** Whether a socket listening on `address` receives connections made to 127.0.0.1 (what every endpoint uses). */
export function reachesLoopback(address: string): boolean {
  const a = address
    .replace(/^\[|\]$/g, "")
    .replace(/%.*$/, "")
    .toLowerCase();
  // `::` without IPV6_V6ONLY also takes IPv4; the tools cannot say which, so it counts
  return ["127.0.0.1", "0.0.0.0", "*", "::", "::ffff:127.0.0.1", "::ffff:0.0.0.0"].includes(a);
}

/** The verdict over the holders of one port; `isOurs` says whether a pid belongs to the bot. */
export function judgeListeners(
  holders: PortHolder[],
  isOurs: (pid: number) => boolean,
  /** for a holder whose process this login cannot see: whether its socket is still provably the bot's */
  unseenIsOurs: (h: PortHolder) => boolean = () => false,
): ListenerVerdict {
  const relevant = holders.filter((h) => reachesLoopback(h.address));
  if (!relevant.length) return { state: "none" };
  const foreign = relevant.filter((h) => (h.pid === undefined ? !unseenIsOurs(h) : !isOurs(h.pid)));
  if (foreign.length) return { state: "foreign", foreign };
  return { state: "ours", pids: [...new Set(relevant.flatMap((h) => (h.pid === undefined ? [] : [h.pid])))] };
}

/** Whether `pid` is `root` or descends from it, following `parents` (pid → ppid). */
export function inTree(pid: number, root: number | undefined, parents: Map<number, number>): boolean {
  if (!root || root <= 0) return false;
  let cur: number | undefined = pid;
  for (let i = 0; i < 64 && cur !== undefined && cur > 1; i++) {
    if (cur === root) return true;
    cur = parents.get(cur);
  }
  return cur === root;
}

// ------------------------------------------------------------------------------------------ kernel and tool views

/** One row of /proc/net/tcp or tcp6. */
export interface TcpRow {
  address: string;
  port: number;
  remoteAddress: string;
  remotePort: number;
  /** hex state: 0A is LISTEN, 01 ESTABLISHED */
  state: string;
  uid: number;
  inode: number;
}

function hexIpv4(hex: string): string {
  // one 32-bit word in host (little-endian) byte order
  const n = Number.parseInt(hex, 16);
  return [n & 255, (n >>> 8) & 255, (n >>> 16) & 255, (n >>> 24) & 255].join(".");
}

function hexIpv6(hex: string): string {
  const bytes: number[] = [];
  for (let w = 0; w < 4; w++) {
    const word = hex.slice(w * 8, w * 8 + 8);
    for (let b = 3; b >= 0; b--) bytes.push(Number.parseInt(word.slice(b * 2, b * 2 + 2), 16));
  }
  if (bytes.every((b) => b === 0)) return "::";
  if (bytes.slice(0, 15).every((b) => b === 0) && bytes[15] === 1) return "::1";
  if (bytes.slice(0, 10).every((b) => b === 0) && bytes[10] === 255 && bytes[11] === 255)
    return `::ffff:${bytes.slice(12).join(".")}`;
  const groups: string[] = [];
  for (let i = 0; i < 16; i += 2) groups.push(((bytes[i]! << 8) | bytes[i + 1]!).toString(16));
  return groups.join(":");
}

function hexEndpoint(s: string): { address: string; port: number } | null {
  const [addr, port] = s.split(":");
  if (!addr || !port) return null;
  const address = addr.length === 8 ? hexIpv4(addr) : addr.length === 32 ? hexIpv6(addr) : null;
  return address === null ? null : { address, port: Number.parseInt(port, 16) };
}

/**
 * Rows of /proc/net/tcp and /proc/net/tcp6 (any mix, header lines and `file:` prefixes from grep tolerated).
 * @example parseProcNetTcp("0: 0100007F:4970 00000000:0000 0A 00000000:00000000 00:00000000 00000000 1000 0 4242")
 */
export function parseProcNetTcp(text: string): TcpRow[] {
  const out: TcpRow[] = [];
  for (const raw of text.split("\n")) {
    const line = raw.replace(/^[^\s:]*tcp6?:/, "").trim();
    const f = line.split(/\s+/);
    if (f.length < 10 || !/^\d+:$/.test(f[0]!)) continue;
    const local = hexEndpoint(f[1]!);
    const remote = hexEndpoint(f[2]!);
    if (!local || !remote) continue;
    out.push({
      address: local.address,
      port: local.port,
      remoteAddress: remote.address,
      remotePort: remote.port,
      state: f[3]!.toUpperCase(),
      uid: Number(f[7]),
      inode: Number(f[9]),
    });
  }
  return out;
}

/** Listening rows on `port` from /proc/net/tcp{,6} text, as holders without owners yet. */
export function procListeners(text: string, port: number): PortHolder[] {
  return parseProcNetTcp(text)
    .filter((r) => r.state === "0A" && r.port === port)
    .map((r) => ({ address: r.address, inode: r.inode }));
}

/** Splits `addr:port` (`[::1]:18800`, `127.0.0.1%lo:18800`, `*:18800`) at the last colon. */
function splitHostPort(s: string): { address: string; port: number } | null {
  const i = s.lastIndexOf(":");
  if (i < 0) return null;
  const port = Number(s.slice(i + 1));
  if (!Number.isInteger(port)) return null;
  return {
    address: s
      .slice(0, i)
      .replace(/^\[|\]$/g, "")
      .replace(/%.*$/, ""),
    port,
  };
}

/**
 * `ss -ltnpH` lines: `LISTEN 0 511 127.0.0.1:18800 0.0.0.0:* users:(("node",pid=42,fd=21))`. A socket several
 * processes share gives one holder per process; one whose owner ss may not show (another user's) has no pid.
 */
export function parseSs(text: string, port: number): PortHolder[] {
  const out: PortHolder[] = [];
  for (const line of text.split("\n")) {
    const f = line.trim().split(/\s+/);
    if (f.length < 5 || f[0] !== "LISTEN") continue;
    const local = splitHostPort(f[3]!);
    if (!local || local.port !== port) continue;
    const users = [...line.matchAll(/\("((?:[^"\\]|\\.)*)",pid=(\d+),fd=\d+\)/g)];
    // `ss -e` prints the owner's uid (when not root) even where the process is hidden from this login
    const uid = /\buid:(\d+)/.exec(line);
    if (!users.length) out.push({ address: local.address, ...(uid ? { uid: Number(uid[1]) } : {}) });
    for (const u of users) out.push({ address: local.address, pid: Number(u[2]), command: u[1] });
  }
  return out;
}

/** `lsof -nP -iTCP:<port> -sTCP:LISTEN -F pcn` (macOS): p<pid>, c<command>, n<address:port> per socket. */
export function parseLsof(text: string, port: number): PortHolder[] {
  const out: PortHolder[] = [];
  let pid: number | undefined;
  let command: string | undefined;
  for (const line of text.split("\n")) {
    const tag = line[0];
    const v = line.slice(1).trim();
    if (tag === "p") {
      pid = Number(v);
      command = undefined;
    } else if (tag === "c") command = v;
    else if (tag === "n") {
      const local = splitHostPort(v.split("->")[0]!);
      if (local && local.port === port) out.push({ address: local.address, pid, command });
    }
  }
  return out;
}

/** macOS `netstat -an -p tcp` LISTEN lines (`tcp4 0 0 127.0.0.1.18800 *.* LISTEN`): every listener, owner unknown. */
export function parseNetstatListeners(text: string, port: number): PortHolder[] {
  const out: PortHolder[] = [];
  for (const line of text.split("\n")) {
    const f = line.trim().split(/\s+/);
    if (f.length < 6 || !f[0]!.startsWith("tcp") || !line.includes("LISTEN")) continue;
    const i = f[3]!.lastIndexOf(".");
    if (i < 0 || Number(f[3]!.slice(i + 1)) !== port) continue;
    out.push({ address: f[3]!.slice(0, i) });
  }
  return out;
}

export interface ProcessRow {
  pid: number;
  ppid: number;
  user: string;
  command: string;
}

/** `ps -e -o pid=,ppid=,user=,comm=` (Linux) or `ps -A -o pid=,ppid=,user=,comm=` (macOS). */
export function parsePs(text: string): Map<number, ProcessRow> {
  const out = new Map<number, ProcessRow>();
  for (const line of text.split("\n")) {
    const m = /^\s*(\d+)\s+(\d+)\s+(\S+)\s+(.*?)\s*$/.exec(line);
    if (m) out.set(Number(m[1]), { pid: Number(m[1]), ppid: Number(m[2]), user: m[3]!, command: m[4]! });
  }
  return out;
}

/** Fills in the command and user of holders from a process table. */
export function describeHolders(holders: PortHolder[], ps: Map<number, ProcessRow>): PortHolder[] {
  return holders.map((h) => {
    const p = h.pid === undefined ? undefined : ps.get(h.pid);
    return p ? { ...h, command: h.command ?? p.command, user: h.user ?? p.user } : h;
  });
}

// ------------------------------------------------------------------------------------------ the error

/**
 * The port is held by a process that is not the bot's: nothing was sent to it, and no token will be. `holders`
 * says who (pid, command, user) when the target let Molthub see it.
 */
export class ForeignListenerError extends ProviderError {
  override name = "ForeignListenerError";
  constructor(
    message: string,
    readonly port: number,
    readonly holders: PortHolder[],
  ) {
    super(message, "foreign_listener");
  }

  /** Who holds the port, in a few words for a timeline or an audit entry: "pid 42 (python3, user bob)". */
  get holder(): string {
    const named = [...new Map(this.holders.filter((h) => h.pid !== undefined).map((h) => [h.pid, h])).values()];
    if (!named.length) return "a process Molthub cannot identify";
    return named.map((h) => holderText(h)).join(" and ");
  }
}

function holderText(h: PortHolder, viewer?: string): string {
  if (h.pid === undefined)
    return `a process Molthub cannot identify${viewer ? ` (another user's: ${viewer} may not see its owner)` : ""}`;
  const user = h.user && (/^uid /.test(h.user) ? h.user : `user ${h.user}`);
  const about = [h.command, user].filter(Boolean).join(", ");
  return `pid ${h.pid}${about ? ` (${about})` : ""}`;
}

/**
 * The message for a foreign listener: where, who holds it, whose it should be, and what to do.
 *
 * @example
 * foreignListenerError({ bot: "helper", port: 18800, where: "on host nas", host: "nas",
 *   holders: [{ address: "127.0.0.1", pid: 42, command: "python3" }], expected: "unit molthub-helper.service, MainPID 4100" })
 */
export function foreignListenerError(opts: {
  bot: string;
  port: number;
  /** "on 127.0.0.1", "on host nas" */
  where: string;
  holders: PortHolder[];
  /** whose it should be: "its gateway, pid 4100", "none: the bot's gateway is not running" */
  expected: string;
  /** the machine to run `kill` on, for a remote host ("nas") */
  host?: string;
  /** the login that looked (for "cannot identify") */
  viewer?: string;
  /** an extra sentence of evidence, e.g. the gateway's own log line */
  cause?: string;
}): ForeignListenerError {
  const who = opts.holders.length ? opts.holders.map((h) => holderText(h, opts.viewer)).join(" and ") : "another process";
  const pids = [...new Set(opts.holders.filter((h) => h.pid !== undefined).map((h) => h.pid))];
  const on = opts.host ? ` on ${opts.host}` : "";
  const stop = pids.length
    ? `stop that process if it does not belong there (\`kill ${pids.join(" ")}\`${on})`
    : `find the process that holds port ${opts.port}${on} (as root: \`ss -ltnp 'sport = :${opts.port}'\` or \`lsof -iTCP:${opts.port}\`) and stop it if it does not belong there`;
  return new ForeignListenerError(
    `port ${opts.port} ${opts.where} is held by ${who}, not by bot ${opts.bot}'s gateway (${opts.expected}); ` +
      `Molthub sent it nothing and will not send the bot's gateway token there.${opts.cause ? ` ${opts.cause}` : ""} ` +
      `To fix: ${stop}; otherwise Molthub moves the bot to a free port (a restart, recorded in the audit log)`,
    opts.port,
    opts.holders,
  );
}

// ------------------------------------------------------------------------------------------ the gateway's own words

/** What OpenClaw prints when its port is taken (`GatewayLockError`, the systemd lock recovery, Node's EADDRINUSE). */
const PORT_TAKEN_RE =
  /another \S+ instance is already listening|gateway already running under|EADDRINUSE|address already in use|Port \d+ is already in use/i;

/**
 * The lines of a gateway's output that say its port was taken, with the port diagnostics OpenClaw prints under
 * them (`- pid 42 …`); empty when the output says nothing of the kind.
 */
export function portTakenLines(text: string, max = 6): string[] {
  const lines = text.split("\n");
  const out: string[] = [];
  for (let i = 0; i < lines.length; i++) {
    const l = lines[i]!.trim();
    if (!PORT_TAKEN_RE.test(l)) continue;
    if (!out.includes(l)) out.push(l);
    // OpenClaw's formatPortDiagnostics: "Port N is already in use." then "- <listener>" / "- <hint>" lines
    for (let j = i + 1; j < lines.length && /^\s*-\s/.test(lines[j]!); j++) {
      const d = lines[j]!.trim();
      if (!out.includes(d)) out.push(d);
    }
  }
  return out.slice(-max);
}
