// Load generator for bench/run.ts, run as its own process so it never shares an event loop with the
// server or with the runner. Closed loop: N workers, each sends its next request when the last one
// has been answered and read. Prints one JSON object on stdout.
//
//   BENCH_TOKEN=mht_… bun bench/load.ts --url http://127.0.0.1:P/api/v1/audit --concurrency 50 --duration-ms 10000 --warmup-ms 1000 --max 300000
import { parseArgs } from "node:util";

const { values } = parseArgs({
  options: {
    url: { type: "string" },
    concurrency: { type: "string", default: "50" },
    "duration-ms": { type: "string", default: "10000" },
    "warmup-ms": { type: "string", default: "1000" },
    max: { type: "string", default: "300000" },
  },
});
if (!values.url) throw new Error("--url is required");
const url = values.url;
const concurrency = Number(values.concurrency);
const durationMs = Number(values["duration-ms"]);
const warmupMs = Number(values["warmup-ms"]);
const max = Number(values.max);
const headers: Record<string, string> = { accept: "application/json" };
if (process.env.BENCH_TOKEN) headers.authorization = `Bearer ${process.env.BENCH_TOKEN}`;

const latencies = new Float64Array(max);
let count = 0;
let errors = 0;
let firstError: string | null = null;
let bytes = 0;
let measuring = false;
let stop = false;

async function worker(): Promise<void> {
  while (!stop) {
    const t0 = performance.now();
    try {
      const res = await fetch(url, { headers });
      const body = await res.arrayBuffer();
      const ms = performance.now() - t0;
      if (res.status !== 200) {
        errors++;
        firstError ??= `HTTP ${res.status}: ${new TextDecoder().decode(body).slice(0, 200)}`;
        continue;
      }
      if (!measuring) continue;
      if (count >= max) {
        stop = true;
        return;
      }
      latencies[count++] = ms;
      bytes += body.byteLength;
    } catch (e) {
      errors++;
      firstError ??= (e as Error).message;
      if (errors > 1000) stop = true;
    }
  }
}

const workers = Array.from({ length: concurrency }, () => worker());
await Bun.sleep(warmupMs);
measuring = true;
const t0 = performance.now();
const timer = setTimeout(() => (stop = true), durationMs);
while (!stop) await Bun.sleep(20);
const elapsed = performance.now() - t0;
clearTimeout(timer);
await Promise.all(workers);

const sorted = latencies.subarray(0, count).sort();
const pct = (p: number) => (count ? sorted[Math.min(count - 1, Math.ceil((p / 100) * count) - 1)]! : NaN);
const round = (x: number) => Math.round(x * 100) / 100;
console.log(
  JSON.stringify({
    requests: count,
    errors,
    firstError,
    seconds: round(elapsed / 1000),
    rps: round(count / (elapsed / 1000)),
    p50: round(pct(50)),
    p95: round(pct(95)),
    p99: round(pct(99)),
    max: round(count ? sorted[count - 1]! : NaN),
    meanBytes: count ? Math.round(bytes / count) : 0,
  }),
);
