/**
 * GatewayClient against an in-process fake gateway (Bun.serve on 127.0.0.1): handshake, retries, reconnect
 * backoff, tick watchdog, restart detection, stale-hash retry, timeouts and cancellation. The real gateway
 * contract is covered by test/integration/gateway-contract.test.ts.
 */
import { createHash } from "node:crypto";
import type { Server, ServerWebSocket } from "bun";
import { afterEach, describe, expect, it } from "vitest";
import {
  computeBackoffMs,
  DEFAULT_BACKOFF,
  GatewayClient,
  type GatewayClientOptions,
  GatewayError,
  type GatewayLogger,
} from "../../src/gateway/client.ts";
import { buildDeviceAuthPayloadV3, generateDeviceIdentity, verifyPayloadSignature } from "../../src/gateway/identity.ts";
import { httpBaseUrl, probeHealthz, probeReadyz } from "../../src/gateway/probe.ts";
import type { ErrorShape } from "../../src/gateway/protocol.ts";

type Json = Record<string, any>;
type Reply = { payload?: unknown; error?: ErrorShape } | "no-reply";
type ConnectBehaviour = "ok" | "close" | { error: ErrorShape; closeCode?: number } | { hello: Json };

interface ConnData {
  n: number;
  nonce: string;
  ts: number;
  hello: boolean;
  ticker?: ReturnType<typeof setInterval>;
}

/** A scriptable stand-in for an OpenClaw gateway's WebSocket endpoint. */
class FakeGateway {
  readonly token = "fake-gateway-token-0123456789";
  server!: Server<ConnData>;
  bootId = "boot-1";
  tickIntervalMs = 30_000;
  configHash = "h1";
  /** Decides the answer to the n-th (0-based) connect request. */
  connectBehaviour: (n: number) => ConnectBehaviour = () => "ok";
  handlers: Record<string, (params: Json, ws: ServerWebSocket<ConnData>) => Reply> = {};
  connectFrames: Json[] = [];
  requests: { method: string; params: Json }[] = [];
  sockets = new Set<ServerWebSocket<ConnData>>();
  opened = 0;

  start(): this {
    const fake = this;
    this.server = Bun.serve<ConnData>({
      hostname: "127.0.0.1",
      port: 0,
      fetch(req, server) {
        if (server.upgrade(req, { data: { n: 0, nonce: "", ts: 0, hello: false } })) return undefined;
        return new Response("upgrade required", { status: 426 });
      },
      websocket: {
        open(ws) {
          fake.opened += 1;
          fake.sockets.add(ws);
          ws.data.nonce = crypto.randomUUID();
          ws.data.ts = Date.now();
          fake.send(ws, { type: "event", event: "connect.challenge", payload: { nonce: ws.data.nonce, ts: ws.data.ts } });
        },
        message(ws, message) {
          fake.onMessage(ws, JSON.parse(String(message)));
        },
        close(ws) {
          fake.sockets.delete(ws);
          if (ws.data.ticker) clearInterval(ws.data.ticker);
        },
      },
    });
    return this;
  }

  get url(): string {
    return `ws://127.0.0.1:${this.server.port}`;
  }

  send(ws: ServerWebSocket<ConnData>, frame: Json): void {
    ws.send(JSON.stringify(frame));
  }

  helloPayload(): Json {
    return {
      type: "hello-ok",
      protocol: 4,
      server: { version: "2026.9.6", bootId: this.bootId, connId: crypto.randomUUID() },
      features: { methods: ["health", "config.get", "config.patch"], events: ["tick", "shutdown"] },
      snapshot: { appliedConfigHash: "applied-1", uptimeMs: 5 },
      auth: { role: "operator", scopes: ["operator.read", "operator.admin"] },
      policy: { maxPayload: 1_000_000, maxBufferedBytes: 2_000_000, tickIntervalMs: this.tickIntervalMs },
    };
  }

  private onMessage(ws: ServerWebSocket<ConnData>, frame: Json): void {
    if (frame.type !== "req") return;
    if (frame.method === "connect") {
      const n = this.connectFrames.length;
      this.connectFrames.push(frame);
      const problem = this.verifyConnect(ws, frame.params);
      if (problem) {
        this.send(ws, {
          type: "res",
          id: frame.id,
          ok: false,
          error: { code: "INVALID_REQUEST", message: problem, details: { code: "DEVICE_AUTH_SIGNATURE_INVALID" } },
        });
        ws.close(1008, "device auth");
        return;
      }
      const behaviour = this.connectBehaviour(n);
      if (behaviour === "close") {
        ws.close(1011, "boom");
        return;
      }
      if (typeof behaviour === "object" && "error" in behaviour) {
        this.send(ws, { type: "res", id: frame.id, ok: false, error: behaviour.error });
        ws.close(behaviour.closeCode ?? 1008, "refused");
        return;
      }
      ws.data.hello = true;
      const hello = typeof behaviour === "object" && "hello" in behaviour ? behaviour.hello : this.helloPayload();
      this.send(ws, { type: "res", id: frame.id, ok: true, payload: hello });
      return;
    }
    if (!ws.data.hello) return;
    this.requests.push({ method: frame.method, params: frame.params ?? {} });
    const handler = this.handlers[frame.method];
    const reply: Reply = handler
      ? handler(frame.params ?? {}, ws)
      : { error: { code: "INVALID_REQUEST", message: `unknown method: ${frame.method}` } };
    if (reply === "no-reply") return;
    if (reply.error) this.send(ws, { type: "res", id: frame.id, ok: false, error: reply.error });
    else this.send(ws, { type: "res", id: frame.id, ok: true, payload: reply.payload ?? {} });
  }

  /** Checks the device block the way the gateway does; returns a problem or null. */
  private verifyConnect(ws: ServerWebSocket<ConnData>, p: Json): string | null {
    const d = p.device;
    if (!d) return "device missing";
    if (d.nonce !== ws.data.nonce) return "nonce mismatch";
    if (d.signedAt !== ws.data.ts) return "signedAt is not the challenge ts";
    const id = createHash("sha256").update(Buffer.from(d.publicKey, "base64url")).digest("hex");
    if (id !== d.id) return "device id mismatch";
    const payload = buildDeviceAuthPayloadV3({
      deviceId: d.id,
      clientId: p.client.id,
      clientMode: p.client.mode,
      role: p.role,
      scopes: p.scopes,
      signedAt: d.signedAt,
      token: p.auth?.token,
      nonce: d.nonce,
      platform: p.client.platform,
      deviceFamily: p.client.deviceFamily,
    });
    return verifyPayloadSignature(d.publicKey, payload, d.signature) ? null : "signature invalid";
  }

  /** Closes every socket, optionally announcing a restart first. */
  dropAll(options: { code?: number; shutdown?: Json } = {}): void {
    for (const ws of this.sockets) {
      if (options.shutdown) this.send(ws, { type: "event", event: "shutdown", payload: options.shutdown });
      ws.close(options.code ?? 1012, "service restart");
    }
  }

  startTicking(everyMs: number): void {
    for (const ws of this.sockets)
      ws.data.ticker = setInterval(() => this.send(ws, { type: "event", event: "tick", payload: { ts: Date.now() } }), everyMs);
  }

  stopTicking(): void {
    for (const ws of this.sockets) if (ws.data.ticker) clearInterval(ws.data.ticker);
  }

  /** config.get / config.patch with the gateway's optimistic concurrency (stale → INVALID_REQUEST, no details). */
  serveConfig(options: { bumpOnGet?: boolean } = {}): void {
    let version = 1;
    this.handlers["config.get"] = () => {
      if (options.bumpOnGet) this.configHash = `h${++version}`;
      return {
        payload: {
          path: "/x/openclaw.json",
          exists: true,
          valid: true,
          hash: this.configHash,
          config: {},
          configRevisionHash: "r",
          appliedConfigHash: "r",
        },
      };
    };
    this.handlers["config.patch"] = (params) => {
      if (options.bumpOnGet) this.configHash = `h${++version}`;
      if (params.baseHash !== this.configHash) {
        return { error: { code: "INVALID_REQUEST", message: "config changed since last load; re-run config.get and retry" } };
      }
      this.configHash = `h${++version}`;
      return {
        payload: { ok: true, path: "/x/openclaw.json", hash: this.configHash, changedPaths: Object.keys(JSON.parse(params.raw)) },
      };
    };
  }

  private stopped = false;

  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    this.stopTicking();
    await this.server.stop(true);
  }
}

const identity = generateDeviceIdentity();
let fake: FakeGateway;
const clients: GatewayClient[] = [];

afterEach(async () => {
  for (const client of clients.splice(0)) await client.close();
  await fake?.stop();
});

function makeClient(overrides: Partial<GatewayClientOptions> = {}): GatewayClient {
  const client = new GatewayClient({
    url: fake.url,
    token: fake.token,
    identity,
    connectTimeoutMs: 3_000,
    handshakeTimeoutMs: 1_000,
    requestTimeoutMs: 1_000,
    backoff: { initialMs: 20, maxMs: 200 },
    ...overrides,
  });
  clients.push(client);
  return client;
}

function recordingLogger(): { logger: GatewayLogger; delays: number[] } {
  const delays: number[] = [];
  return {
    delays,
    logger: {
      debug(message, fields) {
        if (message === "gateway reconnect scheduled") delays.push(fields?.delayMs as number);
      },
    },
  };
}

function sequence(values: number[]): () => number {
  let i = 0;
  return () => values[Math.min(i++, values.length - 1)];
}

async function rejection(promise: Promise<unknown>): Promise<GatewayError> {
  try {
    await promise;
  } catch (error) {
    expect(error).toBeInstanceOf(GatewayError);
    return error as GatewayError;
  }
  throw new Error("expected a rejection");
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe("computeBackoffMs", () => {
  const policy = { initialMs: 1_000, maxMs: 30_000, factor: 2, jitter: 0.3 };

  it("doubles per attempt up to the cap", () => {
    expect([0, 1, 2, 3, 4, 5, 6].map((a) => computeBackoffMs(a, policy, () => 0))).toEqual([
      1_000, 2_000, 4_000, 8_000, 16_000, 30_000, 30_000,
    ]);
  });

  it("jitters downwards within (1 - jitter) of the base", () => {
    expect(computeBackoffMs(2, policy, () => 1)).toBe(2_800);
    expect(computeBackoffMs(2, policy, () => 0.5)).toBe(3_400);
    for (let i = 0; i < 100; i++) {
      const d = computeBackoffMs(3, policy, Math.random);
      expect(d).toBeGreaterThanOrEqual(5_600);
      expect(d).toBeLessThanOrEqual(8_000);
    }
  });

  it("has sane defaults", () => {
    expect(DEFAULT_BACKOFF).toMatchObject({ initialMs: 1_000, maxMs: 30_000 });
  });
});

describe("GatewayClient handshake", () => {
  it("answers the challenge with a v3-signed connect and exposes hello-ok", async () => {
    fake = new FakeGateway().start();
    fake.handlers.health = () => ({ payload: { ok: true, durationMs: 3, extra: "kept" } });
    const client = makeClient();
    const hello = await client.connect();
    expect(hello.server.bootId).toBe("boot-1");
    expect(client.bootId).toBe("boot-1");
    expect(client.state).toBe("open");
    expect(client.hello?.snapshot.appliedConfigHash).toBe("applied-1");
    expect(client.deviceToken).toBeUndefined();

    const params = fake.connectFrames[0].params;
    expect(params).toMatchObject({
      minProtocol: 4,
      maxProtocol: 4,
      role: "operator",
      scopes: ["operator.read", "operator.admin"],
      client: { id: "gateway-client", mode: "backend" },
      auth: { token: fake.token },
      device: { id: identity.deviceId, publicKey: identity.publicKey },
    });
    expect(typeof params.client.platform).toBe("string");

    const health = await client.health();
    expect(health).toMatchObject({ ok: true, durationMs: 3, extra: "kept" });
  });

  it("connects lazily on the first request", async () => {
    fake = new FakeGateway().start();
    fake.handlers.status = () => ({ payload: { runtimeVersion: "2026.9.6" } });
    const client = makeClient();
    expect(client.state).toBe("idle");
    expect((await client.status()).runtimeVersion).toBe("2026.9.6");
    expect(fake.connectFrames).toHaveLength(1);
  });

  it("retries UNAVAILABLE (gateway starting) after the server's retryAfterMs", async () => {
    fake = new FakeGateway().start();
    fake.connectBehaviour = (n) =>
      n < 2
        ? {
            error: {
              code: "UNAVAILABLE",
              message: "gateway starting; retry shortly",
              retryable: true,
              retryAfterMs: 60,
              details: { reason: "startup-sidecars" },
            },
            closeCode: 1013,
          }
        : "ok";
    const { logger, delays } = recordingLogger();
    const client = makeClient({ logger });
    await client.connect();
    expect(fake.connectFrames).toHaveLength(3);
    expect(delays).toEqual([60, 60]);
  });

  it("gives up at the connect deadline while the gateway keeps starting", async () => {
    fake = new FakeGateway().start();
    fake.connectBehaviour = () => ({
      error: { code: "UNAVAILABLE", message: "gateway starting; retry shortly", retryable: true, retryAfterMs: 50 },
      closeCode: 1013,
    });
    const client = makeClient({ connectTimeoutMs: 800 });
    const started = Date.now();
    const error = await rejection(client.connect());
    expect(Date.now() - started).toBeLessThan(2_500);
    expect(error.code).toBe("CONNECT_TIMEOUT");
    expect(error.retryable).toBe(true);
    expect(error.message).toMatch(/UNAVAILABLE/);
    expect(error.message).toMatch(/Check that the bot is running/);
    expect(fake.connectFrames.length).toBeGreaterThanOrEqual(2);
  });

  it("does not retry a wrong token and never echoes the token", async () => {
    fake = new FakeGateway().start();
    const wrong = "wrong-token-abcdef-123";
    fake.connectBehaviour = () => ({
      error: {
        code: "INVALID_REQUEST",
        message: `unauthorized: gateway token mismatch (${wrong})`,
        details: { code: "AUTH_TOKEN_MISMATCH", hint: wrong },
      },
    });
    const client = makeClient({ token: wrong });
    const error = await rejection(client.connect());
    expect(error.code).toBe("INVALID_REQUEST");
    expect(error.detailCode).toBe("AUTH_TOKEN_MISMATCH");
    expect(error.retryable).toBe(false);
    expect(error.message).toMatch(/gateway\.auth\.token/);
    expect(error.message).not.toContain(wrong);
    expect(JSON.stringify(error.details)).not.toContain(wrong);
    await sleep(100);
    expect(fake.connectFrames).toHaveLength(1);
    expect(client.state).toBe("disconnected");
  });

  it("treats a malformed hello-ok as a protocol error, without retrying", async () => {
    fake = new FakeGateway().start();
    fake.connectBehaviour = () => ({ hello: { type: "hello-ok", protocol: 4 } });
    const client = makeClient();
    const error = await rejection(client.connect());
    expect(error.code).toBe("PROTOCOL");
    expect(error.message).toMatch(/supported version/);
    expect(fake.connectFrames).toHaveLength(1);
  });

  it("times out a handshake that never gets a challenge", async () => {
    const silent = Bun.serve({
      hostname: "127.0.0.1",
      port: 0,
      fetch(req, server) {
        return server.upgrade(req) ? undefined : new Response("no", { status: 400 });
      },
      websocket: { message() {} },
    });
    try {
      const client = new GatewayClient({
        url: `ws://127.0.0.1:${silent.port}`,
        token: "t0ken-for-silent",
        identity,
        connectTimeoutMs: 300,
        handshakeTimeoutMs: 100,
        backoff: { initialMs: 20, maxMs: 50 },
      });
      clients.push(client);
      const error = await rejection(client.connect());
      expect(error.code).toBe("CONNECT_TIMEOUT");
      expect(error.message).toMatch(/no connect\.challenge/);
    } finally {
      await silent.stop(true);
    }
  });
});

describe("GatewayClient requests", () => {
  it("maps a gateway error to GatewayError with code, detailCode, retryable and retryAfterMs", async () => {
    fake = new FakeGateway().start();
    fake.handlers["busy.thing"] = () => ({
      error: {
        code: "UNAVAILABLE",
        message: "queue full",
        retryable: true,
        retryAfterMs: 1_234,
        details: { code: "QUEUE_FULL" },
      },
    });
    const client = makeClient();
    const error = await rejection(client.request("busy.thing", {}));
    expect(error).toMatchObject({
      code: "UNAVAILABLE",
      detailCode: "QUEUE_FULL",
      retryable: true,
      retryAfterMs: 1_234,
      method: "busy.thing",
    });
    expect(error.message).toMatch(/retry after 1234 ms/);
  });

  it("times out a request without an answer and forgets it", async () => {
    fake = new FakeGateway().start();
    fake.handlers.slow = () => "no-reply";
    const client = makeClient();
    await client.connect();
    const started = Date.now();
    const error = await rejection(client.request("slow", {}, { timeoutMs: 150 }));
    expect(error.code).toBe("TIMEOUT");
    expect(error.retryable).toBe(true);
    expect(Date.now() - started).toBeGreaterThanOrEqual(140);
    expect(client.debugCounts().pending).toBe(0);
  });

  it("cancels a request with an AbortSignal", async () => {
    fake = new FakeGateway().start();
    fake.handlers.slow = () => "no-reply";
    const client = makeClient();
    await client.connect();
    const controller = new AbortController();
    const pending = client.request("slow", {}, { signal: controller.signal, timeoutMs: 5_000 });
    setTimeout(() => controller.abort(), 30);
    const error = await rejection(pending);
    expect(error.code).toBe("ABORTED");
    expect(client.debugCounts().pending).toBe(0);
    const pre = new AbortController();
    pre.abort();
    expect((await rejection(client.request("slow", {}, { signal: pre.signal }))).code).toBe("ABORTED");
  });

  it("rejects a response that does not match the method's schema", async () => {
    fake = new FakeGateway().start();
    fake.handlers.status = () => ({ payload: { nope: true } });
    const client = makeClient();
    const error = await rejection(client.status());
    expect(error.code).toBe("PROTOCOL");
    expect(error.message).toMatch(/runtimeVersion/);
  });

  it("sends the typed methods with the right params", async () => {
    fake = new FakeGateway().start();
    fake.handlers["logs.tail"] = () => ({ payload: { file: "/x.log", cursor: 10, size: 10, lines: ['{"message":"hi"}'] } });
    fake.handlers["channels.status"] = () => ({
      payload: { ts: 1, channelOrder: [], channels: {}, channelAccounts: {}, channelDefaultAccountId: {} },
    });
    fake.handlers["usage.cost"] = () => ({
      payload: { daily: [], totals: { input: 0, output: 0, totalTokens: 0, totalCost: 0 } },
    });
    fake.handlers["gateway.restart.request"] = () => ({ payload: { ok: true, status: "scheduled" } });
    const client = makeClient();
    expect((await client.logsTail({ cursor: 5, limit: 10 })).cursor).toBe(10);
    await client.channelsStatus({ probe: true });
    await client.usageCost({ days: 7 });
    expect((await client.restartRequest("molthub: test")).status).toBe("scheduled");
    expect(fake.requests.map((r) => [r.method, r.params])).toEqual([
      ["logs.tail", { cursor: 5, limit: 10 }],
      ["channels.status", { probe: true }],
      ["usage.cost", { days: 7 }],
      ["gateway.restart.request", { reason: "molthub: test" }],
    ]);
  });

  it("refuses to send a request larger than the gateway's maxPayload", async () => {
    fake = new FakeGateway().start();
    const client = makeClient();
    const error = await rejection(client.request("config.patch", { raw: "x".repeat(1_100_000) }));
    expect(error.code).toBe("REQUEST_TOO_LARGE");
    expect(fake.requests).toHaveLength(0);
  });
});

describe("GatewayClient config.patch", () => {
  it("reads the base hash when none is given", async () => {
    fake = new FakeGateway().start();
    fake.serveConfig();
    const client = makeClient();
    const result = await client.configPatch({ agents: { defaults: { model: "openai/gpt-4o-mini" } } }, { note: "n1" });
    expect(result).toMatchObject({ ok: true, hash: "h2", staleRetried: false, changedPaths: ["agents"] });
    expect(fake.requests.map((r) => r.method)).toEqual(["config.get", "config.patch"]);
    expect(fake.requests[1].params).toEqual({
      raw: '{"agents":{"defaults":{"model":"openai/gpt-4o-mini"}}}',
      baseHash: "h1",
      note: "n1",
    });
  });

  it("retries once on a stale base hash, using the current hash", async () => {
    fake = new FakeGateway().start();
    fake.serveConfig();
    const client = makeClient();
    const result = await client.configPatch({ a: 1 }, { baseHash: "stale", replacePaths: ["a"] });
    expect(result.staleRetried).toBe(true);
    expect(fake.requests.map((r) => [r.method, r.params.baseHash])).toEqual([
      ["config.patch", "stale"],
      ["config.get", undefined],
      ["config.patch", "h1"],
    ]);
    expect(fake.requests[2].params.replacePaths).toEqual(["a"]);
  });

  it("does not retry an INVALID_REQUEST when the config hash did not move (not a stale hash)", async () => {
    fake = new FakeGateway().start();
    fake.serveConfig();
    fake.handlers["config.patch"] = () => ({
      error: { code: "INVALID_REQUEST", message: "invalid config: gateway.port must be integer" },
    });
    const client = makeClient();
    const error = await rejection(client.configPatch({ gateway: { port: "x" } }));
    expect(error.code).toBe("INVALID_REQUEST");
    expect(fake.requests.filter((r) => r.method === "config.patch")).toHaveLength(1);
  });

  it("does not retry errors that carry a detail code, nor when retryOnStale is false", async () => {
    fake = new FakeGateway().start();
    fake.serveConfig();
    const client = makeClient();
    const error = await rejection(client.configPatch({ a: 1 }, { baseHash: "stale", retryOnStale: false }));
    expect(error.code).toBe("INVALID_REQUEST");
    fake.handlers["config.patch"] = () => ({
      error: {
        code: "FORBIDDEN",
        message: "missing scope: operator.admin",
        details: { code: "MISSING_SCOPE", missingScope: "operator.admin" },
      },
    });
    const forbidden = await rejection(client.configPatch({ a: 1 }, { baseHash: "h1" }));
    expect(forbidden.detailCode).toBe("MISSING_SCOPE");
    expect(forbidden.message).toMatch(/lacks scope operator\.admin/);
    expect(fake.requests.filter((r) => r.method === "config.patch")).toHaveLength(2);
  });

  it("reports CONFIG_CONFLICT when another writer keeps moving the hash", async () => {
    fake = new FakeGateway().start();
    fake.serveConfig({ bumpOnGet: true });
    const client = makeClient();
    const error = await rejection(client.configPatch({ a: 1 }, { baseHash: "stale" }));
    expect(error.code).toBe("CONFIG_CONFLICT");
    expect(error.retryable).toBe(true);
    expect(error.message).toMatch(/another writer/);
    expect(fake.requests.filter((r) => r.method === "config.patch")).toHaveLength(2);
  });
});

describe("GatewayClient reconnect", () => {
  it("fails in-flight requests on a drop, then reconnects with exponential backoff and jitter", async () => {
    fake = new FakeGateway().start();
    fake.handlers.hang = () => "no-reply";
    const { logger, delays } = recordingLogger();
    const client = makeClient({ logger, random: sequence([0.5, 0.25, 0]) });
    await client.connect();
    // The first two reconnect attempts are refused at the socket level.
    fake.connectBehaviour = (n) => (n === 1 || n === 2 ? "close" : "ok");
    const inFlight = client.request("hang", {}, { timeoutMs: 5_000 });
    const reconnected = client.waitFor("hello", { timeoutMs: 3_000 });
    const disconnected = client.waitFor("disconnect", { timeoutMs: 3_000 });
    await sleep(20);
    fake.dropAll({ code: 1011 });
    const error = await rejection(inFlight);
    expect(error.code).toBe("DISCONNECTED");
    expect(error.message).toMatch(/may or may not have run/);
    expect((await disconnected).expectedRestart).toBe(false);
    await reconnected;
    expect(client.state).toBe("open");
    const policy = { ...DEFAULT_BACKOFF, initialMs: 20, maxMs: 200 };
    expect(delays).toEqual([
      computeBackoffMs(0, policy, () => 0.5),
      computeBackoffMs(1, policy, () => 0.25),
      computeBackoffMs(2, policy, () => 0),
    ]);
    expect(delays).toEqual([17, 37, 80]);
    expect(fake.connectFrames).toHaveLength(4);
  });

  it("reports an announced restart: shutdown, disconnect, then a restart with the new bootId", async () => {
    fake = new FakeGateway().start();
    const client = makeClient();
    const seen: string[] = [];
    client.on("shutdown", (s) => seen.push(`shutdown:${s.restartExpectedMs}`));
    client.on("disconnect", (d) => seen.push(`disconnect:${d.code}:${d.expectedRestart}`));
    await client.connect();
    const restarted = client.waitFor("restart", { timeoutMs: 3_000 });
    fake.bootId = "boot-2";
    fake.dropAll({ shutdown: { reason: "gateway restarting", restartExpectedMs: 1_500 } });
    const restart = await restarted;
    expect(restart).toEqual({ previousBootId: "boot-1", bootId: "boot-2", expected: true });
    expect(client.bootId).toBe("boot-2");
    expect(seen).toEqual(["shutdown:1500", "disconnect:1012:true"]);
  });

  it("does not report a restart when the gateway comes back with the same bootId", async () => {
    fake = new FakeGateway().start();
    const client = makeClient();
    let restarts = 0;
    client.on("restart", () => restarts++);
    await client.connect();
    const hello = client.waitFor("hello", { timeoutMs: 3_000 });
    fake.dropAll({ code: 1011 });
    await hello;
    expect(restarts).toBe(0);
  });

  it("closes a socket that stays silent for two tick intervals and reconnects", async () => {
    fake = new FakeGateway().start();
    fake.tickIntervalMs = 100;
    const client = makeClient();
    const disconnects: number[] = [];
    client.on("disconnect", (d) => disconnects.push(d.code));
    await client.connect();
    fake.startTicking(40);
    await sleep(350); // ticks keep it alive well past 2 × 100 ms
    expect(disconnects).toEqual([]);
    const hello = client.waitFor("hello", { timeoutMs: 3_000 });
    fake.stopTicking();
    const silentSince = Date.now();
    await hello;
    expect(disconnects).toEqual([4000]);
    const elapsed = Date.now() - silentSince;
    expect(elapsed).toBeGreaterThanOrEqual(150);
    expect(elapsed).toBeLessThan(1_500);
    expect(fake.opened).toBe(2);
  });

  it("stays down after a drop when reconnect is off, and reconnects lazily on the next request", async () => {
    fake = new FakeGateway().start();
    fake.handlers.health = () => ({ payload: { ok: true } });
    const client = makeClient({ reconnect: false });
    await client.connect();
    const down = client.waitFor("state", { timeoutMs: 2_000, filter: (s) => s === "disconnected" });
    fake.dropAll({ code: 1011 });
    await down;
    await sleep(100);
    expect(fake.connectFrames).toHaveLength(1);
    expect((await client.health()).ok).toBe(true);
    expect(fake.connectFrames).toHaveLength(2);
  });

  it("stops reconnecting and emits error when the gateway starts refusing the token", async () => {
    fake = new FakeGateway().start();
    const client = makeClient();
    await client.connect();
    fake.connectBehaviour = () => ({
      error: { code: "INVALID_REQUEST", message: "unauthorized", details: { code: "AUTH_TOKEN_MISMATCH" } },
    });
    const failed = client.waitFor("error", { timeoutMs: 3_000 });
    fake.dropAll({ code: 1011 });
    expect((await failed).detailCode).toBe("AUTH_TOKEN_MISMATCH");
    await sleep(100);
    expect(fake.connectFrames).toHaveLength(2);
    expect(client.state).toBe("disconnected");
  });
});

describe("GatewayClient close", () => {
  it("rejects pending work and leaves no timers, sockets or waiters behind", async () => {
    fake = new FakeGateway().start();
    fake.handlers.hang = () => "no-reply";
    const client = makeClient();
    await client.connect();
    const inFlight = rejection(client.request("hang", {}, { timeoutMs: 5_000 }));
    const waiting = rejection(client.waitFor("restart", { timeoutMs: 5_000 }));
    await sleep(20);
    await client.close();
    expect((await inFlight).code).toBe("CLOSED");
    expect((await waiting).code).toBe("CLOSED");
    expect(client.state).toBe("closed");
    expect(client.debugCounts()).toEqual({ timers: 0, pending: 0, waiters: 0, sockets: 0 });
    expect((await rejection(client.health())).code).toBe("CLOSED");
    await client.close(); // idempotent
  });

  it("stops a reconnect loop that is waiting out its backoff", async () => {
    fake = new FakeGateway().start();
    const client = makeClient({ backoff: { initialMs: 400, maxMs: 400, jitter: 0 } });
    await client.connect();
    const reconnecting = client.waitFor("state", { timeoutMs: 2_000, filter: (s) => s === "reconnecting" });
    fake.dropAll({ code: 1011 });
    await reconnecting;
    await client.close();
    expect(client.debugCounts()).toEqual({ timers: 0, pending: 0, waiters: 0, sockets: 0 });
    await sleep(500);
    expect(fake.opened).toBe(1);
  });
});

describe("gateway HTTP probes", () => {
  let http: Server<undefined> | undefined;
  afterEach(async () => {
    await http?.stop(true);
    http = undefined;
  });

  function serve(routes: Record<string, () => Response | Promise<Response>>): string {
    http = Bun.serve({
      hostname: "127.0.0.1",
      port: 0,
      fetch(req) {
        const route = routes[new URL(req.url).pathname];
        return route
          ? route()
          : new Response("<!doctype html><title>Control UI</title>", { headers: { "content-type": "text/html" } });
      },
    });
    return `http://127.0.0.1:${http.port}`;
  }

  it("reads /healthz and a 200 /readyz", async () => {
    const base = serve({
      "/healthz": () => Response.json({ ok: true, status: "live" }),
      "/readyz": () => Response.json({ ready: true, failing: [], uptimeMs: 10 }),
    });
    expect(await probeHealthz(base)).toMatchObject({ ok: true, status: 200, body: { ok: true, status: "live" } });
    expect(await probeReadyz(base.replace("http", "ws"))).toMatchObject({
      ok: true,
      status: 200,
      body: { ready: true, failing: [] },
    });
  });

  it("parses a 503 /readyz with its failing checks", async () => {
    const base = serve({ "/readyz": () => Response.json({ ready: false, failing: ["startup-sidecars"] }, { status: 503 }) });
    const result = await probeReadyz(base);
    expect(result).toMatchObject({ ok: false, status: 503, body: { ready: false, failing: ["startup-sidecars"] } });
    expect(result.error).toMatch(/503/);
  });

  it("flags a port that answers HTML instead of the probe JSON", async () => {
    const base = serve({});
    const result = await probeHealthz(base);
    expect(result).toMatchObject({ ok: false, status: 200, body: null });
    expect(result.error).toMatch(/OpenClaw gateway/);
  });

  it("times out and reports unreachable ports without throwing", async () => {
    const base = serve({
      "/healthz": () => new Promise<Response>((resolve) => setTimeout(() => resolve(Response.json({ ok: true })), 2_000)),
    });
    const slow = await probeHealthz(base, { timeoutMs: 100 });
    expect(slow).toMatchObject({ ok: false, status: 0 });
    expect(slow.error).toMatch(/within 100 ms/);
    await http?.stop(true);
    http = undefined;
    const down = await probeReadyz(base, { timeoutMs: 1_000 });
    expect(down).toMatchObject({ ok: false, status: 0, body: null });
    expect(down.error).toMatch(/unreachable/);
  });

  it("maps ws URLs to http", () => {
    expect(httpBaseUrl("ws://127.0.0.1:18789/")).toBe("http://127.0.0.1:18789");
    expect(httpBaseUrl("wss://gw.example:443/x")).toBe("https://gw.example");
  });
});
