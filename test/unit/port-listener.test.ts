/**
 * The proof that a bot's port is held by the bot's own process, before a token goes there: the parsers of the
 * kernel's and the tools' views (providers/listener.ts, providers/ssh/port-owners.ts, providers/docker/listener.ts),
 * the verdict, and the remote service providers (against the recording pool): endpoint() refuses a foreign holder
 * on the host, accepts the unit's MainPID and its descendants, and the gateway's own "port taken" words are what
 * a failed start reports instead of "exit 78 (invalid config)".
 */
import { afterEach, describe, expect, it } from "vitest";
import { parseContainerListeners } from "../../providers/docker/listener.ts";
import {
  ForeignListenerError,
  inTree,
  judgeListeners,
  parseLsof,
  parseNetstatListeners,
  parseProcNetTcp,
  parseSs,
  portTakenLines,
  reachesLoopback,
} from "../../providers/listener.ts";
import type { BotRuntime } from "../../providers/provider.ts";
import { parsePortOwners } from "../../providers/ssh/port-owners.ts";
import { SystemdProvider } from "../../providers/systemd/provider.ts";
import { FakePool, fakeHosts, hostInfo, isPortOwners, portOwnersOutput } from "./provider-systemd-fake.ts";

const PORT = 18800; // 0x4970

describe("who holds a port", () => {
  it("reads /proc/net/tcp and tcp6 rows (little-endian words), with grep's file prefixes", () => {
    const rows = parseProcNetTcp(
      [
        "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode",
        "   0: 0100007F:4970 00000000:0000 0A 00000000:00000000 00:00000000 00000000  1000        0 4242 1 0000",
        "/proc/net/tcp:   1: 00000000:4970 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 77 1",
        "/proc/net/tcp6:   0: 00000000000000000000000001000000:4970 00000000000000000000000000000000:0000 0A 00000000:00000000 00:00000000 00000000 0 0 88 1",
        "   1: 0000000000000000FFFF00000100007F:4970 0000000000000000FFFF00000100007F:A77F 01 00000000:00000000 00:00000000 00000000 0 0 99 1",
      ].join("\n"),
    );
    expect(rows.map((r) => [r.address, r.port, r.state, r.inode])).toEqual([
      ["127.0.0.1", PORT, "0A", 4242],
      ["0.0.0.0", PORT, "0A", 77],
      ["::1", PORT, "0A", 88],
      ["::ffff:127.0.0.1", PORT, "01", 99],
    ]);
    expect(rows[3]!.remotePort).toBe(0xa77f);
  });

  it("counts only listeners a connection to 127.0.0.1 reaches", () => {
    expect(["127.0.0.1", "0.0.0.0", "*", "::", "[::]", "::ffff:127.0.0.1"].every(reachesLoopback)).toBe(true);
    expect(["::1", "127.0.0.2", "10.0.0.5", "[::1]"].some(reachesLoopback)).toBe(false);
  });

  it("parses ss -ltnpH: pids per sharing process, none for a socket it may not attribute", () => {
    const holders = parseSs(
      [
        'LISTEN 0      511        127.0.0.1:18800      0.0.0.0:*    users:(("node",pid=4100,fd=21),("node",pid=4101,fd=21))',
        "LISTEN 0      511            [::]:18800         [::]:*",
        'LISTEN 0      4096       127.0.0.1:18801      0.0.0.0:*    users:(("x",pid=1,fd=3))',
      ].join("\n"),
      PORT,
    );
    expect(holders).toEqual([
      { address: "127.0.0.1", pid: 4100, command: "node" },
      { address: "127.0.0.1", pid: 4101, command: "node" },
      { address: "::" },
    ]);
  });

  it("parses lsof -F and macOS netstat; a listener lsof cannot attribute stays, owner unknown", () => {
    expect(parseLsof("p42\ncpython3\nf5\nn127.0.0.1:18800\nf6\nn[::1]:18800\n", PORT)).toEqual([
      { address: "127.0.0.1", pid: 42, command: "python3" },
      { address: "::1", pid: 42, command: "python3" },
    ]);
    expect(
      parseNetstatListeners("tcp46      0      0  *.18800   *.*    LISTEN\ntcp4 0 0 127.0.0.1.22 *.* LISTEN\n", PORT),
    ).toEqual([{ address: "*" }]);
    const out = `p42\ncnode\nf5\nn127.0.0.1:18800\n-- molthub netstat --\ntcp4 0 0 127.0.0.1.18800 *.* LISTEN\ntcp46 0 0 *.18800 *.* LISTEN\n-- molthub ps --\n42 1 ana node\n`;
    expect(parsePortOwners(out, "darwin-arm64", PORT)!.holders).toEqual([
      { address: "127.0.0.1", pid: 42, command: "node", user: "ana" },
      { address: "*" },
    ]);
    // without the process table the answer is "cannot tell", never "nobody"
    expect(parsePortOwners("", "linux-x64", PORT)).toBeNull();
  });

  it("judges: the main pid and its descendants are the bot's; anything else, or anyone unknown, is foreign", () => {
    const parents = new Map([
      [78, 77],
      [79, 78],
      [500, 1],
    ]);
    expect(inTree(79, 77, parents)).toBe(true);
    expect(inTree(500, 77, parents)).toBe(false);
    expect(inTree(77, undefined, parents)).toBe(false);
    const ours = (p: number) => inTree(p, 77, parents);
    expect(judgeListeners([], ours)).toEqual({ state: "none" });
    expect(judgeListeners([{ address: "::1", pid: 500 }], ours)).toEqual({ state: "none" });
    expect(judgeListeners([{ address: "127.0.0.1", pid: 79 }], ours)).toEqual({ state: "ours", pids: [79] });
    expect(
      judgeListeners(
        [
          { address: "127.0.0.1", pid: 77 },
          { address: "0.0.0.0", pid: 500 },
        ],
        ours,
      ),
    ).toMatchObject({
      state: "foreign",
      foreign: [{ pid: 500 }],
    });
    expect(judgeListeners([{ address: "127.0.0.1" }], ours).state).toBe("foreign");
  });

  it("finds a container's listeners from inside it: a socket no container process holds is someone else's", () => {
    const out = [
      "/proc/net/tcp:   0: 0100007F:4970 00000000:0000 0A 00000000:00000000 00:00000000 00000000  1000  0 4242 1",
      "/proc/net/tcp:   1: 00000000:4970 00000000:0000 0A 00000000:00000000 00:00000000 00000000  1001  0 5555 1",
      "-- molthub fds --",
      "/proc/7/fd:",
      "lrwx------ 1 node node 64 Dec  2 10:00 21 -> socket:[4242]",
      "/proc/8/fd:",
      "lrwx------ 1 node node 64 Dec  2 10:00 3 -> socket:[9]",
    ].join("\n");
    expect(parseContainerListeners(out, PORT)).toEqual([
      { address: "127.0.0.1", inode: 4242, pid: 7 },
      { address: "0.0.0.0", inode: 5555 },
    ]);
  });

  it("picks OpenClaw's own words for a taken port out of a log tail", () => {
    const tail = [
      "starting",
      "Gateway failed to start: another gateway instance is already listening on ws://127.0.0.1:18800",
      "If the gateway is supervised, stop it with: openclaw gateway stop",
      "Port 18800 is already in use.",
      "- pid 4242 python3 (127.0.0.1:18800)",
      "bye",
    ].join("\n");
    expect(portTakenLines(tail)).toEqual([
      "Gateway failed to start: another gateway instance is already listening on ws://127.0.0.1:18800",
      "Port 18800 is already in use.",
      "- pid 4242 python3 (127.0.0.1:18800)",
    ]);
    expect(
      portTakenLines("gateway already running under systemd; existing gateway is healthy, exiting with code 78"),
    ).toHaveLength(1);
    expect(portTakenLines("Invalid config at gateway.port")).toEqual([]);
  });
});

function bot(over: Partial<BotRuntime> = {}): BotRuntime {
  return {
    id: "b0t-1d",
    name: "helper",
    workspaceId: "ws-1",
    target: { provider: "systemd", host: "nas", version: "2026.9.6" },
    port: PORT,
    config: { gateway: { port: PORT } },
    configHash: "h",
    env: { OPENCLAW_GATEWAY_TOKEN: "tok-secret-123456" },
    ...over,
  };
}

const RUNNING = "LoadState=loaded\nActiveState=active\nSubState=running\nMainPID=77\nExecMainCode=0\nExecMainStatus=0\n";

describe("a listener whose process this login cannot see", () => {
  it("is the bot's only when its socket belongs to the service's own non-root user", () => {
    const out = [
      "LISTEN 0 511 127.0.0.1:45131 0.0.0.0:* uid:1001 ino:81234 sk:1 cgroup:/system.slice/x.service <->",
      "-- molthub uids --",
      "  156  1001",
      "  200  1002",
      "-- molthub ps --",
      "  156     1 molthub  node",
    ].join("\n");
    const parsed = parsePortOwners(out, "linux-x64", 45131)!;
    expect(parsed.holders).toEqual([{ address: "127.0.0.1", uid: 1001 }]);
    expect(parsed.uids.get(156)).toBe(1001);
    const sameUser = (h: { uid?: number }) => h.uid === parsed.uids.get(156);
    expect(judgeListeners(parsed.holders, () => false, sameUser)).toEqual({ state: "ours", pids: [] });
    // without that proof (another user's socket, or no uid at all) it stays foreign
    expect(judgeListeners(parsed.holders, () => false).state).toBe("foreign");
    expect(judgeListeners([{ address: "127.0.0.1", uid: 1002 }], () => false, sameUser).state).toBe("foreign");
  });
});

describe("remote service providers prove the port before any token", () => {
  let pool: FakePool;
  afterEach(() => pool?.closeAll());

  const provider = (p: FakePool) => new SystemdProvider({ hosts: fakeHosts(p, [hostInfo()]), pollMs: 5, startupCheckMs: 5_000 });

  it("endpoint() refuses a foreign holder on the host, naming it, and opens nothing to it", async () => {
    pool = new FakePool((argv) => {
      if (argv.includes("show")) return { stdout: RUNNING };
      if (isPortOwners(argv)) return portOwnersOutput(PORT, { pid: 555, command: "python3", user: "bob" });
      return undefined;
    });
    const err = await provider(pool)
      .endpoint(bot(), AbortSignal.timeout(5_000))
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ForeignListenerError);
    expect(err).toMatchObject({ code: "foreign_listener", port: PORT });
    const msg = (err as Error).message;
    expect(msg).toContain("port 18800 on host nas is held by pid 555 (python3, user bob)");
    expect(msg).toContain("main pid is 77");
    expect(msg).toContain("kill 555");
    expect(msg).not.toMatch(/another port/);
    expect((err as ForeignListenerError).holder).toBe("pid 555 (python3, user bob)");
    expect(pool.forwards).toHaveLength(0);
  });

  it("a holder that descends from the unit's MainPID is the bot's; an unidentifiable one is not", async () => {
    let holder: Parameters<typeof portOwnersOutput>[1] = { pid: 78, parent: 77 };
    pool = new FakePool((argv) => {
      if (argv.includes("show")) return { stdout: RUNNING };
      if (isPortOwners(argv)) {
        if (!holder) return { stdout: `LISTEN 0 511 127.0.0.1:${PORT} 0.0.0.0:*\n-- molthub ps --\n1 0 root systemd\n` };
        return portOwnersOutput(PORT, holder);
      }
      return undefined;
    });
    const p = provider(pool);
    const ep = await p.endpoint(bot(), AbortSignal.timeout(5_000));
    expect((await fetch(`${ep.httpUrl}/healthz`)).status).toBe(200);
    await ep.close();
    holder = undefined;
    const err = await provider(pool)
      .endpoint(bot(), AbortSignal.timeout(5_000))
      .catch((e: unknown) => e);
    expect(err).toMatchObject({ code: "foreign_listener" });
    expect((err as Error).message).toContain("a process Molthub cannot identify (another user's: molt may not see its owner)");
  });

  it("per connection: a holder that changed after the endpoint was handed out gets no byte", async () => {
    let holder: { pid: number } | undefined; // nothing listens yet: the endpoint is handed out
    pool = new FakePool((argv) => {
      if (argv.includes("show")) return { stdout: RUNNING };
      if (isPortOwners(argv)) return portOwnersOutput(PORT, holder);
      return undefined;
    });
    const ep = await provider(pool).endpoint(bot(), AbortSignal.timeout(5_000));
    holder = { pid: 555 }; // then someone else binds the port
    await expect(fetch(`${ep.httpUrl}/healthz`, { signal: AbortSignal.timeout(5_000) })).rejects.toThrow();
    expect(ep.refusal?.()).toMatchObject({ code: "foreign_listener" });
    await ep.close();
  });

  it("start(): a taken port is reported as such, not as an invalid config (OpenClaw exits 78 under systemd)", async () => {
    let started = false;
    pool = new FakePool(
      (argv) => {
        if (argv.includes("enable")) started = true;
        if (argv.includes("show"))
          return {
            stdout: started
              ? "LoadState=loaded\nActiveState=failed\nSubState=failed\nMainPID=0\nExecMainCode=1\nExecMainStatus=78\n"
              : "LoadState=loaded\nActiveState=inactive\nSubState=dead\nMainPID=0\n",
          };
        return undefined;
      },
      () => [
        "Gateway failed to start: gateway already running under systemd; existing gateway is healthy, exiting with code 78 to prevent a systemd Restart=always loop",
      ],
    );
    const p = provider(pool);
    const err = await p.start(bot(), AbortSignal.timeout(5_000)).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: "foreign_listener" });
    expect((err as Error).message).toContain("gateway already running under systemd");
    expect((err as Error).message).not.toContain("rejected its configuration");
    expect(await p.exitCause(bot(), AbortSignal.timeout(5_000))).toContain("gateway already running under systemd");
  });

  it("start() refuses before starting the unit when the port is already held; portFree says so", async () => {
    pool = new FakePool((argv) => {
      if (argv.includes("show")) return { stdout: "LoadState=loaded\nActiveState=inactive\nSubState=dead\nMainPID=0\n" };
      if (isPortOwners(argv) && argv[4] === String(PORT)) return portOwnersOutput(PORT, { pid: 555, command: "nc" });
      return undefined;
    });
    const p = provider(pool);
    await expect(p.start(bot(), AbortSignal.timeout(5_000))).rejects.toMatchObject({ code: "foreign_listener" });
    expect(pool.commands().some((c) => c.includes("enable --now"))).toBe(false);
    expect(await p.portFree(bot(), PORT, AbortSignal.timeout(5_000))).toBe(false);
    expect(await p.portFree(bot(), PORT + 120, AbortSignal.timeout(5_000))).toBe(true);
  });
});
