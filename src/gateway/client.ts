/**
 * Molthub's client for the OpenClaw gateway WebSocket protocol (v4). See docs/decisions/0002-own-gateway-client.md.
 *
 * One client holds one connection to one bot's gateway on loopback. It signs the handshake with the control
 * plane's device identity, correlates requests with a deadline each, reconnects with exponential backoff and
 * jitter, closes a silent socket after two missed ticks, and reports a gateway restart (a new `bootId`).
 *
 * @example
 * const client = new GatewayClient({ url: "ws://127.0.0.1:18789", token, identity });
 * const hello = await client.connect();
 * const cfg = await client.configGet();
 * await client.configPatch({ agents: { defaults: { model: "openai/gpt-4o-mini" } } });
 * client.on("restart", ({ bootId }) => console.log("bot restarted", bootId));
 * await client.close();
 */
import type * as z from "zod";
import { redactString, registerSecret } from "../secrets/redact.ts";
import { ClientErrorCodes, GatewayError, isGatewayError } from "./errors.ts";
import { type DeviceIdentity, signDeviceAuth } from "./identity.ts";
import {
  type ChannelsStatus,
  ChannelsStatusSchema,
  type ConfigGet,
  ConfigGetSchema,
  type ConfigPatchResult,
  ConfigPatchResultSchema,
  type ConfigSchemaLookup,
  ConfigSchemaLookupSchema,
  ConnectChallengeSchema,
  type ConnectClientInfo,
  type ConnectParams,
  type EventFrame,
  FrameSchema,
  type Health,
  HealthSchema,
  type HelloOk,
  HelloOkSchema,
  type LogsTail,
  LogsTailSchema,
  PROTOCOL_VERSION,
  type RestartRequestResult,
  RestartRequestResultSchema,
  type ShutdownEvent,
  ShutdownEventSchema,
  type Status,
  StatusSchema,
  type UsageCost,
  UsageCostSchema,
} from "./protocol.ts";

export { GatewayError, isGatewayError } from "./errors.ts";

const MOLTHUB_CLIENT_VERSION = "0.1.0";

/** Timers and time, injectable so tests can observe backoff without waiting for it. */
export interface GatewayClock {
  now(): number;
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

const systemClock: GatewayClock = {
  now: () => Date.now(),
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (handle) => clearTimeout(handle as ReturnType<typeof setTimeout>),
};

export interface GatewayLogger {
  debug?(message: string, fields?: Record<string, unknown>): void;
  info?(message: string, fields?: Record<string, unknown>): void;
  warn?(message: string, fields?: Record<string, unknown>): void;
  error?(message: string, fields?: Record<string, unknown>): void;
}

export interface BackoffPolicy {
  initialMs: number;
  maxMs: number;
  factor: number;
  /** 0..1: the delay is drawn from (base × (1 − jitter), base]. */
  jitter: number;
}

export const DEFAULT_BACKOFF: BackoffPolicy = { initialMs: 1_000, maxMs: 30_000, factor: 2, jitter: 0.3 };

/** Delay before reconnect attempt `attempt` (0-based): exponential, capped, with downward jitter. */
export function computeBackoffMs(attempt: number, policy: BackoffPolicy, random: () => number): number {
  const base = Math.min(policy.maxMs, policy.initialMs * policy.factor ** Math.max(0, attempt));
  const jitter = Math.min(1, Math.max(0, policy.jitter));
  return Math.max(0, Math.round(base * (1 - jitter * random())));
}

export type ClientState = "idle" | "connecting" | "open" | "reconnecting" | "disconnected" | "closed";

interface RestartInfo {
  previousBootId: string;
  bootId: string;
  /** True when the gateway announced it (`shutdown` with `restartExpectedMs`) before going away. */
  expected: boolean;
}

interface DisconnectInfo {
  code: number;
  reason: string;
  /** True after a `shutdown` event that announced a restart. */
  expectedRestart: boolean;
}

export interface GatewayClientEvents {
  /** Every event frame after the handshake (including `tick`). */
  event: EventFrame;
  /** Each successful handshake (first connect and every reconnect). */
  hello: HelloOk;
  /** A reconnect reached a gateway with a different `bootId`: it restarted. */
  restart: RestartInfo;
  /** The gateway announced an orderly close. */
  shutdown: ShutdownEvent;
  disconnect: DisconnectInfo;
  state: ClientState;
  /** Reconnecting stopped on an error that retrying cannot fix (bad token, protocol mismatch, ...). */
  error: GatewayError;
}

export interface GatewayClientOptions {
  /** `ws://127.0.0.1:PORT` — the bot's gateway on loopback (direct, SSH forward or relay). */
  url: string;
  /** The bot's shared gateway token (`gateway.auth.token`). Never logged, never in URLs. */
  token: string;
  identity: DeviceIdentity;
  /**
   * Defaults to `gateway-client`/`backend`: the gateway's reserved local backend identity. On loopback it keeps
   * the requested scopes without a pairing record (so no device token is issued).
   */
  clientInfo?: Partial<ConnectClientInfo>;
  scopes?: string[];
  /** Budget for a connect, including retries while the gateway is starting. Default 30 s. */
  connectTimeoutMs?: number;
  /** Budget for one socket to go from open to `hello-ok`. Default 15 s (the gateway's own preauth limit). */
  handshakeTimeoutMs?: number;
  /** Default per-request deadline (waiting for a connection counts). Default 30 s. */
  requestTimeoutMs?: number;
  backoff?: Partial<BackoffPolicy>;
  /** Reconnect after a drop. Default true. */
  reconnect?: boolean;
  onEvent?: (event: EventFrame) => void;
  logger?: GatewayLogger;
  clock?: GatewayClock;
  random?: () => number;
}

export interface RequestOptions {
  timeoutMs?: number;
  signal?: AbortSignal;
}

export interface ConfigPatchOptions extends RequestOptions {
  /** `config.get` hash the patch was computed against; fetched when omitted. */
  baseHash?: string;
  /** Array paths the patch replaces (needed to remove entries). */
  replacePaths?: string[];
  /** Shown in the gateway's restart sentinel / audit. */
  note?: string;
  /** Re-read the hash and retry once when the base hash turns out stale. Default true. */
  retryOnStale?: boolean;
}

export type ConfigPatchOutcome = ConfigPatchResult & {
  /** True when the first attempt hit a stale base hash and the retry on the fresh hash succeeded. */
  staleRetried: boolean;
};

export type UsageCostParams = { days: number } | { startDate: string; endDate: string };

interface PendingRequest {
  method: string;
  resolve: (payload: unknown) => void;
  reject: (error: GatewayError) => void;
  cleanup: () => void;
}

interface ReadyWaiter {
  resolve: (hello: HelloOk) => void;
  reject: (error: GatewayError) => void;
}

type AttemptResult = { ok: true; hello: HelloOk } | { ok: false; error: GatewayError; retry: boolean };

const DEFAULT_SCOPES = ["operator.read", "operator.admin"];
const CLOSE_WAIT_MS = 1_000;
const MIN_RETRY_AFTER_MS = 50;

/** `GatewayClient` — see the module comment. */
export class GatewayClient {
  private readonly url: string;
  private readonly token: string;
  private readonly identity: DeviceIdentity;
  private readonly clientInfo: ConnectClientInfo;
  private readonly scopes: string[];
  private readonly connectTimeoutMs: number;
  private readonly handshakeTimeoutMs: number;
  private readonly requestTimeoutMs: number;
  private readonly backoff: BackoffPolicy;
  private readonly reconnectEnabled: boolean;
  private readonly logger: GatewayLogger;
  private readonly clock: GatewayClock;
  private readonly random: () => number;

  private currentState: ClientState = "idle";
  private closed = false;
  private ws: WebSocket | null = null;
  private currentHello: HelloOk | null = null;
  private lastBootId: string | undefined;
  private shutdownNotice: ShutdownEvent | null = null;
  private seq = 0;
  private loopRunning = false;
  private lastError: GatewayError | null = null;
  private watchdog: unknown = null;

  private readonly pending = new Map<string, PendingRequest>();
  private readonly readyWaiters = new Set<ReadyWaiter>();
  private readonly timers = new Set<unknown>();
  private readonly sleepers = new Set<() => void>();
  private readonly closeHooks = new Set<(error: GatewayError) => void>();
  private readonly attemptSockets = new Set<WebSocket>();
  private readonly listeners = new Map<keyof GatewayClientEvents, Set<(value: never) => void>>();

  constructor(options: GatewayClientOptions) {
    const parsed = safeUrl(options.url);
    if (!parsed || (parsed.protocol !== "ws:" && parsed.protocol !== "wss:")) {
      throw new TypeError(`Gateway URL must be ws:// or wss:// (got ${parsed ? parsed.protocol : "an unparsable URL"}).`);
    }
    if (parsed.username || parsed.password || parsed.search) {
      throw new TypeError("Gateway URL must not carry credentials or a query; pass the token in the `token` option.");
    }
    if (!options.token) throw new TypeError("A gateway token is required.");
    this.url = parsed.toString();
    this.token = options.token;
    registerSecret(options.token);
    this.identity = options.identity;
    const platform = defaultPlatform();
    this.clientInfo = {
      id: "gateway-client",
      mode: "backend",
      version: MOLTHUB_CLIENT_VERSION,
      platform: platform.platform,
      ...(platform.deviceFamily ? { deviceFamily: platform.deviceFamily } : {}),
      ...options.clientInfo,
    };
    this.scopes = [...(options.scopes ?? DEFAULT_SCOPES)];
    this.connectTimeoutMs = options.connectTimeoutMs ?? 30_000;
    this.handshakeTimeoutMs = options.handshakeTimeoutMs ?? 15_000;
    this.requestTimeoutMs = options.requestTimeoutMs ?? 30_000;
    this.backoff = { ...DEFAULT_BACKOFF, ...options.backoff };
    this.reconnectEnabled = options.reconnect ?? true;
    this.logger = options.logger ?? {};
    this.clock = options.clock ?? systemClock;
    this.random = options.random ?? Math.random;
    if (options.onEvent) this.on("event", options.onEvent);
  }

  // -------------------------------------------------------------------------------------------------------------
  // Public surface

  get state(): ClientState {
    return this.currentState;
  }

  /** The last `hello-ok` (server version, bootId, snapshot with appliedConfigHash, auth scopes, policy). */
  get hello(): HelloOk | null {
    return this.currentHello;
  }

  get bootId(): string | undefined {
    return this.currentHello?.server.bootId;
  }

  get serverVersion(): string | undefined {
    return this.currentHello?.server.version;
  }

  /** Issued only to paired devices; `undefined` on the default backend identity. Treat as a secret. */
  get deviceToken(): string | undefined {
    return this.currentHello?.auth.deviceToken;
  }

  /** Counts of live timers, pending requests and waiters; all zero after `close()`. */
  debugCounts(): { timers: number; pending: number; waiters: number; sockets: number } {
    return {
      timers: this.timers.size,
      pending: this.pending.size,
      waiters: this.readyWaiters.size + this.closeHooks.size,
      sockets: this.attemptSockets.size + (this.ws ? 1 : 0),
    };
  }

  /** Subscribes to a client event; returns the unsubscribe function. */
  on<K extends keyof GatewayClientEvents>(name: K, listener: (value: GatewayClientEvents[K]) => void): () => void {
    let set = this.listeners.get(name);
    if (!set) {
      set = new Set();
      this.listeners.set(name, set);
    }
    set.add(listener as (value: never) => void);
    return () => set.delete(listener as (value: never) => void);
  }

  /** Resolves with the next matching client event, or rejects with TIMEOUT / ABORTED / CLOSED. */
  waitFor<K extends keyof GatewayClientEvents>(
    name: K,
    options: { timeoutMs: number; filter?: (value: GatewayClientEvents[K]) => boolean; signal?: AbortSignal },
  ): Promise<GatewayClientEvents[K]> {
    return new Promise((resolve, reject) => {
      if (this.closed) return reject(this.closedError());
      if (options.signal?.aborted) return reject(abortError(`waiting for ${name}`));
      let off = () => {};
      const finish = (error: GatewayError | null, value?: GatewayClientEvents[K]) => {
        off();
        this.clearTimer(timer);
        options.signal?.removeEventListener("abort", onAbort);
        this.closeHooks.delete(onClose);
        if (error) reject(error);
        else resolve(value as GatewayClientEvents[K]);
      };
      const onAbort = () => finish(abortError(`waiting for ${name}`));
      const timer = this.setTimer(
        () =>
          finish(
            new GatewayError({
              code: ClientErrorCodes.TIMEOUT,
              retryable: true,
              message: `No "${name}" from the gateway at ${this.origin()} within ${options.timeoutMs} ms.`,
            }),
          ),
        options.timeoutMs,
      );
      const onClose = (error: GatewayError) => finish(error);
      this.closeHooks.add(onClose);
      off = this.on(name, (value) => {
        if (!options.filter || options.filter(value)) finish(null, value);
      });
      options.signal?.addEventListener("abort", onAbort, { once: true });
    });
  }

  /** Connects (or waits for the running connect) and resolves with `hello-ok`. */
  connect(options: RequestOptions = {}): Promise<HelloOk> {
    const timeoutMs = options.timeoutMs ?? this.connectTimeoutMs;
    return this.waitReady(this.clock.now() + timeoutMs, options.signal, "connect");
  }

  /** Sends one RPC and resolves with its payload; waits for a connection within the same deadline. */
  async request<T = unknown>(
    method: string,
    params: unknown = {},
    options: RequestOptions & { schema?: z.ZodType<T> } = {},
  ): Promise<T> {
    const deadline = this.clock.now() + (options.timeoutMs ?? this.requestTimeoutMs);
    await this.waitReady(deadline, options.signal, method);
    const payload = await this.send(method, params, deadline, options.signal);
    if (!options.schema) return payload as T;
    const result = options.schema.safeParse(payload);
    if (!result.success) {
      throw new GatewayError({
        code: ClientErrorCodes.PROTOCOL,
        method,
        message: `The gateway's ${method} response has an unexpected shape (${summarizeIssues(result.error)}); this OpenClaw version (${this.serverVersion ?? "unknown"}) may not be supported by this Molthub.`,
      });
    }
    return result.data;
  }

  health(options?: RequestOptions): Promise<Health> {
    return this.request("health", {}, { ...options, schema: HealthSchema });
  }

  status(options?: RequestOptions): Promise<Status> {
    return this.request("status", {}, { ...options, schema: StatusSchema });
  }

  configGet(options?: RequestOptions): Promise<ConfigGet> {
    return this.request("config.get", {}, { ...options, schema: ConfigGetSchema });
  }

  configSchemaLookup(path: string, options?: RequestOptions): Promise<ConfigSchemaLookup> {
    return this.request("config.schema.lookup", { path }, { ...options, schema: ConfigSchemaLookupSchema });
  }

  /**
   * Applies a JSON merge patch to the bot's config (hot paths apply before this resolves; restart paths make
   * the gateway restart in-process afterwards). Without `baseHash` it reads the current hash first.
   *
   * A stale base hash is retried once on a fresh hash. OpenClaw 2026.9.6 reports it as a plain INVALID_REQUEST
   * (no `details.code`), so staleness is confirmed structurally — the config hash changed since `baseHash` —
   * never from the message text.
   */
  async configPatch(patch: Record<string, unknown>, options: ConfigPatchOptions = {}): Promise<ConfigPatchOutcome> {
    const { baseHash: givenHash, replacePaths, note, retryOnStale = true, ...requestOptions } = options;
    const raw = JSON.stringify(patch);
    const paramsFor = (baseHash: string | undefined) => ({
      raw,
      ...(baseHash ? { baseHash } : {}),
      ...(replacePaths?.length ? { replacePaths } : {}),
      ...(note ? { note } : {}),
    });
    const baseHash = givenHash ?? (await this.configGet(requestOptions)).hash;
    try {
      const result = await this.request("config.patch", paramsFor(baseHash), {
        ...requestOptions,
        schema: ConfigPatchResultSchema,
      });
      return { ...result, staleRetried: false };
    } catch (error) {
      if (!retryOnStale || !isPossiblyStaleHashError(error)) throw error;
      const freshHash = (await this.configGet(requestOptions)).hash;
      if (freshHash === undefined || freshHash === baseHash) throw error;
      this.logger.info?.("config.patch base hash was stale; retrying once on the current hash", { url: this.origin() });
      try {
        const result = await this.request("config.patch", paramsFor(freshHash), {
          ...requestOptions,
          schema: ConfigPatchResultSchema,
        });
        return { ...result, staleRetried: true };
      } catch (second) {
        if (!isPossiblyStaleHashError(second)) throw second;
        const latest = (await this.configGet(requestOptions)).hash;
        if (latest === freshHash) throw second;
        throw new GatewayError({
          code: ClientErrorCodes.CONFIG_CONFLICT,
          retryable: true,
          method: "config.patch",
          cause: second,
          message:
            "config.patch: the bot's config changed twice while Molthub was writing it (another writer is active: the Control UI, the CLI or a file edit). Nothing was written by Molthub; retry the change later.",
        });
      }
    }
  }

  logsTail(params: { cursor?: number; limit?: number; maxBytes?: number } = {}, options?: RequestOptions): Promise<LogsTail> {
    return this.request("logs.tail", stripUndefined(params), { ...options, schema: LogsTailSchema });
  }

  channelsStatus(
    params: { probe?: boolean; channel?: string; timeoutMs?: number } = {},
    options?: RequestOptions,
  ): Promise<ChannelsStatus> {
    return this.request("channels.status", stripUndefined(params), { ...options, schema: ChannelsStatusSchema });
  }

  usageCost(params: UsageCostParams, options?: RequestOptions): Promise<UsageCost> {
    return this.request("usage.cost", params, { ...options, schema: UsageCostSchema });
  }

  /** Asks the gateway to restart in-process; expect `shutdown`, a drop, a reconnect and a `restart` event. */
  restartRequest(reason?: string, options?: RequestOptions): Promise<RestartRequestResult> {
    return this.request("gateway.restart.request", reason ? { reason } : {}, { ...options, schema: RestartRequestResultSchema });
  }

  /** Ends the connection, any reconnect, every pending request and every timer. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.setState("closed");
    this.disarmWatchdog();
    for (const wake of [...this.sleepers]) wake();
    const error = this.closedError();
    this.rejectPending(error);
    for (const waiter of [...this.readyWaiters]) waiter.reject(error);
    this.readyWaiters.clear();
    for (const hook of [...this.closeHooks]) hook(error);
    this.closeHooks.clear();
    for (const handle of [...this.timers]) this.clearTimer(handle);
    const sockets = [...this.attemptSockets];
    this.attemptSockets.clear();
    if (this.ws) sockets.push(this.ws);
    this.ws = null;
    await Promise.all(sockets.map((ws) => this.closeSocket(ws)));
  }

  // -------------------------------------------------------------------------------------------------------------
  // Connection management

  private waitReady(deadline: number, signal: AbortSignal | undefined, purpose: string): Promise<HelloOk> {
    if (this.closed) return Promise.reject(this.closedError());
    if (signal?.aborted) return Promise.reject(abortError(purpose));
    if (this.currentState === "open" && this.currentHello) return Promise.resolve(this.currentHello);
    return new Promise<HelloOk>((resolve, reject) => {
      const remaining = Math.max(0, deadline - this.clock.now());
      const finish = (error: GatewayError | null, hello?: HelloOk) => {
        this.readyWaiters.delete(waiter);
        this.clearTimer(timer);
        signal?.removeEventListener("abort", onAbort);
        if (error) reject(error);
        else resolve(hello as HelloOk);
      };
      const waiter: ReadyWaiter = { resolve: (hello) => finish(null, hello), reject: (error) => finish(error) };
      const onAbort = () => finish(abortError(purpose));
      const timer = this.setTimer(() => finish(this.notConnectedError(purpose, remaining)), remaining);
      this.readyWaiters.add(waiter);
      signal?.addEventListener("abort", onAbort, { once: true });
      this.ensureConnecting();
    });
  }

  private ensureConnecting(): void {
    if (this.closed || this.loopRunning || this.currentState === "open") return;
    this.loopRunning = true;
    this.setState("connecting");
    void this.connectLoop(this.clock.now() + this.connectTimeoutMs, 0);
  }

  private startReconnect(): void {
    if (this.closed || this.loopRunning) return;
    this.loopRunning = true;
    this.setState("reconnecting");
    void this.connectLoop(null, computeBackoffMs(0, this.backoff, this.random));
  }

  /**
   * Opens sockets until one reaches hello-ok. `deadline` null means "until close()" (reconnect after a drop);
   * requests waiting meanwhile keep their own deadlines.
   */
  private async connectLoop(deadline: number | null, firstDelayMs: number): Promise<void> {
    let attempt = deadline === null ? 1 : 0;
    let delay = firstDelayMs;
    for (;;) {
      if (delay > 0) {
        if (deadline !== null && this.clock.now() + delay > deadline) {
          return this.failLoop(this.connectTimeoutError());
        }
        this.logger.debug?.("gateway reconnect scheduled", { url: this.origin(), delayMs: delay });
        await this.sleep(delay);
      }
      if (this.closed) return;
      const result = await this.attemptOnce(deadline);
      if (this.closed) return;
      if (result.ok) return;
      this.lastError = result.error;
      this.logger.debug?.("gateway connect attempt failed", {
        url: this.origin(),
        code: result.error.code,
        detailCode: result.error.detailCode,
      });
      if (!result.retry) return this.failLoop(result.error);
      if (deadline !== null && this.clock.now() >= deadline) return this.failLoop(this.connectTimeoutError());
      delay =
        result.error.retryAfterMs !== undefined
          ? Math.min(this.backoff.maxMs, Math.max(MIN_RETRY_AFTER_MS, result.error.retryAfterMs))
          : computeBackoffMs(attempt++, this.backoff, this.random);
    }
  }

  private failLoop(error: GatewayError): void {
    this.loopRunning = false;
    this.lastError = error;
    if (this.closed) return;
    this.setState("disconnected");
    this.logger.warn?.("gateway connection failed", { url: this.origin(), code: error.code, detailCode: error.detailCode });
    for (const waiter of [...this.readyWaiters]) waiter.reject(error);
    this.emit("error", error);
  }

  /** One socket: open → connect.challenge → connect → hello-ok. On success the socket becomes `this.ws`. */
  private attemptOnce(deadline: number | null): Promise<AttemptResult> {
    const budget = Math.max(1, Math.min(this.handshakeTimeoutMs, deadline === null ? Infinity : deadline - this.clock.now()));
    const started = this.clock.now();
    return new Promise<AttemptResult>((resolve) => {
      let ws: WebSocket;
      try {
        ws = new WebSocket(this.url);
      } catch (error) {
        resolve({
          ok: false,
          retry: false,
          error: new GatewayError({
            code: ClientErrorCodes.CONNECT_FAILED,
            method: "connect",
            cause: error,
            message: `Cannot open a WebSocket to ${this.origin()}: ${errorText(error)}.`,
          }),
        });
        return;
      }
      this.attemptSockets.add(ws);
      const connectId = this.nextId();
      let sentConnect = false;
      let done = false;
      const finish = (result: AttemptResult) => {
        if (done) return;
        done = true;
        this.clearTimer(timer);
        this.attemptSockets.delete(ws);
        if (result.ok) {
          if (this.closed) {
            void this.closeSocket(ws);
          } else {
            this.adopt(ws, result.hello, this.clock.now() - started);
          }
        } else {
          detach(ws);
          void this.closeSocket(ws);
        }
        resolve(result);
      };
      const timer = this.setTimer(
        () =>
          finish({
            ok: false,
            retry: true,
            error: new GatewayError({
              code: ClientErrorCodes.CONNECT_TIMEOUT,
              retryable: true,
              method: "connect",
              message: `The gateway at ${this.origin()} did not complete the handshake within ${budget} ms (${sentConnect ? "no reply to connect" : "no connect.challenge"}); it may be overloaded or not an OpenClaw gateway.`,
            }),
          }),
        budget,
      );
      ws.onmessage = (event) => {
        if (done) return;
        const frame = parseFrame(event.data);
        if (!frame) {
          return finish({ ok: false, retry: false, error: this.protocolError("connect", "a frame that is not protocol JSON") });
        }
        if (frame.type === "event" && frame.event === "connect.challenge") {
          if (sentConnect) return;
          const challenge = ConnectChallengeSchema.safeParse(frame.payload);
          if (!challenge.success) {
            return finish({
              ok: false,
              retry: false,
              error: this.protocolError("connect", "a connect.challenge without a valid nonce and ts"),
            });
          }
          sentConnect = true;
          try {
            ws.send(
              JSON.stringify({
                type: "req",
                id: connectId,
                method: "connect",
                params: this.connectParams(challenge.data.nonce, challenge.data.ts),
              }),
            );
          } catch (error) {
            finish({
              ok: false,
              retry: true,
              error: new GatewayError({
                code: ClientErrorCodes.CONNECT_FAILED,
                retryable: true,
                method: "connect",
                cause: error,
                message: `The socket to ${this.origin()} failed while sending connect: ${errorText(error)}.`,
              }),
            });
          }
          return;
        }
        if (frame.type === "res" && frame.id === connectId) {
          if (frame.ok) {
            const hello = HelloOkSchema.safeParse(frame.payload);
            if (!hello.success) {
              return finish({
                ok: false,
                retry: false,
                error: this.protocolError("connect", `a hello-ok of unexpected shape (${summarizeIssues(hello.error)})`),
              });
            }
            if (hello.data.protocol !== PROTOCOL_VERSION) {
              return finish({
                ok: false,
                retry: false,
                error: this.protocolError("connect", `protocol ${hello.data.protocol} instead of ${PROTOCOL_VERSION}`),
              });
            }
            return finish({ ok: true, hello: hello.data });
          }
          const error = frame.error
            ? GatewayError.fromShape("connect", frame.error, (text) => this.scrub(text))
            : this.protocolError("connect", "a failed connect response without an error");
          return finish({ ok: false, retry: isRetryableConnectError(error), error });
        }
        // Anything else before hello-ok is not for us yet.
      };
      ws.onerror = () => {
        // The close event follows with the code; nothing to add here.
      };
      ws.onclose = (event) => {
        finish({
          ok: false,
          retry: true,
          error: new GatewayError({
            code: ClientErrorCodes.CONNECT_FAILED,
            retryable: true,
            method: "connect",
            message: `The gateway at ${this.origin()} closed the socket before the handshake finished (close ${event.code}${event.reason ? ` "${this.scrub(event.reason)}"` : ""}); is the bot running and listening on this port?`,
          }),
        });
      };
    });
  }

  private connectParams(nonce: string, signedAt: number): ConnectParams {
    const role = "operator" as const;
    return {
      minProtocol: PROTOCOL_VERSION,
      maxProtocol: PROTOCOL_VERSION,
      client: this.clientInfo,
      role,
      scopes: this.scopes,
      caps: [],
      auth: { token: this.token },
      device: signDeviceAuth(this.identity, {
        clientId: this.clientInfo.id,
        clientMode: this.clientInfo.mode,
        role,
        scopes: this.scopes,
        signedAt,
        token: this.token,
        nonce,
        platform: this.clientInfo.platform,
        deviceFamily: this.clientInfo.deviceFamily,
      }),
      userAgent: `molthub/${MOLTHUB_CLIENT_VERSION}`,
    };
  }

  /** Makes a handshaken socket the live connection. Runs synchronously inside the socket's message handler. */
  private adopt(ws: WebSocket, hello: HelloOk, handshakeMs: number): void {
    this.ws = ws;
    this.loopRunning = false;
    this.lastError = null;
    ws.onmessage = (event) => this.onMessage(ws, event.data);
    ws.onclose = (event) => this.onSocketClosed(ws, event.code, event.reason);
    ws.onerror = () => {};
    this.currentHello = hello;
    if (hello.auth.deviceToken) registerSecret(hello.auth.deviceToken);
    const previousBootId = this.lastBootId;
    const bootId = hello.server.bootId;
    if (bootId) this.lastBootId = bootId;
    const expected = Boolean(this.shutdownNotice && this.shutdownNotice.restartExpectedMs != null);
    this.shutdownNotice = null;
    this.setState("open");
    this.armWatchdog();
    this.logger.info?.("gateway connected", { url: this.origin(), version: hello.server.version, bootId, handshakeMs });
    for (const waiter of [...this.readyWaiters]) waiter.resolve(hello);
    this.emit("hello", hello);
    if (previousBootId && bootId && previousBootId !== bootId) {
      this.logger.info?.("gateway restarted", { url: this.origin(), previousBootId, bootId, expected });
      this.emit("restart", { previousBootId, bootId, expected });
    }
  }

  private onMessage(ws: WebSocket, data: unknown): void {
    if (ws !== this.ws) return;
    this.armWatchdog();
    const frame = parseFrame(data);
    if (!frame) {
      this.logger.warn?.("gateway sent a frame that is not protocol JSON; ignored", { url: this.origin() });
      return;
    }
    if (frame.type === "res") {
      const entry = this.pending.get(frame.id);
      if (!entry) return; // a late answer to a request that already timed out or was aborted
      this.pending.delete(frame.id);
      entry.cleanup();
      if (frame.ok) entry.resolve(frame.payload);
      else
        entry.reject(
          frame.error
            ? GatewayError.fromShape(entry.method, frame.error, (text) => this.scrub(text))
            : this.protocolError(entry.method, "a failed response without an error"),
        );
      return;
    }
    if (frame.type === "event") {
      if (frame.event === "shutdown") {
        const notice = ShutdownEventSchema.safeParse(frame.payload);
        this.shutdownNotice = notice.success ? notice.data : { reason: "unknown" };
        this.logger.info?.("gateway announced shutdown", {
          url: this.origin(),
          reason: this.shutdownNotice.reason,
          restartExpectedMs: this.shutdownNotice.restartExpectedMs,
        });
        this.emit("shutdown", this.shutdownNotice);
      }
      this.emit("event", frame);
    }
  }

  private onSocketClosed(ws: WebSocket, code: number, reason: string): void {
    if (ws !== this.ws) return;
    this.ws = null;
    this.disarmWatchdog();
    const expectedRestart = Boolean(this.shutdownNotice && this.shutdownNotice.restartExpectedMs != null);
    this.rejectPending(
      new GatewayError({
        code: ClientErrorCodes.DISCONNECTED,
        retryable: true,
        message: `The connection to the gateway at ${this.origin()} closed (${code}${reason ? ` ${this.scrub(reason)}` : ""}) before the answer came; the request may or may not have run — check state before repeating a write.`,
      }),
    );
    this.logger.info?.("gateway disconnected", { url: this.origin(), code, expectedRestart });
    this.emit("disconnect", { code, reason: this.scrub(reason), expectedRestart });
    if (this.closed) return;
    if (!this.reconnectEnabled) {
      this.setState("disconnected");
      return;
    }
    this.startReconnect();
  }

  /** Treats the socket as dead now (tick watchdog) and closes it without waiting for the peer. */
  private dropSocket(code: number, reason: string): void {
    const ws = this.ws;
    if (!ws) return;
    detach(ws);
    this.onSocketClosed(ws, code, reason);
    void this.closeSocket(ws, code, reason);
  }

  private armWatchdog(): void {
    this.disarmWatchdog();
    const tick = this.currentHello?.policy.tickIntervalMs;
    if (!tick || this.closed) return;
    const limit = tick * 2;
    this.watchdog = this.setTimer(() => {
      this.watchdog = null;
      this.logger.warn?.("gateway silent for two tick intervals; reconnecting", { url: this.origin(), silentMs: limit });
      this.dropSocket(4000, "tick timeout");
    }, limit);
  }

  private disarmWatchdog(): void {
    if (this.watchdog !== null) this.clearTimer(this.watchdog);
    this.watchdog = null;
  }

  // -------------------------------------------------------------------------------------------------------------
  // Requests

  private send(method: string, params: unknown, deadline: number, signal: AbortSignal | undefined): Promise<unknown> {
    return new Promise((resolve, reject) => {
      const ws = this.ws;
      if (!ws || this.currentState !== "open") {
        reject(this.notConnectedError(method, 0));
        return;
      }
      const id = this.nextId();
      const text = JSON.stringify({ type: "req", id, method, params });
      const maxPayload = this.currentHello?.policy.maxPayload;
      if (maxPayload && Buffer.byteLength(text) > maxPayload) {
        reject(
          new GatewayError({
            code: ClientErrorCodes.REQUEST_TOO_LARGE,
            method,
            message: `${method} is ${Buffer.byteLength(text)} bytes; the gateway accepts at most ${maxPayload}. Send less (split the change).`,
          }),
        );
        return;
      }
      const remaining = Math.max(0, deadline - this.clock.now());
      const onAbort = () => {
        if (!this.pending.delete(id)) return;
        cleanup();
        reject(abortError(method));
      };
      const timer = this.setTimer(() => {
        if (!this.pending.delete(id)) return;
        cleanup();
        reject(
          new GatewayError({
            code: ClientErrorCodes.TIMEOUT,
            retryable: true,
            method,
            message: `No answer to ${method} from the gateway at ${this.origin()} within ${remaining} ms; it may be overloaded or stuck. The request may still run — check state before repeating a write.`,
          }),
        );
      }, remaining);
      const cleanup = () => {
        this.clearTimer(timer);
        signal?.removeEventListener("abort", onAbort);
      };
      this.pending.set(id, { method, resolve, reject, cleanup });
      signal?.addEventListener("abort", onAbort, { once: true });
      try {
        ws.send(text);
      } catch (error) {
        this.pending.delete(id);
        cleanup();
        reject(
          new GatewayError({
            code: ClientErrorCodes.DISCONNECTED,
            retryable: true,
            method,
            cause: error,
            message: `Could not send ${method} to ${this.origin()}: ${errorText(error)}.`,
          }),
        );
      }
    });
  }

  private rejectPending(error: GatewayError): void {
    const entries = [...this.pending.values()];
    this.pending.clear();
    for (const entry of entries) {
      entry.cleanup();
      entry.reject(
        new GatewayError({
          code: error.code,
          retryable: error.retryable,
          method: entry.method,
          message: `${entry.method}: ${error.message}`,
        }),
      );
    }
  }

  // -------------------------------------------------------------------------------------------------------------
  // Plumbing

  private nextId(): string {
    this.seq += 1;
    return String(this.seq);
  }

  private setState(state: ClientState): void {
    if (this.currentState === state) return;
    this.currentState = state;
    this.emit("state", state);
  }

  private emit<K extends keyof GatewayClientEvents>(name: K, value: GatewayClientEvents[K]): void {
    const set = this.listeners.get(name);
    if (!set) return;
    for (const listener of [...set]) {
      try {
        (listener as (v: GatewayClientEvents[K]) => void)(value);
      } catch (error) {
        this.logger.error?.("gateway client listener threw", { event: name, error: errorText(error) });
      }
    }
  }

  private setTimer(fn: () => void, ms: number): unknown {
    const handle: unknown = this.clock.setTimeout(() => {
      this.timers.delete(handle);
      fn();
    }, ms);
    this.timers.add(handle);
    return handle;
  }

  private clearTimer(handle: unknown): void {
    if (handle === null || handle === undefined) return;
    this.clock.clearTimeout(handle);
    this.timers.delete(handle);
  }

  /** Resolves after `ms`, or at once when the client closes. */
  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const wake = () => {
        this.sleepers.delete(wake);
        this.clearTimer(timer);
        resolve();
      };
      const timer = this.setTimer(wake, ms);
      this.sleepers.add(wake);
    });
  }

  private closeSocket(ws: WebSocket, code = 1000, reason = "client closed"): Promise<void> {
    if (ws.readyState === WebSocket.CLOSED) return Promise.resolve();
    return new Promise((resolve) => {
      const done = () => {
        this.clearTimer(timer);
        resolve();
      };
      const timer = this.setTimer(done, CLOSE_WAIT_MS);
      ws.addEventListener("close", done, { once: true });
      try {
        ws.close(code, reason);
      } catch {
        done();
      }
    });
  }

  private scrub(text: string): string {
    return redactString(text.split(this.token).join("[redacted]"));
  }

  private origin(): string {
    const url = new URL(this.url);
    return `${url.protocol}//${url.host}`;
  }

  private closedError(): GatewayError {
    return new GatewayError({
      code: ClientErrorCodes.CLOSED,
      message: `The gateway client for ${this.origin()} is closed; create a new one.`,
    });
  }

  private protocolError(method: string, what: string): GatewayError {
    return new GatewayError({
      code: ClientErrorCodes.PROTOCOL,
      method,
      message: `The endpoint at ${this.origin()} sent ${what}; check that the port belongs to an OpenClaw gateway of a supported version.`,
    });
  }

  private connectTimeoutError(): GatewayError {
    const last = this.lastError;
    return new GatewayError({
      code: ClientErrorCodes.CONNECT_TIMEOUT,
      retryable: true,
      method: "connect",
      detailCode: last?.detailCode,
      retryAfterMs: last?.retryAfterMs,
      cause: last ?? undefined,
      message: `Could not connect to the gateway at ${this.origin()} within ${this.connectTimeoutMs} ms${last ? ` (last error: ${last.message})` : ""}. Check that the bot is running; it needs 10–15 s to start.`,
    });
  }

  private notConnectedError(purpose: string, waitedMs: number): GatewayError {
    const last = this.lastError;
    return new GatewayError({
      code: purpose === "connect" ? ClientErrorCodes.CONNECT_TIMEOUT : ClientErrorCodes.TIMEOUT,
      retryable: true,
      method: purpose,
      message: `No connection to the gateway at ${this.origin()} within ${waitedMs} ms for ${purpose}${last ? ` (last error: ${last.message})` : ""}. Check that the bot is running and reachable on loopback.`,
    });
  }
}

/** Connect errors worth retrying: the gateway said so, it is starting/busy, or a pairing approval is pending. */
function isRetryableConnectError(error: GatewayError): boolean {
  if (error.retryable) return true;
  if (error.code === "UNAVAILABLE") return true;
  if (error.detailCode === "AUTH_RATE_LIMITED" && error.retryAfterMs !== undefined) return true;
  const details = error.details as Record<string, unknown> | undefined;
  return Boolean(details && typeof details === "object" && details.retryable === true);
}

/** An INVALID_REQUEST with no structured detail code: the shape 2026.9.6 uses for a stale base hash. */
function isPossiblyStaleHashError(error: unknown): error is GatewayError {
  return isGatewayError(error) && error.code === "INVALID_REQUEST" && error.detailCode === undefined;
}

function parseFrame(data: unknown) {
  let text: string;
  if (typeof data === "string") text = data;
  else if (data instanceof ArrayBuffer) text = new TextDecoder().decode(data);
  else if (ArrayBuffer.isView(data)) text = new TextDecoder().decode(data);
  else return null;
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return null;
  }
  const frame = FrameSchema.safeParse(value);
  return frame.success ? frame.data : null;
}

function detach(ws: WebSocket): void {
  ws.onmessage = null;
  ws.onclose = null;
  ws.onerror = null;
}

function abortError(purpose: string): GatewayError {
  return new GatewayError({
    code: ClientErrorCodes.ABORTED,
    method: purpose,
    message: `${purpose} was cancelled by the caller.`,
  });
}

function defaultPlatform(): { platform: string; deviceFamily?: string } {
  switch (process.platform) {
    case "darwin":
      return { platform: "macos", deviceFamily: "Mac" };
    case "win32":
      return { platform: "windows", deviceFamily: "Windows" };
    case "linux":
      return { platform: "linux", deviceFamily: "Linux" };
    default:
      return { platform: process.platform };
  }
}

function safeUrl(url: string): URL | null {
  try {
    return new URL(url);
  } catch {
    return null;
  }
}

function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

function summarizeIssues(error: z.ZodError): string {
  return error.issues
    .slice(0, 3)
    .map((issue) => `${issue.path.join(".") || "(root)"}: ${issue.message}`)
    .join("; ");
}

function stripUndefined<T extends Record<string, unknown>>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as Partial<T>;
}
