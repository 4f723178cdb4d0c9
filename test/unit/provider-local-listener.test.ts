/**
 * The local provider's proof before any token, with real processes and real sockets (no OpenClaw needed): a
 * stand-in gateway is a child process named by the bot's pid file; a foreign listener is a plain loopback TCP server
 * in this test process that records every byte it receives. endpoint() (and every connection through it) passes
 * only when the socket on the bot's port belongs to the pid file's process or a descendant.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { ForeignListenerError } from "../../providers/listener.ts";
import { readProcStat, writePidFile } from "../../providers/local/process.ts";
import { LocalProvider } from "../../providers/local/provider.ts";
import type { BotRef } from "../../providers/provider.ts";

const BUN = process.execPath;
let dir: string;
let provider: LocalProvider;
const children: ChildProcess[] = [];
const servers: { stop(): void }[] = [];

async function freePort(): Promise<number> {
  const l = Bun.listen({ hostname: "127.0.0.1", port: 0, socket: { data() {} } });
  const p = l.port;
  l.stop(true);
  return p;
}

function botOn(port: number, name = "helper"): BotRef {
  return { id: `id-${name}`, name, workspaceId: "ws1", target: { provider: "local", version: "2026.9.6" }, port };
}

/** A stand-in gateway answering "gw" on `port`; with `grandchild` the listener is the child's child. */
async function startGateway(bot: BotRef, opts: { grandchild?: boolean } = {}): Promise<ChildProcess> {
  const listen = `require("net").createServer((s)=>s.end("gw")).listen(${bot.port},"127.0.0.1");setInterval(()=>{},1e6)`;
  const code = opts.grandchild
    ? `require("child_process").spawn(process.execPath,["-e",${JSON.stringify(listen)}],{stdio:"inherit"});setInterval(()=>{},1e6)`
    : listen;
  const child = spawn(BUN, ["-e", code], { stdio: "ignore", detached: true });
  children.push(child);
  const stat = readProcStat(child.pid!)!;
  const stateDir = provider.layout(bot).stateDir;
  mkdirSync(stateDir, { recursive: true });
  writePidFile(join(stateDir, "gateway.pid"), { pid: child.pid!, startTime: stat.startTime, port: bot.port });
  for (let i = 0; i < 100; i++) {
    const ok = await fetchRaw(bot.port).catch(() => null);
    if (ok === "gw") return child;
    await Bun.sleep(50);
  }
  throw new Error("the stand-in gateway did not listen");
}

/** The bytes a plain TCP connect to `port` gets back. */
function fetchRaw(port: number, send = "hello"): Promise<string> {
  return new Promise((resolve, reject) => {
    let got = "";
    Bun.connect({
      hostname: "127.0.0.1",
      port,
      socket: {
        open(s) {
          s.write(send);
        },
        data(_s, d) {
          got += Buffer.from(d).toString();
        },
        close() {
          resolve(got);
        },
        error(_s, e) {
          reject(e);
        },
        connectError(_s, e) {
          reject(e);
        },
      },
    }).catch(reject);
  });
}

/** A foreign listener that records every byte it receives. */
function recorder(port: number): { received: () => string; stop(): void } {
  let data = "";
  const l = Bun.listen({ hostname: "127.0.0.1", port, socket: { data: (_s, d) => void (data += Buffer.from(d).toString()) } });
  const r = { received: () => data, stop: () => l.stop(true) };
  servers.push(r);
  return r;
}

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "molthub-local-listener-"));
  provider = new LocalProvider({ rootDir: dir, openclawDir: join(dir, "none") });
});
afterEach(() => {
  for (const s of servers.splice(0)) s.stop();
  for (const c of children.splice(0)) {
    try {
      process.kill(-c.pid!, "SIGKILL");
    } catch {
      // gone
    }
  }
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("local endpoint: the proof before any token", () => {
  it("passes connections to the bot's own gateway, also when a descendant holds the socket", async () => {
    for (const grandchild of [false, true]) {
      const bot = botOn(await freePort(), grandchild ? "deep" : "helper");
      await startGateway(bot, { grandchild });
      const ep = await provider.endpoint(bot, AbortSignal.timeout(5_000));
      expect(await fetchRaw(Number(new URL(ep.httpUrl).port))).toBe("gw");
      expect(await provider.portFree(bot, bot.port, AbortSignal.timeout(5_000))).toBe(true);
      await ep.close();
    }
  });

  it("refuses a foreign listener on the bot's port, naming its pid, and sends it nothing", async () => {
    const bot = botOn(await freePort());
    const rec = recorder(bot.port);
    const err = await provider.endpoint(bot, AbortSignal.timeout(5_000)).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ForeignListenerError);
    expect(err).toMatchObject({ code: "foreign_listener", port: bot.port });
    expect((err as Error).message).toContain(`port ${bot.port} on 127.0.0.1 is held by pid ${process.pid}`);
    expect((err as Error).message).toContain("its gateway is not running");
    expect((err as Error).message).not.toMatch(/another port/);
    expect(await provider.portFree(bot, bot.port, AbortSignal.timeout(5_000))).toBe(false);
    await Bun.sleep(100);
    expect(rec.received()).toBe("");
  });

  it("refuses once the gateway is gone and someone else took its port (the pid file alone proves nothing)", async () => {
    const bot = botOn(await freePort());
    const child = await startGateway(bot);
    process.kill(-child.pid!, "SIGKILL");
    await new Promise((r) => child.once("exit", r));
    let rec: ReturnType<typeof recorder> | undefined;
    for (let i = 0; i < 50 && !rec; i++) {
      try {
        rec = recorder(bot.port);
      } catch {
        await Bun.sleep(50);
      }
    }
    await expect(provider.endpoint(bot, AbortSignal.timeout(5_000))).rejects.toMatchObject({ code: "foreign_listener" });
    expect(rec!.received()).toBe("");
  });

  it("per connection: an endpoint handed out while nothing listened refuses a listener that appears later", async () => {
    const bot = botOn(await freePort());
    const ep = await provider.endpoint(bot, AbortSignal.timeout(5_000)); // nothing listens: not an error yet
    const rec = recorder(bot.port);
    const got = await fetchRaw(Number(new URL(ep.httpUrl).port), "connect frame with the token").catch(() => "");
    expect(got).toBe("");
    expect(ep.refusal?.()).toMatchObject({ code: "foreign_listener" });
    await Bun.sleep(100);
    expect(rec.received()).toBe("");
    await ep.close();
  });
});
