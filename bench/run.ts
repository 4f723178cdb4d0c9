// Benchmarks of the compiled binary: cold start, idle memory, and the audit API under load.
//
//   bun bench/run.ts              build dist/molthub (or $MOLTHUB_BUILD_OUT), then measure
//   bun bench/run.ts --no-build   reuse the existing binary
//
// Prints a table with the targets beside the figures and writes bench/results/latest.json.
// Everything runs on loopback in temp dirs; every process started here is stopped here, by its pid.
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { cpus, tmpdir, totalmem } from "node:os";
import { join } from "node:path";
import { recordAudit } from "../src/core/audit.ts";
import type { ServiceContext } from "../src/core/context.ts";
import { migrate, openStore } from "../src/db/client.ts";
import { loadKeyring } from "../src/secrets/keyring.ts";
import { addUserOffline } from "../src/services/auth.ts";
import { createToken } from "../src/services/tokens.ts";

const repo = join(import.meta.dir, "..");
const bin = process.env.MOLTHUB_BUILD_OUT ?? join(repo, "dist/molthub");
const noBuild = process.argv.includes("--no-build");
const START_RUNS = 20;
const AUDIT_ROWS = 10_000;
const CONCURRENCY = 50;
const LOAD_MS = 10_000;
const WARMUP_MS = 1_000;
const SERIAL_MS = 3_000;
const IDLE_WAIT_MS = 5_000;
const TARGETS = { startMedianMs: 100, idleRssMb: 60, p99Ms: 10 };

const root = mkdtempSync(join(tmpdir(), "molthub-bench-"));
const children = new Set<Bun.Subprocess>();
const benchStarted = performance.now();

function cleanup() {
  for (const p of children) if (p.exitCode === null && p.signalCode === null) p.kill("SIGKILL");
  rmSync(root, { recursive: true, force: true });
}
process.on("SIGINT", () => {
  cleanup();
  process.exit(130);
});

function env(extra: Record<string, string> = {}): Record<string, string> {
  const e: Record<string, string> = {};
  for (const k of ["PATH", "HOME"]) if (process.env[k]) e[k] = process.env[k]!;
  return { ...e, ...extra };
}

function pct(values: number[], p: number): number {
  const s = [...values].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))]!;
}
const r1 = (x: number) => Math.round(x * 10) / 10;

function freePort(): number {
  const l = Bun.listen({ hostname: "127.0.0.1", port: 0, socket: { data() {} } });
  const port = l.port;
  l.stop(true);
  return port;
}

function log(msg: string) {
  process.stderr.write(`[bench ${((performance.now() - benchStarted) / 1000).toFixed(1)}s] ${msg}\n`);
}

// ---------- build ----------
async function build(): Promise<number> {
  if (noBuild) {
    if (!existsSync(bin)) throw new Error(`${bin} does not exist; run without --no-build`);
    return 0;
  }
  const t0 = performance.now();
  const p = Bun.spawn([process.execPath, "scripts/build.ts"], {
    cwd: repo,
    env: env({ MOLTHUB_BUILD_OUT: bin }),
    stdout: "pipe",
    stderr: "pipe",
    timeout: 120_000,
  });
  const [out, err, code] = await Promise.all([new Response(p.stdout).text(), new Response(p.stderr).text(), p.exited]);
  if (code !== 0) throw new Error(`build failed (${code}):\n${out}\n${err}`);
  return Math.round(performance.now() - t0);
}

// ---------- a server process ----------
interface Started {
  proc: Bun.Subprocess;
  port: number;
  startMs: number;
}

/** Starts `molthub serve` and returns once GET /healthz answers 200; startMs is spawn → first 200. */
async function startServer(dataDir: string, logFile: string): Promise<Started> {
  const port = freePort();
  const url = `http://127.0.0.1:${port}/healthz`;
  const t0 = performance.now();
  const proc = Bun.spawn([bin, "serve", "--data-dir", dataDir, "--port", String(port)], {
    cwd: root,
    env: env(),
    stdin: "ignore",
    stdout: Bun.file(logFile),
    stderr: "pipe",
  });
  children.add(proc);
  const deadline = t0 + 10_000;
  for (;;) {
    try {
      const res = await fetch(url, { headers: { connection: "close" } });
      await res.arrayBuffer();
      if (res.status === 200) return { proc, port, startMs: performance.now() - t0 };
    } catch {
      // not listening yet
    }
    if (proc.exitCode !== null)
      throw new Error(
        `server exited with ${proc.exitCode}: ${await new Response(proc.stderr as ReadableStream).text()}\n${readFileSync(logFile, "utf8")}`,
      );
    if (performance.now() > deadline)
      throw new Error(`server did not answer /healthz within 10 s:\n${readFileSync(logFile, "utf8")}`);
    await Bun.sleep(1);
  }
}

/** SIGTERM, then waits for the exit (SIGKILL after 5 s); returns how long the stop took. */
async function stopServer(proc: Bun.Subprocess): Promise<{ ms: number; code: number | null }> {
  const t0 = performance.now();
  proc.kill("SIGTERM");
  const done = await Promise.race([proc.exited.then(() => true), Bun.sleep(5_000).then(() => false)]);
  if (!done) {
    proc.kill("SIGKILL");
    await proc.exited;
  }
  children.delete(proc);
  return { ms: performance.now() - t0, code: done ? proc.exitCode : null };
}

function rssMb(pid: number): { rss: number; hwm: number } {
  const status = readFileSync(`/proc/${pid}/status`, "utf8");
  const kb = (name: string) => Number(status.match(new RegExp(`^${name}:\\s+(\\d+) kB`, "m"))?.[1] ?? NaN);
  return { rss: r1(kb("VmRSS") / 1024), hwm: r1(kb("VmHWM") / 1024) };
}

// ---------- cold start ----------
async function coldStarts(kind: "fresh" | "existing"): Promise<{ runs: number[]; stops: number[]; badExits: number }> {
  const runs: number[] = [];
  const stops: number[] = [];
  let badExits = 0;
  const existingDir = join(root, "existing");
  if (kind === "existing") {
    // create and migrate it once, and claim it so no setup token is issued on each start
    mkdirSync(existingDir, { mode: 0o700 });
    const store = openStore(join(existingDir, "molthub.db"));
    migrate(store);
    loadKeyring(existingDir, {});
    await addUserOffline(store.db, { email: "start@bench.test", name: "Start", password: "bench-password-long", role: "owner" });
    store.close();
  }
  for (let i = 0; i < START_RUNS; i++) {
    const dir = kind === "fresh" ? join(root, `fresh-${i}`) : existingDir;
    const s = await startServer(dir, join(root, `start-${kind}-${i}.log`));
    runs.push(s.startMs);
    const stop = await stopServer(s.proc);
    stops.push(stop.ms);
    if (stop.code !== 0) badExits++;
  }
  return { runs, stops, badExits };
}

// ---------- seeded store for the API load ----------
async function seedStore(dir: string): Promise<{ token: string; seedMs: number }> {
  const t0 = performance.now();
  mkdirSync(dir, { mode: 0o700 });
  const store = openStore(join(dir, "molthub.db"));
  try {
    migrate(store);
    const keyring = loadKeyring(dir, {});
    const owner = await addUserOffline(store.db, {
      email: "owner@bench.test",
      name: "Owner",
      password: "bench-password-long",
      role: "owner",
    });
    const ctx: ServiceContext = {
      db: store.db,
      keyring,
      now: Date.now,
      actor: { type: "user", userId: owner.userId, label: "owner@bench.test", workspaceId: owner.workspaceId, role: "owner" },
    };
    const { token } = createToken(ctx, { name: "bench", role: "viewer" });
    store.db.transaction(
      (tx) => {
        for (let i = 0; i < AUDIT_ROWS; i++) {
          recordAudit(
            tx,
            { ...ctx, requestId: `bench-${i}` },
            {
              action: "bot.update",
              resourceType: "bot",
              resourceId: `bot-${i % 100}`,
              summary: { i, field: "model", from: "a", to: "b" },
            },
          );
        }
      },
      { behavior: "immediate" },
    );
    store.sqlite.exec("PRAGMA wal_checkpoint(TRUNCATE)");
    return { token, seedMs: Math.round(performance.now() - t0) };
  } finally {
    store.close();
  }
}

interface LoadResult {
  requests: number;
  errors: number;
  firstError: string | null;
  seconds: number;
  rps: number;
  p50: number;
  p95: number;
  p99: number;
  max: number;
  meanBytes: number;
}

async function runLoad(
  url: string,
  token: string,
  concurrency: number,
  durationMs: number,
  warmupMs: number,
): Promise<LoadResult> {
  const p = Bun.spawn(
    [
      process.execPath,
      join(repo, "bench/load.ts"),
      "--url",
      url,
      "--concurrency",
      String(concurrency),
      "--duration-ms",
      String(durationMs),
      "--warmup-ms",
      String(warmupMs),
      "--max",
      "400000",
    ],
    {
      cwd: repo,
      env: env({ BENCH_TOKEN: token }),
      stdout: "pipe",
      stderr: "pipe",
      timeout: durationMs + warmupMs + 30_000,
    },
  );
  children.add(p);
  const [out, err, code] = await Promise.all([new Response(p.stdout).text(), new Response(p.stderr).text(), p.exited]);
  children.delete(p);
  if (code !== 0) throw new Error(`load generator failed (${code}):\n${out}\n${err}`);
  return JSON.parse(out.trim().split("\n").pop()!) as LoadResult;
}

// ---------- main ----------
async function main() {
  log(noBuild ? `reusing ${bin}` : `building ${bin}`);
  const buildMs = await build();
  const binaryMb = r1(statSync(bin).size / 1024 / 1024);

  log(`cold start on a fresh data dir × ${START_RUNS}`);
  const fresh = await coldStarts("fresh");
  log(`cold start on an existing data dir × ${START_RUNS}`);
  const existing = await coldStarts("existing");

  log(`seeding ${AUDIT_ROWS} audit rows`);
  const seeded = join(root, "seeded");
  const { token, seedMs } = await seedStore(seeded);
  const server = await startServer(seeded, join(root, "seeded.log"));
  log(`idle ${IDLE_WAIT_MS / 1000} s for the RSS reading`);
  await Bun.sleep(IDLE_WAIT_MS);
  const idle = rssMb(server.proc.pid);

  const url = `http://127.0.0.1:${server.port}/api/v1/audit`;
  const probe = await fetch(url, { headers: { authorization: `Bearer ${token}` } });
  const probeBody = (await probe.json()) as { items?: unknown[] };
  if (probe.status !== 200 || probeBody.items?.length !== 50)
    throw new Error(`GET /api/v1/audit answered ${probe.status} with ${probeBody.items?.length} items`);

  log(`load: ${CONCURRENCY} clients for ${LOAD_MS / 1000} s (after ${WARMUP_MS / 1000} s warm-up)`);
  const load = await runLoad(url, token, CONCURRENCY, LOAD_MS, WARMUP_MS);
  const afterLoad = rssMb(server.proc.pid);
  log(`load: 1 client for ${SERIAL_MS / 1000} s (the service time without queueing)`);
  const serial = await runLoad(url, token, 1, SERIAL_MS, 500);
  const stop = await stopServer(server.proc);

  const results = {
    at: new Date().toISOString(),
    machine: {
      cpus: cpus().length,
      cpu: cpus()[0]?.model ?? "?",
      memGb: r1(totalmem() / 1024 ** 3),
      bun: Bun.version,
      platform: `${process.platform}-${process.arch}`,
    },
    binary: { path: bin, sizeMb: binaryMb, buildMs: noBuild ? null : buildMs },
    startFresh: {
      runs: START_RUNS,
      medianMs: r1(pct(fresh.runs, 50)),
      p95Ms: r1(pct(fresh.runs, 95)),
      minMs: r1(Math.min(...fresh.runs)),
      stopMedianMs: r1(pct(fresh.stops, 50)),
      nonZeroExits: fresh.badExits,
    },
    startExisting: {
      runs: START_RUNS,
      medianMs: r1(pct(existing.runs, 50)),
      p95Ms: r1(pct(existing.runs, 95)),
      minMs: r1(Math.min(...existing.runs)),
      stopMedianMs: r1(pct(existing.stops, 50)),
      nonZeroExits: existing.badExits,
    },
    idleRss: { afterMs: IDLE_WAIT_MS, rssMb: idle.rss, peakMb: idle.hwm, auditRows: AUDIT_ROWS },
    auditApi: {
      auditRows: AUDIT_ROWS,
      seedMs,
      concurrency: CONCURRENCY,
      pageSize: 50,
      ...load,
      rssAfterMb: afterLoad.rss,
      peakRssMb: afterLoad.hwm,
      stopMs: r1(stop.ms),
      stopExit: stop.code,
    },
    auditApiOneClient: { concurrency: 1, ...serial },
    targets: TARGETS,
    pass: {
      startMedian: pct(existing.runs, 50) < TARGETS.startMedianMs && pct(fresh.runs, 50) < TARGETS.startMedianMs,
      idleRss: idle.rss < TARGETS.idleRssMb,
      p99: load.p99 < TARGETS.p99Ms && load.errors === 0 && serial.errors === 0,
    },
    totalSeconds: 0,
  };
  results.totalSeconds = r1((performance.now() - benchStarted) / 1000);

  const mark = (ok: boolean) => (ok ? "ok" : "MISSED");
  const rows: [string, string, string, string][] = [
    [
      "cold start, fresh dir (spawn → /healthz 200)",
      `median ${results.startFresh.medianMs} ms, p95 ${results.startFresh.p95Ms} ms`,
      `< ${TARGETS.startMedianMs} ms median`,
      mark(pct(fresh.runs, 50) < TARGETS.startMedianMs),
    ],
    [
      "cold start, existing dir",
      `median ${results.startExisting.medianMs} ms, p95 ${results.startExisting.p95Ms} ms`,
      `< ${TARGETS.startMedianMs} ms median`,
      mark(pct(existing.runs, 50) < TARGETS.startMedianMs),
    ],
    [
      "SIGTERM → exit",
      `median ${results.startExisting.stopMedianMs} ms (${fresh.badExits + existing.badExits} non-zero exits)`,
      "",
      "",
    ],
    [
      `idle RSS (${IDLE_WAIT_MS / 1000} s after start)`,
      `${idle.rss} MB (peak ${idle.hwm} MB)`,
      `< ${TARGETS.idleRssMb} MB`,
      mark(results.pass.idleRss),
    ],
    [
      `GET /api/v1/audit, ${AUDIT_ROWS} rows, ${CONCURRENCY} clients`,
      `p50 ${load.p50} ms, p95 ${load.p95} ms, p99 ${load.p99} ms, max ${load.max} ms`,
      `p99 < ${TARGETS.p99Ms} ms`,
      mark(results.pass.p99),
    ],
    [
      "  throughput",
      `${load.rps} req/s (${load.requests} in ${load.seconds} s, ${load.errors} errors, ${load.meanBytes} B each)`,
      "",
      "",
    ],
    [
      "GET /api/v1/audit, 1 client",
      `p50 ${serial.p50} ms, p95 ${serial.p95} ms, p99 ${serial.p99} ms; ${serial.rps} req/s`,
      "",
      "",
    ],
    ["  RSS after the load", `${afterLoad.rss} MB (peak ${afterLoad.hwm} MB)`, "", ""],
    ["binary", `${binaryMb} MB${noBuild ? "" : `, built in ${buildMs} ms`}`, "", ""],
  ];
  const w = [0, 1, 2].map((i) => Math.max(...rows.map((r) => r[i]!.length), ["measure", "figure", "target"][i]!.length));
  const line = (r: string[]) =>
    r
      .map((c, i) => (i < 3 ? c.padEnd(w[i]!) : c))
      .join("  ")
      .trimEnd();
  console.log(
    `\nMolthub bench — ${results.machine.cpus} × ${results.machine.cpu}, Bun ${Bun.version}, load generator on the same machine\n`,
  );
  console.log(line(["measure", "figure", "target", ""]));
  console.log(line(w.map((n) => "-".repeat(n)).concat("")));
  for (const r of rows) console.log(line(r));
  for (const l of [load, serial]) if (l.firstError) console.log(`\nfirst error during a load: ${l.firstError}`);
  console.log(
    `\nWith ${CONCURRENCY} clients in a closed loop, latency ≈ clients / throughput (Little's law): ${CONCURRENCY} / ${load.rps} req/s ≈ ${r1((CONCURRENCY / load.rps) * 1000)} ms.`,
  );
  console.log(`\ntotal ${results.totalSeconds} s`);

  mkdirSync(join(repo, "bench/results"), { recursive: true });
  writeFileSync(join(repo, "bench/results/latest.json"), `${JSON.stringify(results, null, 2)}\n`);
  console.log("results written to bench/results/latest.json");
}

try {
  await main();
} finally {
  cleanup();
}
