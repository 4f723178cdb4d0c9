// Benchmarks of the SSH hosts path (systemd provider) against REAL systemd + sshd host containers:
//
//   1. the same bot deployed to 3 hosts one after another vs in parallel: ensure → configure → start → /readyz 200
//      through the SSH forward (time to ready of each host and of the whole batch)
//   2. a command (`true`) over the pooled connection vs a fresh connection per command (median / p95)
//
//   bun bench/hosts.ts             N = 30 commands each way
//
// Needs docker, the systemd host image (bash test/infra/fixtures.sh --with-systemd-host) and the OpenClaw fixture.
// Without them it prints why and exits 0. Containers use --network host with sshd on 127.0.0.1; gateways bind
// 127.0.0.1 and resolve nothing (DNS sinkhole). Everything started here is removed here.
// Writes bench/results/hosts.json.
import { randomBytes } from "node:crypto";
import { mkdirSync, writeFileSync } from "node:fs";
import { cpus } from "node:os";
import { join } from "node:path";
import type { BotRuntime } from "../providers/provider.ts";
import { SystemdProvider } from "../providers/systemd/provider.ts";
import { manifestSchema } from "../src/domain/manifest.ts";
import { botEnvironment, configHash, generateConfig } from "../src/domain/openclaw-config.ts";
import { probeReadyz } from "../src/gateway/probe.ts";
import type { HostAccess, HostInfo } from "../src/hosts/host-access.ts";
import { generateEd25519KeyPair } from "../src/ssh/keys.ts";
import { type SshHostConfig, SshPool } from "../src/ssh/pool.ts";
import { checkComponents } from "../test/infra/components.ts";
import { freeLoopbackPort, type SystemdHost, startSystemdHost } from "../test/infra/systemd-host.ts";

const N = 30;
const VERSION = "2026.9.6";
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const pct = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)]!;
};

const missing = (await checkComponents("docker", "systemd-host-image", "openclaw")).filter((c) => !c.available);
if (missing.length) {
  console.log(`[bench hosts] skipped: ${missing.map((m) => `${m.name} (${m.reason}; ${m.hint})`).join(", ")}`);
  process.exit(0);
}

const key = generateEd25519KeyPair("molthub-bench");
const hosts: SystemdHost[] = [];
const pool = new SshPool({ defaultTimeoutMs: 30_000 });
const infos: HostInfo[] = [];
let provider: SystemdProvider | undefined;
const results: Record<string, unknown> = { cpus: cpus().length, at: new Date().toISOString() };

function runtime(hostName: string, port: number): BotRuntime {
  const m = manifestSchema.parse({
    apiVersion: "molthub/v1",
    kind: "Bot",
    metadata: { name: "bench-bot" },
    spec: {
      target: { provider: "systemd", host: hostName, version: VERSION },
      openclaw: { models: { catalogRefresh: { enabled: false } }, update: { checkOnStart: false } },
    },
  });
  const ref = { id: `bench-${hostName}`, name: "bench-bot", workspaceId: "bench", target: m.spec.target, port };
  const layout = provider!.layout(ref);
  const config = generateConfig(m, { port, layout });
  return {
    ...ref,
    config,
    configHash: configHash(config),
    env: botEnvironment({ layout, port, gatewayToken: randomBytes(24).toString("hex"), secrets: {} }),
  };
}

async function deploy(bot: BotRuntime): Promise<number> {
  const t0 = performance.now();
  const signal = AbortSignal.timeout(300_000);
  await provider!.ensure(bot, signal);
  await provider!.configure(bot, signal);
  await provider!.start(bot, signal);
  const ep = await provider!.endpoint(bot, signal);
  for (;;) {
    const r = await probeReadyz(ep.httpUrl, { timeoutMs: 3_000 }).catch(() => null);
    if (r?.ok) return performance.now() - t0;
    if (signal.aborted)
      throw new Error(`${bot.target.provider} bot on ${(bot.target as { host: string }).host} not ready in time`);
    await sleep(200);
  }
}

try {
  for (let i = 0; i < 3; i++)
    hosts.push(await startSystemdHost({ authorizedKeys: [key.publicKey], name: `molthub-bench-host-${process.pid}-${i}` }));
  hosts.forEach((h, i) => {
    const cfg: SshHostConfig = {
      host: "127.0.0.1",
      port: h.port,
      username: "molt",
      privateKey: key.privateKey,
      hostKey: { mode: "pinned", fingerprint: h.fingerprint },
    };
    pool.setHost(`h${i}`, cfg);
    infos.push({
      poolId: `h${i}`,
      name: `h${i}`,
      address: "127.0.0.1",
      port: h.port,
      username: "molt",
      isRoot: false,
      os: "debian",
      init: "systemd",
      home: "/home/molt",
      platform: "linux-x64",
    });
  });
  const access: HostAccess = {
    pool,
    get: async (_w, n) => infos.find((i) => i.name === n)!,
    lookup: (_w, n) => infos.find((i) => i.name === n),
  };
  provider = new SystemdProvider({ hosts: access, startupCheckMs: 60_000 });

  // --- 2. pooled vs fresh connection (before any gateway runs, so the CPU is quiet)
  const pooled: number[] = [];
  await pool.exec("h0", ["true"]);
  for (let i = 0; i < N; i++) {
    const t = performance.now();
    await pool.exec("h0", ["true"]);
    pooled.push(performance.now() - t);
  }
  const fresh: number[] = [];
  for (let i = 0; i < N; i++) {
    const p = new SshPool();
    p.setHost("f", {
      host: "127.0.0.1",
      port: hosts[0]!.port,
      username: "molt",
      privateKey: key.privateKey,
      hostKey: { mode: "pinned", fingerprint: hosts[0]!.fingerprint },
    });
    const t = performance.now();
    await p.exec("f", ["true"]);
    fresh.push(performance.now() - t);
    p.close();
  }
  results.exec = {
    n: N,
    pooled: { medianMs: +pct(pooled, 50).toFixed(1), p95Ms: +pct(pooled, 95).toFixed(1) },
    fresh: { medianMs: +pct(fresh, 50).toFixed(1), p95Ms: +pct(fresh, 95).toFixed(1) },
  };

  // --- 1. sequential vs parallel deploys (ports picked free here: host network)
  const ports = [await freeLoopbackPort(), await freeLoopbackPort(), await freeLoopbackPort()];
  const destroyAll = async () => {
    for (let i = 0; i < 3; i++)
      await provider!
        .destroy(runtime(`h${i}`, ports[i]!), { purge: true }, AbortSignal.timeout(120_000))
        .catch((e) => console.error(`destroy h${i}: ${(e as Error).message}`));
  };
  const seqT0 = performance.now();
  const seq: number[] = [];
  for (let i = 0; i < 3; i++) seq.push(await deploy(runtime(`h${i}`, ports[i]!)));
  const seqTotal = performance.now() - seqT0;
  await destroyAll();
  const parT0 = performance.now();
  const par = await Promise.all([0, 1, 2].map((i) => deploy(runtime(`h${i}`, ports[i]!))));
  const parTotal = performance.now() - parT0;
  await destroyAll();
  results.deploy = {
    hosts: 3,
    sequential: { totalMs: Math.round(seqTotal), perHostMs: seq.map(Math.round) },
    parallel: { totalMs: Math.round(parTotal), perHostMs: par.map(Math.round) },
  };

  console.log(`\nSSH hosts benchmark (systemd provider, real OpenClaw ${VERSION}, ${cpus().length} CPUs)`);
  console.log(
    `  deploy to 3 hosts, one after another : total ${(seqTotal / 1000).toFixed(1)} s  (each ${seq.map((x) => (x / 1000).toFixed(1)).join(" / ")} s)`,
  );
  console.log(
    `  deploy to 3 hosts, in parallel       : total ${(parTotal / 1000).toFixed(1)} s  (each ${par.map((x) => (x / 1000).toFixed(1)).join(" / ")} s)`,
  );
  console.log(
    `  \`true\` over the pool (n=${N})        : median ${pct(pooled, 50).toFixed(1)} ms, p95 ${pct(pooled, 95).toFixed(1)} ms`,
  );
  console.log(
    `  \`true\` on a fresh connection (n=${N}) : median ${pct(fresh, 50).toFixed(1)} ms, p95 ${pct(fresh, 95).toFixed(1)} ms`,
  );
  mkdirSync(join(import.meta.dir, "results"), { recursive: true });
  writeFileSync(join(import.meta.dir, "results", "hosts.json"), `${JSON.stringify(results, null, 2)}\n`);
} finally {
  await provider?.closeAll();
  pool.close();
  for (const h of hosts) await h.stop();
}
