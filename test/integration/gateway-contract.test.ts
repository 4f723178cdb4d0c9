/**
 * Contract of GatewayClient against ONE real OpenClaw gateway (started once, on loopback, offline).
 *
 * Needs the OpenClaw fixture install (test/infra/fixtures.sh). Without it the suite is skipped with the reason,
 * except under CI, where a missing install fails the run instead of silently passing.
 */
import { readFileSync, renameSync, writeFileSync } from "node:fs";
import { afterAll, beforeAll, expect, it } from "vitest";
import { GatewayClient } from "../../src/gateway/client.ts";
import { generateDeviceIdentity } from "../../src/gateway/identity.ts";
import { probeHealthz, probeReadyz } from "../../src/gateway/probe.ts";
import { type EventFrame, type HelloOk, parseLogLine } from "../../src/gateway/protocol.ts";
import { describeWithComponent } from "../infra/components.ts";
import { type GatewayProcess, OPENCLAW_VERSION, openClawInstallProblem, startGatewayProcess } from "../infra/gateway-process.ts";

const installProblem = openClawInstallProblem();

// a missing install fails the run under CI and skips (saying why) elsewhere
describeWithComponent(
  `gateway contract against OpenClaw ${OPENCLAW_VERSION}`,
  installProblem ? { name: "openclaw", available: false, reason: installProblem, hint: "bash test/infra/fixtures.sh" } : true,
  contract,
);

function contract(): void {
  let gw: GatewayProcess;
  let client: GatewayClient;
  let hello: HelloOk;
  const events: EventFrame[] = [];
  const timings: Record<string, number> = {};

  beforeAll(async () => {
    gw = await startGatewayProcess();
    timings.startToReadyMs = gw.readyMs;
    client = new GatewayClient({
      url: gw.url,
      token: gw.token,
      identity: generateDeviceIdentity(),
      connectTimeoutMs: 60_000,
      requestTimeoutMs: 30_000,
      onEvent: (event) => {
        if (event.event !== "tick") events.push(event);
      },
    });
    const started = performance.now();
    hello = await client.connect();
    timings.helloOkMs = Math.round(performance.now() - started);
  });

  afterAll(async () => {
    await client?.close();
    if (client) expect(client.debugCounts()).toEqual({ timers: 0, pending: 0, waiters: 0, sockets: 0 });
    await gw?.stop();
    console.info(`gateway contract timings: ${JSON.stringify(timings)}`);
  });

  it("handshakes as gateway-client/backend with a signed device and keeps full scopes", () => {
    expect(hello.server.version).toBe(OPENCLAW_VERSION);
    expect(hello.server.bootId).toMatch(/^[0-9a-f-]{36}$/);
    expect(hello.auth.role).toBe("operator");
    expect(hello.auth.scopes).toEqual(expect.arrayContaining(["operator.read", "operator.admin"]));
    expect(hello.snapshot.appliedConfigHash).toMatch(/^hmac-sha256:v1:/);
    expect(hello.policy.tickIntervalMs).toBeGreaterThan(0);
    for (const method of [
      "health",
      "status",
      "config.get",
      "config.patch",
      "logs.tail",
      "channels.status",
      "usage.cost",
      "gateway.restart.request",
    ]) {
      expect(hello.features.methods).toContain(method);
    }
    // The reserved local backend path keeps scopes without a pairing record, so no device token is issued.
    expect(client.deviceToken).toBeUndefined();
  });

  it("a cli/cli identity on loopback is silently paired and gets a device token", async () => {
    const cli = new GatewayClient({
      url: gw.url,
      token: gw.token,
      identity: generateDeviceIdentity(),
      clientInfo: { id: "cli", mode: "cli" },
      connectTimeoutMs: 30_000,
    });
    try {
      const cliHello = await cli.connect();
      expect(cliHello.auth.scopes).toEqual(expect.arrayContaining(["operator.read", "operator.admin"]));
      expect(cliHello.auth.deviceToken).toMatch(/.{16,}/);
    } finally {
      await cli.close();
    }
  });

  it("probes /healthz and /readyz", async () => {
    expect(await probeHealthz(gw.httpUrl)).toMatchObject({ ok: true, status: 200, body: { ok: true } });
    expect(await probeReadyz(gw.url)).toMatchObject({ ok: true, status: 200, body: { ready: true } });
  });

  it("health and status", async () => {
    expect((await client.health()).ok).toBe(true);
    const status = await client.status();
    expect(status.runtimeVersion).toBe(OPENCLAW_VERSION);
    expect(status.pid).toBe(gw.pid); // OPENCLAW_NO_RESPAWN=1: in-process restarts keep the PID
    expect(status.processMemory?.rssBytes).toBeGreaterThan(0);
  });

  it("config.get: the saved config is the applied one", async () => {
    const cfg = await client.configGet();
    expect(cfg.exists).toBe(true);
    expect(cfg.valid).toBe(true);
    expect(cfg.path).toBe(gw.configPath);
    expect(cfg.hash).toMatch(/^hmac-sha256:v1:/);
    expect(cfg.configRevisionHash).toBe(cfg.appliedConfigHash);
    expect(cfg.appliedConfigHash).toBe(hello.snapshot.appliedConfigHash);
    // Secrets come back redacted.
    expect(JSON.stringify(cfg)).not.toContain(gw.token);
  });

  it("config.patch on a hot path is applied live before it returns", async () => {
    const lookup = await client.configSchemaLookup("agents.defaults.model");
    expect(lookup.reloadKind).toBe("hot");
    const bootBefore = client.bootId;
    const started = performance.now();
    const result = await client.configPatch(
      { agents: { defaults: { model: "openai/gpt-4o-mini" } } },
      { note: "molthub contract test" },
    );
    timings.configPatchAppliedMs = Math.round(performance.now() - started);
    expect(result.ok).toBe(true);
    expect(result.staleRetried).toBe(false);
    expect(result.changedPaths).toContain("agents.defaults.model");
    const cfg = await client.configGet();
    expect(cfg.hash).toBe(result.hash);
    expect((cfg.config as { agents: { defaults: { model: string } } }).agents.defaults.model).toBe("openai/gpt-4o-mini");
    expect(cfg.configRevisionHash).toBe(cfg.appliedConfigHash);
    expect(client.bootId).toBe(bootBefore);
  });

  it("config.patch with a stale baseHash is retried once on the fresh hash", async () => {
    const stale = (await client.configGet()).hash;
    await client.configPatch({ agents: { defaults: { timeoutSeconds: 321 } } });
    const result = await client.configPatch({ agents: { defaults: { timeoutSeconds: 654 } } }, { baseHash: stale });
    expect(result.staleRetried).toBe(true);
    const cfg = await client.configGet();
    expect((cfg.config as { agents: { defaults: { timeoutSeconds: number } } }).agents.defaults.timeoutSeconds).toBe(654);
    expect(cfg.configRevisionHash).toBe(cfg.appliedConfigHash);
  });

  it("config.patch with a stale baseHash fails without the retry when asked to", async () => {
    const stale = (await client.configGet()).hash;
    await client.configPatch({ agents: { defaults: { timeoutSeconds: 111 } } });
    await expect(
      client.configPatch({ agents: { defaults: { timeoutSeconds: 222 } } }, { baseHash: stale, retryOnStale: false }),
    ).rejects.toMatchObject({
      code: "INVALID_REQUEST",
      detailCode: undefined,
    });
  });

  it("logs.tail follows the log with its cursor", async () => {
    const first = await client.logsTail({ limit: 20 });
    expect(first.file).toBe(gw.logFile);
    expect(first.cursor).toBeGreaterThan(0);
    let next = first;
    // A no-op config.patch always logs a line ("config.patch noop ..."); fast RPCs like health are not logged.
    const model = ((await client.configGet()).config as { agents: { defaults: { model: string } } }).agents.defaults.model;
    const noop = await client.configPatch({ agents: { defaults: { model } } });
    expect(noop.noop).toBe(true);
    for (let i = 0; i < 40; i++) {
      await new Promise((resolve) => setTimeout(resolve, 250));
      next = await client.logsTail({ cursor: first.cursor, limit: 200 });
      if (next.lines.some((line) => line.includes("config.patch noop"))) break;
    }
    expect(next.lines.some((line) => line.includes("config.patch noop"))).toBe(true);
    expect(next.cursor).toBeGreaterThan(first.cursor);
    const record = parseLogLine(next.lines[0]);
    expect(typeof record.message === "string" || typeof record.time === "string").toBe(true);
    const again = await client.logsTail({ cursor: next.cursor });
    expect(again.cursor).toBeGreaterThanOrEqual(next.cursor);
  });

  it("channels.status and usage.cost", async () => {
    const channels = await client.channelsStatus({ probe: false });
    expect(channels.channelOrder).toEqual([]);
    expect(channels.channelAccounts).toEqual({});
    const usage = await client.usageCost({ days: 7 });
    expect(usage.daily.length).toBeGreaterThanOrEqual(7);
    expect(usage.totals.totalCost).toBe(0);
  });

  it("an out-of-band edit of the config file shows up in config.get and is applied", async () => {
    const before = await client.configGet();
    const onDisk = JSON.parse(readFileSync(gw.configPath, "utf8"));
    onDisk.agents.defaults.model = "openai/gpt-4.1-mini";
    const tmp = `${gw.configPath}.molthub-test`;
    writeFileSync(tmp, `${JSON.stringify(onDisk, null, 2)}\n`, { mode: 0o600 });
    renameSync(tmp, gw.configPath);
    const deadline = Date.now() + 15_000;
    let cfg = before;
    while (Date.now() < deadline) {
      cfg = await client.configGet();
      const model = (cfg.config as { agents: { defaults: { model: string } } }).agents.defaults.model;
      if (model === "openai/gpt-4.1-mini" && cfg.configRevisionHash === cfg.appliedConfigHash) break;
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
    expect((cfg.config as { agents: { defaults: { model: string } } }).agents.defaults.model).toBe("openai/gpt-4.1-mini");
    expect(cfg.hash).not.toBe(before.hash);
    expect(cfg.configRevisionHash).toBe(cfg.appliedConfigHash);
  });

  it("gateway.restart.request: shutdown, reconnect, and a restart with a new bootId", async () => {
    const oldBootId = client.bootId as string;
    const shutdown = client.waitFor("shutdown", { timeoutMs: 60_000 });
    const restarted = client.waitFor("restart", { timeoutMs: 90_000 });
    const started = performance.now();
    const result = await client.restartRequest("molthub contract test");
    expect(result.ok).toBe(true);
    expect((await shutdown).restartExpectedMs).toBeGreaterThanOrEqual(0);
    const restart = await restarted;
    timings.restartToReconnectedMs = Math.round(performance.now() - started);
    expect(restart.previousBootId).toBe(oldBootId);
    expect(restart.bootId).not.toBe(oldBootId);
    expect(restart.expected).toBe(true);
    expect(client.bootId).toBe(restart.bootId);
    expect(client.state).toBe("open");
    const status = await client.status();
    expect(status.runtimeVersion).toBe(OPENCLAW_VERSION);
    expect(status.pid).toBe(gw.pid); // OPENCLAW_NO_RESPAWN=1: in-process restarts keep the PID
    // The config survives the restart.
    const cfg = await client.configGet();
    expect((cfg.config as { agents: { defaults: { model: string } } }).agents.defaults.model).toBe("openai/gpt-4.1-mini");
    expect(events.some((e) => e.event === "shutdown")).toBe(true);
  }, 120_000);
}
