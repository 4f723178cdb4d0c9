import { createHash } from "node:crypto";
import { and, desc, eq, lt, notInArray, sql } from "drizzle-orm";
import { ForeignListenerError } from "../../providers/listener.ts";
import type { BotRef, BotRuntime, ObservedState, Provider } from "../../providers/provider.ts";
import { ProviderError } from "../../providers/provider.ts";
import { recordAudit } from "../core/audit.ts";
import { systemActor } from "../core/context.ts";
import { ServiceError } from "../core/errors.ts";
import type { EventBus } from "../core/events.ts";
import { forEachLimit } from "../core/limit.ts";
import { inTransaction } from "../core/transaction.ts";
import type { Db } from "../db/client.ts";
import { botEvents, bots, healthSnapshots, jobs } from "../db/schema.ts";
import {
  type Condition,
  type Conditions,
  type ConditionType,
  parseConditions,
  settledStatus,
  withCondition,
} from "../domain/conditions.ts";
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
import { applyRevision, reallocatePort } from "../fleet/revisions.ts";
// connectors: per-bot delivery of rotated secrets (secret_rollouts)
import { rolloutCutoff, secretsCurrent, settleRollouts } from "../fleet/rollouts.ts";
import { resolveSecretValues, secretVersions } from "../fleet/secrets.ts";
import { type BotRow, latestRevision } from "../fleet/store.ts";
import { targetCondition, targetConditionFromError } from "../fleet/target-condition.ts";
import { GatewayClient, type GatewayError, isGatewayError } from "../gateway/client.ts";
import type { DeviceIdentity } from "../gateway/identity.ts";
import { probeReadyz } from "../gateway/probe.ts";
import type { Logger } from "../log.ts";
import type { Keyring } from "../secrets/keyring.ts";
import { redactString } from "../secrets/redact.ts";
import { applianceIdentity } from "./appliance-identity.ts";
import { defaultConcurrency, JobSlots } from "./slots.ts";

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
  /** jobs at once, overall and per target (defaults: src/reconciler/slots.ts) */
  concurrency?: { jobs?: number; perTarget?: number };
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

/** Statuses a health poll or drift sweep may replace with the one the conditions give; the others are phases. */
const SETTLED: Status[] = ["running", "degraded", "error"];

/** The gateway refused our credentials: its config no longer holds the token Molthub gave it. */
const LOCKED_OUT = new Set(["AUTH_TOKEN_MISMATCH", "AUTH_TOKEN_MISSING", "AUTH_UNAUTHORIZED", "AUTH_TOKEN_NOT_CONFIGURED"]);
function isLockedOut(e: unknown): boolean {
  const g = e instanceof StepError ? e.cause : e;
  return isGatewayError(g) && !!g.detailCode && LOCKED_OUT.has(g.detailCode);
}

/** A request failed because the gateway is restarting in-process (it said `shutdown`, closed 1012, or is starting). */
function isRestarting(e: unknown): boolean {
  return isGatewayError(e) && (e.code === "UNAVAILABLE" || e.code === "DISCONNECTED");
}

/**
 * The config as saved in the gateway's file (`parsed`, secrets redacted) — not `config`, which also holds the
 * runtime defaults the gateway fills in and would look like drift.
 */
function fileConfig(g: { parsed?: unknown; config?: Record<string, unknown> | null }): Record<string, unknown> {
  const parsed = g.parsed;
  return (parsed && typeof parsed === "object" ? parsed : (g.config ?? {})) as Record<string, unknown>;
}

/**
 * Applies desired state to bots and keeps them so: plan → apply → verify, with a deadline per step, a timeline of
 * events per bot, backoff for failing revisions, and recovery of jobs interrupted by a crash. Jobs of different bots
 * run concurrently (bounded overall and per target); jobs of one bot run one after another, in order. Also runs the
 * health poll and the drift sweep, which maintain the bot's conditions.
 */
export class Reconciler {
  private readonly db: Db;
  private readonly now: () => number;
  private readonly timeouts: typeof DEFAULT_TIMEOUTS;
  private identity?: DeviceIdentity;
  private running = false;
  private wake?: () => void;
  /** set by poke() and by a finished job, so a nudge between fill() and the wait is not lost */
  private nudged = false;
  private loopDone?: Promise<void>;
  private readonly active = new Map<number, AbortController>();
  private readonly inflight = new Map<number, Promise<void>>();
  private readonly slots: JobSlots;
  private readonly sweeping = { health: false, drift: false };
  private timers: ReturnType<typeof setInterval>[] = [];

  constructor(private readonly opts: ReconcilerOptions) {
    this.db = opts.db;
    this.now = opts.now ?? Date.now;
    this.timeouts = { ...DEFAULT_TIMEOUTS, ...opts.timeouts };
    const d = defaultConcurrency();
    this.slots = new JobSlots(opts.concurrency?.jobs ?? d.jobs, opts.concurrency?.perTarget ?? d.perTarget);
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    const n = recoverInterrupted(this.db, this.now());
    if (n) this.opts.logger.warn("jobs interrupted by the last stop were re-planned", { count: n });
    this.loopDone = this.loop();
    // a sweep that takes longer than its interval (many unreachable bots) is not started twice
    const every = (kind: "health" | "drift", run: () => Promise<unknown>) => () => {
      if (this.sweeping[kind]) return;
      this.sweeping[kind] = true;
      void run()
        .catch((e) => this.opts.logger.warn(`${kind} sweep failed`, { err: String(e) }))
        .finally(() => {
          this.sweeping[kind] = false;
        });
    };
    const health = setInterval(
      every("health", () => this.healthSweep()),
      this.opts.healthIntervalMs ?? 30_000,
    );
    const drift = setInterval(
      every("drift", () => this.driftSweep()),
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
    this.nudged = true;
    this.wake?.();
  }

  /** Runs due jobs until none is left, one at a time (tests and `drain` on shutdown). */
  async runDue(): Promise<number> {
    let n = 0;
    for (let job = claimNext(this.db, this.now()); job; job = claimNext(this.db, this.now())) {
      await this.process(job);
      n++;
    }
    return n;
  }

  /** Jobs running now (for tests and the status page). */
  get runningJobs(): number {
    return this.slots.running;
  }

  private async loop(): Promise<void> {
    while (this.running) {
      this.nudged = false;
      this.fill();
      if (this.nudged) continue;
      await new Promise<void>((r) => {
        this.wake = r;
        setTimeout(r, 1000);
      });
      this.wake = undefined;
    }
    await Promise.allSettled(this.inflight.values());
  }

  /** Starts due jobs while slots are free; a job's target is the bot's host (SSH host, engine host or "local"). */
  private fill(): void {
    while (this.running && !this.slots.full()) {
      const job = claimNext(this.db, this.now(), { excludeHosts: this.slots.saturated() });
      if (!job) return;
      const target = this.db.select({ host: bots.host }).from(bots).where(eq(bots.id, job.botId)).get()?.host ?? "local";
      this.slots.take(target);
      const run = this.process(job)
        .catch((e) => this.opts.logger.error("job crashed", { jobId: job.id, err: String(e) }))
        .finally(() => {
          this.slots.release(target);
          this.inflight.delete(job.id);
          this.poke();
        });
      this.inflight.set(job.id, run);
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

  /**
   * Records what one part of the reconciler observed; with `settle` a bot that no job is working on gets the status
   * its conditions give (running or degraded), so observations from the health poll and the drift sweep add up
   * instead of overwriting one another.
   */
  private setConditions(
    bot: Pick<BotRow, "id" | "workspaceId" | "name">,
    updates: Partial<Record<ConditionType, Omit<Condition, "since">>>,
    settle?: { paused: boolean; revision: number },
  ): Conditions {
    const fresh = this.db
      .select({ conditions: bots.conditions, status: bots.status, reason: bots.statusReason, deleting: bots.deleting })
      .from(bots)
      .where(eq(bots.id, bot.id))
      .get();
    if (!fresh) return {};
    let cs = parseConditions(fresh.conditions);
    for (const [type, c] of Object.entries(updates) as [ConditionType, Omit<Condition, "since">][])
      cs = withCondition(cs, type, { ...c, message: redactString(c.message) }, this.now());
    const set: Partial<typeof bots.$inferInsert> = { conditions: JSON.stringify(cs) };
    const settled = settle && !fresh.deleting && SETTLED.includes(fresh.status) ? settledStatus(cs, settle) : undefined;
    const changed = settled && (settled.status !== fresh.status || settled.reason !== fresh.reason);
    if (changed) Object.assign(set, { status: settled.status, statusReason: settled.reason, updatedAt: this.now() });
    this.db.update(bots).set(set).where(eq(bots.id, bot.id)).run();
    if (changed)
      this.opts.events.publish({
        workspaceId: bot.workspaceId,
        type: "bot.status",
        data: { name: bot.name, status: settled.status, reason: settled.reason },
      });
    return cs;
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

  private runtime(
    bot: BotRow,
    provider: Provider,
  ): { rt: BotRuntime; manifest: Manifest; envHash: string; secretVersions: Record<string, number> } {
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
    // read with the values, in the same synchronous stretch: the versions are the ones this env file carries
    const versions = secretVersions(this.db, bot.workspaceId, rev.effective.spec.secrets);
    const env = botEnvironment({ layout, port: bot.port, gatewayToken: token, secrets });
    return {
      rt: { ...ref, config, configHash: rev.configHash, env },
      manifest: rev.effective,
      secretVersions: versions,
      envHash: createHash("sha256")
        .update(renderEnvFile(env))
        .update(JSON.stringify(rev.manifest.spec.target))
        // Docker bots created before secrets moved out of the container config (ADR 0010) carry them in
        // `Config.Env` until recreated: this changes their env hash once, so the next pass restarts them into
        // a container without secrets.
        .update(rev.manifest.spec.target.provider === "docker" ? "\0env-file-launcher-1" : "")
        .digest("hex"),
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

  /** TargetReachable after a failure: False when the target itself (host, engine) is the problem, else unchanged. */
  private targetConditionFrom(bot: BotRow, e: unknown): Partial<Record<ConditionType, Omit<Condition, "since">>> {
    const t = targetConditionFromError(this.db, bot, e);
    return t ? { TargetReachable: t } : {};
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
      // the endpoint refused to pass the connection on (the port's holder is not the bot's gateway): that is the cause
      const refusal = ep.refusal?.();
      await client.close();
      await ep.close();
      throw refusal?.code === "foreign_listener" ? refusal : e;
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
        const foreign = err.cause instanceof ProviderError && err.cause.code === "foreign_listener" ? err.cause : undefined;
        // when the target itself is the problem (host key unconfirmed, login refused, host down), say that and its fix
        const target = this.targetConditionFrom(fresh, err.cause ?? err);
        const unreachable = target.TargetReachable?.status === "False" ? target.TargetReachable.message : undefined;
        this.setStatus(fresh, "error", unreachable ?? message, { failures });
        this.setConditions(fresh, {
          ConfigApplied: {
            status: "False",
            reason: `${err.step[0]!.toUpperCase()}${err.step.slice(1)}Failed`,
            message: `revision ${fresh.desiredRevision} not applied: ${message}`,
          },
          ...target,
        });
        settleRollouts(this.db, fresh.id, rollouts, { state: "failed", message: `${message} (retrying)`, now: this.now() }); // connectors
        this.event(fresh, "error", `${err.step}.failed`, `${message} — retrying in ${Math.round(retryIn / 1000)} s`, {
          issues: err.issues ?? [],
        });
        finish(this.db, job.id, controller.signal.aborted ? "cancelled" : "failed", this.now(), message);
        // the port is lost to another process: the new revision on a free port is queued at once, no back-off
        const moved = foreign && !fresh.deleting && !controller.signal.aborted && this.movePort(fresh, foreign);
        if (!moved && (this.running || !controller.signal.aborted)) {
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
    const { rt, envHash, secretVersions: versions, manifest } = this.runtime(bot, provider);
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
      this.setConditions(bot, {
        Ready: { status: "False", reason: "Stopped", message: "stopped on request" },
        TargetReachable: targetCondition(this.db, bot),
      });
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
      await this.assertPortFree(bot, provider, ref, signal);
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
      // the target (its OpenClaw version, image, resources) is part of the env hash: make it available before the
      // old gateway stops, so a version that cannot be installed leaves the old one running
      if (envChanged) await this.step("ensure", signal, (s) => provider.ensure(rt, s));
      await this.step("configure", signal, (s) => provider.configure(rt, s));
      await this.step("stop", signal, (s) => provider.stop(ref, { deadlineMs: this.timeouts.stop - 5_000 }, s));
      await this.assertPortFree(bot, provider, ref, signal);
      await this.step("start", signal, (s) => provider.start(rt, s));
      this.event(bot, "info", "restarted", envChanged ? "gateway restarted with a new environment" : "gateway restarted");
      delivery = "restart";
    }
    // On the hot path the gateway validates config.patch itself and keeps the running config when it refuses.

    // hot path and verification over the gateway's RPC
    await this.step("ready", signal, (s) => this.waitReady(bot, provider, s));
    let conn: Awaited<ReturnType<Reconciler["connect"]>>;
    let repaired = false;
    try {
      conn = await this.step("rpc", signal, (s) => this.connect(bot, provider, s));
    } catch (e) {
      if (!isLockedOut(e)) throw e;
      // Drift that locks Molthub out (gateway.auth changed on the target): the RPC path is closed, so repair through
      // the provider — rewrite the files and restart. Molthub-owned paths are never adopted, whatever the policy.
      this.event(
        bot,
        "warn",
        "drift.locked_out",
        "the gateway rejects Molthub's token: its gateway.auth was changed on the target; rewriting its config and restarting it",
      );
      this.setStatus(bot, "starting", "repairing a changed gateway.auth: rewriting the config and restarting");
      await this.step("configure", signal, (s) => provider.configure(rt, s));
      await this.step("stop", signal, (s) => provider.stop(ref, { deadlineMs: this.timeouts.stop - 5_000 }, s));
      await this.step("start", signal, (s) => provider.start(rt, s));
      await this.step("ready", signal, (s) => this.waitReady(bot, provider, s));
      conn = await this.step("rpc", signal, (s) => this.connect(bot, provider, s));
      repaired = true;
      delivery = "restart";
    }
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
        this.verify(bot, conn.client, rt.config, s, () => this.restartGateway(conn.client, s)),
      );
      const paused = bot.desiredState === "paused";
      if (paused) await this.step("rpc", signal, (s) => this.pauseChannels(conn.client, s));
      const wasLockedOut = parseConditions(bot.conditions).Drifted?.reason === "AuthTokenMismatch";
      const cs = this.setConditions(bot, {
        TargetReachable: targetCondition(this.db, bot),
        Ready: { status: "True", reason: "Ready", message: "the gateway is ready" },
        ConfigApplied: { status: "True", reason: "Verified", message: `revision ${bot.desiredRevision} verified live` },
        Drifted: { status: "False", reason: "MatchesRevision", message: `the live config is revision ${bot.desiredRevision}` },
        ChannelsConnected: verdict.problems.length
          ? { status: "False", reason: "ChannelError", message: verdict.problems.join("; ") }
          : { status: "True", reason: "NoErrors", message: "no channel reports an error" },
        // an equal env hash means the running gateway has these values; a write that landed during this pass stays outdated
        SecretsCurrent: secretsCurrent(this.db, bot.workspaceId, versions, manifest.spec.secrets),
      });
      const settled = settledStatus(cs, { paused, revision: bot.desiredRevision });
      this.setStatus(bot, settled.status, settled.reason, {
        appliedRevision: bot.desiredRevision,
        appliedHash: rt.configHash,
        appliedEnvHash: envHash,
        appliedSecrets: JSON.stringify(versions),
        failures: 0,
        lastSeenAt: this.now(),
      });
      if (repaired || (wasLockedOut && delivery !== "unchanged"))
        this.event(bot, "info", "drift.reverted", "gateway.auth restored; the gateway accepts Molthub again");
      if (bot.appliedRevision !== bot.desiredRevision)
        this.event(bot, "info", "revision.live", `revision ${bot.desiredRevision} verified live`);
    } finally {
      await conn.close();
    }
    return delivery;
  }

  /** Before a start: the port must be free on the target, or the token would go to whoever holds it. */
  private async assertPortFree(bot: BotRow, provider: Provider, ref: BotRef, signal: AbortSignal): Promise<void> {
    if (!provider.portFree) return;
    const free = await this.step("start", signal, (s) => provider.portFree!(ref, bot.port, s));
    if (!free)
      throw new StepError(
        "start",
        `port ${bot.port} is held by another process on the target`,
        undefined,
        new ProviderError(`port ${bot.port} is held by another process on the target`, "foreign_listener"),
      );
  }

  /**
   * The bot's port is held by a process that is not its gateway: move the bot to a free port (a new revision,
   * audited; `gateway.port` is Molthub's, so this is the only way it changes). A few moves in a row at most: a
   * target where every port looks taken gets the normal back-off instead of a new port per attempt.
   */
  private movePort(bot: BotRow, cause: ProviderError): boolean {
    if (bot.failures > 3) return false;
    try {
      const ctx = {
        keyring: this.keyring,
        actor: { ...systemActor, label: "reconciler", workspaceId: bot.workspaceId },
        now: this.now,
      };
      const port = inTransaction({ db: this.db }, false, (tx) =>
        reallocatePort(tx, ctx, bot.id, {
          taken: [bot.port],
          holder: cause instanceof ForeignListenerError ? cause.holder : undefined,
        }),
      );
      this.opts.logger.warn("bot moved to a free port", { bot: bot.name, from: bot.port, to: port });
      this.poke();
      return true;
    } catch (e) {
      this.opts.logger.warn("could not move the bot to a free port", { bot: bot.name, err: String(e) });
      return false;
    }
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
        const refusal = ep.refusal?.();
        if (refusal?.code === "foreign_listener") throw refusal;
        last = r.status ? `readyz ${r.status}` : "not listening yet";
        const o = await provider.observe(ref, signal).catch(() => null);
        if (o?.exists && !o.running) {
          // the gateway's own words when its port was taken ("another gateway instance is already listening…")
          const cause = await provider.exitCause?.(ref, signal).catch(() => undefined);
          if (cause) throw new ProviderError(`the gateway exited: ${cause}`, "foreign_listener");
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
    bot: BotRow,
    client: GatewayClient,
    desired: Record<string, unknown>,
    signal: AbortSignal,
    restart: () => Promise<void>,
  ): Promise<{ problems: string[] }> {
    let deadline = this.now() + 60_000;
    const restartAt = this.now() + 15_000;
    let restarted = false;
    let waited = false;
    for (;;) {
      let g: Awaited<ReturnType<GatewayClient["configGet"]>>;
      try {
        g = await client.configGet({ signal });
      } catch (e) {
        // A restart-class change (gateway.auth, env.vars, …) makes OpenClaw restart in-process: `shutdown`, close 1012,
        // back in ~10 s with the same PID. That is the change being applied, not a failure: wait for it once.
        // It may answer UNAVAILABLE for a while after the reconnect too: keep waiting until the deadline.
        if (!isRestarting(e) || signal.aborted || (waited && this.now() > deadline)) throw e;
        if (!waited) {
          waited = true;
          deadline = Math.max(deadline, this.now() + 120_000);
          this.event(bot, "info", "config.restart", "the gateway restarts in-process to apply the change; waiting for it");
        }
        if (client.state !== "open") await client.waitFor("hello", { timeoutMs: 120_000, signal }).catch(() => {});
        else await new Promise((r) => setTimeout(r, (e as GatewayError).retryAfterMs ?? 1_000));
        continue;
      }
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
    return { problems: channelErrors(await client.channelsStatus({}, { signal })) };
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

  /** One health poll of every settled bot, several at once: readiness, RPC health and status, channels. */
  async healthSweep(): Promise<void> {
    await forEachLimit(this.idleBots(), this.slots.limit, (bot) => this.healthCheck(bot));
  }

  private async healthCheck(bot: BotRow): Promise<void> {
    const provider = this.opts.providers[bot.provider];
    if (!provider) return;
    const signal = AbortSignal.timeout(20_000);
    let snapshot: Record<string, unknown> = {};
    let ready = false;
    let failure: unknown;
    let channelProblems: string[] | undefined;
    try {
      const conn = await this.connect(bot, provider, signal);
      try {
        const r = await probeReadyz(conn.httpUrl, { timeoutMs: 3_000 });
        ready = r.ok;
        const [health, status, channels] = await Promise.all([
          conn.client.health({ signal }),
          conn.client.status({ signal }),
          conn.client.channelsStatus({}, { signal }),
        ]);
        channelProblems = channelErrors(channels);
        snapshot = { readyz: r.body ?? null, health, status, bootId: conn.client.hello?.server?.bootId ?? null };
      } finally {
        await conn.close();
      }
    } catch (e) {
      failure = e;
      snapshot = { error: redactString((e as Error).message) };
    }
    this.keepSnapshot(bot, ready, snapshot);
    const settle = { paused: bot.desiredState === "paused", revision: bot.desiredRevision };
    if (isLockedOut(failure)) {
      this.lockedOut(bot);
      return;
    }
    if (ready) {
      this.db.update(bots).set({ lastSeenAt: this.now() }).where(eq(bots.id, bot.id)).run();
      this.setConditions(
        bot,
        {
          TargetReachable: targetCondition(this.db, bot),
          Ready: { status: "True", reason: "Ready", message: "the gateway is ready" },
          ...(channelProblems
            ? {
                ChannelsConnected: channelProblems.length
                  ? { status: "False" as const, reason: "ChannelError", message: channelProblems.join("; ") }
                  : { status: "True" as const, reason: "NoErrors", message: "no channel reports an error" },
              }
            : {}),
        },
        settle,
      );
      return;
    }
    const observed: ObservedState | Error = await provider
      .observe(this.ref(bot), AbortSignal.timeout(15_000))
      .catch((e: unknown) => (e instanceof Error ? e : new Error(String(e))));
    if (!(observed instanceof Error) && !observed.running) {
      this.event(bot, "warn", "health.down", "the gateway is not running; starting it again");
      this.setConditions(bot, { Ready: { status: "False", reason: "NotRunning", message: "the gateway is not running" } });
      this.db.transaction((tx) => {
        enqueue(tx, bot.id, "reconcile", { now: this.now() });
      });
      this.poke();
      return;
    }
    this.setConditions(
      bot,
      {
        Ready: { status: "False", reason: "NotReady", message: `not ready: ${snapshot.error ?? "readyz failing"}` },
        ...this.targetConditionFrom(bot, observed instanceof Error ? observed : failure),
      },
      settle,
    );
  }

  private keepSnapshot(bot: BotRow, ready: boolean, snapshot: Record<string, unknown>): void {
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
  }

  /**
   * The gateway rejects Molthub's token: its gateway.auth was edited on the target. Whatever the drift policy, that is
   * repaired (a Molthub-owned path is never adopted): a restart job rewrites the config and restarts the gateway.
   */
  private lockedOut(bot: BotRow): void {
    this.event(
      bot,
      "warn",
      "drift.locked_out",
      "the gateway rejects Molthub's token (gateway.auth changed on the target); repairing: the config is rewritten and the gateway restarted",
    );
    this.setConditions(bot, {
      Drifted: {
        status: "True",
        reason: "AuthTokenMismatch",
        message: "gateway.auth was changed on the target and locks Molthub out; being repaired",
      },
    });
    this.db.transaction((tx) => {
      enqueue(tx, bot.id, "restart", { now: this.now() });
    });
    this.poke();
  }

  /** Compares desired, last-applied and live config per path, and acts on each bot's drift policy. */
  async driftSweep(): Promise<{ bot: string; changes: PathChange[]; policy: string }[]> {
    const out: { bot: string; changes: PathChange[]; policy: string }[] = [];
    await forEachLimit(this.idleBots(), this.slots.limit, async (bot) => {
      const found = await this.driftCheck(bot);
      if (found) out.push(found);
    });
    return out;
  }

  private async driftCheck(bot: BotRow): Promise<{ bot: string; changes: PathChange[]; policy: string } | undefined> {
    const provider = this.opts.providers[bot.provider];
    if (!provider || bot.appliedRevision !== bot.desiredRevision) return;
    let live: Record<string, unknown>;
    try {
      const conn = await this.connect(bot, provider, AbortSignal.timeout(30_000));
      try {
        live = fileConfig(await conn.client.configGet());
      } finally {
        await conn.close();
      }
    } catch (e) {
      if (isLockedOut(e)) this.lockedOut(bot);
      return; // the health poll reports unreachable bots
    }
    const { rt, manifest } = this.runtime(bot, provider);
    live = withoutGatewayOwned(live, rt.config);
    const changes = diffConfig(rt.config, live);
    const settle = { paused: bot.desiredState === "paused", revision: bot.desiredRevision };
    if (!changes.length) {
      this.setConditions(
        bot,
        {
          Drifted: { status: "False", reason: "MatchesRevision", message: `the live config is revision ${bot.desiredRevision}` },
        },
        settle,
      );
      return;
    }
    const policy = manifest.spec.drift;
    const paths = changes.map((c) => c.path).join(", ");
    this.event(bot, "warn", "drift", `live config differs from revision ${bot.desiredRevision} at ${paths} (policy: ${policy})`, {
      changes,
    });
    this.setConditions(
      bot,
      {
        Drifted: {
          status: "True",
          reason: policy === "alert" ? "DriftAlert" : policy === "revert" ? "Reverting" : "Adopting",
          message: `drift at ${paths}${policy === "alert" ? " (policy alert: revert or adopt it)" : ""}`,
        },
      },
      settle,
    );
    if (policy === "revert") this.revert(bot);
    else if (policy === "adopt") this.adopt(bot, changes, live, rt.config);
    return { bot: bot.name, changes, policy };
  }

  private revert(bot: BotRow): void {
    this.db.transaction((tx) => {
      enqueue(tx, bot.id, "reconcile", { now: this.now() });
    });
    this.poke();
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
      const code = e instanceof ServiceError ? e.code : undefined;
      const why = redactString((e as Error).message);
      // What policy or the bot's layers forbid is reverted even under adopt: leaving it running would run a config
      // Molthub refuses to save. Anything else (a conflict, a failure) keeps the bot flagged until someone acts.
      if (code === "policy_blocked" || code === "invalid_request") {
        this.event(bot, "warn", "drift.reverted", `the live change cannot be adopted and is reverted: ${why}`);
        this.revert(bot);
        return;
      }
      this.event(bot, "error", "drift.adopt_failed", `the live change could not be adopted: ${why}`);
      this.setConditions(
        bot,
        {
          Drifted: {
            status: "True",
            reason: "AdoptFailed",
            message: "drift that cannot be adopted; revert it or change the bot's layers",
          },
        },
        { paused: bot.desiredState === "paused", revision: bot.desiredRevision },
      );
    }
  }
}

/** What configured channels report as their last error, one line each. */
function channelErrors(ch: unknown): string[] {
  const channels = (ch as { channels?: Record<string, { lastError?: string | null; configured?: boolean }> }).channels ?? {};
  return Object.entries(channels).flatMap(([name, c]) =>
    c?.configured && c.lastError ? [`channel ${name}: ${c.lastError}`] : [],
  );
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
