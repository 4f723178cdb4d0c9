import type * as z from "zod";
import type { Target } from "../src/domain/manifest.ts";
import type { BotLayout } from "../src/domain/openclaw-config.ts";
import type { HostAccess } from "../src/hosts/host-access.ts";
import type { Logger } from "../src/log.ts";

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
  /**
   * Why the endpoint last closed a connection unanswered: the port's listener was not proven to be the bot's own
   * process (a `foreign_listener` ProviderError). A client then only sees its socket closed; report this instead.
   */
  refusal?(): ProviderError | undefined;
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
  /**
   * A loopback endpoint for the bot's gateway. Before it returns, and again before every connection through it,
   * the provider proves that whatever listens on the bot's port is the bot's own process (the local child, the
   * unit's MainPID, the container's processes, or a descendant); otherwise it throws (or, per connection, closes
   * the connection with) a `foreign_listener` ProviderError naming the holder. So the gateway token, which the
   * client sends in its `connect` frame, only ever reaches the bot's own gateway. Nothing listening yet is not
   * an error here: connections then fail like any refused connection.
   */
  endpoint(bot: BotRef, signal: AbortSignal): Promise<Endpoint>;
  /**
   * Why the bot's gateway exited, in the gateway's own words, when its output says its port was taken (OpenClaw's
   * "another gateway instance is already listening …", or under systemd "gateway already running under systemd
   * …", exit 78): those lines from the target's log tail, secrets removed. Undefined when the log says nothing of
   * the kind (the caller then reports the exit as it is).
   */
  exitCause?(bot: BotRef, signal: AbortSignal): Promise<string | undefined>;
  /**
   * Whether `port` can be given to this bot on its target right now: nothing that a connection to 127.0.0.1:port
   * reaches listens there, except the bot's own gateway. Asked on the target itself (its `ss`/`lsof`), before a
   * start, and before a port is (re)allocated.
   */
  portFree?(bot: BotRef, port: number, signal: AbortSignal): Promise<boolean>;
}

/** What the appliance hands every provider module: where its files go, how OpenClaw is found, the logger and hosts. */
export interface ProviderDeps {
  /** `<dataDir>/bots`: a provider keeps its bots' files under `<botsDir>/<kind>` */
  botsDir: string;
  /** `<dataDir>/openclaw`: OpenClaw versions that Molthub installs itself */
  installDir: string;
  /** MOLTHUB_OPENCLAW_DIR: an existing OpenClaw install (the `node_modules/openclaw` dir) */
  openclawDir?: string;
  /** MOLTHUB_OPENCLAW_NODE: the Node that runs it */
  openclawNode?: string;
  /** MOLTHUB_BOT_RESOLV_CONF: a resolv.conf every gateway gets (a DNS sinkhole for offline hosts and tests) */
  resolvConf?: string;
  /** containers run a plain Node image with `openclawDir`'s install mounted read-only (offline setups, tests) */
  dockerMountOpenclaw: boolean;
  logger: Logger;
  /** the registered SSH hosts; without them the remote targets refuse their bots */
  hosts?: HostAccess;
}

/**
 * One target kind, as the registry (providers/registry.ts) lists it. This declaration is all the appliance loads at
 * start-up: the manifest's target union, the wizard and the CLI help read it, and `layout()` answers before the
 * implementation is loaded. `load()` imports the implementation (and its heavy dependencies: dockerode, ssh2) on
 * first use.
 *
 * A module's file (`providers/<kind>/index.ts`) imports only zod, this file, pure src/domain modules and pure files
 * of its own folder or of providers/ssh; never its own implementation except through `load()`.
 */
export interface ProviderModule<K extends string = string, S extends z.ZodType<{ provider: K }> = z.ZodType<{ provider: K }>> {
  readonly kind: K;
  /** a short name for the wizard and the CLI help ("Docker container") */
  readonly label: string;
  /** one line on what a bot of this kind is */
  readonly description: string;
  /** `spec.target` of this kind: a strict object whose `provider` is the literal `kind` */
  readonly targetSchema: S;
  readonly capabilities: ProviderCapabilities;
  /**
   * Hosts whose init system (as the host doctor reports it) is this run their bots with this provider; the first
   * module of the list with `hostInit` serves hosts whose init is unknown.
   */
  readonly hostInit?: string;
  /**
   * Where the bot's files live on the target, without loading the implementation (the same answer as the loaded
   * provider's `layout()`). `warm()` starts loading it, for a layout that needs what only the implementation learns.
   */
  layout(bot: BotRef, deps: ProviderDeps, warm: () => void): BotLayout;
  /**
   * What the provider would refuse this target for when it deploys (an unpinned image), for a form to say early.
   * The manifest accepts such a target; paths are relative to `spec.target`.
   */
  targetProblems?(target: z.output<S>): { path: string; message: string }[];
  /** imports the implementation and makes the provider */
  load(deps: ProviderDeps): Promise<Provider>;
}

export class ProviderError extends Error {
  override name = "ProviderError";
  constructor(
    message: string,
    /**
     * `foreign_listener`: the bot's port is held by a process that is not the bot's (see `endpoint()`); the caller
     * may move the bot to another port. `not_installed`: the OpenClaw version the bot targets is not installed
     * where it runs; the message names the command that installs it.
     */
    readonly code:
      | "unreachable"
      | "invalid_config"
      | "timeout"
      | "not_found"
      | "failed"
      | "foreign_listener"
      | "not_installed" = "failed",
    readonly issues?: { path: string; message: string }[],
  ) {
    super(message);
  }
}

/** Rejects when the signal aborts; for waiting loops inside providers. */
export function abortable<T>(p: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(new ProviderError(`cancelled: ${String(signal.reason ?? "aborted")}`, "timeout"));
  return new Promise((resolve, reject) => {
    const onAbort = () => reject(new ProviderError(`cancelled: ${String(signal.reason ?? "aborted")}`, "timeout"));
    signal.addEventListener("abort", onAbort, { once: true });
    p.then(
      (v) => {
        signal.removeEventListener("abort", onAbort);
        resolve(v);
      },
      (e) => {
        signal.removeEventListener("abort", onAbort);
        reject(e);
      },
    );
  });
}
