/**
 * DockerProvider against a REAL dockerd and a REAL OpenClaw gateway in the test image (one gateway at a time:
 * ~1 GiB, 11–14 s to ready).
 *
 * Lifecycle: unpinned images refused → an image that cannot be pulled is reported clearly → ensure → configure →
 * start → /readyz 200 on the direct endpoint → the container carries the hardening, and a canary gateway token and
 * a canary secret reach the gateway's process environment through the read-only env file while no field of
 * `docker inspect`, no `docker top` line and no process argv of any container of the run shows them → the forced
 * exec relay carries HTTP and a WebSocket (connect.challenge) → logs (file, and the container-log fallback) → a new
 * provider instance adopts the container → stop → observe stopped → restart → a changed env file reaches the gateway
 * on stop + start in the same container, changed resources recreate it → destroy with purge leaves no container and
 * no state dir → a container in its own network namespace (network `none`, standing in for `bridge`) is reached
 * through the relay by default.
 *
 * Network rule: containers run with network `host` (the gateway binds 127.0.0.1) or `none`, with a DNS sinkhole
 * resolv.conf (the fixtures' sinkhole). Needs dockerd, the image `molthub-test/node26` and the OpenClaw install
 * (`bash test/infra/fixtures.sh`); skipped without them, except under CI, where their absence fails the run
 * (describeWithComponent).
 */
import { randomBytes, randomUUID } from "node:crypto";
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import Dockerode from "dockerode";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { containerLogs } from "../../providers/docker/logs.ts";
import { DockerProvider } from "../../providers/docker/provider.ts";
import { RELAY_PROGRAM } from "../../providers/docker/relay.ts";
import { containerName, ENV_FILE_LAUNCHER, LABELS } from "../../providers/docker/spec.ts";
import { type BotRuntime, ProviderError } from "../../providers/provider.ts";
import { validateManifest } from "../../src/domain/manifest.ts";
import {
  allocatePort,
  botEnvironment,
  configHash,
  GATEWAY_TOKEN_ENV,
  generateConfig,
  PORT_BASE,
  PORT_SPACING,
} from "../../src/domain/openclaw-config.ts";
import { checkComponents, describeWithComponent, fixtures } from "../infra/components.ts";

const fx = fixtures();
const NODE_MODULES = fx.openclawNodeModules;
const IMAGE = fx.nodeImage;
/** Ports below this belong to other integration tests. */
const PORT_FLOOR = 19_400;
/** Marks the non-bot containers this file creates, for cleanup. */
const TEST_LABEL = "molthub.test";

const docker = new Dockerode();
const needs = await checkComponents("docker", "node-image", "openclaw");

describeWithComponent(`docker provider with a real OpenClaw ${fx.openclawVersion} gateway in ${IMAGE}`, needs, () => {
  describe("lifecycle", { timeout: 150_000 }, suite);
});

/** Env name of the canary secret every bot of this file carries. */
const CANARY_ENV = "MOLTHUB_CANARY_SECRET";

function suite(): void {
  const workspaceId = randomUUID();
  // canaries: the gateway token and a secret, each unique to this run
  const token = `canarytoken${randomBytes(18).toString("hex")}`;
  const canary = `canarysecret${randomBytes(18).toString("hex")}`;
  /** every container id this run created, for the final sweep of what the engine shows */
  const seen = new Set<string>();
  const timings: Record<string, number> = {};
  const signal = () => AbortSignal.timeout(120_000);
  let dir: string;
  let provider: DockerProvider;
  let bot: BotRuntime;

  function makeProvider(extra: Partial<ConstructorParameters<typeof DockerProvider>[0]> = {}): DockerProvider {
    return new DockerProvider({
      docker,
      rootDir: join(dir, "bots"),
      resolvConf: fx.resolvConf,
      openclawMount: { hostNodeModulesDir: NODE_MODULES },
      stopTimeoutMs: 15_000,
      ...extra,
    });
  }

  function makeBot(name: string, port: number, image = IMAGE, network?: "none"): BotRuntime {
    const manifest = validateManifest({
      apiVersion: "molthub/v1",
      kind: "Bot",
      metadata: { name },
      spec: {
        target: { provider: "docker", image, network: "host", memory: "1536m", cpus: 1.5 },
        openclaw: { models: { catalogRefresh: { enabled: false } }, update: { checkOnStart: false } },
      },
    });
    // `none` stands in for `bridge` (a private namespace, nothing published) without leaving loopback
    const target = network ? { ...manifest.spec.target, network: network as unknown as "bridge" } : manifest.spec.target;
    const ref = { id: `bot-${name}-${workspaceId.slice(0, 8)}`, name, workspaceId, target, port };
    const layout = provider.layout(ref);
    const config = generateConfig(manifest, { port, layout });
    return {
      ...ref,
      config,
      configHash: configHash(config),
      env: botEnvironment({ layout, port, gatewayToken: token, secrets: { [CANARY_ENV]: canary } }),
    };
  }

  /**
   * What the engine shows about every container of this run — the full `docker inspect` JSON, and for running ones
   * `docker top` and each process's argv — by name. Adds the current containers to `seen`.
   */
  async function engineViews(): Promise<Record<string, string>> {
    const views: Record<string, string> = {};
    const current = await docker.listContainers({ all: true, filters: { label: [`${LABELS.workspace}=${workspaceId}`] } });
    for (const c of current) seen.add(c.Id);
    for (const id of seen) {
      const info = await docker
        .getContainer(id)
        .inspect()
        .catch(() => null);
      if (!info) continue;
      views[`docker inspect ${info.Name}`] = JSON.stringify(info);
      if (!info.State.Running) continue;
      const top = await docker.getContainer(id).top({ ps_args: "-eo pid,args" });
      views[`docker top ${info.Name}`] = JSON.stringify(top);
      for (const p of top.Processes as string[][]) {
        try {
          views[`argv of pid ${p[0]} in ${info.Name}`] = readFileSync(`/proc/${p[0]}/cmdline`, "utf8");
        } catch {
          // a process that ended between top and the read (a relay exec)
        }
      }
    }
    return views;
  }

  /** Asserts that neither canary is anywhere the engine shows; returns how many views were checked. */
  async function expectNoSecretShown(): Promise<number> {
    const views = await engineViews();
    for (const [what, text] of Object.entries(views)) {
      expect(text.includes(token), `the gateway token is visible in ${what}`).toBe(false);
      expect(text.includes(canary), `the canary secret is visible in ${what}`).toBe(false);
    }
    return Object.keys(views).length;
  }

  /**
   * The environment of the gateway process in the bot's container (host PID from `docker top`), once the launcher
   * has replaced itself with it: `node …openclaw.mjs gateway run`, which OpenClaw then retitles `openclaw-gateway`.
   */
  async function gatewayEnviron(of: BotRuntime = bot): Promise<string[]> {
    const deadline = Date.now() + 30_000;
    for (;;) {
      const top = await docker.getContainer(containerName(of)).top({ ps_args: "-eo pid,args" });
      const gw = (top.Processes as string[][]).filter((p) => /^(openclaw-gateway$|node \S+ gateway run$)/.test(p[1] ?? ""));
      if (gw.length === 1) return readFileSync(`/proc/${gw[0]![0]}/environ`, "utf8").split("\0");
      if (Date.now() > deadline)
        throw new Error(`no single gateway process in ${containerName(of)}: ${JSON.stringify(top.Processes)}`);
      await new Promise((r) => setTimeout(r, 200));
    }
  }

  async function waitReady(httpUrl: string, of: BotRuntime = bot, timeoutMs = 90_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    let last = "";
    while (Date.now() < deadline) {
      try {
        const res = await fetch(`${httpUrl}/readyz`, { signal: AbortSignal.timeout(2_000) });
        if (res.status === 200) return;
        last = `status ${res.status}`;
      } catch (e) {
        last = (e as Error).message;
      }
      const o = await provider.observe(of, signal());
      if (o.exists && !o.running) throw new Error(`the gateway container exited (${o.detail}, code ${o.exitCode})`);
      // through the relay every probe is an exec in the container: poll gently while it starts
      await new Promise((r) => setTimeout(r, httpUrl.endsWith(`:${of.port}`) ? 300 : 1_000));
    }
    throw new Error(`the gateway did not answer /readyz 200 within ${timeoutMs / 1000} s (${last})`);
  }

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "molthub-docker-it-"));
    provider = makeProvider();
    bot = makeBot("dock-it", await freePort());
  });

  afterAll(async () => {
    // everything this file created: bot containers of this run's workspace and labelled helper containers
    const leftovers = await docker.listContainers({ all: true, filters: { label: [`${LABELS.workspace}=${workspaceId}`] } });
    const helpers = await docker.listContainers({ all: true, filters: { label: [`${TEST_LABEL}=provider-docker`] } });
    for (const c of [...leftovers, ...helpers])
      await docker
        .getContainer(c.Id)
        .remove({ force: true })
        .catch(() => {});
    if (dir) rmSync(dir, { recursive: true, force: true });
    console.info(`docker provider timings: ${JSON.stringify(timings)}`);
  });

  it("refuses unpinned images before touching the engine", async () => {
    for (const image of ["molthub-test/node26:latest", "molthub-test/node26", "ghcr.io/openclaw/openclaw:main"]) {
      const err = await provider.ensure(makeBot("dock-unpinned", bot.port, image), signal()).catch((e) => e);
      expect(err).toBeInstanceOf(ProviderError);
      expect(err.code).toBe("invalid_config");
      expect(err.message).toMatch(/pin a version tag/);
    }
  });

  it("reports an image that is neither local nor pullable, and says how to load it", async () => {
    // a registry on a closed loopback port: the pull fails at once without leaving the machine
    const closed = await closedPort();
    const image = `127.0.0.1:${closed}/molthub-test/absent:1.0.0`;
    const err = await provider.ensure(makeBot("dock-absent", bot.port, image), signal()).catch((e) => e);
    expect(err).toBeInstanceOf(ProviderError);
    expect(err.code).toBe("not_found");
    expect(err.message).toContain(`image ${image} is not available locally and could not be pulled`);
    expect(err.message).toContain("docker load");
  });

  it("ensure → configure → start: the gateway answers /readyz 200 on the direct endpoint", async () => {
    let t = performance.now();
    await provider.ensure(bot, signal());
    await provider.configure(bot, signal());
    timings.ensureConfigureMs = Math.round(performance.now() - t);

    const hostDir = join(dir, "bots", workspaceId, bot.name);
    const dirStat = statSync(hostDir);
    expect(dirStat.mode & 0o777).toBe(0o700);
    expect(dirStat.uid).toBe(1000);
    const cfg = statSync(join(hostDir, "openclaw.json"));
    expect(cfg.mode & 0o777).toBe(0o600);
    expect(cfg.uid).toBe(1000);
    expect(statSync(join(hostDir, "molthub.env")).mode & 0o777).toBe(0o600);
    expect(readFileSync(join(hostDir, "openclaw.json"), "utf8")).not.toContain(token);
    expect(readFileSync(join(hostDir, "molthub.env"), "utf8")).toContain(`${GATEWAY_TOKEN_ENV}=${token}`);

    t = performance.now();
    await provider.start(bot, signal());
    timings.createStartMs = Math.round(performance.now() - t);
    const ep = await provider.endpoint(bot, signal());
    for (const url of [ep.wsUrl, ep.httpUrl]) expect(new URL(url).hostname).toBe("127.0.0.1");
    await waitReady(ep.httpUrl);
    timings.startToReadyMs = Math.round(performance.now() - t);
    await ep.close();
  });

  it("runs the container hardened, owned by labels; the canaries reach the gateway and no field docker shows", async () => {
    const info = await docker.getContainer(containerName(bot)).inspect();
    expect(info.Name).toBe(`/molthub-${workspaceId.slice(0, 8)}-dock-it`);
    const hc = info.HostConfig;
    expect(hc.CapDrop).toEqual(["ALL"]);
    expect(hc.CapAdd ?? []).toEqual([]);
    expect(hc.SecurityOpt).toContain("no-new-privileges");
    expect(hc.Init).toBe(true);
    expect(hc.PidsLimit).toBe(512);
    expect(hc.Memory).toBe(1536 * 1024 * 1024);
    expect(hc.NanoCpus).toBe(1_500_000_000);
    expect(hc.ReadonlyRootfs).toBe(true);
    expect(hc.Privileged).toBe(false);
    expect(hc.NetworkMode).toBe("host");
    expect(hc.RestartPolicy?.Name).toBe("unless-stopped");
    expect(Object.keys(hc.PortBindings ?? {})).toEqual([]);
    expect(hc.Binds).toEqual(
      expect.arrayContaining([
        `${join(dir, "bots", workspaceId, bot.name)}:/home/node/.openclaw:rw`,
        `${join(dir, "bots", workspaceId, bot.name, "molthub.env")}:/home/node/.openclaw/molthub.env:ro`,
        `${fx.resolvConf}:/etc/resolv.conf:ro`,
        `${NODE_MODULES}:/app/node_modules:ro`,
      ]),
    );
    expect(info.Config.User).toBe("1000:1000");
    expect(info.Config.Labels).toMatchObject({
      [LABELS.managed]: "true",
      [LABELS.botId]: bot.id,
      [LABELS.workspace]: workspaceId,
      [LABELS.configHash]: bot.configHash,
    });
    expect(info.Config.Labels[LABELS.specHash]).toMatch(/^[0-9a-f]{64}$/);
    expect(info.Config.Cmd).toEqual([
      "node",
      "-e",
      ENV_FILE_LAUNCHER,
      "/home/node/.openclaw/molthub.env",
      "/app/node_modules/openclaw/openclaw.mjs",
      "gateway",
      "run",
    ]);
    // the token and the secret reach the gateway's own environment, through the env file (uid 1000's, 0600)...
    const environ = await gatewayEnviron();
    expect(environ).toContain(`${GATEWAY_TOKEN_ENV}=${token}`);
    expect(environ).toContain(`${CANARY_ENV}=${canary}`);
    const envFile = statSync(join(dir, "bots", workspaceId, bot.name, "molthub.env"));
    expect([envFile.mode & 0o777, envFile.uid]).toEqual([0o600, 1000]);
    // ...and nowhere the engine shows: every field of docker inspect, docker top, the argv of every process
    expect(info.Config.Env.some((e) => e.startsWith(`${GATEWAY_TOKEN_ENV}=`) || e.startsWith(`${CANARY_ENV}=`))).toBe(false);
    expect(await expectNoSecretShown()).toBeGreaterThanOrEqual(3);
    // the gateway cannot rewrite the file it starts with
    const write = await execIn(bot, ["node", "-e", 'require("fs").appendFileSync("/home/node/.openclaw/molthub.env", "X=1\\n")']);
    expect(write.code).not.toBe(0);
    expect(write.output).toMatch(/EROFS|read-only/i);
    // the gateway listens on loopback only
    const listen = listenAddresses(bot.port);
    expect(listen.length).toBeGreaterThan(0);
    expect(listen.every((a) => a === "127.0.0.1" || a === "::1")).toBe(true);
  });

  it("observes the running container with its OpenClaw version", async () => {
    // a fresh instance has no cached version: this runs `openclaw --version` in the container
    const fresh = makeProvider();
    const t = performance.now();
    const o = await fresh.observe(bot, signal());
    timings.observeWithVersionExecMs = Math.round(performance.now() - t);
    expect(o).toMatchObject({ exists: true, running: true, detail: "running", openclawVersion: fx.openclawVersion });
    expect(o.containerId).toMatch(/^[0-9a-f]{64}$/);
    const t2 = performance.now();
    await fresh.observe(bot, signal());
    timings.observeCachedMs = Math.round(performance.now() - t2);
  });

  it("the forced exec relay carries HTTP and a WebSocket to the loopback gateway", async () => {
    const relayed = makeProvider({ relay: "always" });
    const ep = await relayed.endpoint(bot, signal());
    const relayPort = Number(new URL(ep.httpUrl).port);
    expect(relayPort).not.toBe(bot.port);
    expect(ep.wsUrl).toBe(`ws://127.0.0.1:${relayPort}`);
    try {
      let t = performance.now();
      const res = await fetch(`${ep.httpUrl}/readyz`, { signal: AbortSignal.timeout(10_000) });
      timings.relayFirstHttpMs = Math.round(performance.now() - t);
      expect(res.status).toBe(200);
      expect(await res.json()).toMatchObject({ ready: true });

      t = performance.now();
      const first = await firstWsFrame(ep.wsUrl);
      timings.relayWsChallengeMs = Math.round(performance.now() - t);
      expect(first).toMatchObject({ type: "event", event: "connect.challenge" });
      expect((first.payload as { nonce?: unknown }).nonce).toEqual(expect.any(String));
    } finally {
      await ep.close();
    }
    // closed: nothing listens there any more, and the relay programs inside the container go away
    await expect(fetch(`${ep.httpUrl}/readyz`, { signal: AbortSignal.timeout(2_000) })).rejects.toThrow();
    const deadline = Date.now() + 20_000;
    let relays = -1;
    while (Date.now() < deadline) {
      const top = await docker.getContainer(containerName(bot)).top({ ps_args: "-ef" });
      // the relay's own program: the container's init also runs `node -e` (the env-file launcher) in its argv
      relays = top.Processes.filter((p: string[]) => p.join(" ").includes(RELAY_PROGRAM)).length;
      if (relays === 0) break;
      await new Promise((r) => setTimeout(r, 500));
    }
    expect(relays).toBe(0);
  });

  it("reads the gateway's log file (tail and follow) and the container's own output", async () => {
    const lines: string[] = [];
    for await (const line of provider.logs(bot, { follow: false, tail: 20 }, signal())) lines.push(line);
    expect(lines.length).toBeGreaterThan(0);
    expect(lines.length).toBeLessThanOrEqual(20);
    expect(() => JSON.parse(lines[lines.length - 1]!)).not.toThrow();

    // follow: the first line arrives, then a consumer disconnect (abort) ends the iteration
    const ctl = new AbortController();
    const followed: string[] = [];
    const t = performance.now();
    for await (const line of provider.logs(bot, { follow: true, tail: 1 }, ctl.signal)) {
      followed.push(line);
      ctl.abort();
    }
    expect(followed.length).toBe(1);
    expect(performance.now() - t).toBeLessThan(5_000);

    // container stdout (the fallback before the log file exists): a followed stream that an abort destroys
    const ctl2 = new AbortController();
    const out: string[] = [];
    const container = docker.getContainer(containerName(bot));
    for await (const line of containerLogs(container, { follow: true, tail: 50 }, ctl2.signal)) {
      out.push(line);
      if (/\[gateway\] ready/.test(line)) ctl2.abort();
    }
    expect(out.some((l) => l.includes("[gateway] ready"))).toBe(true);
    expect(out.join("\n")).not.toContain(token);
  });

  it("a new provider instance adopts the running container and leaves it alone on start", async () => {
    const before = await provider.observe(bot, signal());
    const adopted = makeProvider();
    const o = await adopted.observe(bot, signal());
    expect(o).toMatchObject({ exists: true, running: true, containerId: before.containerId });
    await adopted.start(bot, signal());
    expect((await adopted.observe(bot, signal())).containerId).toBe(before.containerId);
  });

  it("stop is graceful and idempotent; observe reports it stopped", async () => {
    const t = performance.now();
    await provider.stop(bot, { deadlineMs: 20_000 }, signal());
    timings.stopMs = Math.round(performance.now() - t);
    const o = await provider.observe(bot, signal());
    expect(o).toMatchObject({ exists: true, running: false, detail: "exited" });
    expect(o.exitCode).toEqual(expect.any(Number));
    expect(timings.stopMs).toBeLessThan(20_000);
    await provider.stop(bot, { deadlineMs: 1_000 }, signal());
  });

  it("start reuses the stopped container; a changed env file reaches the gateway on stop + start; new resources recreate it", async () => {
    const stopped = await provider.observe(bot, signal());
    await provider.start(bot, signal());
    const restarted = await provider.observe(bot, signal());
    expect(restarted).toMatchObject({ running: true, containerId: stopped.containerId });

    // what the reconciler does when the env hash changes: configure, stop, start — the same container, bound anew
    const rotated = `${canary}rotated`;
    const changed = { ...bot, env: { ...bot.env, [CANARY_ENV]: rotated, EXTRA_SETTING: "1" } };
    await provider.configure(changed, signal());
    await provider.stop(changed, { deadlineMs: 20_000 }, signal());
    await provider.start(changed, signal());
    const again = await provider.observe(changed, signal());
    expect(again).toMatchObject({ running: true, containerId: stopped.containerId });
    const environ = await gatewayEnviron(changed);
    expect(environ).toContain(`${CANARY_ENV}=${rotated}`);
    expect(environ).toContain("EXTRA_SETTING=1");
    await expectNoSecretShown();

    // the image, resources or network are the container's own: they replace it
    const resized = { ...changed, target: { ...changed.target, memory: "1280m" } };
    await provider.start(resized, signal());
    const recreated = await provider.observe(resized, signal());
    expect(recreated.running).toBe(true);
    expect(recreated.containerId).not.toBe(stopped.containerId);
    const all = await docker.listContainers({ all: true, filters: { label: [`${LABELS.botId}=${bot.id}`] } });
    expect(all.map((c) => c.Id)).toEqual([recreated.containerId]);
    expect(await gatewayEnviron(resized)).toContain(`${CANARY_ENV}=${rotated}`);
    await expectNoSecretShown();
  });

  it("refuses to act on a foreign container that took the bot's name", async () => {
    const other = makeBot("dock-squat", bot.port);
    const squatter = await docker.createContainer({
      name: containerName(other),
      Image: IMAGE,
      Cmd: ["sleep", "60"],
      Labels: { [TEST_LABEL]: "provider-docker" },
      HostConfig: { NetworkMode: "none" },
    });
    try {
      await provider.configure(other, signal());
      const err = await provider.start(other, signal()).catch((e) => e);
      expect(err).toBeInstanceOf(ProviderError);
      expect(err.message).toMatch(/not Molthub's/);
      expect(await provider.observe(other, signal())).toMatchObject({ exists: false, running: false });
      await provider.destroy(other, { purge: true }, signal());
      expect((await squatter.inspect()).Id).toBe(squatter.id);
    } finally {
      await squatter.remove({ force: true });
    }
  });

  it("destroy with purge removes the container and the state dir; it is idempotent", async () => {
    const t = performance.now();
    await provider.destroy(bot, { purge: true }, signal());
    timings.destroyMs = Math.round(performance.now() - t);
    const left = await docker.listContainers({ all: true, filters: { label: [`${LABELS.botId}=${bot.id}`] } });
    expect(left).toEqual([]);
    expect(existsSync(join(dir, "bots", workspaceId, bot.name))).toBe(false);
    expect(await provider.observe(bot, signal())).toEqual({ exists: false, running: false });
    await provider.destroy(bot, { purge: true }, signal());
  });

  it("a container in its own network namespace (none, standing in for bridge) is reached through the relay by default", async () => {
    const isolated = makeBot("dock-netns", bot.port, IMAGE, "none");
    await provider.ensure(isolated, signal());
    await provider.configure(isolated, signal());
    const t = performance.now();
    await provider.start(isolated, signal());
    const info = await docker.getContainer(containerName(isolated)).inspect();
    expect(info.HostConfig.NetworkMode).toBe("none");
    const ep = await provider.endpoint(isolated, signal());
    try {
      expect(ep.httpUrl).not.toBe(`http://127.0.0.1:${isolated.port}`);
      await waitReady(ep.httpUrl, isolated);
      timings.netnsStartToReadyViaRelayMs = Math.round(performance.now() - t);
      // nothing of the gateway is reachable on the host: only through the relay
      expect(listenAddresses(isolated.port)).toEqual([]);
      const challenge = await firstWsFrame(ep.wsUrl);
      expect(challenge).toMatchObject({ type: "event", event: "connect.challenge" });
      expect(await gatewayEnviron(isolated)).toContain(`${GATEWAY_TOKEN_ENV}=${token}`);
      // with the relay's exec processes running in it too
      await expectNoSecretShown();
    } finally {
      await ep.close();
    }
    await provider.destroy(isolated, { purge: true }, signal());
    expect(await docker.listContainers({ all: true, filters: { label: [`${LABELS.botId}=${isolated.id}`] } })).toEqual([]);
  });
}

/** Runs `cmd` in the bot's container as its user; the raw (multiplexed) output and the exit code. */
async function execIn(of: BotRuntime, cmd: string[]): Promise<{ code: number | null; output: string }> {
  const exec = await docker.getContainer(containerName(of)).exec({ Cmd: cmd, AttachStdout: true, AttachStderr: true });
  const stream = await exec.start({ hijack: true, stdin: false });
  const chunks: Buffer[] = [];
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${cmd.join(" ")} did not finish within 30 s`)), 30_000);
    stream.on("data", (c: Buffer) => chunks.push(c));
    stream.once("end", () => (clearTimeout(timer), resolve()));
    stream.once("error", (e) => (clearTimeout(timer), reject(e)));
  });
  return { code: (await exec.inspect()).ExitCode, output: Buffer.concat(chunks).toString("utf8") };
}

/** Opens a WebSocket and resolves with the first frame the gateway sends (the connect.challenge event). */
function firstWsFrame(url: string): Promise<Record<string, unknown>> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url);
    const timer = setTimeout(() => (ws.close(), reject(new Error("no frame from the gateway within 15 s"))), 15_000);
    ws.onerror = () => (clearTimeout(timer), reject(new Error(`the WebSocket to ${url} failed`)));
    ws.onmessage = (ev) => {
      clearTimeout(timer);
      ws.close();
      resolve(JSON.parse(String(ev.data)) as Record<string, unknown>);
    };
  });
}

/** The first allocatePort base >= PORT_FLOOR whose whole span is free on 127.0.0.1. */
async function freePort(): Promise<number> {
  const skip: number[] = [];
  for (let p = PORT_BASE; p < PORT_FLOOR; p += PORT_SPACING) skip.push(p);
  for (let i = 0; i < 200; i++) {
    const base = allocatePort(skip);
    const free = await Promise.all(Array.from({ length: PORT_SPACING - 9 }, (_, k) => portFree(base + k)));
    if (free.every(Boolean)) return base;
    skip.push(base);
  }
  throw new Error("no free gateway port span on 127.0.0.1");
}

function portFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once("error", () => resolve(false));
    server.listen({ port, host: "127.0.0.1", exclusive: true }, () => server.close(() => resolve(true)));
  });
}

/** A loopback port nothing listens on (taken and released at once). */
async function closedPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const port = (server.address() as { port: number }).port;
      server.close(() => resolve(port));
    });
  });
}

/** Local addresses of sockets listening on `port` (from /proc/net/tcp{,6}). */
function listenAddresses(port: number): string[] {
  const out: string[] = [];
  const hexPort = port.toString(16).toUpperCase().padStart(4, "0");
  for (const file of ["/proc/net/tcp", "/proc/net/tcp6"]) {
    let text = "";
    try {
      text = readFileSync(file, "utf8");
    } catch {
      continue;
    }
    for (const line of text.split("\n").slice(1)) {
      const cols = line.trim().split(/\s+/);
      if (cols.length < 4 || cols[3] !== "0A") continue; // LISTEN
      const [addr, p] = cols[1]!.split(":");
      if (p !== hexPort) continue;
      out.push(
        addr!.length === 8
          ? hexToIPv4(addr!)
          : addr === "00000000000000000000000001000000"
            ? "::1"
            : addr === "00000000000000000000000000000000"
              ? "::"
              : addr!,
      );
    }
  }
  return out;
}

function hexToIPv4(hex: string): string {
  return [6, 4, 2, 0].map((i) => parseInt(hex.slice(i, i + 2), 16)).join(".");
}
