/**
 * A fake of the pool interface the remote providers use (RemotePool): records every argv, env and file, answers
 * from a responder, and validates each command exactly like the real pool (buildRemoteCommand quotes it or refuses
 * it), so tests see what would have reached the host. `forward` serves a real /healthz on 127.0.0.1.
 */
import { createServer, type Server } from "node:http";
import type { RemotePool } from "../../providers/ssh/remote-host.ts";
import type { HostAccess, HostInfo } from "../../src/hosts/host-access.ts";
import type { LocalForward } from "../../src/ssh/forward.ts";
import type { ExecResult, SshPool } from "../../src/ssh/pool.ts";
import { buildRemoteCommand } from "../../src/ssh/quote.ts";

export interface Call {
  host: string;
  argv: string[];
  env?: Record<string, string>;
  /** the command line the real pool would send */
  line: string;
}

export type Responder = (argv: string[], call: Call) => Partial<ExecResult> | undefined;

export class FakePool implements RemotePool {
  calls: Call[] = [];
  files = new Map<string, { data: string; mode: number }>();
  streams: Call[] = [];
  forwards: LocalForward[] = [];
  private servers: Server[] = [];
  constructor(
    public respond: Responder = () => undefined,
    public streamLines: (argv: string[]) => string[] = () => [],
  ) {}

  async exec(
    host: string,
    argv: readonly string[],
    opts: { env?: Record<string, string>; signal?: AbortSignal; timeoutMs?: number } = {},
  ): Promise<ExecResult> {
    if (!opts.timeoutMs || opts.timeoutMs <= 0) throw new Error(`exec without a timeout: ${argv.join(" ")}`);
    if (!opts.signal) throw new Error(`exec without a signal: ${argv.join(" ")}`);
    const line = buildRemoteCommand(argv, opts.env); // throws like the real pool
    const call: Call = { host, argv: [...argv], env: opts.env, line };
    this.calls.push(call);
    // the port-owners script (providers/ssh/port-owners.ts) answers "nobody listens" unless the responder says more
    const fallback = isPortOwners(argv) ? portOwnersOutput(Number(argv[4])) : {};
    return { code: 0, signal: null, stdout: "", stderr: "", ...fallback, ...(this.respond([...argv], call) ?? {}) };
  }

  async *execStream(
    host: string,
    argv: readonly string[],
    opts: { env?: Record<string, string>; signal?: AbortSignal; timeoutMs?: number } = {},
  ): AsyncGenerator<string, void, undefined> {
    const line = buildRemoteCommand(argv, opts.env);
    this.streams.push({ host, argv: [...argv], line });
    for (const l of this.streamLines([...argv])) yield l;
  }

  async sftpWrite(_host: string, path: string, data: string | Buffer, mode = 0o600): Promise<void> {
    if (path.includes("\0")) throw new Error("invalid remote path");
    this.files.set(path, { data: data.toString(), mode });
  }

  async sftpRead(_host: string, path: string): Promise<Buffer> {
    const f = this.files.get(path);
    if (!f) {
      const { SshError } = await import("../../src/ssh/pool.ts");
      throw new SshError("sftp", `No such file (${path})`);
    }
    return Buffer.from(f.data);
  }

  async forward(): Promise<LocalForward> {
    const server = createServer((req, res) => {
      res.writeHead(req.url === "/healthz" || req.url === "/readyz" ? 200 : 404, { "content-type": "application/json" });
      res.end('{"ok":true}');
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()));
    this.servers.push(server);
    const addr = server.address();
    let closed = false;
    const fwd: LocalForward = {
      port: addr && typeof addr === "object" ? addr.port : 0,
      target: "fake",
      active: 0,
      get closed() {
        return closed;
      },
      close: async () => {
        closed = true;
        await new Promise<void>((r) => server.close(() => r()));
      },
    };
    this.forwards.push(fwd);
    return fwd;
  }

  async closeAll(): Promise<void> {
    for (const s of this.servers) await new Promise<void>((r) => s.close(() => r()));
    this.servers = [];
  }

  /** argv of every command run, as strings for easy matching */
  commands(): string[] {
    return this.calls.map((c) => c.argv.join(" "));
  }
}

export function fakeHosts(pool: FakePool, infos: HostInfo[]): HostAccess {
  const byName = new Map(infos.map((i) => [i.name, i]));
  return {
    pool: pool as unknown as SshPool,
    async get(_ws, name) {
      const i = byName.get(name);
      if (!i) throw new Error(`no host ${name}`);
      return i;
    },
    lookup: (_ws, name) => byName.get(name),
  };
}

export function hostInfo(over: Partial<HostInfo> = {}): HostInfo {
  return {
    poolId: "h1",
    name: "nas",
    address: "127.0.0.1",
    port: 22,
    username: "molt",
    isRoot: false,
    os: "debian",
    init: "systemd",
    home: "/home/molt",
    platform: "linux-x64",
    ...over,
  };
}

/** The command-injection payloads (the table of test/integration/ssh-transport.test.ts, plus NUL). */
export const PAYLOADS: string[] = [
  "; touch /tmp/pwned",
  "$(touch /tmp/pwned)",
  "`touch /tmp/pwned`",
  "\ntouch /tmp/pwned",
  "& touch /tmp/pwned",
  "| touch /tmp/pwned",
  "> /tmp/pwned",
  "a;b",
  "`id`",
  "$(id)",
  "&& echo and",
  "|| echo or",
  "line1\nline2",
  "cr\rcr",
  "\r\n",
  "-rf",
  "--foo=bar",
  "-",
  "--",
  "'",
  "'\\''",
  '"',
  '"$HOME"',
  "it's",
  "a b  c",
  " spaced ",
  "\ttab",
  "*",
  "/etc/*",
  "?",
  "[a-z]",
  "{a,b}",
  "~",
  "~root",
  "$HOME",
  "${HOME}",
  "$((1+1))",
  "\\",
  "!",
  "#comment",
  "a=b",
  "2>&1",
  "ünïcødé ✓",
  "",
  "nul\0byte",
  "%h%n",
  "</string><key>x</key>",
  "]]>",
  "&amp;",
  "\nExecStartPre=/bin/touch /tmp/pwned",
  "x\n[Service]\nUser=root",
];

/** Whether argv is the one-exec port check of providers/ssh/port-owners.ts (`sh -c <script> sh <port>`). */
export function isPortOwners(argv: readonly string[]): boolean {
  return argv[0] === "sh" && argv[1] === "-c" && (argv[2] ?? "").includes("-- molthub ps --");
}

/**
 * What that check prints on a Linux (or, with `darwin`, a macOS) host where `holder` listens on 127.0.0.1:`port`
 * (nobody when absent); `parent` is the holder's parent pid, so a test can make it a child of the unit's MainPID.
 */
export function portOwnersOutput(
  port: number,
  holder?: { pid: number; parent?: number; command?: string; user?: string },
  platform: "linux" | "darwin" = "linux",
): { stdout: string } {
  const ps = ["    1     0 root     systemd", "  900     1 molt     sshd"];
  if (holder) ps.push(`${holder.pid} ${holder.parent ?? 1} ${holder.user ?? "molt"} ${holder.command ?? "node"}`);
  if (platform === "darwin") {
    const lsof = holder ? `p${holder.pid}\nc${holder.command ?? "node"}\nf21\nn127.0.0.1:${port}\n` : "";
    const netstat = holder ? `tcp4       0      0  127.0.0.1.${port}        *.*                    LISTEN\n` : "";
    return { stdout: `${lsof}-- molthub netstat --\n${netstat}-- molthub ps --\n${ps.join("\n")}\n` };
  }
  const ss = holder
    ? `LISTEN 0      511        127.0.0.1:${port}      0.0.0.0:*    users:(("${holder.command ?? "node"}",pid=${holder.pid},fd=21))\n`
    : "";
  return { stdout: `${ss}-- molthub ps --\n${ps.join("\n")}\n` };
}
