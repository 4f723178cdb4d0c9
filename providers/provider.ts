import type { Target } from "../src/domain/manifest.ts";
import type { BotLayout } from "../src/domain/openclaw-config.ts";

/**
 * The narrow interface every target kind implements (docker, local, systemd, launchd, …).
 * Providers receive a resolved desired state and report observed state. They never read the database,
 * know nothing of users, and throw `ProviderError`s that say what to do.
 * Every method takes an AbortSignal: the reconciler gives each step a deadline and can cancel it.
 */
export interface BotRef {
  id: string;
  name: string;
  workspaceId: string;
  target: Target;
  port: number;
}

export interface BotRuntime extends BotRef {
  /** the full openclaw.json to write */
  config: Record<string, unknown>;
  configHash: string;
  /** written to a 0600 env file: gateway token, secrets, OpenClaw paths */
  env: Record<string, string>;
}

export interface ObservedState {
  exists: boolean;
  running: boolean;
  pid?: number;
  containerId?: string;
  openclawVersion?: string;
  exitCode?: number;
  /** provider-specific status text (e.g. docker state, systemd ActiveState) */
  detail?: string;
}

export interface ValidationResult {
  valid: boolean;
  issues: { path: string; message: string }[];
}

export interface Endpoint {
  /** ws://127.0.0.1:PORT — always loopback, so the gateway sees a local client */
  wsUrl: string;
  httpUrl: string;
  close(): Promise<void>;
}

export interface ProviderCapabilities {
  /** can run `openclaw config validate` on the target before applying */
  validate: boolean;
  logs: boolean;
  followLogs: boolean;
  /** bots keep running when the appliance stops */
  survivesControlPlane: boolean;
}

export interface Provider {
  readonly kind: Target["provider"];
  readonly capabilities: ProviderCapabilities;
  /** where the bot's files live on the target */
  layout(bot: BotRef): BotLayout;
  /** make the runtime available (OpenClaw install, image) */
  ensure(bot: BotRuntime, signal: AbortSignal): Promise<void>;
  validate?(bot: BotRuntime, signal: AbortSignal): Promise<ValidationResult>;
  /** write openclaw.json and the 0600 env file */
  configure(bot: BotRuntime, signal: AbortSignal): Promise<void>;
  start(bot: BotRuntime, signal: AbortSignal): Promise<void>;
  /** graceful stop, then kill after `deadlineMs` (a gateway can linger up to 325 s) */
  stop(bot: BotRef, opts: { deadlineMs: number }, signal: AbortSignal): Promise<void>;
  observe(bot: BotRef, signal: AbortSignal): Promise<ObservedState>;
  logs(bot: BotRef, opts: { follow: boolean; tail?: number }, signal: AbortSignal): AsyncIterable<string>;
  /** remove the bot; with purge its state dir goes too */
  destroy(bot: BotRef, opts: { purge: boolean }, signal: AbortSignal): Promise<void>;
  endpoint(bot: BotRef, signal: AbortSignal): Promise<Endpoint>;
}

export class ProviderError extends Error {
  override name = "ProviderError";
  constructor(message: string, readonly code: "unreachable" | "invalid_config" | "timeout" | "not_found" | "failed" = "failed", readonly issues?: { path: string; message: string }[]) {
    super(message);
  }
}

/** Rejects when the signal aborts; for waiting loops inside providers. */
export function abortable<T>(p: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(new ProviderError(`cancelled: ${String(signal.reason ?? "aborted")}`, "timeout"));
  return new Promise((resolve, reject) => {
    const onAbort = () => reject(new ProviderError(`cancelled: ${String(signal.reason ?? "aborted")}`, "timeout"));
    signal.addEventListener("abort", onAbort, { once: true });
    p.then((v) => { signal.removeEventListener("abort", onAbort); resolve(v); }, (e) => { signal.removeEventListener("abort", onAbort); reject(e); });
  });
}
