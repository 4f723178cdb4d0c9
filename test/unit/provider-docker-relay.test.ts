/**
 * The exec relay's plumbing without a Docker engine: a fake container whose exec stream behaves like Docker's
 * hijacked exec connection (our writes are stdin; output comes back in 8-byte-header frames, stderr separate),
 * running the same connect-and-pipe logic as the in-container program. The real path runs in
 * test/integration/provider-docker.test.ts.
 */
import { createServer as createHttpServer, type Server as HttpServer } from "node:http";
import { connect, createServer, type Server, type Socket } from "node:net";
import type Dockerode from "dockerode";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { RELAY_PROGRAM, startExecRelay } from "../../providers/docker/relay.ts";
import { FrameDemuxer, LineSplitter } from "../../providers/docker/stream.ts";

function frame(type: 1 | 2, payload: Buffer): Buffer {
  const h = Buffer.alloc(8);
  h[0] = type;
  h.writeUInt32BE(payload.length, 4);
  return Buffer.concat([h, payload]);
}

/**
 * A fake "docker side": a TCP server standing in for the engine's hijacked connection. For each exec it
 * connects to the target port (like the program in the container) and frames what comes back.
 */
class FakeEngine {
  server!: Server;
  port = 0;
  execs: { cmd: string[] }[] = [];
  sides = new Set<Socket>();
  failExec = false;

  async listen(): Promise<void> {
    this.server = createServer({ allowHalfOpen: true }, (engineSide) => {
      this.sides.add(engineSide);
      engineSide.on("close", () => this.sides.delete(engineSide));
      const targetPort = Number(this.execs[this.execs.length - 1]!.cmd[3]);
      const upstream = connect({ port: targetPort, host: "127.0.0.1", allowHalfOpen: true });
      upstream.on("error", (e) => {
        engineSide.write(frame(2, Buffer.from(`relay: ${e.message}\n`)));
        engineSide.end();
      });
      engineSide.on("data", (d: Buffer) => upstream.write(d));
      engineSide.on("end", () => upstream.end());
      engineSide.on("close", () => upstream.destroy());
      upstream.on("data", (d: Buffer) => {
        // split one chunk over two frames and a stderr frame in between: the relay must demux
        const half = Math.ceil(d.length / 2);
        engineSide.write(frame(1, d.subarray(0, half)));
        engineSide.write(frame(2, Buffer.from("noise on stderr\n")));
        engineSide.write(frame(1, d.subarray(half)));
      });
      upstream.on("end", () => engineSide.end());
    });
    await new Promise<void>((r) => this.server.listen(0, "127.0.0.1", () => r()));
    this.port = (this.server.address() as { port: number }).port;
  }

  container(): Dockerode.Container {
    return {
      exec: async (opts: { Cmd: string[] }) => {
        if (this.failExec) throw Object.assign(new Error("container is not running"), { statusCode: 409 });
        this.execs.push({ cmd: opts.Cmd });
        return { start: async () => connect({ port: this.port, host: "127.0.0.1", allowHalfOpen: true }) };
      },
    } as unknown as Dockerode.Container;
  }
}

describe("startExecRelay", () => {
  let http: HttpServer;
  let httpPort: number;
  const engine = new FakeEngine();

  beforeAll(async () => {
    http = createHttpServer((req, res) => {
      let body = "";
      req.on("data", (c) => (body += c));
      req.on("end", () => res.end(JSON.stringify({ path: req.url, body })));
    });
    await new Promise<void>((r) => http.listen(0, "127.0.0.1", () => r()));
    httpPort = (http.address() as { port: number }).port;
    await engine.listen();
  });

  afterAll(async () => {
    http.closeAllConnections?.();
    await new Promise((r) => http.close(r));
    for (const s of engine.sides) s.destroy();
    await new Promise((r) => engine.server.close(r));
  });

  it("execs `node -e <program> <port>` per connection and carries bytes both ways, stderr kept out", async () => {
    const relay = await startExecRelay({ container: engine.container(), targetPort: httpPort });
    try {
      const res = await fetch(`http://127.0.0.1:${relay.port}/readyz`, { method: "POST", body: "x".repeat(100_000) });
      expect(await res.json()).toEqual({ path: "/readyz", body: "x".repeat(100_000) });
      const cmd = engine.execs[engine.execs.length - 1]!.cmd;
      expect(cmd.slice(0, 2)).toEqual(["node", "-e"]);
      expect(cmd[2]).toBe(RELAY_PROGRAM);
      expect(cmd[3]).toBe(String(httpPort));
    } finally {
      await relay.close();
    }
  });

  it("a half-closed request still gets its answer", async () => {
    const relay = await startExecRelay({ container: engine.container(), targetPort: httpPort });
    try {
      const answer = await new Promise<string>((resolve, reject) => {
        const s = connect({ port: relay.port, host: "127.0.0.1", allowHalfOpen: true });
        let out = "";
        s.on("data", (d) => (out += d));
        s.on("end", () => resolve(out));
        s.on("error", reject);
        s.end("GET /half HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
      });
      expect(answer).toMatch(/^HTTP\/1\.1 200/);
      expect(answer).toContain('"path":"/half"');
      expect(answer).not.toContain("noise on stderr");
    } finally {
      await relay.close();
    }
  });

  it("close() stops listening and cuts open connections", async () => {
    const relay = await startExecRelay({ container: engine.container(), targetPort: httpPort });
    const s = connect({ port: relay.port, host: "127.0.0.1" });
    await new Promise((r) => s.once("connect", r));
    s.write("GET /slow HTTP/1.1\r\nHost: x\r\n\r\n");
    await new Promise((r) => s.once("data", r));
    expect(relay.active()).toBe(1);
    const closed = new Promise((r) => s.once("close", r));
    await relay.close();
    await closed;
    expect(relay.active()).toBe(0);
    await expect(
      new Promise((resolve, reject) => {
        const c = connect({ port: relay.port, host: "127.0.0.1" });
        c.once("connect", () => (c.destroy(), resolve("connected")));
        c.once("error", reject);
      }),
    ).rejects.toThrow(/ECONNREFUSED|refused/i);
  });

  it("a failing exec closes the client instead of hanging it", async () => {
    engine.failExec = true;
    const relay = await startExecRelay({ container: engine.container(), targetPort: httpPort });
    try {
      const ended = await new Promise<string>((resolve) => {
        const s = connect({ port: relay.port, host: "127.0.0.1" });
        s.on("close", () => resolve("closed"));
        s.on("error", () => {});
      });
      expect(ended).toBe("closed");
    } finally {
      engine.failExec = false;
      await relay.close();
    }
  });
});

describe("stream framing", () => {
  it("demuxes frames split at any byte", () => {
    const bytes = Buffer.concat([frame(1, Buffer.from("hello ")), frame(2, Buffer.from("err")), frame(1, Buffer.from("world"))]);
    for (let cut = 0; cut <= bytes.length; cut++) {
      const got: string[] = [];
      const d = new FrameDemuxer((k, p) => got.push(`${k}:${p}`));
      d.push(bytes.subarray(0, cut));
      d.push(bytes.subarray(cut));
      expect(got).toEqual(["stdout:hello ", "stderr:err", "stdout:world"]);
    }
  });

  it("splits lines across chunks, including multi-byte characters", () => {
    const s = new LineSplitter();
    const text = Buffer.from("a\r\nbé");
    expect(s.push(text.subarray(0, 4))).toEqual(["a"]);
    expect(s.push(Buffer.concat([text.subarray(4), Buffer.from("\nc")]))).toEqual(["bé"]);
    expect(s.flush()).toEqual(["c"]);
  });
});
