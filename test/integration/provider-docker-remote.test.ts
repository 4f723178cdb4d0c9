/**
 * The Docker provider against a REMOTE Docker engine reached over SSH, with a REAL OpenClaw gateway.
 *
 * The "remote host" is the systemd + sshd host container (test/infra/systemd-host.ts) with the fixture dockerd's
 * socket bind-mounted at /var/run/docker.sock (root:docker 0660 here, so the appliance logs in as root). Its engine
 * is the same dockerd as this machine's, so every path a bind mount names must exist on this machine AND on the
 * host at the same place: the state root (a dir under /var/tmp), the fixture OpenClaw install and the DNS-sinkhole
 * resolv.conf are mounted into the host container at their own paths.
 *
 * The provider gets a local engine that throws on any use, so everything below provably goes through the host:
 * ensure (ping + image over the forwarded socket) → configure (dir, env file, config written over SSH/SFTP on the
 * host, chowned to uid 1000 there) → start (host network, binds of the host's paths, the env file read-only; the token
 * in no field of `docker inspect`) → ready through the SSH port
 * forward → `health` RPC → the SSH connection dropped: engine and forward reconnect → the exec relay (bridge bots' path) through the remote engine API → logs tailed over SSH → destroy (purge) removes the container, the state dir and the
 * endpoint forward → closeAll closes the engine forward. A non-root login without the docker group gets an
 * error that says how to fix it.
 *
 * Network rule: the gateway container runs with `--network host` and the sinkhole resolv.conf, binds 127.0.0.1;
 * sshd listens on 127.0.0.1 only. One gateway at a time.
 */
import { randomBytes, randomUUID } from "node:crypto";
import { chmodSync, mkdtempSync, readdirSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import Dockerode from "dockerode";
import { afterAll, beforeAll, expect, it } from "vitest";
import { DockerProvider } from "../../providers/docker/provider.ts";
import { containerName, LABELS } from "../../providers/docker/spec.ts";
import { type BotRuntime, ProviderError } from "../../providers/provider.ts";
import { validateManifest } from "../../src/domain/manifest.ts";
import { botEnvironment, configHash, GATEWAY_TOKEN_ENV, generateConfig } from "../../src/domain/openclaw-config.ts";
import { GatewayClient } from "../../src/gateway/client.ts";
import { generateDeviceIdentity } from "../../src/gateway/identity.ts";
import { probeReadyz } from "../../src/gateway/probe.ts";
import type { HostInfo } from "../../src/hosts/host-access.ts";
import { generateEd25519KeyPair, type SshKeyPair } from "../../src/ssh/keys.ts";
import { SshPool } from "../../src/ssh/pool.ts";
import { checkComponents, describeWithComponent, fixtures } from "../infra/components.ts";
import { type SystemdHost, startSystemdHost, testHostAccess } from "../infra/systemd-host.ts";

const fx = fixtures();
const needs = await checkComponents("docker", "systemd-host-image", "node-image", "openclaw");
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const DOCKER_SOCKET = "/var/run/docker.sock";

/** Any call into it fails the test: the remote bot must never touch the local engine. */
const localEngineUntouchable = new Proxy(
  {},
  {
    get: (_t, p) => {
      throw new Error(`the local engine was touched (${String(p)})`);
    },
  },
) as unknown as Dockerode;

function portFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = createServer();
    s.once("error", () => resolve(false));
    s.listen(port, "127.0.0.1", () => s.close(() => resolve(true)));
  });
}

/** A gateway port with port..port+2 free on 127.0.0.1 (host network: the container shares our loopback). */
async function gatewayPort(): Promise<number> {
  for (let i = 0; i < 200; i++) {
    const base = 40_000 + Math.floor(Math.random() * 15_000);
    if ((await Promise.all([0, 1, 2].map((k) => portFree(base + k)))).every(Boolean)) return base;
  }
  throw new Error("no free gateway port span on 127.0.0.1");
}

describeWithComponent(
  `docker provider on a remote engine over SSH, real OpenClaw ${fx.openclawVersion} in ${fx.nodeImage}`,
  needs,
  () => {
    const docker = new Dockerode(); // assertions only (the same dockerd the host's socket leads to)
    const workspaceId = randomUUID();
    let key: SshKeyPair;
    let host: SystemdHost;
    let pool: SshPool;
    let stateRoot: string;
    let localRoot: string;
    let provider: DockerProvider;
    const infos: HostInfo[] = [];

    beforeAll(async () => {
      // not under /tmp: the host container has its own tmpfs there
      stateRoot = mkdtempSync("/var/tmp/molthub-rdocker-");
      chmodSync(stateRoot, 0o755);
      localRoot = mkdtempSync(join(tmpdir(), "molthub-rdocker-local-"));
      key = generateEd25519KeyPair("molthub-test-appliance");
      host = await startSystemdHost({
        authorizedKeys: [key.publicKey],
        openclaw: false,
        labels: { "molthub.test": "provider-docker-remote" },
        mounts: [
          { host: DOCKER_SOCKET, container: DOCKER_SOCKET },
          { host: stateRoot, container: stateRoot },
          { host: fx.openclawNodeModules, container: fx.openclawNodeModules, ro: true },
          { host: fx.resolvConf, container: fx.resolvConf, ro: true },
        ],
      });
      pool = new SshPool({ defaultTimeoutMs: 30_000 });
      for (const [id, user, home] of [
        ["nas", "root", "/root"],
        ["nas-molt", "molt", "/home/molt"],
      ] as const) {
        pool.setHost(id, {
          host: "127.0.0.1",
          port: host.port,
          username: user,
          privateKey: key.privateKey,
          hostKey: { mode: "pinned", fingerprint: host.fingerprint },
          keepaliveIntervalMs: 2_000,
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
      provider = makeProvider();
    }, 150_000);

    function makeProvider(extra: Partial<ConstructorParameters<typeof DockerProvider>[0]> = {}): DockerProvider {
      return new DockerProvider({
        docker: localEngineUntouchable,
        rootDir: localRoot,
        hosts: testHostAccess(pool, infos),
        remoteRootDir: () => stateRoot,
        resolvConf: fx.resolvConf,
        openclawMount: { hostNodeModulesDir: fx.openclawNodeModules },
        stopTimeoutMs: 15_000,
        ...extra,
      });
    }

    afterAll(async () => {
      const leftovers = await docker
        .listContainers({ all: true, filters: { label: [`${LABELS.workspace}=${workspaceId}`] } })
        .catch(() => []);
      for (const c of leftovers)
        await docker
          .getContainer(c.Id)
          .remove({ force: true })
          .catch(() => {});
      await provider?.closeAll();
      pool?.close();
      await host?.stop();
      if (stateRoot) rmSync(stateRoot, { recursive: true, force: true });
      if (localRoot) rmSync(localRoot, { recursive: true, force: true });
    });

    function makeBot(name: string, hostName: string, port: number, token: string): BotRuntime {
      const manifest = validateManifest({
        apiVersion: "molthub/v1",
        kind: "Bot",
        metadata: { name },
        spec: {
          target: { provider: "docker", host: hostName, image: fx.nodeImage, network: "host", memory: "1536m", cpus: 1.5 },
          openclaw: { models: { catalogRefresh: { enabled: false } }, update: { checkOnStart: false } },
        },
      });
      const ref = { id: `bot-${name}-${workspaceId.slice(0, 8)}`, name, workspaceId, target: manifest.spec.target, port };
      const layout = provider.layout(ref);
      const config = generateConfig(manifest, { port, layout });
      return {
        ...ref,
        config,
        configHash: configHash(config),
        env: botEnvironment({ layout, port, gatewayToken: token, secrets: {} }),
      };
    }

    it("a login without access to the Docker socket is told how to fix it", async () => {
      const bot = makeBot("rdock-denied", "nas-molt", 18_800, randomBytes(16).toString("hex"));
      const err = await provider.ensure(bot, AbortSignal.timeout(60_000)).catch((e) => e);
      expect(err).toBeInstanceOf(ProviderError);
      expect(err.code).toBe("unreachable");
      expect(err.message).toContain("molt on host nas-molt may not use the Docker socket /var/run/docker.sock");
      expect(err.message).toContain("docker group");
    }, 90_000);

    it("deploys a real gateway on the host's engine: ready through the SSH forward, health RPC, logs, destroy", async () => {
      const port = await gatewayPort();
      const token = randomBytes(24).toString("hex");
      const bot = makeBot("rdock", "nas", port, token);
      const signal = AbortSignal.timeout(240_000);
      const dir = `${stateRoot}/${workspaceId}/rdock`;

      await provider.ensure(bot, signal);
      await provider.configure(bot, signal);
      // written on the host (over SSH/SFTP): the dir, the config and the env file are uid 1000's (the container reads
      // the env file through a read-only bind; no other account on the host can)
      const st = host.exec(["stat", "-c", "%a %u %n", dir, `${dir}/openclaw.json`, `${dir}/molthub.env`]);
      expect(st.stdout.trim().split("\n")).toEqual([
        `700 1000 ${dir}`,
        `600 1000 ${dir}/openclaw.json`,
        `600 1000 ${dir}/molthub.env`,
      ]);
      expect(host.exec(["cat", `${dir}/molthub.env`]).stdout).toContain(`${GATEWAY_TOKEN_ENV}=${token}`);
      expect(host.exec(["cat", `${dir}/openclaw.json`]).stdout).not.toContain(token);
      // nothing went to the appliance's own root
      expect(readdirSync(localRoot)).toEqual([]);

      await provider.start(bot, signal);
      const info = await docker.getContainer(containerName(bot)).inspect();
      expect(info.HostConfig.NetworkMode).toBe("host");
      expect(info.HostConfig.Binds).toEqual(
        expect.arrayContaining([
          `${dir}:/home/node/.openclaw:rw`,
          `${dir}/molthub.env:/home/node/.openclaw/molthub.env:ro`,
          `${fx.resolvConf}:/etc/resolv.conf:ro`,
          `${fx.openclawNodeModules}:/app/node_modules:ro`,
        ]),
      );
      expect(info.Config.Labels).toMatchObject({ [LABELS.managed]: "true", [LABELS.botId]: bot.id });
      // the token is in no field the remote engine shows; the connect below proves it reached the gateway
      expect(JSON.stringify(info)).not.toContain(token);
      expect(provider.openForwards().engines).toContain("nas");

      const ep = await provider.endpoint(bot, signal);
      expect(ep.wsUrl).toMatch(/^ws:\/\/127\.0\.0\.1:\d+$/);
      expect(ep.wsUrl).not.toBe(`ws://127.0.0.1:${port}`); // the SSH forward, not the gateway's own port
      let ready = await probeReadyz(ep.httpUrl, { timeoutMs: 3_000 }).catch(() => null);
      for (let i = 0; i < 180 && !ready?.ok; i++) {
        const o = await provider.observe(bot, signal);
        if (o.exists && !o.running) throw new Error(`the gateway container exited (${o.detail}, code ${o.exitCode})`);
        await sleep(500);
        ready = await probeReadyz(ep.httpUrl, { timeoutMs: 3_000 }).catch(() => null);
      }
      expect(ready).toMatchObject({ ok: true, status: 200 });
      // a second endpoint (its own listener guard, over the same pooled forward) reaches the same gateway
      const again = await provider.endpoint(bot, signal);
      try {
        expect(again.wsUrl).toMatch(/^ws:\/\/127\.0\.0\.1:\d+$/);
        expect(await probeReadyz(again.httpUrl, { timeoutMs: 3_000 })).toMatchObject({ ok: true });
      } finally {
        await again.close();
      }

      const obs = await provider.observe(bot, signal);
      expect(obs).toMatchObject({ exists: true, running: true, containerId: info.Id, openclawVersion: fx.openclawVersion });

      const client = new GatewayClient({
        url: ep.wsUrl,
        token,
        identity: generateDeviceIdentity(),
        connectTimeoutMs: 60_000,
        requestTimeoutMs: 30_000,
        reconnect: false,
      });
      try {
        const hello = await client.connect();
        // through the forward the gateway sees a loopback client: full scopes without pairing
        expect(hello.auth.scopes).toEqual(expect.arrayContaining(["operator.read", "operator.admin"]));
        expect((await client.health()).ok).toBe(true);
      } finally {
        await client.close();
      }

      // the SSH connection drops: the engine client and the gateway forward both reconnect through the pool
      const connects = pool.stats("nas").connects;
      pool.disconnect("nas");
      expect(await provider.observe(bot, signal)).toMatchObject({ exists: true, running: true });
      expect(await probeReadyz(ep.httpUrl, { timeoutMs: 10_000 })).toMatchObject({ ok: true, status: 200 });
      expect(pool.stats("nas").connects).toBe(connects + 1);

      // the exec relay (what bridge-network bots use) also works through the remote engine's API
      const relayed = makeProvider({ relay: "always" });
      const rep = await relayed.endpoint(bot, signal);
      try {
        expect(rep.wsUrl).not.toBe(ep.wsUrl);
        expect(await probeReadyz(rep.httpUrl, { timeoutMs: 15_000 })).toMatchObject({ ok: true, status: 200 });
      } finally {
        await rep.close();
        await relayed.closeAll();
      }

      // the gateway's log file on the host, tailed over SSH
      const lines: string[] = [];
      for (let i = 0; i < 20 && lines.length === 0; i++) {
        for await (const l of provider.logs(bot, { follow: false, tail: 5 }, AbortSignal.timeout(30_000))) lines.push(l);
        if (lines.length === 0) await sleep(500);
      }
      expect(lines.length).toBeGreaterThan(0);
      expect(lines.length).toBeLessThanOrEqual(5);
      expect(lines.join("\n")).not.toContain(token);

      await provider.stop(bot, { deadlineMs: 15_000 }, signal);
      expect(await provider.observe(bot, signal)).toMatchObject({ exists: true, running: false });

      await provider.destroy(bot, { purge: true }, signal);
      expect(await docker.listContainers({ all: true, filters: { label: [`${LABELS.botId}=${bot.id}`] } })).toEqual([]);
      expect(host.exec(["test", "-e", dir]).status).toBe(1);
      expect(provider.openForwards().endpoints).toEqual([]);
      expect(await provider.observe(bot, signal)).toEqual({ exists: false, running: false });

      await provider.closeAll();
      expect(provider.openForwards()).toEqual({ engines: [], endpoints: [] });
    }, 280_000);
  },
);
