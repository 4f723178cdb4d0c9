import { createHash } from "node:crypto";
import { and, desc, eq, lt, notInArray, sql } from "drizzle-orm";
import type { BotRef, BotRuntime, Provider } from "../../providers/provider.ts";
import { ProviderError } from "../../providers/provider.ts";
import { recordAudit } from "../core/audit.ts";
import { systemActor } from "../core/context.ts";
import type { EventBus } from "../core/events.ts";
import { inTransaction } from "../core/transaction.ts";
import type { Db } from "../db/client.ts";
import { botEvents, bots, healthSnapshots, jobs } from "../db/schema.ts";
import { getPath, type Manifest, RESERVED_OPENCLAW_PATHS, validateManifest } from "../domain/manifest.ts";
import {
  botEnvironment,
  diffConfig,
  generateConfig,
  mergePatch,
  type PathChange,
  renderEnvFile,
  unredact,
  withoutGatewayOwned,
} from "../domain/openclaw-config.ts";
import { evaluateBotPolicy, policyRefusal } from "../fleet/policy.ts";
import { backoffMs, claimNext, enqueue, finish, type Job, recoverInterrupted } from "../fleet/queue.ts";
import { applyRevision } from "../fleet/revisions.ts";
// connectors: per-bot delivery of rotated secrets (secret_rollouts)
import { rolloutCutoff, settleRollouts } from "../fleet/rollouts.ts";
import { resolveSecretValues } from "../fleet/secrets.ts";
import { type BotRow, latestRevision } from "../fleet/store.ts";
import { GatewayClient, isGatewayError } from "../gateway/client.ts";
import type { DeviceIdentity } from "../gateway/identity.ts";
import { probeReadyz } from "../gateway/probe.ts";
import type { Logger } from "../log.ts";
import type { Keyring } from "../secrets/keyring.ts";
import { redactString } from "../secrets/redact.ts";
import { applianceIdentity } from "./appliance-identity.ts";

export interface ReconcilerOptions {
  db: Db;
  keyring: Keyring;
  logger: Logger;
  events: EventBus;
  providers: Partial<Record<string, Provider>>;
  now?: () => number;
  healthIntervalMs?: number;
  driftIntervalMs?: number;
  /** per-step deadlines */
  timeouts?: Partial<Record<"ensure" | "validate" | "configure" | "start" | "ready" | "stop" | "rpc" | "destroy", number>>;
  /** how many health snapshots to keep per bot */
  healthRetention?: number;
}

const DEFAULT_TIMEOUTS = {
  ensure: 600_000,
  validate: 90_000,
  configure: 60_000,
  start: 120_000,
  ready: 150_000,
  stop: 30_000,
  rpc: 60_000,
  destroy: 120_000,
};

class StepError extends Error {
  constructor(
    readonly step: string,
    message: string,
    readonly issues?: { path: string; message: string }[],
    override readonly cause?: unknown,
  ) {
    super(message);
  }
}

type Status = BotRow["status"];

/**
 * The config as saved in the gateway's file (`parsed`, secrets redacted) — not `config`, which also holds the
 * runtime defaults the gateway fills in and would look like drift.
 */
function fileConfig(g: { parsed?: unknown; config?: Record<string, unknown> | null }): Record<string, unknown> {
  const parsed = g.parsed;
  return (parsed && typeof parsed === "object" ? parsed : (g.config ?? {})) as Record<string, unknown>;
}

/**
 * Applies desired state to bots, one job per bot at a time, and keeps them so: plan → apply → verify,
 * with a deadline per step, a timeline of events per bot, backoff for failing revisions, and recovery
 * of jobs interrupted by a crash. Also runs the health poll and the drift sweep.
 */
export class Reconciler {
  private readonly db: Db;
  private readonly now: () => number;
  private readonly timeouts: typeof DEFAULT_TIMEOUTS;
  private identity?: DeviceIdentity;
  private running = false;
  private wake?: () => void;
  private loopDone?: Promise<void>;
  private readonly active = new Map<number, AbortController>();
  private timers: ReturnType<typeof setInterval>[] = [];

  constructor(private readonly opts: ReconcilerOptions) {
    this.db = opts.db;
    this.now = opts.now ?? Date.now;
    this.timeouts = { ...DEFAULT_TIMEOUTS, ...opts.timeouts };
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    const n = recoverInterrupted(this.db, this.now());
    if (n) this.opts.logger.warn("jobs interrupted by the last stop were re-planned", { count: n });
    this.loopDone = this.loop();
    const health = setInterval(
      () => void this.healthSweep().catch((e) => this.opts.logger.warn("health sweep failed", { err: String(e) })),
      this.opts.healthIntervalMs ?? 30_000,
    );
    const drift = setInterval(
      () => void this.driftSweep().catch((e) => this.opts.logger.warn("drift sweep failed", { err: String(e) })),
      this.opts.driftIntervalMs ?? 300_000,
    );
    this.timers.push(health, drift);
  }

  /** Stops taking jobs and cancels running steps; interrupted jobs are re-planned on the next start. */
  async stop(): Promise<void> {
    this.running = false;
    for (const t of this.timers) clearInterval(t);
    this.timers = [];
    for (const c of this.active.values()) c.abort("the appliance is stopping");
    this.wake?.();
    await this.loopDone;
  }

  /** Nudges the loop after a job was queued. */
  poke(): void {
    this.wake?.();
  }

  /** Runs due jobs until none is left (tests and `drain` on shutdown). */
  async runDue(): Promise<number> {
    let n = 0;
    for (let job = claimNext(this.db, this.now()); job; job = claimNext(this.db, this.now())) {
      await this.process(job);
      n++;
    }
    return n;
  }

  private async loop(): Promise<void> {
    while (this.running) {
      const job = claimNext(this.db, this.now());
      if (job) {
        await this.process(job);
        continue;
      }
      await new Promise<void>((r) => {
        this.wake = r;
        setTimeout(r, 1000);
      });
      this.wake = undefined;
    }
  }

  cancel(jobId: number): boolean {
    const c = this.active.get(jobId);
    if (c) c.abort("cancelled by an operator");
    return !!c;
  }

  // ---------- events and status ----------

  private event(
    bot: Pick<BotRow, "id" | "workspaceId" | "name">,
    level: "info" | "warn" | "error",
    type: string,
    message: string,
    data: unknown = {},
  ): void {
    const msg = redactString(message);
    this.db
      .insert(botEvents)
      .values({ botId: bot.id, ts: this.now(), level, type, message: msg, data: JSON.stringify(data) })
      .run();
    this.opts.events.publish({ workspaceId: bot.workspaceId, type: "bot", data: { name: bot.name, level, type, message: msg } });
  }

  private setStatus(bot: BotRow, status: Status, reason: string, extra: Partial<typeof bots.$inferInsert> = {}): void {
    // a delete requested meanwhile keeps its "deleting" status until the delete job runs
    const where = status === "deleting" ? eq(bots.id, bot.id) : and(eq(bots.id, bot.id), eq(bots.deleting, false));
    this.db
      .update(bots)
      .set({ status, statusReason: redactString(reason), updatedAt: this.now(), ...extra })
      .where(where)
      .run();
    this.opts.events.publish({ workspaceId: bot.workspaceId, type: "bot.status", data: { name: bot.name, status, reason } });
  }

  private async step<T>(
    name: keyof typeof DEFAULT_TIMEOUTS,
    parent: AbortSignal,
    fn: (signal: AbortSignal) => Promise<T>,
  ): Promise<T> {
    const ms = this.timeouts[name];
    const signal = AbortSignal.any([parent, AbortSignal.timeout(ms)]);
    try {
      return await fn(signal);
    } catch (e) {
      if (parent.aborted) throw new StepError(name, `${name} was cancelled: ${String(parent.reason)}`);
      if (signal.aborted) throw new StepError(name, `${name} did not finish within ${Math.round(ms / 1000)} s`);
      const pe = e as ProviderError;
      throw new StepError(name, `${name} failed: ${pe.message}`, pe.issues, e);
    }
  }

  // ---------- runtime ----------

  private provider(bot: BotRow): Provider {
    const p = this.opts.providers[bot.provider];
    if (!p) throw new StepError("plan", `no ${bot.provider} provider is configured on this appliance`);
    return p;
  }

  ref(bot: BotRow, rev = latestRevision(this.db, bot.id, bot.desiredRevision)): BotRef {
    return { id: bot.id, name: bot.name, workspaceId: bot.workspaceId, target: rev.manifest.spec.target, port: bot.port };
  }

  private runtime(bot: BotRow, provider: Provider): { rt: BotRuntime; manifest: Manifest; envHash: string } {
    const rev = latestRevision(this.db, bot.id, bot.desiredRevision);
    const ref = this.ref(bot, rev);
    const layout = provider.layout(ref);
    const config = generateConfig(rev.effective, { port: bot.port, layout });
    const token = this.keyring.open("gateway-token", bot.gatewayTokenEnc, bot.id).toString();
    let secrets: Record<string, string>;
    try {
      secrets = resolveSecretValues(this.db, this.keyring, bot.workspaceId, rev.effective.spec.secrets);
    } catch (e) {
      throw new StepError("secrets", (e as Error).message);
    }
    const env = botEnvironment({ layout, port: bot.port, gatewayToken: token, secrets });
    return {
      rt: { ...ref, config, configHash: rev.configHash, env },
      manifest: rev.effective,
      envHash: createHash("sha256").update(renderEnvFile(env)).update(JSON.stringify(rev.manifest.spec.target)).digest("hex"),
    };
  }

  private checkPolicy(bot: BotRow): void {
    const rev = latestRevision(this.db, bot.id, bot.desiredRevision);
    const result = evaluateBotPolicy(this.db, bot.workspaceId, {
      manifest: rev.effective,
      config: rev.config,
      botId: bot.id,
      port: bot.port,
      host: bot.host,
      now: this.now(),
    });
    if (!result.blocked) return;
    const refusal = policyRefusal(bot.name, result);
    throw new StepError(
      "policy",
      `revision ${bot.desiredRevision} is not applied: ${refusal.message}. Fix the bot or its layers, or add an exception`,
      refusal.issues,
    );
  }

  private get keyring(): Keyring {
    return this.opts.keyring;
  }

  /** A connected client for the bot's gateway; the caller closes both. */
  private async connect(
    bot: BotRow,
    provider: Provider,
    signal: AbortSignal,
  ): Promise<{ client: GatewayClient; close: () => Promise<void>; httpUrl: string }> {
    this.identity ??= applianceIdentity(this.db, this.keyring);
    const ep = await provider.endpoint(this.ref(bot), signal);
    const token = this.keyring.open("gateway-token", bot.gatewayTokenEnc, bot.id).toString();
    const client = new GatewayClient({
      url: ep.wsUrl,
      token,
      identity: this.identity,
      connectTimeoutMs: 60_000,
      requestTimeoutMs: 30_000,
      reconnect: true,
    });
    try {
      await client.connect({ signal });
    } catch (e) {
      await client.close();
      await ep.close();
      throw e;
    }
    return {
      client,
      httpUrl: ep.httpUrl,
      close: async () => {
        await client.close();
        await ep.close();
      },
    };
  }

  // ---------- jobs ----------

  async process(job: Job): Promise<void> {
    const controller = new AbortController();
    this.active.set(job.id, controller);
    const bot = this.db.select().from(bots).where(eq(bots.id, job.botId)).get();
    // connectors: rotations stored before this pass builds the env file are the ones it can deliver
    const rollouts = bot ? rolloutCutoff(this.db, bot.id) : 0;
    try {
      if (!bot) return finish(this.db, job.id, "cancelled", this.now(), "bot no longer exists");
      if (bot.deleting) await this.destroy(bot, controller.signal);
      else {
        const delivery = await this.reconcile(bot, job, controller.signal);
        // connectors: env SecretRefs are read when the gateway starts, so a (re)start is what delivers a rotation
        if (
          delivery &&
          settleRollouts(this.db, bot.id, rollouts, {
            state: "delivered",
            method: delivery,
            message: delivery === "unchanged" ? "the value was already live" : `delivered with a gateway ${delivery}`,
            now: this.now(),
          })
        ) {
          this.event(
            bot,
            "info",
            "secret.delivered",
            `rotated secret${delivery === "unchanged" ? " was already live" : ` delivered (gateway ${delivery})`}`,
          );
        }
      }
      finish(this.db, job.id, "done", this.now());
    } catch (e) {
      const err = e instanceof StepError ? e : new StepError("reconcile", (e as Error).message ?? String(e));
      const message = redactString(err.message);
      const fresh = bot ? this.db.select().from(bots).where(eq(bots.id, bot.id)).get() : undefined;
      if (fresh) {
        const failures = fresh.failures + 1;
        const retryIn = backoffMs(failures);
        this.setStatus(fresh, "error", message, { failures });
        settleRollouts(this.db, fresh.id, rollouts, { state: "failed", message: `${message} (retrying)`, now: this.now() }); // connectors
        this.event(fresh, "error", `${err.step}.failed`, `${message} — retrying in ${Math.round(retryIn / 1000)} s`, {
          issues: err.issues ?? [],
        });
        finish(this.db, job.id, controller.signal.aborted ? "cancelled" : "failed", this.now(), message);
        if (this.running || !controller.signal.aborted) {
          this.db.transaction((tx) => {
            enqueue(tx, fresh.id, fresh.deleting ? "delete" : "reconcile", { now: this.now(), notBefore: this.now() + retryIn });
          });
        }
      } else {
        finish(this.db, job.id, "failed", this.now(), message);
      }
      this.opts.logger.warn("job failed", { jobId: job.id, bot: bot?.name, step: err.step, err: message });
    } finally {
      this.active.delete(job.id);
    }
  }

  /** Returns how the current env reached the gateway (connectors' rollouts), or null when it did not (stopped). */
  private async reconcile(bot: BotRow, job: Job, signal: AbortSignal): Promise<"start" | "restart" | "unchanged" | null> {
    const provider = this.provider(bot);
    const { rt, envHash } = this.runtime(bot, provider);
    const ref = rt as BotRef;
    const observed = await this.step("rpc", signal, (s) => provider.observe(ref, s));

    // stopped: make it so
    if (bot.desiredState === "stopped") {
      if (observed.running) {
        this.setStatus(bot, "stopping", "stopping on request");
        await this.step("stop", signal, (s) => provider.stop(ref, { deadlineMs: this.timeouts.stop - 5_000 }, s));
        this.event(bot, "info", "stopped", "gateway stopped");
      }
      this.setStatus(bot, "stopped", "stopped on request", { failures: 0 });
      return null;
    }
    let delivery: "start" | "restart" | "unchanged" = "unchanged"; // connectors

    const configChanged = bot.appliedHash !== rt.configHash;
    // the env file, or the target itself (image, resources, network), changed: the process must be recreated
    const envChanged = bot.appliedEnvHash !== envHash;
    // policy is enforced on every write, and again here: a pack enabled after the revision was saved still blocks it
    if (configChanged) this.checkPolicy(bot);
    if (!observed.exists || !observed.running) {
      this.setStatus(
        bot,
        observed.exists ? "starting" : "creating",
        observed.exists ? "starting the gateway" : "installing and creating the gateway",
      );
      await this.step("ensure", signal, (s) => provider.ensure(rt, s));
      await this.step("configure", signal, (s) => provider.configure(rt, s));
      try {
        await this.step("start", signal, (s) => provider.start(rt, s));
      } catch (e) {
        // nothing of this bot is running, so validation is only worth its ~3 s to explain a refused start
        if (provider.validate && !signal.aborted) await this.preflight(bot, provider, rt, signal);
        throw e;
      }
      this.event(bot, "info", "started", `gateway started on port ${bot.port}`);
      delivery = "start";
    } else if (envChanged || job.kind === "restart") {
      // secrets or the environment changed (or a restart was asked for): deliver and restart the process
      if (provider.validate && configChanged) await this.preflight(bot, provider, rt, signal);
      this.setStatus(bot, "starting", envChanged ? "restarting with a new environment" : "restarting on request");
      await this.step("configure", signal, (s) => provider.configure(rt, s));
      await this.step("stop", signal, (s) => provider.stop(ref, { deadlineMs: this.timeouts.stop - 5_000 }, s));
      await this.step("start", signal, (s) => provider.start(rt, s));
      this.event(bot, "info", "restarted", envChanged ? "gateway restarted with a new environment" : "gateway restarted");
      delivery = "restart";
    }
    // On the hot path the gateway validates config.patch itself and keeps the running config when it refuses.

    // hot path and verification over the gateway's RPC
    await this.step("ready", signal, (s) => this.waitReady(bot, provider, s));
    const conn = await this.step("rpc", signal, (s) => this.connect(bot, provider, s));
    try {
      let changes: PathChange[] = [];
      try {
        changes = await this.step("rpc", signal, (s) => this.applyConfig(bot, conn.client, rt.config, s));
      } catch (e) {
        // "persisted but not applied": the file is right but the running gateway kept the old config (it was
        // busy, e.g. reloading an out-of-band edit). The gateway's own remedy is a restart; it keeps its PID.
        if (!(e instanceof StepError && isGatewayError(e.cause) && e.cause.code === "UNAVAILABLE")) throw e;
        this.event(
          bot,
          "warn",
          "config.reapply",
          "the gateway saved the config but did not apply it live; restarting it in-process",
        );
        await this.step("rpc", signal, (s) => this.restartGateway(conn.client, s));
      }
      if (changes.length)
        this.event(
          bot,
          "info",
          "config.applied",
          `${changes.length} config change${changes.length === 1 ? "" : "s"} applied live`,
          { paths: changes.map((c) => c.path) },
        );
      const verdict = await this.step("rpc", signal, (s) =>
        this.verify(conn.client, rt.config, s, () => this.restartGateway(conn.client, s)),
      );
      const paused = bot.desiredState === "paused";
      if (paused) await this.step("rpc", signal, (s) => this.pauseChannels(conn.client, s));
      const status: Status = verdict.problems.length ? "degraded" : "running";
      const reason = paused
        ? "paused: channels stopped"
        : verdict.problems.length
          ? verdict.problems.join("; ")
          : `revision ${bot.desiredRevision} live`;
      this.setStatus(bot, status, reason, {
        appliedRevision: bot.desiredRevision,
        appliedHash: rt.configHash,
        appliedEnvHash: envHash,
        failures: 0,
        lastSeenAt: this.now(),
      });
      if (bot.appliedRevision !== bot.desiredRevision)
        this.event(bot, "info", "revision.live", `revision ${bot.desiredRevision} verified live`);
    } finally {
      await conn.close();
    }
    return delivery;
  }

  private async preflight(bot: BotRow, provider: Provider, rt: BotRuntime, signal: AbortSignal): Promise<void> {
    const v = await this.step("validate", signal, (s) => provider.validate!(rt, s));
    if (!v.valid) {
      throw new StepError(
        "validate",
        `OpenClaw rejected revision ${bot.desiredRevision}: ${v.issues.map((i) => `${i.path}: ${i.message}`).join("; ")}. The previous revision keeps running; fix the manifest and apply again`,
        v.issues,
      );
    }
  }

  private async waitReady(bot: BotRow, provider: Provider, signal: AbortSignal): Promise<void> {
    const ref = this.ref(bot); // once: the loop below polls every 200 ms
    const ep = await provider.endpoint(ref, signal);
    try {
      let last = "";
      while (!signal.aborted) {
        const r = await probeReadyz(ep.httpUrl, { timeoutMs: 3_000 }).catch((e: Error) => ({
          ok: false,
          status: 0,
          body: undefined,
          error: e.message,
        }));
        if (r.ok) return;
        last = r.status ? `readyz ${r.status}` : "not listening yet";
        const o = await provider.observe(ref, signal).catch(() => null);
        if (o?.exists && !o.running) {
          throw new ProviderError(
            `the gateway exited${o.exitCode !== undefined ? ` with code ${o.exitCode}` : ""}${o.exitCode === 78 ? " (invalid config)" : ""}; see its logs`,
            o.exitCode === 78 ? "invalid_config" : "failed",
          );
        }
        await new Promise((r) => setTimeout(r, 200));
      }
      throw new ProviderError(`the gateway did not become ready (${last})`, "timeout");
    } finally {
      await ep.close();
    }
  }

  /** config.get → merge patch (baseHash) when the live config differs from the desired one. */
  private async applyConfig(
    bot: BotRow,
    client: GatewayClient,
    desired: Record<string, unknown>,
    signal: AbortSignal,
  ): Promise<PathChange[]> {
    const live = await client.configGet({ signal });
    const liveCfg = withoutGatewayOwned(fileConfig(live), desired);
    const changes = diffConfig(liveCfg, desired);
    const mp = mergePatch(liveCfg, desired);
    if (mp.empty) return [];
    await client.configPatch(mp.patch as Record<string, unknown>, {
      baseHash: live.hash,
      replacePaths: mp.replacePaths.length ? mp.replacePaths : undefined,
      note: `molthub revision ${bot.desiredRevision}`,
      signal,
    });
    return changes;
  }

  /** Asks the gateway to restart in-process and waits until it is back with a new boot id. */
  private async restartGateway(client: GatewayClient, signal: AbortSignal): Promise<void> {
    const back = client.waitFor("restart", { timeoutMs: 90_000, signal });
    await client.restartRequest("molthub: apply the saved config", { signal });
    await back;
  }

  /**
   * The saved config is live and equals the desired one; channels report no errors. A saved config that stays
   * not-live for 15 s gets one in-process restart.
   */
  private async verify(
    client: GatewayClient,
    desired: Record<string, unknown>,
    signal: AbortSignal,
    restart: () => Promise<void>,
  ): Promise<{ problems: string[] }> {
    const deadline = this.now() + 60_000;
    const restartAt = this.now() + 15_000;
    let restarted = false;
    for (;;) {
      const g = await client.configGet({ signal });
      const live = withoutGatewayOwned(fileConfig(g), desired);
      const diff = diffConfig(live, desired);
      const applied = g.configRevisionHash && g.configRevisionHash === g.appliedConfigHash;
      if (applied && diff.length === 0) break;
      if (!applied && diff.length === 0 && !restarted && this.now() > restartAt) {
        restarted = true;
        await restart();
        continue;
      }
      if (this.now() > deadline)
        throw new ProviderError(
          `the gateway did not confirm the config (${applied ? `still differs at ${diff.map((d) => d.path).join(", ")}` : "saved config not yet live"})`,
          "timeout",
        );
      await new Promise((r) => setTimeout(r, 200));
    }
    const problems: string[] = [];
    const ch = await client.channelsStatus({}, { signal });
    for (const [name, c] of Object.entries(
      (ch as { channels?: Record<string, { lastError?: string | null; configured?: boolean }> }).channels ?? {},
    )) {
      if (c?.configured && c.lastError) problems.push(`channel ${name}: ${c.lastError}`);
    }
    return { problems };
  }

  private async pauseChannels(client: GatewayClient, signal: AbortSignal): Promise<void> {
    const ch = await client.channelsStatus({}, { signal });
    for (const [name, c] of Object.entries((ch as { channels?: Record<string, { running?: boolean }> }).channels ?? {})) {
      if (c?.running) await client.request("channels.stop", { channel: name }, { signal });
    }
  }

  private async destroy(bot: BotRow, signal: AbortSignal): Promise<void> {
    const provider = this.opts.providers[bot.provider];
    this.setStatus(bot, "deleting", bot.purge ? "removing the gateway and its data" : "removing the gateway (data kept)");
    if (provider) {
      const ref = this.ref(bot);
      await this.step("destroy", signal, (s) => provider.destroy(ref, { purge: bot.purge }, s));
    }
    this.db.transaction((tx) => {
      recordAudit(
        tx,
        { actor: { ...systemActor, workspaceId: bot.workspaceId }, now: this.now },
        { action: "bot.deleted", resourceType: "bot", resourceId: bot.id, summary: { name: bot.name, purge: bot.purge } },
      );
      tx.delete(bots).where(eq(bots.id, bot.id)).run();
    });
    this.opts.events.publish({ workspaceId: bot.workspaceId, type: "bot.status", data: { name: bot.name, status: "deleted" } });
  }

  // ---------- health and drift ----------

  private idleBots(): BotRow[] {
    const busy = this.db
      .select({ id: jobs.botId })
      .from(jobs)
      .where(sql`${jobs.state} in ('queued','running')`)
      .all()
      .map((r) => r.id);
    return this.db
      .select()
      .from(bots)
      .where(
        and(
          eq(bots.deleting, false),
          sql`${bots.desiredState} != 'stopped'`,
          sql`${bots.appliedRevision} is not null`,
          busy.length ? notInArray(bots.id, busy) : sql`1=1`,
        ),
      )
      .all();
  }

  /** One health poll of every settled bot: readiness, RPC health and status, kept as bounded snapshots. */
  async healthSweep(): Promise<void> {
    for (const bot of this.idleBots()) {
      const provider = this.opts.providers[bot.provider];
      if (!provider) continue;
      const signal = AbortSignal.timeout(20_000);
      let snapshot: Record<string, unknown> = {};
      let ready = false;
      try {
        const conn = await this.connect(bot, provider, signal);
        try {
          const r = await probeReadyz(conn.httpUrl, { timeoutMs: 3_000 });
          ready = r.ok;
          const [health, status] = await Promise.all([conn.client.health({ signal }), conn.client.status({ signal })]);
          snapshot = { readyz: r.body ?? null, health, status, bootId: conn.client.hello?.server?.bootId ?? null };
        } finally {
          await conn.close();
        }
      } catch (e) {
        snapshot = { error: redactString((e as Error).message) };
      }
      this.db
        .insert(healthSnapshots)
        .values({ botId: bot.id, ts: this.now(), ready, data: JSON.stringify(snapshot) })
        .run();
      const keep = this.opts.healthRetention ?? 500;
      const cutoff = this.db
        .select({ id: healthSnapshots.id })
        .from(healthSnapshots)
        .where(eq(healthSnapshots.botId, bot.id))
        .orderBy(desc(healthSnapshots.id))
        .limit(1)
        .offset(keep)
        .get();
      if (cutoff)
        this.db
          .delete(healthSnapshots)
          .where(and(eq(healthSnapshots.botId, bot.id), lt(healthSnapshots.id, cutoff.id + 1)))
          .run();
      if (ready && bot.status !== "running" && bot.desiredState === "running")
        this.setStatus(bot, "running", "healthy", { lastSeenAt: this.now() });
      else if (ready) this.db.update(bots).set({ lastSeenAt: this.now() }).where(eq(bots.id, bot.id)).run();
      else {
        const observed = await provider.observe(this.ref(bot), AbortSignal.timeout(15_000)).catch(() => null);
        if (observed && !observed.running) {
          this.event(bot, "warn", "health.down", "the gateway is not running; starting it again");
          this.db.transaction((tx) => {
            enqueue(tx, bot.id, "reconcile", { now: this.now() });
          });
          this.poke();
        } else if (bot.status === "running") {
          this.setStatus(bot, "degraded", `not ready: ${snapshot.error ?? "readyz failing"}`);
        }
      }
    }
  }

  /** Compares desired, last-applied and live config per path, and acts on each bot's drift policy. */
  async driftSweep(): Promise<{ bot: string; changes: PathChange[]; policy: string }[]> {
    const out: { bot: string; changes: PathChange[]; policy: string }[] = [];
    for (const bot of this.idleBots()) {
      const provider = this.opts.providers[bot.provider];
      if (!provider || bot.appliedRevision !== bot.desiredRevision) continue;
      let live: Record<string, unknown>;
      try {
        const conn = await this.connect(bot, provider, AbortSignal.timeout(30_000));
        try {
          live = fileConfig(await conn.client.configGet());
        } finally {
          await conn.close();
        }
      } catch {
        continue; // the health poll reports unreachable bots
      }
      const { rt, manifest } = this.runtime(bot, provider);
      live = withoutGatewayOwned(live, rt.config);
      const changes = diffConfig(rt.config, live);
      if (!changes.length) continue;
      const policy = manifest.spec.drift;
      out.push({ bot: bot.name, changes, policy });
      this.event(
        bot,
        "warn",
        "drift",
        `live config differs from revision ${bot.desiredRevision} at ${changes.map((c) => c.path).join(", ")} (policy: ${policy})`,
        { changes },
      );
      if (policy === "revert") {
        this.db.transaction((tx) => {
          enqueue(tx, bot.id, "reconcile", { now: this.now() });
        });
        this.poke();
      } else if (policy === "adopt") {
        this.adopt(bot, changes, live, rt.config);
      } else {
        this.setStatus(bot, "degraded", `drift at ${changes.map((c) => c.path).join(", ")}`);
      }
    }
    return out;
  }

  /**
   * The live change becomes a new revision (audited): each drifted path is written into the bot's own layer
   * (its manifest's `openclaw`), so templates, profiles and overlays stay attached. Paths Molthub owns are kept.
   */
  private adopt(bot: BotRow, changes: PathChange[], live: Record<string, unknown>, desired: Record<string, unknown>): void {
    const own = latestRevision(this.db, bot.id, bot.desiredRevision).manifest;
    const liveValues = unredact(structuredClone(live), desired) as Record<string, unknown>;
    const openclaw = structuredClone(own.spec.openclaw);
    for (const c of changes) {
      if (RESERVED_OPENCLAW_PATHS.some((o) => c.path === o || c.path.startsWith(`${o}.`))) continue;
      setOrDelete(openclaw, c.path.split("."), getPath(liveValues, c.path));
    }
    // the appliance itself adopts the change: a system actor, audited like any revision
    const ctx = {
      keyring: this.keyring,
      actor: { ...systemActor, label: "drift adopt", workspaceId: bot.workspaceId },
      now: this.now,
    };
    try {
      const m = validateManifest({ ...own, spec: { ...own.spec, openclaw } });
      const r = inTransaction({ db: this.db }, false, (tx) => applyRevision(tx, ctx, bot.workspaceId, m, { source: "adopt" }));
      this.event(bot, "info", "drift.adopted", `the live change became revision ${r.revision}`);
    } catch (e) {
      // a locked field, a conflict or a policy block: the change cannot be adopted; keep the bot flagged
      this.event(
        bot,
        "error",
        "drift.adopt_failed",
        `the live change could not be adopted: ${redactString((e as Error).message)}`,
      );
      this.setStatus(bot, "degraded", "drift that cannot be adopted; revert it or change the bot's layers");
    }
  }
}

/** Sets `path` to `value` in `obj` (creating objects on the way), or deletes it when `value` is undefined. */
function setOrDelete(obj: Record<string, unknown>, path: string[], value: unknown): void {
  let cur = obj;
  for (const k of path.slice(0, -1)) {
    const next = cur[k];
    if (next === null || typeof next !== "object" || Array.isArray(next)) {
      if (value === undefined) return;
      cur[k] = {};
    }
    cur = cur[k] as Record<string, unknown>;
  }
  const last = path[path.length - 1]!;
  if (value === undefined) delete cur[last];
  else cur[last] = value;
}
