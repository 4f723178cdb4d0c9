/**
 * What the remote providers (systemd, launchd) share: reaching a registered host through the shared SshPool,
 * the remote layout, strict checks on every value that ends up in a remote command, a unit file or a plist,
 * env-file renderers for each service manager, the OpenClaw install check, `openclaw config validate` on the host,
 * and the per-bot SSH port forward that `endpoint()` hands out.
 *
 * Rules kept here:
 * - Commands are argv (the pool quotes every element); values that could be read as options are refused or put
 *   after `--`. Paths are absolute and limited to a conservative character set (letters, digits, `._+@-/`), so they
 *   can be written into unit files and plists without quoting rules of their own; anything else is refused with a
 *   message that says what to change.
 * - Secrets only travel in the 0600 env file written over SFTP; never in argv, unit files, plists or messages.
 * - Every remote call has a timeout and honours the AbortSignal.
 */
import * as z from "zod";
import { VERSION_RE } from "../src/domain/manifest.ts";
import type { BotLayout } from "../src/domain/openclaw-config.ts";
import type { HostAccess, HostInfo, RemoteLayout } from "../src/hosts/access.ts";
import { remoteLayout } from "../src/hosts/access.ts";
import { silentLogger, type Logger } from "../src/log.ts";
import { HostKeyMismatchError, HostKeyNotPinnedError } from "../src/ssh/hostkey.ts";
import type { LocalForward } from "../src/ssh/forward.ts";
import type { ExecResult, SshPool } from "../src/ssh/pool.ts";
import { SshError } from "../src/ssh/pool.ts";
import { ShellQuoteError } from "../src/ssh/quote.ts";
import { scrubSecrets } from "./local/child-env.ts";
import { lastLines } from "./local/command.ts";
import {
  ProviderError,
  type BotRef,
  type BotRuntime,
  type Endpoint,
  type ObservedState,
  type Provider,
  type ProviderCapabilities,
  type ValidationResult,
} from "./provider.ts";

/** The part of SshPool the providers use; tests substitute a recording fake. */
export type RemotePool = Pick<SshPool, "exec" | "execStream" | "sftpWrite" | "sftpRead" | "forward">;

export interface RemoteProviderOptions {
  hosts: HostAccess;
  logger?: Logger;
  /** deadline of one ordinary remote command (default 30 s) */
  commandTimeoutMs?: number;
  /** how long start() watches a new gateway for an early exit before handing over to the reconciler (default 45 s) */
  startupCheckMs?: number;
  /** poll interval while waiting (default 500 ms) */
  pollMs?: number;
  /** graceful-stop deadline used by destroy() (default 30 s) */
  destroyDeadlineMs?: number;
}

export type RemoteTarget = { provider: "systemd" | "launchd"; host: string; version: string; unit?: "user" | "system" };

/** Everything a step needs about the bot's host. */
export interface HostCtx {
  info: HostInfo;
  poolId: string;
  layout: RemoteLayout;
  target: RemoteTarget;
}

// ------------------------------------------------------------------------------------------------ value checks

const BOT_NAME_RE = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/;
const ID_RE = /^[A-Za-z0-9][A-Za-z0-9_-]{0,127}$/;
/** Absolute paths Molthub writes into commands, unit files and plists. */
const SAFE_PATH_RE = /^\/[A-Za-z0-9._+@/-]*$/;
const ENV_NAME_RE = /^[A-Za-z_][A-Za-z0-9_]*$/;
const PLATFORM_RE = /^(linux|darwin)-(x64|arm64)$/;
const USER_RE = /^[a-z_][a-z0-9_-]{0,31}$/;

export function invalid(message: string, path?: string): ProviderError {
  return new ProviderError(message, "invalid_config", path ? [{ path, message }] : undefined);
}

export function assertBotName(name: string): void {
  if (typeof name !== "string" || !BOT_NAME_RE.test(name)) {
    throw invalid(`the bot name ${JSON.stringify(name)} cannot be used for a service: lowercase letters, digits and dashes only`, "metadata.name");
  }
}

export function assertId(what: string, value: string): void {
  if (typeof value !== "string" || !ID_RE.test(value)) throw invalid(`the ${what} ${JSON.stringify(value)} is not a plain id (letters, digits, _ and -)`);
}

export function assertVersion(version: string): void {
  if (typeof version !== "string" || !VERSION_RE.test(version)) {
    throw invalid(`the OpenClaw version ${JSON.stringify(version)} is not a version like 2026.9.6`, "spec.target.version");
  }
}

export function assertPort(port: number): void {
  if (!Number.isInteger(port) || port <= 0 || port > 65535) throw invalid(`invalid gateway port ${String(port)}`);
}

/** An absolute, normalised path of safe characters; `what` names it in the error. */
export function assertSafePath(path: string, what: string): void {
  const ok =
    typeof path === "string" &&
    SAFE_PATH_RE.test(path) &&
    !path.includes("//") &&
    (path === "/" || !path.endsWith("/")) &&
    !path.split("/").some((seg) => seg === "." || seg === "..") &&
    !path.split("/").some((seg) => seg.startsWith("-"));
  if (!ok) {
    throw invalid(
      `the ${what} ${JSON.stringify(path)} cannot be used on the host: Molthub only writes absolute paths made of letters, digits and . _ + @ - / ` +
        `into commands and service files (no spaces, quotes, $ or %); move it or use an account whose home directory is such a path`,
    );
  }
}

export function assertUserName(user: string, what = "user name"): void {
  if (typeof user !== "string" || !USER_RE.test(user)) throw invalid(`the ${what} ${JSON.stringify(user)} is not a plain POSIX user name`);
}

/** Env names must be shell/systemd names; values must fit on one line (no CR, LF or NUL). */
export function assertEnv(env: Record<string, string>): void {
  for (const [k, v] of Object.entries(env)) {
    if (!ENV_NAME_RE.test(k)) throw invalid(`${JSON.stringify(k)} is not a valid environment variable name (letters, digits and _, not starting with a digit)`, `spec.secrets.${k}`);
    if (typeof v !== "string" || /[\r\n\0]/.test(v)) throw invalid(`the value of ${k} contains a line break or NUL byte, which an env file cannot carry; store it without them`, `spec.secrets.${k}`);
  }
}

// ------------------------------------------------------------------------------------------------ env files

/**
 * systemd's EnvironmentFile= syntax: every value double-quoted, with `\`, `"`, `` ` `` and `$` escaped by a
 * backslash (systemd's parser turns exactly these escapes back into the character), so a value is taken
 * literally — no variable expansion, no line continuation, no comment, no whitespace trimming.
 */
export function renderSystemdEnvFile(env: Record<string, string>): string {
  assertEnv(env);
  const lines = Object.keys(env)
    .sort()
    .map((k) => `${k}="${env[k]!.replace(/[\\"`$]/g, (c) => `\\${c}`)}"`);
  return `# Managed by Molthub: the bot's environment (0600). Changes are overwritten.\n${lines.join("\n")}\n`;
}

/**
 * POSIX sh syntax for `set -a; . <file>` (the launchd wrapper): every value single-quoted (the shell interprets
 * nothing inside), an embedded `'` written as `'\''`.
 */
export function renderShellEnvFile(env: Record<string, string>): string {
  assertEnv(env);
  const lines = Object.keys(env)
    .sort()
    .map((k) => `${k}='${env[k]!.replace(/'/g, `'\\''`)}'`);
  return `# Managed by Molthub: the bot's environment (0600). Changes are overwritten.\n${lines.join("\n")}\n`;
}

// ------------------------------------------------------------------------------------------------ layout

/** The bot's files on the host: the shared remote layout plus the log file inside the bot dir. */
export function remoteBotLayout(layout: RemoteLayout, bot: string): BotLayout {
  const dir = layout.botDir(bot);
  return { stateDir: dir, configPath: `${dir}/openclaw.json`, envFile: layout.envFile(bot), logFile: `${dir}/logs/gateway.log` };
}

// ------------------------------------------------------------------------------------------------ npm stand-in

/**
 * Molthub's dir of stand-ins on a host (`<base>/fallback-bin`), searched LAST on a gateway's PATH.
 *
 * Why: when a configured model needs an OpenClaw plugin that is not bundled (e.g. `openai/*` models want
 * `@openclaw/codex`), every gateway START runs a "repair missing configured plugin installs" step that spawns
 * `npm view …`. A failing npm (offline, no registry) is a warning and the gateway starts degraded — but when there is
 * no `npm` at all, the spawn fails with ENOENT, which OpenClaw 2026.9.6 treats as a failed *startup state
 * migration* and exits 78 ("requires state migration … Command failed during launch or output capture (ENOENT)").
 * A hot `config.patch` does not run that step, so the bot worked until its first restart (host reboot, crash).
 * Hosts where OpenClaw was pre-placed (no Node/npm of the system) hit it every time; the local provider never
 * does because the appliance's own PATH has npm. The stand-in makes "no npm" look like "npm failed"; a real npm
 * anywhere earlier on the PATH always wins.
 */
export function fallbackBinDir(layout: RemoteLayout): string {
  const dir = `${layout.base}/fallback-bin`;
  assertSafePath(dir, "fallback bin dir");
  return dir;
}

/** The `npm` stand-in: says why on stderr and exits 1, like an npm that cannot reach its registry. */
export const NPM_FALLBACK_SCRIPT = [
  "#!/bin/sh",
  "# Managed by Molthub: stands in for npm on a host without it, so OpenClaw's plugin repair fails cleanly",
  "# (a warning) instead of refusing to start. Installing npm on the host makes this unused.",
  `echo "npm is not installed on this host (Molthub's stand-in was called: npm $1); install npm here to let OpenClaw fetch plugins" >&2`,
  "exit 1",
  "",
].join("\n");

// ------------------------------------------------------------------------------------------------ errors

/** Any error of a remote step as a ProviderError that says what to do. */
export function toProviderError(e: unknown, what: string): ProviderError {
  if (e instanceof ProviderError) return e;
  if (e instanceof HostKeyMismatchError || e instanceof HostKeyNotPinnedError) return new ProviderError(`${what}: ${(e as Error).message}`, "unreachable");
  if (e instanceof ShellQuoteError) return new ProviderError(`${what}: ${e.message}`, "invalid_config");
  if (e instanceof SshError) {
    const code = e.code === "timeout" || e.code === "aborted" ? "timeout" : e.code === "sftp" || e.code === "channel" ? "failed" : "unreachable";
    return new ProviderError(`${what}: ${e.message}`, code);
  }
  return new ProviderError(`${what}: ${(e as Error)?.message ?? String(e)}`, "failed");
}

export { lastLines };

const validateOutputSchema = z.object({
  valid: z.boolean(),
  issues: z.array(z.object({ path: z.string().optional(), message: z.string() }).passthrough()).optional(),
});

/** The JSON verdict of `openclaw config validate --json`, or null. */
export function parseValidateOutput(stdout: string): z.infer<typeof validateOutputSchema> | null {
  const start = stdout.indexOf("{");
  const end = stdout.lastIndexOf("}");
  if (start < 0 || end < start) return null;
  try {
    const r = validateOutputSchema.safeParse(JSON.parse(stdout.slice(start, end + 1)));
    return r.success ? r.data : null;
  } catch {
    return null;
  }
}

const sleep = (ms: number, signal?: AbortSignal) =>
  new Promise<void>((resolve, reject) => {
    if (signal?.aborted) return reject(new ProviderError(`cancelled: ${String(signal.reason ?? "aborted")}`, "timeout"));
    const t = setTimeout(done, ms);
    function done() {
      clearTimeout(t);
      signal?.removeEventListener("abort", onAbort);
      resolve();
    }
    function onAbort() {
      clearTimeout(t);
      reject(new ProviderError(`cancelled: ${String(signal?.reason ?? "aborted")}`, "timeout"));
    }
    signal?.addEventListener("abort", onAbort, { once: true });
  });
export { sleep };

// ------------------------------------------------------------------------------------------------ endpoint forwards

/**
 * One SSH port forward per bot (by bot id) to the gateway's loopback port on its host, so the gateway sees a
 * loopback client: reused while the bot's pool id and port stay the same (an endpoint's close() keeps it), opened
 * again once it closed, closed by close() (destroy) and closeAll() (appliance shutdown). Used by the remote service
 * providers and by the Docker provider for host-network containers on a remote engine.
 */
export class BotForwards {
  private readonly forwards = new Map<string, { key: string; fwd: Promise<LocalForward> }>();

  /** the bots (ids) with a forward */
  ids(): string[] {
    return [...this.forwards.keys()];
  }

  /** ws/http URLs on the local end of the bot's forward; a failure is a ProviderError naming the bot and host. */
  async endpoint(pool: Pick<RemotePool, "forward">, bot: BotRef, poolId: string, hostName: string): Promise<Endpoint> {
    const key = `${poolId}\0${bot.port}`;
    let cur = this.forwards.get(bot.id);
    if (cur && cur.key !== key) {
      await this.close(bot.id);
      cur = undefined;
    }
    if (cur) {
      const f = await cur.fwd.catch(() => null);
      if (!f || f.closed) {
        if (this.forwards.get(bot.id) === cur) this.forwards.delete(bot.id);
        cur = undefined;
      }
    }
    if (!cur) {
      const entry = { key, fwd: pool.forward(poolId, { host: "127.0.0.1", port: bot.port }) };
      cur = entry;
      this.forwards.set(bot.id, entry);
      entry.fwd.catch(() => {
        if (this.forwards.get(bot.id) === entry) this.forwards.delete(bot.id);
      });
    }
    let f: LocalForward;
    try {
      f = await cur.fwd;
    } catch (e) {
      throw toProviderError(e, `forwarding to ${bot.name} on ${hostName}`);
    }
    return { wsUrl: `ws://127.0.0.1:${f.port}`, httpUrl: `http://127.0.0.1:${f.port}`, close: async () => {} };
  }

  async close(botId: string): Promise<void> {
    const cur = this.forwards.get(botId);
    if (!cur) return;
    this.forwards.delete(botId);
    const f = await cur.fwd.catch(() => null);
    await f?.close();
  }

  async closeAll(): Promise<void> {
    await Promise.all(this.ids().map((id) => this.close(id)));
  }
}

// ------------------------------------------------------------------------------------------------ base provider

/**
 * The shared half of a remote service provider. Subclasses say how the service manager installs, starts, stops,
 * observes and logs one service per bot; this class does the host lookup, files over SFTP, the install check,
 * validation on the host, the start watch and the SSH tunnel.
 */
export abstract class RemoteServiceProvider implements Provider {
  abstract readonly kind: "systemd" | "launchd";
  readonly capabilities: ProviderCapabilities = { validate: true, logs: true, followLogs: true, survivesControlPlane: true };

  protected readonly hosts: HostAccess;
  protected readonly log: Logger;
  protected readonly commandTimeoutMs: number;
  /** host info seen by `get()`, for the synchronous layout() */
  private readonly seen = new Map<string, HostInfo>();
  private readonly warming = new Set<string>();
  /** one SSH forward per bot (by bot id) */
  private readonly forwards = new BotForwards();

  constructor(protected readonly opts: RemoteProviderOptions) {
    this.hosts = opts.hosts;
    this.log = opts.logger ?? silentLogger;
    this.commandTimeoutMs = opts.commandTimeoutMs ?? 30_000;
  }

  protected get pool(): RemotePool {
    return this.hosts.pool;
  }

  // ---------------------------------------------------------------- hooks of the service manager

  /** host checks beyond the OpenClaw install (lingering, service user, …) */
  protected abstract prepareHost(ctx: HostCtx, bot: BotRuntime, signal: AbortSignal): Promise<void>;
  /** the env file's text in the syntax the service manager (or its wrapper) reads */
  protected abstract renderEnv(env: Record<string, string>): string;
  /** owner of the bot's files when the gateway runs as another account than the SSH login (root → service user) */
  protected abstract runAs(ctx: HostCtx): string | undefined;
  /** write the unit/plist and make the manager read it */
  protected abstract installService(ctx: HostCtx, bot: BotRuntime, signal: AbortSignal): Promise<void>;
  protected abstract startService(ctx: HostCtx, bot: BotRuntime, signal: AbortSignal): Promise<void>;
  protected abstract stopService(ctx: HostCtx, bot: BotRef, deadlineMs: number, signal: AbortSignal): Promise<void>;
  protected abstract serviceState(ctx: HostCtx, bot: BotRef, signal: AbortSignal): Promise<ObservedState>;
  protected abstract serviceLogs(ctx: HostCtx, bot: BotRef, opts: { follow: boolean; tail: number }, signal: AbortSignal): AsyncIterable<string>;
  /** remove the unit/plist (the service is already stopped) */
  protected abstract removeService(ctx: HostCtx, bot: BotRef, signal: AbortSignal): Promise<void>;

  // ---------------------------------------------------------------- host and layout

  protected target(bot: BotRef): RemoteTarget {
    const t = bot.target as RemoteTarget;
    if (t.provider !== this.kind) throw invalid(`bot ${bot.name} targets ${t.provider}, not ${this.kind}`);
    return t;
  }

  /** Resolves the bot's host through HostAccess (the pool then has its address, key and pin) and checks it. */
  protected async ctx(bot: BotRef): Promise<HostCtx> {
    const target = this.target(bot);
    assertBotName(bot.name);
    let info: HostInfo;
    try {
      info = await this.hosts.get(bot.workspaceId, target.host);
    } catch (e) {
      throw toProviderError(e, `host ${target.host}`);
    }
    this.checkHost(info, target);
    this.seen.set(`${bot.workspaceId}\0${target.host}`, info);
    return { info, poolId: info.poolId, layout: remoteLayout(info), target };
  }

  private checkHost(info: HostInfo, target: RemoteTarget): void {
    assertSafePath(info.home, `home directory of ${info.username} on ${info.name}`);
    if (!PLATFORM_RE.test(info.platform)) throw invalid(`host ${info.name} reports the platform ${JSON.stringify(info.platform)}; run \`molthub host doctor ${info.name}\``);
    if (target.unit === "system" && !info.isRoot) {
      throw invalid(`spec.target.unit is "system" but Molthub connects to ${info.name} as ${info.username}; register the host with user root for system units, or use unit: user`, "spec.target.unit");
    }
    if (target.unit === "user" && info.isRoot) {
      throw invalid(`spec.target.unit is "user" but Molthub connects to ${info.name} as root; system units run as a service user there — drop unit or set it to system`, "spec.target.unit");
    }
  }

  layout(bot: BotRef): BotLayout {
    const target = this.target(bot);
    assertBotName(bot.name);
    const key = `${bot.workspaceId}\0${target.host}`;
    const info = this.hosts.lookup?.(bot.workspaceId, target.host) ?? this.seen.get(key);
    if (!info) {
      // layout() is synchronous: look the host up in the background so the next attempt has it
      if (!this.warming.has(key)) {
        this.warming.add(key);
        this.hosts.get(bot.workspaceId, target.host).then(
          (i) => this.seen.set(key, i),
          () => {},
        ).finally(() => this.warming.delete(key));
      }
      throw new ProviderError(`the details of host ${target.host} (home directory, user) are not loaded yet; this is retried automatically — if it persists run \`molthub host doctor ${target.host}\``, "unreachable");
    }
    this.checkHost(info, target);
    return remoteBotLayout(remoteLayout(info), bot.name);
  }

  // ---------------------------------------------------------------- remote primitives

  /** Run argv; a non-zero exit is returned, not thrown (use `must` for that). */
  protected async run(ctx: HostCtx, argv: string[], signal: AbortSignal, opts: { timeoutMs?: number; env?: Record<string, string>; stdin?: string } = {}): Promise<ExecResult> {
    try {
      return await this.pool.exec(ctx.poolId, argv, { timeoutMs: opts.timeoutMs ?? this.commandTimeoutMs, signal, env: opts.env, stdin: opts.stdin });
    } catch (e) {
      throw toProviderError(e, `\`${argv[0]}\` on ${ctx.info.name}`);
    }
  }

  /** Run argv and throw a ProviderError (with its stderr) unless it exits 0. */
  protected async must(ctx: HostCtx, argv: string[], signal: AbortSignal, what: string, opts: { timeoutMs?: number; env?: Record<string, string> } = {}): Promise<ExecResult> {
    const r = await this.run(ctx, argv, signal, opts);
    if (r.code !== 0) {
      throw new ProviderError(`${what} failed on ${ctx.info.name} (exit ${r.code ?? r.signal}): ${lastLines(r.stderr || r.stdout, 6) || "no output"}`, "failed");
    }
    return r;
  }

  protected async write(ctx: HostCtx, path: string, content: string, mode: number, signal: AbortSignal): Promise<void> {
    try {
      await this.pool.sftpWrite(ctx.poolId, path, content, mode, { timeoutMs: this.commandTimeoutMs, signal });
    } catch (e) {
      throw toProviderError(e, `writing ${path} on ${ctx.info.name}`);
    }
  }

  /**
   * Write a file the gateway's account must own (root connection, service user): uploaded beside the target,
   * chowned, then renamed over it — still atomic for a watcher of the target.
   */
  protected async writeOwned(ctx: HostCtx, path: string, content: string, mode: number, signal: AbortSignal): Promise<void> {
    const owner = this.runAs(ctx);
    if (!owner) return this.write(ctx, path, content, mode, signal);
    const staged = `${path}.molthub-new`;
    await this.write(ctx, staged, content, mode, signal);
    await this.must(ctx, ["chown", `${owner}:${owner}`, "--", staged], signal, `chown of ${staged}`);
    await this.must(ctx, ["mv", "-f", "--", staged, path], signal, `renaming ${staged}`);
  }

  /**
   * Places the npm stand-in (see fallbackBinDir) for a service manager whose PATH lists that dir last. It belongs to
   * the login account (root for system units), so the gateway's service user cannot rewrite it.
   */
  protected async installNpmFallback(ctx: HostCtx, signal: AbortSignal): Promise<string> {
    const dir = fallbackBinDir(ctx.layout);
    await this.must(ctx, ["mkdir", "-p", "-m", "0755", "--", dir], signal, "creating Molthub's fallback bin dir");
    if ((await this.read(ctx, `${dir}/npm`, signal)) !== NPM_FALLBACK_SCRIPT) await this.write(ctx, `${dir}/npm`, NPM_FALLBACK_SCRIPT, 0o755, signal);
    return dir;
  }

  protected async read(ctx: HostCtx, path: string, signal: AbortSignal): Promise<string | null> {
    try {
      return (await this.pool.sftpRead(ctx.poolId, path, { timeoutMs: this.commandTimeoutMs, signal })).toString("utf8");
    } catch (e) {
      if (e instanceof SshError && e.code === "sftp") return null; // missing (or unreadable)
      throw toProviderError(e, `reading ${path} on ${ctx.info.name}`);
    }
  }

  protected paths(ctx: HostCtx, bot: BotRef): BotLayout & { botDir: string; nodeBin: string; entry: string; prefix: string } {
    const version = ctx.target.version;
    assertVersion(version);
    const l = remoteBotLayout(ctx.layout, bot.name);
    const out = {
      ...l,
      botDir: l.stateDir,
      nodeBin: ctx.layout.nodeBin(version, ctx.info.platform),
      entry: ctx.layout.openclawEntry(version),
      prefix: ctx.layout.openclawPrefix(version),
    };
    for (const [what, p] of Object.entries(out)) assertSafePath(p, what);
    return out;
  }

  // ---------------------------------------------------------------- Provider

  async ensure(bot: BotRuntime, signal: AbortSignal): Promise<void> {
    const ctx = await this.ctx(bot);
    const p = this.paths(ctx, bot);
    const version = ctx.target.version;
    const pkg = await this.read(ctx, `${p.prefix}/node_modules/openclaw/package.json`, signal);
    let installed: string | undefined;
    try {
      installed = pkg ? (JSON.parse(pkg) as { version?: string }).version : undefined;
    } catch {
      installed = undefined;
    }
    const fix = `run \`molthub host install ${ctx.info.name} --version ${version}\` (or see \`molthub host doctor ${ctx.info.name}\`)`;
    if (!installed) throw new ProviderError(`OpenClaw ${version} is not installed on host ${ctx.info.name} (no ${p.prefix}/node_modules/openclaw); ${fix}`, "not_found");
    if (installed !== version) throw new ProviderError(`${p.prefix} on host ${ctx.info.name} holds OpenClaw ${installed}, not ${version}; ${fix}`, "not_found");
    const node = await this.run(ctx, ["test", "-x", p.nodeBin], signal);
    if (node.code !== 0) throw new ProviderError(`the Node for OpenClaw ${version} is missing on host ${ctx.info.name} (${p.nodeBin}); ${fix}`, "not_found");
    await this.prepareHost(ctx, bot, signal);
  }

  async validate(bot: BotRuntime, signal: AbortSignal): Promise<ValidationResult> {
    const ctx = await this.ctx(bot);
    const p = this.paths(ctx, bot);
    const mk = await this.must(ctx, ["mktemp", "-d"], signal, "creating a scratch dir");
    const scratch = mk.stdout.trim();
    assertSafePath(scratch, "scratch dir");
    try {
      await this.must(ctx, ["mkdir", "-m", "0700", "--", `${scratch}/state`], signal, "creating a scratch dir");
      await this.write(ctx, `${scratch}/openclaw.json`, `${JSON.stringify(bot.config, null, 2)}\n`, 0o600, signal);
      // No secrets: validation checks shape, and SecretRefs need not resolve for it. Paths only in env.
      const r = await this.run(ctx, [p.nodeBin, p.entry, "config", "validate", "--json"], signal, {
        timeoutMs: 90_000,
        env: {
          HOME: scratch,
          TMPDIR: scratch,
          PATH: `${p.nodeBin.slice(0, p.nodeBin.lastIndexOf("/"))}:/usr/local/bin:/usr/bin:/bin`,
          OPENCLAW_CONFIG_PATH: `${scratch}/openclaw.json`,
          OPENCLAW_STATE_DIR: `${scratch}/state`,
          OPENCLAW_NO_AUTO_UPDATE: "1",
          OPENCLAW_DISABLE_BONJOUR: "1",
        },
      });
      const parsed = parseValidateOutput(r.stdout);
      if ((r.code === 0 || r.code === 1) && parsed) {
        return { valid: parsed.valid && r.code === 0, issues: (parsed.issues ?? []).map((i) => ({ path: i.path || "(root)", message: i.message })) };
      }
      throw new ProviderError(`\`openclaw config validate\` on ${ctx.info.name} gave no verdict (exit ${r.code ?? r.signal}): ${lastLines(r.stderr || r.stdout, 8) || "no output"}`, "failed");
    } finally {
      await this.run(ctx, ["rm", "-rf", "--", scratch], AbortSignal.timeout(this.commandTimeoutMs)).catch(() => {});
    }
  }

  async configure(bot: BotRuntime, signal: AbortSignal): Promise<void> {
    assertEnv(bot.env);
    assertPort(bot.port);
    assertId("bot id", bot.id);
    assertId("workspace id", bot.workspaceId);
    const ctx = await this.ctx(bot);
    const p = this.paths(ctx, bot);
    const dirs = [p.botDir, `${p.botDir}/logs`, `${p.botDir}/home`, `${p.botDir}/tmp`];
    await this.must(ctx, ["mkdir", "-p", "-m", "0700", "--", ...dirs], signal, "creating the bot dir");
    await this.must(ctx, ["chmod", "0700", "--", ...dirs], signal, "securing the bot dir");
    const owner = this.runAs(ctx);
    if (owner) await this.must(ctx, ["chown", `${owner}:${owner}`, "--", ...dirs], signal, "handing the bot dir to the service user");
    // the env file stays the login account's (root reads it for systemd; never the gateway's to rewrite)
    await this.write(ctx, p.envFile, this.renderEnv(bot.env), 0o600, signal);
    await this.writeOwned(ctx, p.configPath, `${JSON.stringify(bot.config, null, 2)}\n`, 0o600, signal);
    await this.installService(ctx, bot, signal);
  }

  async start(bot: BotRuntime, signal: AbortSignal): Promise<void> {
    const ctx = await this.ctx(bot);
    await this.startService(ctx, bot, signal);
    // Like the local provider: an invalid config exits 78 a few seconds in; watch until live or the window ends.
    const until = Date.now() + (this.opts.startupCheckMs ?? 45_000);
    const poll = this.opts.pollMs ?? 500;
    while (Date.now() < until) {
      const st = await this.serviceState(ctx, bot, signal);
      if (!st.running && st.exitCode !== undefined) {
        const tail = await this.tailText(ctx, bot, bot.env, signal);
        if (st.exitCode === 78) throw new ProviderError(`the gateway for ${bot.name} on ${ctx.info.name} rejected its configuration (exit 78); fix the config and start again:\n${tail}`, "invalid_config");
        throw new ProviderError(`the gateway for ${bot.name} on ${ctx.info.name} exited right after start (${st.detail ?? `exit ${st.exitCode}`}):\n${tail}`, "failed");
      }
      if (st.running && (await this.live(ctx, bot, signal))) return;
      await sleep(poll, signal);
    }
  }

  async stop(bot: BotRef, opts: { deadlineMs: number }, signal: AbortSignal): Promise<void> {
    const ctx = await this.ctx(bot);
    await this.stopService(ctx, bot, opts.deadlineMs, signal);
  }

  async observe(bot: BotRef, signal: AbortSignal): Promise<ObservedState> {
    const ctx = await this.ctx(bot);
    return this.serviceState(ctx, bot, signal);
  }

  async *logs(bot: BotRef, opts: { follow: boolean; tail?: number }, signal: AbortSignal): AsyncIterable<string> {
    const ctx = await this.ctx(bot);
    const tail = Math.max(0, Math.min(100_000, Math.floor(opts.tail ?? 200)));
    try {
      yield* this.serviceLogs(ctx, bot, { follow: opts.follow, tail }, signal);
    } catch (e) {
      if (signal.aborted) return;
      throw toProviderError(e, `logs of ${bot.name} on ${ctx.info.name}`);
    }
  }

  async destroy(bot: BotRef, opts: { purge: boolean }, signal: AbortSignal): Promise<void> {
    const ctx = await this.ctx(bot);
    const p = this.paths(ctx, bot);
    await this.stopService(ctx, bot, this.opts.destroyDeadlineMs ?? 30_000, signal);
    await this.removeService(ctx, bot, signal);
    await this.must(ctx, ["rm", "-f", "--", p.envFile, p.configPath, `${p.configPath}.molthub-new`], signal, "removing the bot's files");
    if (opts.purge) {
      const bots = `${ctx.layout.base}/bots/`;
      if (!p.botDir.startsWith(bots) || p.botDir.slice(bots.length) !== bot.name) throw new ProviderError(`refusing to purge ${p.botDir}: not a bot dir under ${bots}`, "failed");
      await this.must(ctx, ["rm", "-rf", "--", p.botDir], signal, "purging the bot dir", { timeoutMs: 120_000 });
    }
    await this.forwards.close(bot.id);
    this.log.info("bot removed", { bot: bot.name, host: ctx.info.name, purge: opts.purge });
  }

  /**
   * ws/http URLs on a local port forwarded over SSH to the gateway's loopback port on the host, so the gateway sees
   * a loopback client. One forward per bot, kept until destroy (close() of the endpoint keeps it for reuse).
   */
  async endpoint(bot: BotRef, signal: AbortSignal): Promise<Endpoint> {
    assertPort(bot.port);
    const ctx = await this.ctx(bot);
    if (signal.aborted) throw new ProviderError("cancelled", "timeout");
    return this.forwards.endpoint(this.pool, bot, ctx.poolId, ctx.info.name);
  }

  /** Close every forward (appliance shutdown). */
  async closeAll(): Promise<void> {
    await this.forwards.closeAll();
  }

  /** /healthz answers through the tunnel. */
  protected async live(ctx: HostCtx, bot: BotRef, signal: AbortSignal): Promise<boolean> {
    try {
      const ep = await this.endpoint(bot, signal);
      const res = await fetch(`${ep.httpUrl}/healthz`, { signal: AbortSignal.any([signal, AbortSignal.timeout(2_000)]) });
      await res.arrayBuffer();
      return res.ok;
    } catch {
      return false;
    }
  }

  /** The last lines of the service's output for an error message, with the bot's secrets removed. */
  protected async tailText(ctx: HostCtx, bot: BotRef, env: Record<string, string>, signal: AbortSignal): Promise<string> {
    const lines: string[] = [];
    try {
      const ac = new AbortController();
      const s = AbortSignal.any([signal, ac.signal, AbortSignal.timeout(10_000)]);
      for await (const l of this.serviceLogs(ctx, bot, { follow: false, tail: 25 }, s)) lines.push(l);
    } catch {
      /* best effort */
    }
    return scrubSecrets(lines.join("\n"), env) || "(no output)";
  }
}
