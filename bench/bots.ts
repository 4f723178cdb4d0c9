// Benchmarks of the appliance driving real OpenClaw gateways (local provider):
//
//   1. create → ready through the appliance vs starting the same gateway by hand (alternating, N runs each)
//   2. a hot change (agents.defaults.model) → verified live, 5 times on one running bot
//   3. the appliance's own CPU and RSS over 60 s with one running bot under the health (5 s) and drift (10 s) polls
//
//   bun bench/bots.ts              N = 3 (fewer when the time budget would be exceeded)
//   bun bench/bots.ts --runs 2     N = 2
//
// Needs the OpenClaw fixtures (bash test/infra/fixtures.sh), root and unshare(1) for the DNS sinkhole.
// A gateway costs ~1 GiB and 12–30 s to become ready: only one runs at a time.
// Prints a table with the targets beside the figures and writes bench/results/bots.json.
// Everything runs on loopback in temp dirs; every process started here is stopped here, by its pid.
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import {
  closeSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { createServer } from "node:net";
import { cpus, loadavg, tmpdir, totalmem } from "node:os";
import { join } from "node:path";
import { childEnv, gatewayArgv } from "../providers/local/child-env.ts";
import { validateManifest } from "../src/domain/manifest.ts";
import { botEnvironment, generateConfig, layoutFor } from "../src/domain/openclaw-config.ts";
import { type Appliance, fixturePaths, openclawInstalled, startAppliance } from "../test/helpers/appliance.ts";

const repo = join(import.meta.dir, "..");
const argRuns = process.argv.indexOf("--runs");
const RUNS = argRuns > 0 ? Math.max(1, Number(process.argv[argRuns + 1]) || 3) : 3;
const HOT_CHANGES = 5;
const IDLE_SAMPLE_MS = 60_000;
const HEALTH_S = 5;
const DRIFT_S = 10;
/** Whole run, including the appliance start and the cleanup; the create/ready pairs are cut to fit it. */
const BUDGET_MS = 345_000;
const TARGETS = { overheadPct: 5, overheadMs: 1_000, hotMs: 2_000 };
const VERSION = "2026.9.6";
const MODELS = [
  "anthropic/claude-opus-4-1",
  "anthropic/claude-haiku-4-5",
  "openai/gpt-5",
  "anthropic/claude-sonnet-4-5",
  "openai/gpt-5-mini",
  "anthropic/claude-opus-4-1",
];

const benchStarted = performance.now();
const root = mkdtempSync(join(tmpdir(), "molthub-bench-bots-"));
const f = fixturePaths();
const sinkhole = join(root, "resolv.sinkhole.conf");
writeFileSync(sinkhole, "nameserver 127.0.0.1\n", { mode: 0o644 });

let appliance: Appliance | null = null;
/** Hand-started gateways still alive: pid (also their process group id, they are spawned detached). */
const handGateways = new Map<number, ChildProcess>();
/** Bots created through the appliance and not yet seen deleted. */
const liveBots = new Set<string>();

const r1 = (x: number) => Math.round(x * 10) / 10;
const r0 = (x: number) => Math.round(x);
function median(values: number[]): number {
  const s = [...values].sort((a, b) => a - b);
  if (!s.length) return NaN;
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}
function log(msg: string) {
  process.stderr.write(`[bench:bots ${((performance.now() - benchStarted) / 1000).toFixed(1)}s] ${msg}\n`);
}
const load1 = () => r1(loadavg()[0]!);

// ---------- /proc ----------
const CLK_TCK = Number(spawnSync("getconf", ["CLK_TCK"], { encoding: "utf8" }).stdout.trim()) || 100;

/** utime + stime of the process itself (not its children), in clock ticks. */
function cpuTicks(pid: number): number {
  const text = readFileSync(`/proc/${pid}/stat`, "utf8");
  const rest = text.slice(text.lastIndexOf(")") + 2).split(" ");
  return Number(rest[14 - 3]) + Number(rest[15 - 3]);
}
function rssMb(pid: number): number {
  const m = readFileSync(`/proc/${pid}/status`, "utf8").match(/^VmRSS:\s+(\d+) kB/m);
  return m ? Number(m[1]) / 1024 : NaN;
}

/** Gateways the appliance started for this run: processes whose OPENCLAW_STATE_DIR lies under its data dir. */
function applianceGateways(dataDir: string): number[] {
  const out: number[] = [];
  for (const pid of readdirSync("/proc").filter((p) => /^\d+$/.test(p))) {
    try {
      if (
        readFileSync(`/proc/${pid}/environ`, "utf8")
          .split("\0")
          .some((e) => e.startsWith(`OPENCLAW_STATE_DIR=${dataDir}/`))
      )
        out.push(Number(pid));
    } catch {
      // gone, or not ours to read
    }
  }
  return out;
}

// ---------- a gateway started by hand ----------
function portFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = createServer();
    s.once("error", () => resolve(false));
    s.listen({ port, host: "127.0.0.1", exclusive: true }, () => s.close(() => resolve(true)));
  });
}
/** A base port whose span base..base+110 is free (OpenClaw uses base+2 and up to base+110), away from the appliance's 18800+ range. */
async function pickPort(): Promise<number> {
  for (let i = 0; i < 40; i++) {
    const base = 30_000 + Math.floor(Math.random() * 200) * 120;
    const free = await Promise.all(Array.from({ length: 111 }, (_, k) => portFree(base + k)));
    if (free.every(Boolean)) return base;
  }
  throw new Error("no free port span for a hand-started gateway");
}

async function httpOk(url: string): Promise<boolean> {
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(1_000) });
    await res.arrayBuffer();
    return res.status === 200;
  } catch {
    return false;
  }
}

function manifest(name: string, model: string) {
  return {
    apiVersion: "molthub/v1",
    kind: "Bot",
    metadata: { name, labels: { suite: "bench" } },
    spec: {
      target: { provider: "local", version: VERSION },
      openclaw: {
        models: { catalogRefresh: { enabled: false } },
        update: { checkOnStart: false },
        agents: { defaults: { model } },
      },
    },
  };
}

/**
 * The same gateway the appliance would start for `manifest(…)`: the config and env come from the same
 * generators, the argv is the provider's (node openclaw.mjs gateway run, under `unshare --mount` with the DNS
 * sinkhole), the process is detached like the provider's. Timed from before the files are written to /readyz 200.
 */
async function handRun(i: number): Promise<{ readyMs: number; healthzMs: number; stopMs: number }> {
  const port = await pickPort();
  const layout = layoutFor(join(root, `hand-${i}`));
  const t0 = performance.now();
  for (const d of [layout.stateDir, join(layout.stateDir, "logs"), join(layout.stateDir, "home"), join(layout.stateDir, "tmp")])
    mkdirSync(d, { recursive: true, mode: 0o700 });
  const config = generateConfig(validateManifest(manifest(`hand-${i}`, MODELS[0]!)), { port, layout });
  writeFileSync(layout.configPath, `${JSON.stringify(config, null, 2)}\n`, { mode: 0o600 });
  const env = childEnv({
    HOME: join(layout.stateDir, "home"),
    TMPDIR: join(layout.stateDir, "tmp"),
    ...botEnvironment({ layout, port, gatewayToken: randomBytes(24).toString("base64url"), secrets: {} }),
  });
  const argv = gatewayArgv({ nodeBin: f.openclawNode, openclawDir: f.openclawDir, port, resolvConf: sinkhole });
  const out = openSync(join(layout.stateDir, "logs/stdout.log"), "a", 0o600);
  let child: ChildProcess;
  try {
    child = spawn(argv[0]!, argv.slice(1), { cwd: layout.stateDir, env, stdio: ["ignore", out, out], detached: true });
  } finally {
    closeSync(out);
  }
  const pid = child.pid;
  if (pid === undefined) throw new Error("could not spawn the gateway");
  handGateways.set(pid, child);
  let exited: string | null = null;
  child.once("exit", (code, sig) => (exited = `${code ?? sig}`));
  const base = `http://127.0.0.1:${port}`;
  let healthzMs = NaN;
  const deadline = t0 + 120_000;
  try {
    for (;;) {
      if (exited !== null)
        throw new Error(`hand-started gateway exited (${exited}):\n${tail(join(layout.stateDir, "logs/stdout.log"))}`);
      if (performance.now() > deadline)
        throw new Error(`hand-started gateway not ready in 120 s:\n${tail(join(layout.stateDir, "logs/stdout.log"))}`);
      if (Number.isNaN(healthzMs) && (await httpOk(`${base}/healthz`))) healthzMs = performance.now() - t0;
      if (await httpOk(`${base}/readyz`)) break;
      await Bun.sleep(100);
    }
  } catch (e) {
    await stopHand(pid);
    throw e;
  }
  const readyMs = performance.now() - t0;
  const s0 = performance.now();
  await stopHand(pid);
  return { readyMs, healthzMs: Number.isNaN(healthzMs) ? readyMs : healthzMs, stopMs: performance.now() - s0 };
}

function tail(file: string, n = 20): string {
  try {
    return readFileSync(file, "utf8").trimEnd().split("\n").slice(-n).join("\n");
  } catch {
    return "(no output)";
  }
}

/** SIGTERM to the gateway's process group (it leads it: spawned detached), SIGKILL after 10 s. */
async function stopHand(pid: number): Promise<void> {
  const child = handGateways.get(pid);
  if (!child) return;
  const gone = new Promise<void>((r) =>
    child.exitCode !== null || child.signalCode !== null ? r() : child.once("exit", () => r()),
  );
  const signal = (sig: NodeJS.Signals) => {
    try {
      process.kill(-pid, sig);
    } catch {
      // group already gone
    }
  };
  signal("SIGTERM");
  if (!(await Promise.race([gone.then(() => true), Bun.sleep(10_000).then(() => false)]))) {
    signal("SIGKILL");
    await Promise.race([gone, Bun.sleep(5_000)]);
  }
  signal("SIGKILL"); // stragglers of the group (workers), if any outlived the leader
  handGateways.delete(pid);
}

/** One `openclaw config validate --json` of the bench config, with the provider's env and sinkhole; ms. */
async function timeValidate(k: number): Promise<number> {
  const dir = join(root, `validate-${k}`);
  mkdirSync(join(dir, "state"), { recursive: true, mode: 0o700 });
  const file = join(dir, "openclaw.json");
  const layout = layoutFor(join(root, "validate-layout"));
  writeFileSync(
    file,
    `${JSON.stringify(generateConfig(validateManifest(manifest("validate", MODELS[1]!)), { port: 30_000, layout }), null, 2)}\n`,
    { mode: 0o600 },
  );
  const env = childEnv({
    HOME: dir,
    TMPDIR: dir,
    OPENCLAW_CONFIG_PATH: file,
    OPENCLAW_STATE_DIR: join(dir, "state"),
    OPENCLAW_NO_AUTO_UPDATE: "1",
    OPENCLAW_DISABLE_BONJOUR: "1",
  });
  const argv = [
    "unshare",
    "--mount",
    "sh",
    "-c",
    'mount --bind "$0" /etc/resolv.conf && exec "$@"',
    sinkhole,
    f.openclawNode,
    join(f.openclawDir, "openclaw.mjs"),
    "config",
    "validate",
    "--json",
  ];
  const t0 = performance.now();
  const p = Bun.spawn(argv, { cwd: dir, env, stdout: "pipe", stderr: "pipe", timeout: 60_000 });
  const [out, , code] = await Promise.all([new Response(p.stdout).text(), new Response(p.stderr).text(), p.exited]);
  const ms = performance.now() - t0;
  if (code !== 0 || !out.includes('"valid"')) throw new Error(`openclaw config validate exited ${code}: ${out.slice(0, 400)}`);
  return ms;
}

// ---------- bots through the appliance ----------
async function getBot(a: Appliance, name: string) {
  return a.api("GET", `/api/v1/bots/${name}`);
}

/** Waits until `pred` holds for the bot, polling every `everyMs`; returns the bot detail and when it was seen. */
async function pollBot(
  a: Appliance,
  name: string,
  pred: (d: any) => boolean,
  everyMs: number,
  timeoutMs: number,
): Promise<{ detail: any; at: number }> {
  const deadline = performance.now() + timeoutMs;
  let last: any;
  for (;;) {
    const r = await getBot(a, name);
    const at = performance.now();
    last = r.body;
    if (r.status === 200 && pred(last)) return { detail: last, at };
    if (r.status === 200 && last?.bot?.status === "error") throw new Error(`bot ${name} failed: ${last.bot.statusReason}`);
    if (at > deadline)
      throw new Error(
        `timed out waiting for bot ${name}: ${JSON.stringify({ bot: last?.bot, events: last?.events?.slice(0, 6) })}`,
      );
    await Bun.sleep(everyMs);
  }
}

/** The appliance's last log record `msg` for bot `name`, or null. */
function logRecord(a: Appliance, name: string, msg: string): Record<string, any> | null {
  let found: Record<string, any> | null = null;
  for (const line of a.logs.join("").split("\n")) {
    if (!line.includes(`"msg":"${msg}"`) || !line.includes(`"bot":"${name}"`)) continue;
    try {
      found = JSON.parse(line);
    } catch {
      // not a JSON line
    }
  }
  return found;
}
/** When the provider spawned the gateway of `name` ("gateway started" is logged right after the spawn), epoch ms. */
function spawnLoggedAt(a: Appliance, name: string): number | null {
  const r = logRecord(a, name, "gateway started");
  return r ? Date.parse(r.ts) : null;
}

interface ApplianceRun {
  readyMs: number;
  /** POST → the provider spawned the gateway (queue, ensure, validate, configure) */
  toSpawnMs: number | null;
  /** POST → the "started" event (spawn → /healthz 200 inside provider.start) */
  toStartedMs: number | null;
  /** POST → the "revision.live" event (readyz, RPC connect, config get/patch, verify) */
  toLiveMs: number | null;
}

async function applianceCreate(a: Appliance, name: string): Promise<ApplianceRun> {
  const wall0 = Date.now();
  const t0 = performance.now();
  const r = await a.api("POST", "/api/v1/bots/apply", manifest(name, MODELS[0]!));
  if (r.status !== 200 || (r.body as any).action !== "created")
    throw new Error(`apply ${name} answered ${r.status}: ${JSON.stringify(r.body)}`);
  liveBots.add(name);
  const { detail, at } = await pollBot(a, name, (d) => d.bot.status === "running" && d.bot.appliedRevision === 1, 100, 150_000);
  const ev = (type: string) => {
    const e = (detail.events as { type: string; ts: number }[]).find((x) => x.type === type);
    return e ? e.ts - wall0 : null;
  };
  const spawned = spawnLoggedAt(a, name);
  return {
    readyMs: at - t0,
    toSpawnMs: spawned === null ? null : spawned - wall0,
    toStartedMs: ev("started"),
    toLiveMs: ev("revision.live"),
  };
}

async function applianceDelete(a: Appliance, name: string): Promise<number> {
  const t0 = performance.now();
  const r = await a.api("DELETE", `/api/v1/bots/${name}?purge=true`);
  if (r.status !== 202) throw new Error(`delete ${name} answered ${r.status}: ${JSON.stringify(r.body)}`);
  const deadline = t0 + 90_000;
  while ((await getBot(a, name)).status !== 404) {
    if (performance.now() > deadline) throw new Error(`bot ${name} still there 90 s after delete`);
    await Bun.sleep(100);
  }
  liveBots.delete(name);
  const stopped = logRecord(a, name, "gateway stopped");
  if (stopped) gatewayStops.push({ bot: name, ms: stopped.ms, killed: stopped.killed });
  return performance.now() - t0;
}
/** The provider's own "gateway stopped" records (SIGTERM → group gone), from the appliance log. */
const gatewayStops: { bot: string; ms: number; killed: boolean }[] = [];

function gatewayPid(a: Appliance, ws: string, name: string): number | null {
  try {
    return JSON.parse(readFileSync(join(a.dataDir, "bots/local", ws, name, "gateway.pid"), "utf8")).pid;
  } catch {
    return null;
  }
}

// ---------- cleanup ----------
function killEverythingNow() {
  for (const pid of handGateways.keys()) {
    try {
      process.kill(-pid, "SIGKILL");
    } catch {
      // gone
    }
  }
  if (appliance) {
    for (const pid of applianceGateways(appliance.dataDir)) {
      try {
        process.kill(pid, "SIGKILL");
      } catch {
        // gone
      }
    }
    if (appliance.pid) {
      try {
        process.kill(appliance.pid, "SIGKILL");
      } catch {
        // gone
      }
    }
  }
}
for (const sig of ["SIGINT", "SIGTERM"] as const) {
  process.on(sig, () => {
    killEverythingNow();
    rmSync(root, { recursive: true, force: true });
    if (appliance) rmSync(appliance.dataDir, { recursive: true, force: true });
    process.exit(130);
  });
}

async function cleanup(): Promise<string[]> {
  const notes: string[] = [];
  for (const pid of [...handGateways.keys()]) await stopHand(pid);
  const a = appliance;
  if (a) {
    for (const name of [...liveBots]) {
      try {
        await applianceDelete(a, name);
      } catch (e) {
        notes.push(`cleanup: ${(e as Error).message}`);
      }
    }
    if (a.pid) {
      const stopped = await Promise.race([a.kill("SIGTERM").then((code) => ({ code })), Bun.sleep(10_000).then(() => null)]);
      if (!stopped) {
        notes.push("cleanup: the appliance did not exit within 10 s of SIGTERM; SIGKILLed");
        try {
          process.kill(a.pid!, "SIGKILL");
        } catch {
          // gone
        }
      } else if (stopped.code !== 0) notes.push(`cleanup: the appliance exited with ${stopped.code} after SIGTERM`);
    }
    const left = applianceGateways(a.dataDir);
    if (left.length) {
      notes.push(`cleanup: ${left.length} gateway process(es) of this run outlived their bots; SIGKILLed ${left.join(", ")}`);
      for (const pid of left) {
        try {
          process.kill(pid, "SIGKILL");
        } catch {
          // gone
        }
      }
    }
    rmSync(a.dataDir, { recursive: true, force: true });
  }
  rmSync(root, { recursive: true, force: true });
  return notes;
}

// ---------- main ----------
async function main() {
  const notes: string[] = [];
  const loadStart = load1();
  log(`starting the appliance (health every ${HEALTH_S} s, drift every ${DRIFT_S} s); load average ${loadStart}`);
  appliance = await startAppliance({
    env: { MOLTHUB_HEALTH_INTERVAL_SECONDS: String(HEALTH_S), MOLTHUB_DRIFT_INTERVAL_SECONDS: String(DRIFT_S) },
  });
  const a = appliance;
  const ws = ((await a.api("GET", "/api/v1/workspace")).body as { id: string }).id;
  const tag = randomBytes(3).toString("hex");

  // ---- 1. create → ready, alternating ----
  const hand: Awaited<ReturnType<typeof handRun>>[] = [];
  const app: ApplianceRun[] = [];
  const deletes: number[] = [];
  const order: string[] = [];
  let kept: string | null = null; // the last appliance bot, still running
  const pairStarted = performance.now();
  for (let i = 0; i < RUNS; i++) {
    if (i > 0) {
      const perPair = (performance.now() - pairStarted) / i;
      const rest = median(app.map((x) => x.readyMs)) + HOT_CHANGES * 3_000 + IDLE_SAMPLE_MS + 20_000; // parts 2, 3, cleanup
      if (performance.now() - benchStarted + perPair + rest > BUDGET_MS) {
        notes.push(
          `create/ready cut to ${i} pair(s) to keep the run within ${BUDGET_MS / 1000} s (a pair took ${r0(perPair / 1000)} s)`,
        );
        break;
      }
    }
    const handFirst = i % 2 === 0;
    for (const kind of handFirst ? (["hand", "appliance"] as const) : (["appliance", "hand"] as const)) {
      if (kept) {
        const d = await applianceDelete(a, kept);
        deletes.push(d);
        log(`  deleted ${kept} (purge) in ${r0(d)} ms`);
        kept = null;
      }
      if (kind === "hand") {
        log(`create/ready ${i + 1}/${RUNS}: by hand`);
        const h = await handRun(i);
        hand.push(h);
        order.push(`hand ${r0(h.readyMs)}`);
        log(`  by hand: /healthz ${r0(h.healthzMs)} ms, /readyz ${r0(h.readyMs)} ms`);
      } else {
        const name = `bench-${tag}-${i}`;
        log(`create/ready ${i + 1}/${RUNS}: through the appliance (${name})`);
        const r = await applianceCreate(a, name);
        app.push(r);
        order.push(`appliance ${r0(r.readyMs)}`);
        log(
          `  appliance: running at ${r0(r.readyMs)} ms (spawn at ${r.toSpawnMs} ms, started event ${r.toStartedMs} ms, revision.live ${r.toLiveMs} ms)`,
        );
        kept = name; // deleted before the next run, or kept for parts 2 and 3 when this was the last one
      }
    }
  }
  // when the last run was by hand no bot is running: create one (not counted) for parts 2 and 3
  if (!kept) {
    kept = `bench-${tag}-hot`;
    log(`creating ${kept} for the hot-change and idle measurements`);
    await applianceCreate(a, kept);
  }
  const hm = median(hand.map((x) => x.readyMs));
  const am = median(app.map((x) => x.readyMs));
  const overheadMs = am - hm;
  const overheadPct = (overheadMs / hm) * 100;

  // ---- 2. hot change → verified live ----
  const hot: number[] = [];
  const hotApplied: (number | null)[] = [];
  const pidBefore = gatewayPid(a, ws, kept);
  let rev = (await getBot(a, kept)).body.bot.desiredRevision as number;
  for (let k = 0; k < HOT_CHANGES; k++) {
    const model = MODELS[(k + 1) % MODELS.length]!;
    const wall0 = Date.now();
    const t0 = performance.now();
    const r = await a.api("POST", "/api/v1/bots/apply", manifest(kept, model));
    const body = r.body as any;
    if (r.status !== 200 || body.action !== "updated") throw new Error(`hot apply answered ${r.status}: ${JSON.stringify(body)}`);
    const paths = (body.changes ?? []).map((c: { path: string }) => c.path);
    if (paths.join() !== "agents.defaults.model") notes.push(`hot change ${k + 1}: changes were ${JSON.stringify(paths)}`);
    const want = body.revision as number;
    if (want !== rev + 1) notes.push(`hot change ${k + 1}: revision ${want}, expected ${rev + 1}`);
    rev = want;
    const { detail, at } = await pollBot(
      a,
      kept,
      (d) => d.bot.appliedRevision === want && d.bot.status === "running",
      50,
      60_000,
    );
    hot.push(at - t0);
    // the newest config.applied event (the patch went through; validate and the readyz/connect came before it)
    const applied = (detail.events as { type: string; ts: number }[]).find((e) => e.type === "config.applied");
    hotApplied.push(applied && applied.ts >= wall0 ? applied.ts - wall0 : null);
    log(
      `hot change ${k + 1}/${HOT_CHANGES} (→ ${model}, revision ${want}): verified live in ${r0(at - t0)} ms (config.applied at ${hotApplied.at(-1)} ms)`,
    );
  }
  const pidAfter = gatewayPid(a, ws, kept);
  if (pidBefore === null || pidBefore !== pidAfter)
    notes.push(`the gateway pid changed across the hot changes (${pidBefore} → ${pidAfter}): it was restarted`);
  const liveModel = (() => {
    try {
      return JSON.parse(readFileSync(join(a.dataDir, "bots/local", ws, kept!, "openclaw.json"), "utf8")).agents.defaults.model;
    } catch {
      return null;
    }
  })();
  if (liveModel !== MODELS[HOT_CHANGES % MODELS.length])
    notes.push(`openclaw.json holds model ${liveModel} after the hot changes`);

  // ---- what the validate preflight costs alone: `openclaw config validate --json`, as the provider runs it ----
  const validateMs: number[] = [];
  for (let k = 0; k < 2; k++) validateMs.push(await timeValidate(k));
  log(`openclaw config validate alone: ${validateMs.map(r0).join(", ")} ms`);

  // ---- 3. the appliance's CPU and RSS with one running bot ----
  const pid = a.pid!;
  const gw = gatewayPid(a, ws, kept);
  log(`sampling the appliance (pid ${pid}) for ${IDLE_SAMPLE_MS / 1000} s with ${kept} running (gateway pid ${gw})`);
  const eventsBefore = ((await getBot(a, kept)).body.events as unknown[]).length;
  await Bun.sleep(2_000); // let the last verification's connection close
  const rss: number[] = [];
  const perSecond: number[] = [];
  const c0 = cpuTicks(pid);
  const s0 = performance.now();
  let prevTicks = c0;
  let prevAt = s0;
  while (performance.now() - s0 < IDLE_SAMPLE_MS) {
    await Bun.sleep(1_000);
    const ticks = cpuTicks(pid);
    const now = performance.now();
    perSecond.push(((ticks - prevTicks) / CLK_TCK / ((now - prevAt) / 1000)) * 100);
    rss.push(rssMb(pid));
    prevTicks = ticks;
    prevAt = now;
  }
  const cpuPct = ((prevTicks - c0) / CLK_TCK / ((prevAt - s0) / 1000)) * 100;
  const gwRss = gw ? rssMb(gw) : NaN;
  const after = await getBot(a, kept);
  if (after.body.bot.status !== "running")
    notes.push(`after the idle minute the bot is ${after.body.bot.status}: ${after.body.bot.statusReason}`);
  const newEvents = (after.body.events as { type: string; message: string }[]).slice(
    0,
    Math.max(0, after.body.events.length - eventsBefore),
  );
  if (newEvents.length)
    notes.push(`events during the idle minute: ${newEvents.map((e) => `${e.type}: ${e.message}`).join(" | ")}`);

  // ---- the kept bot goes too (timed like the others) ----
  const d = await applianceDelete(a, kept);
  deletes.push(d);
  log(`deleted ${kept} (purge) in ${r0(d)} ms`);
  const loadEnd = load1();

  const results = {
    at: new Date().toISOString(),
    machine: {
      cpus: cpus().length,
      cpu: cpus()[0]?.model ?? "?",
      memGb: r1(totalmem() / 1024 ** 3),
      bun: Bun.version,
      platform: `${process.platform}-${process.arch}`,
      loadAvg1: { start: loadStart, end: loadEnd },
    },
    openclaw: { version: VERSION, dir: f.openclawDir, node: f.openclawNode },
    applianceProcess: "bun src/main.ts serve (test/helpers/appliance.ts startAppliance), local provider, DNS sinkhole",
    createReady: {
      runs: { hand: hand.length, appliance: app.length },
      order,
      hand: {
        medianMs: r0(hm),
        runsMs: hand.map((x) => r0(x.readyMs)),
        healthzMs: hand.map((x) => r0(x.healthzMs)),
        stopMs: hand.map((x) => r0(x.stopMs)),
      },
      appliance: {
        medianMs: r0(am),
        runsMs: app.map((x) => r0(x.readyMs)),
        toSpawnMs: app.map((x) => x.toSpawnMs),
        toStartedEventMs: app.map((x) => x.toStartedMs),
        toRevisionLiveEventMs: app.map((x) => x.toLiveMs),
        spawnToRunningMs: app.map((x) => (x.toSpawnMs === null ? null : r0(x.readyMs - x.toSpawnMs))),
      },
      overheadMs: r0(overheadMs),
      overheadPct: r1(overheadPct),
      deletePurgeMs: deletes.map(r0),
    },
    hotChange: {
      changes: hot.length,
      runsMs: hot.map(r0),
      medianMs: r0(median(hot)),
      maxMs: r0(Math.max(...hot)),
      toConfigAppliedEventMs: hotApplied,
      gatewayRestarted: pidBefore !== pidAfter,
    },
    validateAloneMs: validateMs.map(r0),
    gatewayStops,
    idle: {
      seconds: IDLE_SAMPLE_MS / 1000,
      healthIntervalS: HEALTH_S,
      driftIntervalS: DRIFT_S,
      clkTck: CLK_TCK,
      cpuPctOfOneCore: r1(cpuPct),
      cpuPctMaxPerSecond: r1(Math.max(...perSecond)),
      rssMinMb: r1(Math.min(...rss)),
      rssMaxMb: r1(Math.max(...rss)),
      gatewayLeaderRssMb: r1(gwRss),
    },
    targets: TARGETS,
    pass: {
      overhead: overheadPct < TARGETS.overheadPct && overheadMs < TARGETS.overheadMs,
      hot: Math.max(...hot) < TARGETS.hotMs,
    },
    notes,
    totalSeconds: 0,
  };
  return results;
}

let results: Awaited<ReturnType<typeof main>> | null = null;
let failure: unknown = null;
if (!openclawInstalled() || !existsSync("/usr/bin/unshare")) {
  console.log(
    `bench/bots.ts skipped: needs OpenClaw ${VERSION} + Node 26 at ${f.openclawDir} (bash test/infra/fixtures.sh) and unshare(1)`,
  );
  rmSync(root, { recursive: true, force: true });
  process.exit(0);
}
try {
  results = await main();
} catch (e) {
  failure = e;
} finally {
  log("cleaning up");
  const notes = await cleanup().catch((e) => [`cleanup failed: ${(e as Error).message}`]);
  if (results) results.notes.push(...notes);
  else for (const n of notes) log(n);
}
if (failure || !results) {
  const a = appliance as Appliance | null; // assigned inside main()
  if (a) process.stderr.write(`--- appliance log tail ---\n${a.logs.join("").trimEnd().split("\n").slice(-30).join("\n")}\n`);
  throw failure;
}
results.totalSeconds = r1((performance.now() - benchStarted) / 1000);

const c = results.createReady;
const mark = (ok: boolean) => (ok ? "ok" : "MISSED");
const rows: [string, string, string, string][] = [
  [
    `create → ready, by hand (spawn → /readyz 200), ${c.runs.hand} runs`,
    `median ${c.hand.medianMs} ms (${c.hand.runsMs.join(", ")})`,
    "",
    "",
  ],
  [
    `create → ready, appliance (apply → running rev 1), ${c.runs.appliance} runs`,
    `median ${c.appliance.medianMs} ms (${c.appliance.runsMs.join(", ")})`,
    "",
    "",
  ],
  [
    "  overhead of the appliance",
    `${c.overheadMs} ms, ${c.overheadPct} %`,
    `< ${TARGETS.overheadPct} % and < ${TARGETS.overheadMs} ms`,
    mark(results.pass.overhead),
  ],
  ["  appliance: apply → gateway spawned", `${c.appliance.toSpawnMs.map((x) => `${x ?? "?"}`).join(", ")} ms`, "", ""],
  [
    "  appliance: apply → started event (/healthz)",
    `${c.appliance.toStartedEventMs.map((x) => `${x ?? "?"}`).join(", ")} ms`,
    "",
    "",
  ],
  [
    "  appliance: apply → revision.live event",
    `${c.appliance.toRevisionLiveEventMs.map((x) => `${x ?? "?"}`).join(", ")} ms`,
    "",
    "",
  ],
  [
    "  appliance: gateway spawned → running rev 1",
    `${c.appliance.spawnToRunningMs.map((x) => `${x ?? "?"}`).join(", ")} ms`,
    "",
    "",
  ],
  ["  by hand: spawn → /healthz 200", `${c.hand.healthzMs.join(", ")} ms`, "", ""],
  ["`openclaw config validate` alone (the preflight)", `${results.validateAloneMs.join(", ")} ms`, "", ""],
  [
    "delete with purge → 404",
    `${c.deletePurgeMs.join(", ")} ms (gateway stop ${results.gatewayStops.map((g) => `${g.ms}${g.killed ? " KILLED" : ""}`).join(", ")} ms)`,
    "",
    "",
  ],
  [
    `hot change → verified live, ${results.hotChange.changes} changes`,
    `median ${results.hotChange.medianMs} ms, max ${results.hotChange.maxMs} ms (${results.hotChange.runsMs.join(", ")})`,
    `< ${TARGETS.hotMs} ms`,
    mark(results.pass.hot),
  ],
  [
    "  hot: apply → config.applied event",
    `${results.hotChange.toConfigAppliedEventMs.map((x) => `${x ?? "?"}`).join(", ")} ms`,
    "",
    "",
  ],
  [
    `appliance CPU, ${results.idle.seconds} s, 1 bot (health ${HEALTH_S} s, drift ${DRIFT_S} s)`,
    `${results.idle.cpuPctOfOneCore} % of one core (max ${results.idle.cpuPctMaxPerSecond} % in a second)`,
    "",
    "",
  ],
  [
    "appliance RSS over the same minute",
    `${results.idle.rssMinMb}–${results.idle.rssMaxMb} MB (gateway leader ${results.idle.gatewayLeaderRssMb} MB)`,
    "",
    "",
  ],
];
const w = [0, 1, 2].map((i) => Math.max(...rows.map((r) => r[i]!.length), ["measure", "figure", "target"][i]!.length));
const line = (r: string[]) =>
  r
    .map((x, i) => (i < 3 ? x.padEnd(w[i]!) : x))
    .join("  ")
    .trimEnd();
console.log(
  `\nMolthub bots bench — ${results.machine.cpus} × ${results.machine.cpu}, Bun ${Bun.version}, OpenClaw ${VERSION}, load average ${results.machine.loadAvg1.start} → ${results.machine.loadAvg1.end}\n`,
);
console.log(line(["measure", "figure", "target", ""]));
console.log(line(w.map((n) => "-".repeat(n)).concat("")));
for (const r of rows) console.log(line(r));
console.log(`\norder: ${c.order.join(" → ")}`);
for (const n of results.notes) console.log(`note: ${n}`);
console.log(`\ntotal ${results.totalSeconds} s`);
mkdirSync(join(repo, "bench/results"), { recursive: true });
writeFileSync(join(repo, "bench/results/bots.json"), `${JSON.stringify(results, null, 2)}\n`);
console.log("results written to bench/results/bots.json");
