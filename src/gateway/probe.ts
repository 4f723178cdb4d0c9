/**
 * Unauthenticated HTTP probes of a gateway: `/healthz` (the process is live) and `/readyz` (startup sidecars and
 * channels are ready; 503 lists what is failing). They never throw: a probe that cannot reach the gateway
 * reports `ok: false, status: 0` with the reason.
 *
 * @example
 * const ready = await probeReadyz("http://127.0.0.1:18789");
 * if (!ready.ok) console.log(ready.status, ready.body?.failing);
 */
import { type HealthzBody, HealthzBodySchema, type ReadyzBody, ReadyzBodySchema } from "./protocol.ts";

export interface ProbeResult<Body> {
  /** 200 and the body says so (`ok:true` / `ready:true`). */
  ok: boolean;
  /** HTTP status; 0 when no response arrived. */
  status: number;
  /** The parsed JSON body when it has the expected shape, else null. */
  body: Body | null;
  durationMs: number;
  /** Why the probe failed, for logs and the UI. */
  error?: string;
}

export interface ProbeOptions {
  /** Default 5 s. */
  timeoutMs?: number;
  signal?: AbortSignal;
}

/** Liveness: `{ ok: true, status: "live" }`. */
export function probeHealthz(baseUrl: string, options: ProbeOptions = {}): Promise<ProbeResult<HealthzBody>> {
  return probe(baseUrl, "/healthz", options, (status, json) => {
    const body = HealthzBodySchema.safeParse(json);
    return { body: body.success ? body.data : null, ok: status === 200 && body.success && body.data.ok };
  });
}

/** Readiness: 200 `{ ready: true }`, or 503 `{ ready: false, failing: [...] }`. */
export function probeReadyz(baseUrl: string, options: ProbeOptions = {}): Promise<ProbeResult<ReadyzBody>> {
  return probe(baseUrl, "/readyz", options, (status, json) => {
    const body = ReadyzBodySchema.safeParse(json);
    return { body: body.success ? body.data : null, ok: status === 200 && body.success && body.data.ready };
  });
}

/** `ws://host:port/...` → `http://host:port` (and wss → https); http(s) URLs pass through without a path. */
export function httpBaseUrl(url: string): string {
  const parsed = new URL(url);
  const protocol = parsed.protocol === "wss:" ? "https:" : parsed.protocol === "ws:" ? "http:" : parsed.protocol;
  return `${protocol}//${parsed.host}`;
}

async function probe<Body>(
  baseUrl: string,
  path: string,
  options: ProbeOptions,
  interpret: (status: number, json: unknown) => { body: Body | null; ok: boolean },
): Promise<ProbeResult<Body>> {
  const timeoutMs = options.timeoutMs ?? 5_000;
  const started = Date.now();
  const signal = options.signal
    ? AbortSignal.any([options.signal, AbortSignal.timeout(timeoutMs)])
    : AbortSignal.timeout(timeoutMs);
  let url: string;
  try {
    url = `${httpBaseUrl(baseUrl)}${path}`;
  } catch {
    return { ok: false, status: 0, body: null, durationMs: 0, error: `Not a URL: ${JSON.stringify(baseUrl)}` };
  }
  try {
    const res = await fetch(url, { signal, redirect: "manual", headers: { accept: "application/json" } });
    const text = await res.text();
    let json: unknown = null;
    try {
      json = JSON.parse(text);
    } catch {
      /* not JSON: unknown paths on the gateway serve the Control UI's HTML */
    }
    const { body, ok } = interpret(res.status, json);
    const result: ProbeResult<Body> = { ok, status: res.status, body, durationMs: Date.now() - started };
    if (!ok) {
      result.error =
        body === null
          ? `${path} answered ${res.status} without the expected JSON; is this port an OpenClaw gateway?`
          : `${path} answered ${res.status}`;
    }
    return result;
  } catch (error) {
    const timedOut =
      error instanceof Error && (error.name === "TimeoutError" || (error.name === "AbortError" && !options.signal?.aborted));
    return {
      ok: false,
      status: 0,
      body: null,
      durationMs: Date.now() - started,
      error: timedOut
        ? `${path} did not answer within ${timeoutMs} ms`
        : `${path} unreachable: ${error instanceof Error ? error.message : String(error)}`,
    };
  }
}
