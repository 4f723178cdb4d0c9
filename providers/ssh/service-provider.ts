/**
 * The shared half of the remote service providers (systemd, launchd): reaching a registered host through the shared
 * SshPool, the files of a bot over SFTP, the OpenClaw install check, `openclaw config validate` on the host, the
 * start watch and the per-bot SSH port forward that `endpoint()` hands out. A subclass says how its service manager
 * installs, starts, stops, observes and logs one service per bot.
 *
 * Rules kept here:
 * - Commands are argv (the pool quotes every element); values that could be read as options are refused or put
 *   after `--`. Paths pass assertSafePath (providers/checks.ts) before they reach a command, a unit file or a plist.
 * - Secrets only travel in the 0600 env file written over SFTP; never in argv, unit files, plists or messages.
 * - Every remote call has a timeout and honours the AbortSignal.
 */
import type { BotLayout } from "../../src/domain/openclaw-config.ts";
import type { HostAccess, HostInfo, RemoteLayout } from "../../src/hosts/host-access.ts";
import { remoteLayout } from "../../src/hosts/host-access.ts";
import { type Logger, silentLogger } from "../../src/log.ts";
import type { ExecResult } from "../../src/ssh/pool.ts";
import { assertBotName, assertEnv, assertId, assertPort, assertSafePath, assertVersion, invalid } from "../checks.ts";
import { lastLines, parseValidateOutput, scrubSecrets } from "../command-output.ts";
import { guardedEndpoint, RecentProofs } from "../guarded-endpoint.ts";
import {
  type ForeignListenerError,
  foreignListenerError,
  inTree,
  judgeListeners,
  type ListenerVerdict,
  type PortHolder,
  portTakenLines,
} from "../listener.ts";
import {
  type BotRef,
  type BotRuntime,
  type Endpoint,
  type ObservedState,
  type Provider,
  type ProviderCapabilities,
  ProviderError,
  type ValidationResult,
} from "../provider.ts";
import { toProviderError } from "./errors.ts";
import { BotForwards } from "./forwards.ts";
import { remoteBotLayout } from "./layout.ts";
import { fallbackBinDir, NPM_FALLBACK_SCRIPT } from "./npm-fallback.ts";
import { parsePortOwners, portOwnersArgv } from "./port-owners.ts";
import { RemoteHost, type RemotePool, type RunOptions } from "./remote-host.ts";

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

type RemoteTarget = { provider: "systemd" | "launchd"; host: string; version: string; unit?: "user" | "system" };

/** Everything a step needs about the bot's host. */
export interface HostCtx {
  info: HostInfo;
  poolId: string;
  layout: RemoteLayout;
  target: RemoteTarget;
  /** commands and files on the host */
  remote: RemoteHost;
}

const PLATFORM_RE = /^(linux|darwin)-(x64|arm64)$/;

/** Waits `ms`; an abort rejects with a `timeout` ProviderError. */
export const sleep = (ms: number, signal?: AbortSignal) =>
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

export abstract class RemoteServiceProvider implements Provider {
  abstract readonly kind: "systemd" | "launchd";
  /** declared once, in the provider's module (providers/<kind>/index.ts) */
  abstract readonly capabilities: ProviderCapabilities;

  protected readonly hosts: HostAccess;
  protected readonly log: Logger;
  protected readonly commandTimeoutMs: number;
  /** host info seen by `get()`, for the synchronous layout() */
  private readonly seen = new Map<string, HostInfo>();
  private readonly warming = new Set<string>();
  /** one SSH forward per bot (by bot id) */
  private readonly forwards = new BotForwards();
  /** recent proofs that a bot's port is held by its own service (see endpoint()) */
  private readonly proofs = new RecentProofs();
  /** bots whose port had no listener a moment ago (by id: until when that answer stands) */
  private readonly idle = new Map<string, number>();

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
  protected abstract serviceLogs(
    ctx: HostCtx,
    bot: BotRef,
    opts: { follow: boolean; tail: number },
    signal: AbortSignal,
  ): AsyncIterable<string>;
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
    return {
      info,
      poolId: info.poolId,
      layout: remoteLayout(info),
      target,
      remote: new RemoteHost(this.pool, info.poolId, info.name, this.commandTimeoutMs),
    };
  }

  private checkHost(info: HostInfo, target: RemoteTarget): void {
    assertSafePath(info.home, `home directory of ${info.username} on ${info.name}`);
    if (!PLATFORM_RE.test(info.platform))
      throw invalid(
        `host ${info.name} reports the platform ${JSON.stringify(info.platform)}; run \`molthub host doctor ${info.name}\``,
      );
    if (target.unit === "system" && !info.isRoot) {
      throw invalid(
        `spec.target.unit is "system" but Molthub connects to ${info.name} as ${info.username}; register the host with user root for system units, or use unit: user`,
        "spec.target.unit",
      );
    }
    if (target.unit === "user" && info.isRoot) {
      throw invalid(
        `spec.target.unit is "user" but Molthub connects to ${info.name} as root; system units run as a service user there — drop unit or set it to system`,
        "spec.target.unit",
      );
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
        this.hosts
          .get(bot.workspaceId, target.host)
          .then(
            (i) => this.seen.set(key, i),
            () => {},
          )
          .finally(() => this.warming.delete(key));
      }
      throw new ProviderError(
        `the details of host ${target.host} (home directory, user) are not loaded yet; this is retried automatically — if it persists run \`molthub host doctor ${target.host}\``,
        "unreachable",
      );
    }
    this.checkHost(info, target);
    return remoteBotLayout(remoteLayout(info), bot.name);
  }

  // ---------------------------------------------------------------- remote primitives

  /** Run argv; a non-zero exit is returned, not thrown (use `must` for that). */
  protected run(ctx: HostCtx, argv: string[], signal: AbortSignal, opts: RunOptions = {}): Promise<ExecResult> {
    return ctx.remote.run(argv, signal, opts);
  }

  /** Run argv and throw a ProviderError (with its stderr) unless it exits 0. */
  protected must(ctx: HostCtx, argv: string[], signal: AbortSignal, what: string, opts: RunOptions = {}): Promise<ExecResult> {
    return ctx.remote.must(argv, signal, what, opts);
  }

  protected write(ctx: HostCtx, path: string, content: string, mode: number, signal: AbortSignal): Promise<void> {
    return ctx.remote.write(path, content, mode, signal);
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
    if ((await this.read(ctx, `${dir}/npm`, signal)) !== NPM_FALLBACK_SCRIPT)
      await this.write(ctx, `${dir}/npm`, NPM_FALLBACK_SCRIPT, 0o755, signal);
    return dir;
  }

  protected read(ctx: HostCtx, path: string, signal: AbortSignal): Promise<string | null> {
    return ctx.remote.read(path, signal);
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
    await this.assertInstalled(ctx, this.paths(ctx, bot), signal);
    await this.prepareHost(ctx, bot, signal);
  }

  /**
   * The bot's OpenClaw version and its Node are on the host, or a `not_installed` ProviderError that says how to
   * install them. Also asked when validate or start fails without a verdict: a bot switched to a version the host
   * lacks would otherwise fail as a bare "exit 127 … No such file".
   */
  protected async assertInstalled(ctx: HostCtx, p: { prefix: string; nodeBin: string }, signal: AbortSignal): Promise<void> {
    const version = ctx.target.version;
    const pkg = await this.read(ctx, `${p.prefix}/node_modules/openclaw/package.json`, signal);
    let installed: string | undefined;
    try {
      installed = pkg ? (JSON.parse(pkg) as { version?: string }).version : undefined;
    } catch {
      installed = undefined;
    }
    const host = ctx.info.name;
    const fix = `run \`molthub host install ${host} ${version}\` (the host page's Install button does the same; \`molthub host doctor ${host}\` checks the host)`;
    if (!installed)
      throw new ProviderError(
        `OpenClaw ${version} is not installed on host ${host} (no ${p.prefix}/node_modules/openclaw); ${fix}`,
        "not_installed",
      );
    if (installed !== version)
      throw new ProviderError(
        `OpenClaw ${version} is not installed on host ${host} (${p.prefix} holds ${installed}); ${fix}`,
        "not_installed",
      );
    const node = await this.run(ctx, ["test", "-x", p.nodeBin], signal);
    if (node.code !== 0)
      throw new ProviderError(
        `OpenClaw ${version} is not installed on host ${host}: its Node (${p.nodeBin}) is missing; ${fix}`,
        "not_installed",
      );
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
        return {
          valid: parsed.valid && r.code === 0,
          issues: (parsed.issues ?? []).map((i) => ({ path: i.path || "(root)", message: i.message })),
        };
      }
      // no verdict: a bot switched to a version the host lacks gets "exit 127 … No such file" here; name that
      await this.assertInstalled(ctx, p, signal);
      throw new ProviderError(
        `\`openclaw config validate\` on ${ctx.info.name} gave no verdict (exit ${r.code ?? r.signal}): ${lastLines(r.stderr || r.stdout, 8) || "no output"}`,
        "failed",
      );
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
    if (owner)
      await this.must(ctx, ["chown", `${owner}:${owner}`, "--", ...dirs], signal, "handing the bot dir to the service user");
    // the env file stays the login account's (root reads it for systemd; never the gateway's to rewrite)
    await this.write(ctx, p.envFile, this.renderEnv(bot.env), 0o600, signal);
    await this.writeOwned(ctx, p.configPath, `${JSON.stringify(bot.config, null, 2)}\n`, 0o600, signal);
    await this.installService(ctx, bot, signal);
  }

  async start(bot: BotRuntime, signal: AbortSignal): Promise<void> {
    const ctx = await this.ctx(bot);
    // a listener that is not the service's own: the gateway would fail to bind (under systemd OpenClaw even exits
    // 78, which reads like a config error), and a client would hand that process the token
    const before = await this.judgePort(ctx, bot, bot.port, signal);
    if (before.verdict.state === "foreign") throw this.foreignListener(ctx, bot, before.verdict.foreign, before.pid);
    await this.startService(ctx, bot, signal);
    // Like the local provider: an invalid config exits 78 a few seconds in; watch until live or the window ends.
    const until = Date.now() + (this.opts.startupCheckMs ?? 45_000);
    const poll = this.opts.pollMs ?? 500;
    let polls = 0;
    while (Date.now() < until) {
      const st = await this.serviceState(ctx, bot, signal);
      if (!st.running && st.exitCode !== undefined) {
        const tail = await this.tailText(ctx, bot, bot.env, signal);
        const taken = portTakenLines(tail);
        if (taken.length) {
          const now = await this.judgePort(ctx, bot, bot.port, signal, st);
          throw this.foreignListener(
            ctx,
            bot,
            now.verdict.state === "foreign" ? now.verdict.foreign : [],
            undefined,
            `The gateway exited (${st.detail ?? `exit ${st.exitCode}`}) saying: ${taken.join(" / ")}.`,
          );
        }
        // a restart after a version switch reaches here without ensure(): a missing install exits at once (127,
        // systemd's 203/EXEC, launchd's 78), so say what is missing and how to install it, not "invalid config"
        await this.assertInstalled(ctx, this.paths(ctx, bot), signal);
        if (st.exitCode === 78)
          throw new ProviderError(
            `the gateway for ${bot.name} on ${ctx.info.name} rejected its configuration (exit 78); fix the config and start again:\n${tail}`,
            "invalid_config",
          );
        throw new ProviderError(
          `the gateway for ${bot.name} on ${ctx.info.name} exited right after start (${st.detail ?? `exit ${st.exitCode}`}):\n${tail}`,
          "failed",
        );
      }
      // live means: /healthz answers AND the port is held by the service (a foreign /healthz proves nothing). The
      // owner check costs an SSH round trip: asked once /healthz answers, and every few seconds meanwhile, so a
      // holder that does not speak HTTP is found too (under systemd OpenClaw then waits for it for up to 300 s)
      const live = st.running && (await this.live(ctx, bot, signal));
      if (st.running && (live || ++polls % 10 === 0)) {
        const j = await this.judgePort(ctx, bot, bot.port, signal, st);
        if (j.verdict.state === "foreign") throw this.foreignListener(ctx, bot, j.verdict.foreign, j.pid);
        if (j.verdict.state === "ours" && live) {
          this.proofs.remember(bot.id, j.pid!);
          return;
        }
      }
      await sleep(poll, signal);
    }
  }

  async stop(bot: BotRef, opts: { deadlineMs: number }, signal: AbortSignal): Promise<void> {
    const ctx = await this.ctx(bot);
    this.proofs.forget(bot.id);
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
    await this.must(
      ctx,
      ["rm", "-f", "--", p.envFile, p.configPath, `${p.configPath}.molthub-new`],
      signal,
      "removing the bot's files",
    );
    if (opts.purge) {
      const bots = `${ctx.layout.base}/bots/`;
      if (!p.botDir.startsWith(bots) || p.botDir.slice(bots.length) !== bot.name)
        throw new ProviderError(`refusing to purge ${p.botDir}: not a bot dir under ${bots}`, "failed");
      await this.must(ctx, ["rm", "-rf", "--", p.botDir], signal, "purging the bot dir", { timeoutMs: 120_000 });
    }
    await this.forwards.close(bot.id);
    this.proofs.forget(bot.id);
    this.log.info("bot removed", { bot: bot.name, host: ctx.info.name, purge: opts.purge });
  }

  /**
   * ws/http URLs on a local port forwarded over SSH to the gateway's loopback port on the host, so the gateway sees
   * a loopback client. One forward per bot, kept until destroy. In front of it, a guard (providers/guarded-endpoint)
   * lets a connection through only once the port on the host is proven to be held by the service's main pid or a
   * descendant (one SSH exec of `ss`/`ps`, remembered for a few seconds); the same proof runs before this returns.
   */
  async endpoint(bot: BotRef, signal: AbortSignal): Promise<Endpoint> {
    assertPort(bot.port);
    const ctx = await this.ctx(bot);
    if (signal.aborted) throw new ProviderError("cancelled", "timeout");
    await this.prove(ctx, bot, signal, true);
    await this.forwards.localPort(this.pool, bot, ctx.poolId, ctx.info.name); // its failure is this call's
    return guardedEndpoint({
      upstream: async () => ({
        host: "127.0.0.1",
        port: await this.forwards.localPort(this.pool, bot, ctx.poolId, ctx.info.name),
      }),
      prove: (s) => this.prove(ctx, bot, s, false),
    });
  }

  /** Close every forward (appliance shutdown). */
  async closeAll(): Promise<void> {
    await this.forwards.closeAll();
  }

  async exitCause(bot: BotRef, signal: AbortSignal): Promise<string | undefined> {
    const ctx = await this.ctx(bot);
    const lines = portTakenLines(await this.tailText(ctx, bot, {}, signal, 60));
    return lines.length ? lines.join("\n") : undefined;
  }

  async portFree(bot: BotRef, port: number, signal: AbortSignal): Promise<boolean> {
    assertPort(port);
    const ctx = await this.ctx(bot);
    return (await this.judgePort(ctx, bot, port, signal)).verdict.state !== "foreign";
  }

  /**
   * Who holds `port` on the bot's host, judged against the service: its main pid (from `state`, or asked now)
   * and that pid's descendants are the bot's; anything else, or a holder this login may not see, is foreign.
   */
  protected async judgePort(
    ctx: HostCtx,
    bot: BotRef,
    port: number,
    signal: AbortSignal,
    state?: ObservedState,
  ): Promise<{ verdict: ListenerVerdict; pid?: number }> {
    const st = state ?? (await this.serviceState(ctx, bot, signal));
    const pid = st.running ? st.pid : undefined;
    const r = await this.run(ctx, portOwnersArgv(ctx.info.platform, port), signal, { timeoutMs: 15_000 });
    const parsed = r.code === 0 ? parsePortOwners(r.stdout, ctx.info.platform, port) : null;
    if (!parsed)
      throw new ProviderError(
        `could not tell who listens on port ${port} on ${ctx.info.name}, so the gateway token is not sent there ` +
          `(exit ${r.code ?? r.signal}: ${lastLines(r.stderr || r.stdout, 3) || "no output"}); ` +
          `install iproute2 (\`ss\`) and procps (\`ps\`) on the host, or run \`molthub host doctor ${ctx.info.name}\``,
        "failed",
      );
    const parents = new Map([...parsed.processes].map(([p, row]) => [p, row.ppid]));
    // A process of another user can be hidden from this login (no CAP_SYS_PTRACE, hidepid): then a socket owned by
    // the service's own (non-root) user counts as the bot's. Such a process could read the bot's env file anyway,
    // so the token gains it nothing; another user's listener stays foreign.
    const serviceUid = pid === undefined ? undefined : parsed.uids.get(pid);
    const unseen = (h: { uid?: number }) => serviceUid !== undefined && serviceUid !== 0 && h.uid === serviceUid;
    return { verdict: judgeListeners(parsed.holders, (p) => inTree(p, pid, parents), unseen), pid };
  }

  /** Proves the bot's port is its service's (a recent proof counts); nothing listening passes only with `allowNone`. */
  private async prove(ctx: HostCtx, bot: BotRef, signal: AbortSignal, allowNone: boolean): Promise<void> {
    if (this.proofs.fresh(bot.id) !== undefined) return;
    const notYet = () =>
      new ProviderError(
        `the gateway of ${bot.name} is not listening on port ${bot.port} on ${ctx.info.name} (yet)`,
        "unreachable",
      );
    // a readiness poll every 200 ms while the gateway starts: one SSH check per second is enough to say "not yet"
    if (!allowNone && (this.idle.get(bot.id) ?? 0) > Date.now()) throw notYet();
    const { verdict, pid } = await this.judgePort(ctx, bot, bot.port, signal);
    if (verdict.state === "foreign") throw this.foreignListener(ctx, bot, verdict.foreign, pid);
    if (verdict.state === "ours") {
      this.proofs.remember(bot.id, pid!);
      this.idle.delete(bot.id);
    } else if (!allowNone) {
      this.idle.set(bot.id, Date.now() + 1_000);
      throw notYet();
    }
  }

  private foreignListener(ctx: HostCtx, bot: BotRef, holders: PortHolder[], pid?: number, cause?: string): ForeignListenerError {
    return foreignListenerError({
      bot: bot.name,
      port: bot.port,
      where: `on host ${ctx.info.name}`,
      host: ctx.info.name,
      holders,
      expected: pid ? `its service's main pid is ${pid}` : "its service is not running",
      viewer: ctx.info.username,
      cause,
    });
  }

  /** /healthz answers through the SSH forward (no token is involved). */
  protected async live(ctx: HostCtx, bot: BotRef, signal: AbortSignal): Promise<boolean> {
    try {
      const port = await this.forwards.localPort(this.pool, bot, ctx.poolId, ctx.info.name);
      const res = await fetch(`http://127.0.0.1:${port}/healthz`, {
        signal: AbortSignal.any([signal, AbortSignal.timeout(2_000)]),
      });
      await res.arrayBuffer();
      return res.ok;
    } catch {
      return false;
    }
  }

  /** The last lines of the service's output for an error message, with the bot's secrets removed. */
  protected async tailText(
    ctx: HostCtx,
    bot: BotRef,
    env: Record<string, string>,
    signal: AbortSignal,
    tail = 25,
  ): Promise<string> {
    const lines: string[] = [];
    try {
      const ac = new AbortController();
      const s = AbortSignal.any([signal, ac.signal, AbortSignal.timeout(10_000)]);
      for await (const l of this.serviceLogs(ctx, bot, { follow: false, tail }, s)) lines.push(l);
    } catch {
      /* best effort */
    }
    return scrubSecrets(lines.join("\n"), env) || "(no output)";
  }
}
