/**
 * The systemd provider against a REAL systemd + sshd host container (test/infra/systemd-host.ts) running a REAL
 * OpenClaw 2026.9.6 gateway (the fixture install mounted at the remote layout's prefix), DNS-sinkholed (the
 * container's resolv.conf is the sinkhole) and bound to 127.0.0.1 (host network: the port is picked free here).
 *
 * User unit (login molt, lingering): ensure → validate → configure → start → ready through the SSH forward
 * (/readyz 200, `health` RPC) → hot config.patch verified → journal/log lines streamed in follow mode → destroy(purge)
 * removes unit, env file and state. Restarts (with an openai/* model patched in, which makes every later start run
 * OpenClaw's plugin repair): stop/start, then the host container restarted → the unit comes back by itself (enabled +
 * linger + Restart=always, never exiting 78) and the SAME forward reconnects.
 * System unit (login root): runs as the service user `molthub`, the env file reaches the process literally
 * (checked in /proc/<pid>/environ), destroy removes it all.
 *
 * The provider is driven directly with a GatewayClient through endpoint() (HostAccess over a bare SshPool), one
 * gateway at a time.
 */
import { randomBytes } from "node:crypto";
import { afterAll, beforeAll, expect, it } from "vitest";
import type { BotRuntime } from "../../providers/provider.ts";
import { SystemdProvider } from "../../providers/systemd/provider.ts";
import { manifestSchema } from "../../src/domain/manifest.ts";
import { botEnvironment, configHash, generateConfig } from "../../src/domain/openclaw-config.ts";
import { GatewayClient } from "../../src/gateway/client.ts";
import { generateDeviceIdentity } from "../../src/gateway/identity.ts";
import { probeReadyz } from "../../src/gateway/probe.ts";
import type { HostInfo } from "../../src/hosts/host-access.ts";
import { remoteLayout } from "../../src/hosts/host-access.ts";
import { generateEd25519KeyPair, type SshKeyPair } from "../../src/ssh/keys.ts";
import { SshPool } from "../../src/ssh/pool.ts";
import { checkComponents, describeWithComponent } from "../infra/components.ts";
import { freeLoopbackPort, type SystemdHost, startSystemdHost, testHostAccess } from "../infra/systemd-host.ts";

const needs = await checkComponents("docker", "systemd-host-image", "openclaw");
const VERSION = "2026.9.6";
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A base port with base..base+2 free here (host network: the container shares our loopback). */
async function gatewayPort(): Promise<number> {
  for (;;) {
    const p = await freeLoopbackPort();
    if (p > 60000) continue;
    return p;
  }
}

/** A value with every character a shell, systemd or an env-file parser might interpret. */
const CANARY_MARK = `canary-${randomBytes(6).toString("hex")}`;
const CANARY = `${CANARY_MARK} $HOME \${X} \`id\` $(id) "dq" 'sq' \\ back # hash ; | & %h %% 	tab  `;

export function runtimeFor(
  provider: SystemdProvider,
  opts: { name: string; host: string; port: number; token: string; secrets?: Record<string, string> },
): BotRuntime {
  const m = manifestSchema.parse({
    apiVersion: "molthub/v1",
    kind: "Bot",
    metadata: { name: opts.name },
    spec: {
      target: { provider: "systemd", host: opts.host, version: VERSION },
      openclaw: { models: { catalogRefresh: { enabled: false } }, update: { checkOnStart: false } },
    },
  });
  const ref = { id: `bot-${opts.name}`, name: opts.name, workspaceId: "ws-test", target: m.spec.target, port: opts.port };
  const layout = provider.layout(ref);
  const config = generateConfig(m, { port: opts.port, layout });
  const env = botEnvironment({ layout, port: opts.port, gatewayToken: opts.token, secrets: opts.secrets ?? {} });
  return { ...ref, config, configHash: configHash(config), env };
}

describeWithComponent("systemd provider against a real systemd host and OpenClaw", needs, () => {
  let host: SystemdHost;
  let key: SshKeyPair;
  let pool: SshPool;
  let provider: SystemdProvider;
  const infos: HostInfo[] = [];

  beforeAll(async () => {
    key = generateEd25519KeyPair("molthub-test-appliance");
    host = await startSystemdHost({ authorizedKeys: [key.publicKey] });
    pool = new SshPool({ defaultTimeoutMs: 30_000 });
    for (const [id, user, home] of [
      ["nas", "molt", "/home/molt"],
      ["nas-root", "root", "/root"],
    ] as const) {
      pool.setHost(id, {
        host: "127.0.0.1",
        port: host.port,
        username: user,
        privateKey: key.privateKey,
        hostKey: { mode: "pinned", fingerprint: host.fingerprint },
        keepaliveIntervalMs: 1_000,
        keepaliveCountMax: 3,
        readyTimeoutMs: 5_000,
      });
      infos.push({
        poolId: id,
        name: id,
        address: "127.0.0.1",
        port: host.port,
        username: user,
        isRoot: user === "root",
        os: "debian",
        init: "systemd",
        home,
        platform: "linux-x64",
      });
    }
    provider = new SystemdProvider({ hosts: testHostAccess(pool, infos), startupCheckMs: 60_000 });
  }, 120_000);

  afterAll(async () => {
    await provider?.closeAll();
    pool?.close();
    await host?.stop();
  });

  it("user unit: deploy, ready through the tunnel, hot config change, logs, stop, destroy", async () => {
    const port = await gatewayPort();
    const token = randomBytes(24).toString("hex");
    const bot = runtimeFor(provider, { name: "helper", host: "nas", port, token, secrets: { MOLTHUB_CANARY: CANARY } });
    const signal = AbortSignal.timeout(280_000);
    const layout = remoteLayout(infos[0]!);

    await provider.ensure(bot, signal);
    expect(await provider.validate(bot, signal)).toEqual({ valid: true, issues: [] });
    const bad = await provider.validate({ ...bot, config: { ...bot.config, nonsense: { x: 1 } } }, signal);
    expect(bad.valid).toBe(false);
    expect(bad.issues.length).toBeGreaterThan(0);

    await provider.configure(bot, signal);
    // files: unit 0644, env 0600 (secrets only there), openclaw.json 0600
    const unitFile = "/home/molt/.config/systemd/user/molthub-helper.service";
    const envFile = layout.envFile("helper");
    const stat = host.exec([
      "stat",
      "-c",
      "%a %U %n",
      unitFile,
      envFile,
      `${layout.botDir("helper")}/openclaw.json`,
      layout.botDir("helper"),
    ]);
    expect(stat.stdout.trim().split("\n")).toEqual([
      `644 molt ${unitFile}`,
      `600 molt ${envFile}`,
      `600 molt ${layout.botDir("helper")}/openclaw.json`,
      `700 molt ${layout.botDir("helper")}`,
    ]);
    const unitText = host.exec(["cat", unitFile]).stdout;
    expect(unitText).toContain("RestartPreventExitStatus=78");
    expect(unitText).not.toContain(token);
    expect(unitText).not.toContain("canary-");

    await provider.start(bot, signal);
    const obs = await provider.observe(bot, signal);
    expect(obs).toMatchObject({ exists: true, running: true, openclawVersion: VERSION });
    expect(obs.pid).toBeGreaterThan(0);
    // the secret reached the process literally (molt may read its own process's environ)
    const environ = host.exec(["cat", `/proc/${obs.pid}/environ`]).stdout.split("\0");
    expect(environ).toContain(`MOLTHUB_CANARY=${CANARY}`);
    expect(environ).toContain(`OPENCLAW_GATEWAY_TOKEN=${token}`);
    // and not in argv, nor in anything systemd shows about the unit (every property: Environment=, ExecStart=, …)
    expect(host.exec(["cat", `/proc/${obs.pid}/cmdline`]).stdout).not.toContain(token);
    const shown = host.exec([
      "runuser",
      "-u",
      "molt",
      "--",
      "env",
      "XDG_RUNTIME_DIR=/run/user/1000",
      "systemctl",
      "--user",
      "show",
      "--all",
      "--",
      "molthub-helper.service",
    ]);
    expect(shown.status).toBe(0);
    expect(shown.stdout).toContain(`EnvironmentFiles=${envFile}`);
    expect(shown.stdout).not.toContain(token);
    expect(shown.stdout).not.toContain(CANARY_MARK);

    const ep = await provider.endpoint(bot, signal);
    expect(ep.wsUrl).toMatch(/^ws:\/\/127\.0\.0\.1:\d+$/);
    expect(ep.wsUrl).not.toBe(`ws://127.0.0.1:${port}`); // a forward, not the gateway's own port
    let ready = await probeReadyz(ep.httpUrl, { timeoutMs: 3_000 }).catch(() => null);
    for (let i = 0; i < 120 && !ready?.ok; i++) {
      await sleep(500);
      ready = await probeReadyz(ep.httpUrl, { timeoutMs: 3_000 }).catch(() => null);
    }
    expect(ready).toMatchObject({ ok: true, status: 200 });

    const client = new GatewayClient({
      url: ep.wsUrl,
      token,
      identity: generateDeviceIdentity(),
      connectTimeoutMs: 60_000,
      requestTimeoutMs: 30_000,
      reconnect: true,
    });
    try {
      const hello = await client.connect();
      // through the tunnel the gateway sees a loopback client: full scopes without pairing
      expect(hello.auth.scopes).toEqual(expect.arrayContaining(["operator.read", "operator.admin"]));
      expect((await client.health()).ok).toBe(true);

      // logs: follow, then cause output
      const ac = new AbortController();
      const lines: string[] = [];
      const follow = (async () => {
        for await (const l of provider.logs(bot, { follow: true, tail: 0 }, ac.signal)) lines.push(l);
      })();
      await sleep(1_500);
      const r = await client.configPatch(
        { agents: { defaults: { model: "openai/gpt-4o-mini" } } },
        { note: "molthub systemd test" },
      );
      expect(r.ok).toBe(true);
      const cfg = await client.configGet();
      expect((cfg.config as { agents: { defaults: { model: string } } }).agents.defaults.model).toBe("openai/gpt-4o-mini");
      expect(cfg.configRevisionHash).toBe(cfg.appliedConfigHash);
      const saved = JSON.parse(host.exec(["cat", `${layout.botDir("helper")}/openclaw.json`]).stdout);
      expect(saved.agents.defaults.model).toBe("openai/gpt-4o-mini");
      for (let i = 0; i < 60 && lines.length === 0; i++) await sleep(500);
      ac.abort();
      await follow;
      expect(lines.length).toBeGreaterThan(0);
      expect(lines.join("\n")).not.toContain(token);
      // non-follow tail returns and ends
      const tail: string[] = [];
      for await (const l of provider.logs(bot, { follow: false, tail: 5 }, AbortSignal.timeout(30_000))) tail.push(l);
      expect(tail.length).toBeGreaterThan(0);
      expect(tail.length).toBeLessThanOrEqual(5);
    } finally {
      await client.close();
    }

    // stop honours its deadline and leaves the unit disabled
    await provider.stop(bot, { deadlineMs: 20_000 }, signal);
    expect(await provider.observe(bot, signal)).toMatchObject({ exists: true, running: false });
    expect(
      host
        .exec([
          "runuser",
          "-u",
          "molt",
          "--",
          "env",
          "XDG_RUNTIME_DIR=/run/user/1000",
          "systemctl",
          "--user",
          "is-enabled",
          "molthub-helper.service",
        ])
        .stdout.trim(),
    ).toBe("disabled");

    await provider.destroy(bot, { purge: true }, signal);
    expect(host.exec(["test", "-e", unitFile]).status).toBe(1);
    expect(host.exec(["test", "-e", envFile]).status).toBe(1);
    expect(host.exec(["test", "-e", layout.botDir("helper")]).status).toBe(1);
    expect(await provider.observe(bot, signal)).toMatchObject({ exists: false, running: false });
  }, 300_000);

  it("user unit: comes back after a unit restart and a host restart, through the same forward", async () => {
    const port = await gatewayPort();
    const token = randomBytes(24).toString("hex");
    const bot = runtimeFor(provider, { name: "helper", host: "nas", port, token });
    const signal = AbortSignal.timeout(280_000);
    try {
      await provider.ensure(bot, signal);
      await provider.configure(bot, signal);
      await provider.start(bot, signal);
      const ep = await provider.endpoint(bot, signal);
      const waitReady = async (url: string) => {
        let r = await probeReadyz(url, { timeoutMs: 3_000 }).catch(() => null);
        for (let i = 0; i < 120 && !r?.ok; i++) {
          await sleep(500);
          r = await probeReadyz(url, { timeoutMs: 3_000 }).catch(() => null);
        }
        return r;
      };
      const unitStatus = () =>
        host.exec([
          "runuser",
          "-u",
          "molt",
          "--",
          "env",
          "XDG_RUNTIME_DIR=/run/user/1000",
          "systemctl",
          "--user",
          "status",
          "--no-pager",
          "-n",
          "30",
          "molthub-helper.service",
        ]).stdout;

      // a hot change to an openai/* model first: from then on every start of the gateway runs OpenClaw's plugin
      // repair for @openclaw/codex, which exited 78 on this npm-less host before the unit got Molthub's npm stand-in
      const first = await waitReady(ep.httpUrl);
      if (!first?.ok) throw new Error(`not ready after start: ${JSON.stringify(first)}\n${unitStatus()}`);
      const c1 = new GatewayClient({
        url: ep.wsUrl,
        token,
        identity: generateDeviceIdentity(),
        connectTimeoutMs: 60_000,
        requestTimeoutMs: 30_000,
      });
      try {
        await c1.connect();
        expect(
          (await c1.configPatch({ agents: { defaults: { model: "openai/gpt-4o-mini" } } }, { note: "molthub restart test" })).ok,
        ).toBe(true);
      } finally {
        await c1.close();
      }
      const since = Math.floor(Date.now() / 1000);

      // a clean restart through the provider (stop honours its deadline, start enables again)
      await provider.stop(bot, { deadlineMs: 20_000 }, signal);
      expect(await provider.observe(bot, signal)).toMatchObject({ exists: true, running: false });
      await provider.start(bot, signal);
      const afterRestart = await waitReady(ep.httpUrl);
      if (!afterRestart?.ok) throw new Error(`not ready after stop/start: ${JSON.stringify(afterRestart)}\n${unitStatus()}`);

      // the host restarts: the unit comes back by itself (enabled + linger), the same forward reconnects.
      // The gateway is stopped cleanly first, as a host's shutdown does (docker restart's 10 s grace may cut it short).
      host.exec([
        "runuser",
        "-u",
        "molt",
        "--",
        "env",
        "XDG_RUNTIME_DIR=/run/user/1000",
        "systemctl",
        "--user",
        "stop",
        "molthub-helper.service",
      ]);
      await host.restart();
      let back = await provider.observe(bot, signal).catch(() => null);
      for (let i = 0; i < 120 && !back?.running; i++) {
        await sleep(500);
        back = await provider.observe(bot, signal).catch(() => null);
      }
      expect(back).toMatchObject({ exists: true, running: true });
      // each endpoint() is a new guard (ADR 0011) in front of the bot's one forward, which reconnected by itself
      const ep2 = await provider.endpoint(bot, signal);
      expect(ep2.httpUrl).not.toBe(`http://127.0.0.1:${port}`);
      let again = await probeReadyz(ep2.httpUrl, { timeoutMs: 3_000 }).catch(() => null);
      for (let i = 0; i < 120 && !again?.ok; i++) {
        await sleep(500);
        again = await probeReadyz(ep2.httpUrl, { timeoutMs: 3_000 }).catch(() => null);
      }
      if (!again?.ok) {
        const direct = await probeReadyz(`http://127.0.0.1:${port}`, { timeoutMs: 3_000 }).catch((e: Error) => e.message);
        const st = host.exec([
          "runuser",
          "-u",
          "molt",
          "--",
          "env",
          "XDG_RUNTIME_DIR=/run/user/1000",
          "systemctl",
          "--user",
          "status",
          "--no-pager",
          "-n",
          "30",
          "molthub-helper.service",
        ]);
        throw new Error(
          `not ready after the host restart through ${ep2.httpUrl}: ${JSON.stringify(again)}; direct: ${JSON.stringify(direct)}\n${st.stdout}${st.stderr}`,
        );
      }
      const c2 = new GatewayClient({
        url: ep2.wsUrl,
        token,
        identity: generateDeviceIdentity(),
        connectTimeoutMs: 60_000,
        requestTimeoutMs: 30_000,
      });
      try {
        await c2.connect();
        expect((await c2.health()).ok).toBe(true);
        expect(((await c2.configGet()).config as { agents: { defaults: { model: string } } }).agents.defaults.model).toBe(
          "openai/gpt-4o-mini",
        );
      } finally {
        await c2.close();
      }
      // neither restart exited 78 ("requires state migration"): the plugin repair met the npm stand-in instead
      // (the whole container journal: as root, `--user-unit` also matches _UID=0 and finds nothing)
      const journal = host.exec(["journalctl", "--no-pager", "-o", "cat", "--since", `@${since}`]).stdout;
      expect(journal).not.toMatch(/status=78|requires state migration/);
      expect(journal).toMatch(/npm is not installed on this host \(Molthub's stand-in/);
    } finally {
      await provider.destroy(bot, { purge: true }, AbortSignal.timeout(120_000)).catch(() => {});
    }
  }, 300_000);

  it("system unit as root: runs as the service user, env delivered literally, destroy removes everything", async () => {
    const port = await gatewayPort();
    const token = randomBytes(24).toString("hex");
    const bot = runtimeFor(provider, { name: "sysbot", host: "nas-root", port, token, secrets: { MOLTHUB_CANARY: CANARY } });
    const signal = AbortSignal.timeout(200_000);
    const layout = remoteLayout(infos[1]!);
    await provider.ensure(bot, signal);
    expect(host.exec(["id", "-u", "molthub"]).status).toBe(0);
    await provider.configure(bot, signal);
    const unitFile = "/etc/systemd/system/molthub-sysbot.service";
    const unitText = host.exec(["cat", unitFile]).stdout;
    expect(unitText).toContain("User=molthub");
    const stat = host.exec([
      "stat",
      "-c",
      "%a %U",
      layout.envFile("sysbot"),
      `${layout.botDir("sysbot")}/openclaw.json`,
      layout.botDir("sysbot"),
    ]);
    expect(stat.stdout.trim().split("\n")).toEqual(["600 root", "600 molthub", "700 molthub"]);
    await provider.start(bot, signal);
    const obs = await provider.observe(bot, signal);
    expect(obs.running).toBe(true);
    expect(host.exec(["ps", "-o", "user=", "-p", String(obs.pid)]).stdout.trim()).toBe("molthub");
    const environ = host.exec(["cat", `/proc/${obs.pid}/environ`]).stdout.split("\0");
    expect(environ).toContain(`MOLTHUB_CANARY=${CANARY}`);
    // what systemd shows about the system unit (over D-Bus to any local user; here as root, who sees at least as much)
    const shown = host.exec(["systemctl", "show", "--all", "--", "molthub-sysbot.service"]);
    expect(shown.status).toBe(0);
    expect(shown.stdout).toContain(`EnvironmentFiles=${layout.envFile("sysbot")}`);
    expect(shown.stdout).not.toContain(token);
    expect(shown.stdout).not.toContain(CANARY_MARK);

    const ep = await provider.endpoint(bot, signal);
    let ready = await probeReadyz(ep.httpUrl, { timeoutMs: 3_000 }).catch(() => null);
    for (let i = 0; i < 120 && !ready?.ok; i++) {
      await sleep(500);
      ready = await probeReadyz(ep.httpUrl, { timeoutMs: 3_000 }).catch(() => null);
    }
    // when the guard refused the connection, its reason is the diagnosis
    if (!ready?.ok) console.log("not ready through the endpoint", JSON.stringify({ ready, refusal: ep.refusal?.()?.message }));
    expect(ready).toMatchObject({ ok: true });
    const client = new GatewayClient({
      url: ep.wsUrl,
      token,
      identity: generateDeviceIdentity(),
      connectTimeoutMs: 60_000,
      requestTimeoutMs: 30_000,
    });
    try {
      await client.connect();
      expect((await client.health()).ok).toBe(true);
    } finally {
      await client.close();
    }
    const logs: string[] = [];
    for await (const l of provider.logs(bot, { follow: false, tail: 20 }, AbortSignal.timeout(30_000))) logs.push(l);
    expect(logs.length).toBeGreaterThan(0);

    await provider.destroy(bot, { purge: true }, signal);
    expect(host.exec(["test", "-e", unitFile]).status).toBe(1);
    expect(host.exec(["test", "-e", layout.envFile("sysbot")]).status).toBe(1);
    expect(host.exec(["test", "-e", layout.botDir("sysbot")]).status).toBe(1);
    expect(host.exec(["systemctl", "is-active", "molthub-sysbot.service"]).stdout.trim()).not.toBe("active");
  }, 240_000);

  it("ensure says what to do when the OpenClaw version is missing", async () => {
    const bot = runtimeFor(provider, { name: "nover", host: "nas", port: 30000, token: "t".repeat(32) });
    const err = await provider
      .ensure({ ...bot, target: { ...bot.target, version: "2026.1.1" } as BotRuntime["target"] }, AbortSignal.timeout(30_000))
      .catch((e: unknown) => e);
    expect(err).toMatchObject({ code: "not_installed" });
    expect((err as Error).message).toMatch(
      /OpenClaw 2026\.1\.1 is not installed on host nas .*molthub host install nas 2026\.1\.1/,
    );
  }, 60_000);
});
