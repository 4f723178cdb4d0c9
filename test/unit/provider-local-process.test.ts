/**
 * LocalProvider process handling without a real gateway: a fake `node` (a shell script) stands in for
 * OpenClaw, records its argv and env, and sleeps. Covers file modes, argv/env hygiene, the pid file's
 * start-time check (a recycled PID is never ours), process-group stop with the SIGKILL deadline, and the
 * early-exit (78) report.
 */
import { spawn } from "node:child_process";
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { parseEnvFile } from "../../providers/env-file.ts";
import { processStatus, readPidFile, readProcStat, writePidFile } from "../../providers/local/process.ts";
import { LocalProvider } from "../../providers/local/provider.ts";
import { type BotRuntime, ProviderError } from "../../providers/provider.ts";
import { botEnvironment } from "../../src/domain/openclaw-config.ts";

const TOKEN = "gw-token-unit-7f3a9c1e5b";
const SECRET = "sk-unit-secret-2b8d4f6a";
const signal = () => AbortSignal.timeout(20_000);

let dir: string;
let fakeInstall: string;
const started: number[] = [];

/** A fake OpenClaw install: openclaw.mjs + package.json, and a `node` that runs the given shell body. */
function makeInstall(name: string, body: string): { openclawDir: string; nodeBin: string } {
  const root = join(fakeInstall, name);
  const openclawDir = join(root, "node_modules", "openclaw");
  mkdirSync(openclawDir, { recursive: true });
  writeFileSync(join(openclawDir, "openclaw.mjs"), "// fake\n");
  writeFileSync(join(openclawDir, "package.json"), JSON.stringify({ name: "openclaw", version: "2026.9.6" }));
  const nodeBin = join(root, "node");
  writeFileSync(nodeBin, `#!/bin/sh\n${body}\n`);
  chmodSync(nodeBin, 0o755);
  return { openclawDir, nodeBin };
}

const RECORD = `printf '%s\\n' "$@" > "$OPENCLAW_STATE_DIR/argv.txt"; env > "$OPENCLAW_STATE_DIR/env.txt"`;

function bot(provider: LocalProvider, name: string, port: number): BotRuntime {
  const ref = { id: `id-${name}`, name, workspaceId: "ws1", target: { provider: "local" as const, version: "2026.9.6" }, port };
  const layout = provider.layout(ref);
  return {
    ...ref,
    config: { gateway: { mode: "local", bind: "loopback", port }, logging: { file: layout.logFile } },
    configHash: "x",
    env: botEnvironment({ layout, port, gatewayToken: TOKEN, secrets: { ANTHROPIC_API_KEY: SECRET } }),
  };
}

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "molthub-local-unit-"));
  fakeInstall = join(dir, "installs");
});

afterEach(() => {
  for (const pid of started.splice(0)) {
    try {
      process.kill(pid, "SIGKILL");
    } catch {
      /* gone */
    }
  }
});

afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("LocalProvider files", () => {
  it("writes openclaw.json and the env file with mode 0600 in a 0700 state dir", async () => {
    const install = makeInstall("files", "exit 0");
    const p = new LocalProvider({ rootDir: join(dir, "bots-files"), ...install });
    const b = bot(p, "files", 20_000);
    await p.configure(b, signal());
    const layout = p.layout(b);
    expect(statSync(layout.envFile).mode & 0o777).toBe(0o600);
    expect(statSync(layout.configPath).mode & 0o777).toBe(0o600);
    expect(statSync(layout.stateDir).mode & 0o777).toBe(0o700);
    expect(parseEnvFile(readFileSync(layout.envFile, "utf8"))).toEqual(b.env);
    expect(JSON.parse(readFileSync(layout.configPath, "utf8"))).toEqual(b.config);
    // Rewrites stay 0600 and leave no temp files behind.
    await p.configure({ ...b, config: { ...b.config, extra: 1 } }, signal());
    expect(statSync(layout.configPath).mode & 0o777).toBe(0o600);
    expect(readFileSync(layout.configPath, "utf8")).toContain('"extra": 1');
  });

  it("refuses env values with line breaks and path-like bot names", async () => {
    const install = makeInstall("refuse", "exit 0");
    const p = new LocalProvider({ rootDir: join(dir, "bots-refuse"), ...install });
    const b = bot(p, "refuse", 20_000);
    await expect(p.configure({ ...b, env: { ...b.env, BAD: "a\nB=c" } }, signal())).rejects.toBeInstanceOf(ProviderError);
    expect(() => p.layout({ ...b, name: ".." })).toThrow(ProviderError);
    expect(() => p.layout({ ...b, workspaceId: "a/b" })).toThrow(ProviderError);
  });
});

describe("LocalProvider pid file", () => {
  it("recognises a live process only while its start time matches (a recycled PID is not ours)", async () => {
    const victim = spawn("sleep", ["60"], { stdio: "ignore" });
    started.push(victim.pid!);
    const stat = readProcStat(victim.pid!);
    expect(stat).not.toBeNull();
    expect(processStatus({ pid: victim.pid!, startTime: stat!.startTime }).state).toBe("running");
    expect(processStatus({ pid: victim.pid!, startTime: stat!.startTime + 1 }).state).toBe("recycled");

    const install = makeInstall("recycled", "exit 0");
    const p = new LocalProvider({ rootDir: join(dir, "bots-recycled"), ...install });
    const b = bot(p, "recycled", 20_000);
    await p.configure(b, signal());
    const pidFile = join(p.layout(b).stateDir, "gateway.pid");
    writePidFile(pidFile, { pid: victim.pid!, startTime: stat!.startTime + 1 });
    expect(statSync(pidFile).mode & 0o777).toBe(0o600);

    const seen = await p.observe(b, signal());
    expect(seen.running).toBe(false);
    expect(seen.detail).toMatch(/another process/);
    // stop must not signal a process that merely reuses the number
    await p.stop(b, { deadlineMs: 1_000 }, signal());
    expect(processStatus({ pid: victim.pid!, startTime: stat!.startTime }).state).toBe("running");
    expect(existsSync(pidFile)).toBe(false);

    // the same PID with the right start time is adopted as running
    writePidFile(pidFile, { pid: victim.pid!, startTime: stat!.startTime });
    const adopted = await p.observe(b, signal());
    expect(adopted).toMatchObject({ running: true, pid: victim.pid, exists: true });
  });

  it("treats a missing, corrupt or vanished pid file as not running", async () => {
    const install = makeInstall("corrupt", "exit 0");
    const p = new LocalProvider({ rootDir: join(dir, "bots-corrupt"), ...install });
    const b = bot(p, "corrupt", 20_000);
    expect(await p.observe(b, signal())).toMatchObject({ exists: false, running: false });
    await p.configure(b, signal());
    const pidFile = join(p.layout(b).stateDir, "gateway.pid");
    writeFileSync(pidFile, "12345 not json");
    expect(readPidFile(pidFile)).toBeNull();
    expect(await p.observe(b, signal())).toMatchObject({ exists: true, running: false });
    writePidFile(pidFile, { pid: 2 ** 22 + 7, startTime: 1 });
    expect(await p.observe(b, signal())).toMatchObject({ exists: true, running: false });
  });
});

describe("LocalProvider start/stop with a fake gateway", () => {
  it("passes secrets only through the environment: argv holds none, the env is allowlisted", async () => {
    const install = makeInstall("argv", `${RECORD}; exec sleep 300`);
    const p = new LocalProvider({ rootDir: join(dir, "bots-argv"), ...install, startupCheckMs: 300 });
    const b = bot(p, "argv", 20_120);
    await p.configure(b, signal());
    process.env.VITEST_LOCAL_PROBE = "1";
    try {
      await p.start(b, signal());
    } finally {
      delete process.env.VITEST_LOCAL_PROBE;
    }
    const seen = await p.observe(b, signal());
    expect(seen).toMatchObject({ running: true, exists: true, openclawVersion: "2026.9.6" });
    started.push(seen.pid!);
    const layout = p.layout(b);
    await waitFor(() => existsSync(join(layout.stateDir, "env.txt")));

    const argv = readFileSync(join(layout.stateDir, "argv.txt"), "utf8").trim().split("\n");
    expect(argv).toEqual([join(install.openclawDir, "openclaw.mjs"), "gateway", "run", "--port", "20120"]);
    const cmdline = readFileSync(`/proc/${seen.pid}/cmdline`, "utf8");
    for (const text of [argv.join(" "), cmdline]) {
      expect(text).not.toContain(TOKEN);
      expect(text).not.toContain(SECRET);
    }
    const env = parseEnvFile(readFileSync(join(layout.stateDir, "env.txt"), "utf8"));
    expect(env.OPENCLAW_GATEWAY_TOKEN).toBe(TOKEN);
    expect(env.ANTHROPIC_API_KEY).toBe(SECRET);
    expect(env.OPENCLAW_CONFIG_PATH).toBe(layout.configPath);
    expect(env.HOME).toBe(join(layout.stateDir, "home"));
    expect(Object.keys(env).filter((k) => k.startsWith("VITEST") || k === "NODE_ENV" || k === "TEST")).toEqual([]);

    // The pid file records pid + kernel start time; a second start is a no-op while it runs.
    const record = readPidFile(join(layout.stateDir, "gateway.pid"))!;
    expect(record.pid).toBe(seen.pid);
    expect(record.startTime).toBe(readProcStat(seen.pid!)!.startTime);
    await p.start(b, signal());
    expect((await p.observe(b, signal())).pid).toBe(seen.pid);

    await p.stop(b, { deadlineMs: 5_000 }, signal());
    expect(await p.observe(b, signal())).toMatchObject({ running: false });
    expect(existsSync(join(layout.stateDir, "gateway.pid"))).toBe(false);
  });

  it("stops the whole process group and SIGKILLs what ignores SIGTERM after the deadline", async () => {
    const install = makeInstall(
      "stubborn",
      `trap '' TERM; sleep 300 & echo $! > "$OPENCLAW_STATE_DIR/worker.pid"; exec sleep 300`,
    );
    const p = new LocalProvider({ rootDir: join(dir, "bots-stubborn"), ...install, startupCheckMs: 300 });
    const b = bot(p, "stubborn", 20_240);
    await p.configure(b, signal());
    await p.start(b, signal());
    const seen = await p.observe(b, signal());
    started.push(seen.pid!);
    const workerFile = join(p.layout(b).stateDir, "worker.pid");
    await waitFor(() => existsSync(workerFile) && readFileSync(workerFile, "utf8").trim() !== "");
    const worker = Number(readFileSync(workerFile, "utf8"));
    started.push(worker);
    expect(readProcStat(worker)?.pgrp).toBe(seen.pid);

    const t0 = Date.now();
    await p.stop(b, { deadlineMs: 600 }, signal());
    const took = Date.now() - t0;
    expect(took).toBeGreaterThanOrEqual(550);
    expect(took).toBeLessThan(5_000);
    expect(readProcStat(seen.pid!)?.state ?? "gone").toMatch(/gone|Z/);
    expect(readProcStat(worker)?.state ?? "gone").toMatch(/gone|Z/);
    // idempotent
    await p.stop(b, { deadlineMs: 600 }, signal());
  });

  it("reports an immediate exit 78 as invalid_config with the output tail, secrets scrubbed", async () => {
    const install = makeInstall(
      "exit78",
      `echo "Gateway failed to start: Invalid config (token $OPENCLAW_GATEWAY_TOKEN)"; exit 78`,
    );
    const p = new LocalProvider({ rootDir: join(dir, "bots-exit78"), ...install, startupCheckMs: 5_000 });
    const b = bot(p, "exit78", 20_360);
    await p.configure(b, signal());
    const err = await p.start(b, signal()).then(
      () => null,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(ProviderError);
    expect((err as ProviderError).code).toBe("invalid_config");
    expect((err as ProviderError).message).toContain("Invalid config");
    expect((err as ProviderError).message).not.toContain(TOKEN);
    expect(await p.observe(b, signal())).toMatchObject({ running: false });
  });

  it("keeps the gateway running after the process that started it exits, and a new instance adopts it", async () => {
    const install = makeInstall("outlive", "exec sleep 300");
    const rootDir = join(dir, "bots-outlive");
    const p = new LocalProvider({ rootDir, ...install, startupCheckMs: 200 });
    const b = bot(p, "outlive", 20_600);
    await p.configure(b, signal());
    // A separate "appliance" process starts the bot and exits.
    const script = join(dir, "appliance.ts");
    const providerModule = join(import.meta.dirname, "../../providers/local/provider.ts");
    writeFileSync(
      script,
      `import { LocalProvider } from ${JSON.stringify(providerModule)};\n` +
        `const p = new LocalProvider(${JSON.stringify({ rootDir, ...install, startupCheckMs: 200 })});\n` +
        `await p.start(${JSON.stringify(b)}, AbortSignal.timeout(10_000));\n`,
    );
    const appliance = spawn(process.execPath, [script], { stdio: "inherit", env: { PATH: process.env.PATH ?? "/usr/bin:/bin" } });
    const code = await new Promise<number | null>((resolve) => appliance.once("exit", resolve));
    expect(code).toBe(0);
    const seen = await p.observe(b, signal());
    expect(seen).toMatchObject({ running: true });
    started.push(seen.pid!);
    expect(readProcStat(seen.pid!)?.ppid).not.toBe(appliance.pid);
    await p.stop(b, { deadlineMs: 2_000 }, signal());
    expect(await p.observe(b, signal())).toMatchObject({ running: false });
  });

  it("destroy with purge removes the state dir; without purge only config, env and pid file", async () => {
    const install = makeInstall("destroy", "exec sleep 300");
    const p = new LocalProvider({ rootDir: join(dir, "bots-destroy"), ...install, startupCheckMs: 200 });
    const b = bot(p, "destroy", 20_480);
    const layout = p.layout(b);
    await p.configure(b, signal());
    await p.start(b, signal());
    const pid = (await p.observe(b, signal())).pid!;
    started.push(pid);
    await p.destroy(b, { purge: false }, signal());
    expect(readProcStat(pid)?.state ?? "gone").toMatch(/gone|Z/);
    expect(existsSync(layout.configPath) || existsSync(layout.envFile)).toBe(false);
    expect(existsSync(layout.stateDir)).toBe(true);
    await p.destroy(b, { purge: true }, signal());
    expect(existsSync(layout.stateDir)).toBe(false);
  });
});

async function waitFor(cond: () => boolean, timeoutMs = 5_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > end) throw new Error("condition not met in time");
    await new Promise((r) => setTimeout(r, 25));
  }
}
