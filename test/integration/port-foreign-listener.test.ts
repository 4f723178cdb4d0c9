/**
 * A gateway port held by someone else gets no token (issue 10, defect 3), through the appliance, with real OpenClaw
 * gateways as local processes.
 *
 * The foreign listener is a plain loopback TCP server in this test process that records every byte it receives
 * and imitates a gateway just enough to be trusted by a client that trusts port numbers: /healthz and /readyz
 * answer 200, a WebSocket upgrade is accepted and answered with a `connect.challenge` (so such a client would send
 * its `connect` frame, token included; client frames are masked, so the recorder unmasks them too).
 *
 * 1. It binds the port a new local bot was just given (the appliance is paused with SIGSTOP between the apply and
 *    the start, so the bind is deterministic).
 * 2. It binds a healthy bot's port right after that bot's gateway died (killed out of band), before Molthub notices.
 * Either way the bot must not become "running" on that port, the recorder must never see the bot's gateway token,
 * and the bot's status or timeline must name the holder (this test's pid). Once the reconciler moves such a bot to
 * a free port (reallocatePort), "running" on the new port is fine.
 */
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { createServer, type Server, type Socket } from "node:net";
import { join } from "node:path";
import { afterAll, beforeAll, expect, it, vi } from "vitest";
import { parseEnvFile } from "../../providers/env-file.ts";
import { readPidFile } from "../../providers/local/process.ts";
import { type Appliance, startAppliance, waitForBot } from "../helpers/appliance.ts";
import { checkComponents, describeWithComponent } from "../infra/components.ts";

const [openclaw] = await checkComponents("openclaw");
vi.setConfig({ testTimeout: 240_000 });

/** The imitation gateway; `seen()` is every byte received plus every unmasked WebSocket payload. */
function startRecorder(port: number): Promise<{ seen: () => string; connections: () => number; close: () => Promise<void> }> {
  let raw = "";
  let frames = "";
  let connections = 0;
  const sockets = new Set<Socket>();
  const server: Server = createServer((s) => {
    connections++;
    sockets.add(s);
    s.on("close", () => sockets.delete(s));
    s.on("error", () => {});
    let buf = Buffer.alloc(0);
    let upgraded = false;
    s.on("data", (chunk: Buffer) => {
      raw += chunk.toString("latin1");
      buf = Buffer.concat([buf, chunk]);
      if (!upgraded) {
        const head = buf.toString("latin1");
        if (!head.includes("\r\n\r\n")) return;
        const key = /sec-websocket-key:\s*(\S+)/i.exec(head)?.[1];
        if (key) {
          upgraded = true;
          buf = buf.subarray(head.indexOf("\r\n\r\n") + 4);
          const accept = createHash("sha1").update(`${key}258EAFA5-E914-47DA-95CA-C5AB0DC11B65`).digest("base64");
          s.write(
            `HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${accept}\r\n\r\n`,
          );
          const challenge = Buffer.from(
            JSON.stringify({ type: "event", event: "connect.challenge", payload: { nonce: "n0nce", ts: Date.now() } }),
          );
          s.write(Buffer.concat([Buffer.from([0x81, challenge.length]), challenge]));
        } else {
          const body = '{"ok":true,"status":"live","ready":true}';
          s.end(
            `HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: ${body.length}\r\nconnection: close\r\n\r\n${body}`,
          );
          return;
        }
      }
      // client frames: FIN/opcode, MASK|len (126: 16-bit length), 4-byte mask, masked payload
      while (buf.length >= 6) {
        let len = buf[1]! & 0x7f;
        let off = 2;
        if (len === 126) {
          len = buf.readUInt16BE(2);
          off = 4;
        } else if (len === 127) {
          len = Number(buf.readBigUInt64BE(2));
          off = 10;
        }
        if (buf.length < off + 4 + len) break;
        const mask = buf.subarray(off, off + 4);
        const payload = Buffer.from(buf.subarray(off + 4, off + 4 + len));
        for (let i = 0; i < payload.length; i++) payload[i]! ^= mask[i % 4]!;
        frames += payload.toString("utf8");
        buf = buf.subarray(off + 4 + len);
      }
    });
  });
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, "127.0.0.1", () =>
      resolve({
        seen: () => `${raw}\n${frames}`,
        connections: () => connections,
        close: async () => {
          for (const s of sockets) s.destroy();
          await new Promise<void>((r) => server.close(() => r()));
        },
      }),
    );
  });
}

describeWithComponent("a foreign listener on a bot's port gets no token (local)", [openclaw!], () => {
  let a: Appliance;
  let ws: string;
  const recorders: { close: () => Promise<void> }[] = [];
  const manifest = (name: string) => ({
    apiVersion: "molthub/v1",
    kind: "Bot",
    metadata: { name },
    spec: {
      target: { provider: "local", version: "2026.9.6" },
      openclaw: { models: { catalogRefresh: { enabled: false } }, update: { checkOnStart: false } },
    },
  });
  const stateDir = (name: string) => join(a.dataDir, "bots", "local", ws, name);
  const tokenOf = (name: string) =>
    parseEnvFile(readFileSync(join(stateDir(name), "molthub.env"), "utf8")).OPENCLAW_GATEWAY_TOKEN!;
  const holder = new RegExp(`held by pid ${process.pid}\\b`);

  /**
   * Polls until the bot's status or timeline names this process as the holder, then keeps watching for three
   * health polls: the bot is never "running" on the held port (`fromStart`: not even before the cause was named).
   */
  async function waitForCause(name: string, port: number, fromStart: boolean) {
    const seen: { status: string; port: number }[] = [];
    const d = await waitForBot(
      a,
      name,
      (b) => {
        if (fromStart) seen.push({ status: b.bot.status, port: b.bot.port });
        return holder.test(b.bot.statusReason ?? "") || b.events.some((e: { message: string }) => holder.test(e.message));
      },
      150_000,
    );
    for (const until = Date.now() + 16_000; Date.now() < until; await Bun.sleep(500)) {
      const b = (await a.api("GET", `/api/v1/bots/${name}`)).body;
      seen.push({ status: b.bot.status, port: b.bot.port });
    }
    expect(seen.filter((s) => s.status === "running" && s.port === port)).toEqual([]);
    return d;
  }

  beforeAll(async () => {
    a = await startAppliance();
    ws = ((await a.api("GET", "/api/v1/workspace")).body as { id: string }).id;
  });
  afterAll(async () => {
    for (const r of recorders) await r.close().catch(() => {});
    if (!a) return;
    for (const name of ["squatted", "victim"]) await a.api("DELETE", `/api/v1/bots/${name}?purge=true`).catch(() => {});
    const deadline = Date.now() + 60_000;
    for (const name of ["squatted", "victim"])
      while ((await a.api("GET", `/api/v1/bots/${name}`)).status !== 404 && Date.now() < deadline) await Bun.sleep(500);
    await a.kill("SIGTERM");
  });

  it("the port a new bot was given is taken before its gateway starts", async () => {
    const r = await a.api("POST", "/api/v1/bots/apply", manifest("squatted"));
    expect(r.status).toBe(200);
    const port = r.body.bot.port as number;
    // hold the reconciler between the apply and the start (ensure alone takes seconds), take the port, go on
    process.kill(a.pid!, "SIGSTOP");
    const rec = await startRecorder(port).finally(() => process.kill(a.pid!, "SIGCONT"));
    recorders.push(rec);

    const d = await waitForCause("squatted", port, true);
    const token = tokenOf("squatted");
    expect(token.length).toBeGreaterThan(20);
    expect(rec.seen()).not.toContain(token);
    const text = JSON.stringify(d);
    expect(text).not.toContain("another port");
    expect(text).toMatch(/Molthub sent it nothing/);
  });

  it("a healthy bot's port is taken after its gateway died", async () => {
    expect((await a.api("POST", "/api/v1/bots/apply", manifest("victim"))).status).toBe(200);
    const up = await waitForBot(a, "victim", (b) => b.bot.status === "running", 150_000);
    const port = up.bot.port as number;
    const token = tokenOf("victim");
    const record = readPidFile(join(stateDir("victim"), "gateway.pid"))!;
    // the gateway dies (its whole process group) and someone takes the port before Molthub's next health poll
    process.kill(-record.pid, "SIGKILL");
    let rec: Awaited<ReturnType<typeof startRecorder>> | undefined;
    for (let i = 0; i < 200 && !rec; i++) rec = await startRecorder(port).catch(() => Bun.sleep(25).then(() => undefined));
    expect(rec).toBeDefined();
    recorders.push(rec!);

    await waitForCause("victim", port, false);
    // the health poll (every 5 s here) did reach the port and was refused before sending anything
    expect(rec!.seen()).not.toContain(token);
    expect(rec!.seen()).not.toContain(`"method":"connect"`);
  });
});
