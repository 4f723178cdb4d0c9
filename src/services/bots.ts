import { and, desc, eq, ne } from "drizzle-orm";
import { recordAudit } from "../core/audit.ts";
import { authorize, type ServiceContext } from "../core/context.ts";
import { inTransaction } from "../core/transaction.ts";
import { botEvents, botRevisions, bots, healthSnapshots, jobs } from "../db/schema.ts";
import type { BotAction } from "../domain/bot-actions.ts";
import type { Manifest } from "../domain/manifest.ts";
import { diffConfig } from "../domain/openclaw-config.ts";
import { enqueue, type JobKind } from "../fleet/queue.ts";
import { type ApplyResult, applyRevision, manifestInput, type RevisionSource } from "../fleet/revisions.ts";
import { botSecrets } from "../fleet/rollouts.ts";
import { type BotView, botView, findAnyBot, findBot, latestRevision } from "../fleet/store.ts";

export type { ApplyResult, BlastEntry } from "../fleet/revisions.ts";
export type { BotSecretView } from "../fleet/rollouts.ts";
export type { BotView } from "../fleet/store.ts";
export type { BotAction };

/**
 * Applies a manifest: validate → authorize → render (layers, secrets, policy) → store an immutable revision, its
 * event, job and audit entry in one transaction. Applying the same manifest twice changes nothing. A dry run
 * does all of it and rolls back, so it answers exactly as the real apply would.
 */
export function applyManifest(
  ctx: ServiceContext,
  input: unknown,
  opts: { dryRun?: boolean; source?: RevisionSource; createOnly?: boolean } = {},
): ApplyResult {
  const ws = authorize(ctx, "operator");
  const m = manifestInput(input);
  return inTransaction(ctx, !!opts.dryRun, (tx) =>
    applyRevision(tx, ctx, ws, m, { source: opts.source ?? "apply", createOnly: opts.createOnly }),
  );
}

export function listBots(ctx: ServiceContext): BotView[] {
  const ws = authorize(ctx, "viewer");
  return ctx.db
    .select()
    .from(bots)
    .where(eq(bots.workspaceId, ws))
    .orderBy(bots.name)
    .all()
    .map((b) => botView(b));
}

export function getBot(ctx: ServiceContext, name: string) {
  const ws = authorize(ctx, "viewer");
  const b = findAnyBot(ctx.db, ws, name);
  const rev = latestRevision(ctx.db, b.id, b.desiredRevision);
  const events = ctx.db
    .select()
    .from(botEvents)
    .where(eq(botEvents.botId, b.id))
    .orderBy(desc(botEvents.id))
    .limit(50)
    .all()
    .map((e) => ({ ...e, data: JSON.parse(e.data) }));
  const health = ctx.db
    .select()
    .from(healthSnapshots)
    .where(eq(healthSnapshots.botId, b.id))
    .orderBy(desc(healthSnapshots.id))
    .limit(1)
    .get();
  const revisions = ctx.db
    .select({
      revision: botRevisions.revision,
      configHash: botRevisions.configHash,
      source: botRevisions.source,
      actor: botRevisions.actor,
      createdAt: botRevisions.createdAt,
    })
    .from(botRevisions)
    .where(eq(botRevisions.botId, b.id))
    .orderBy(desc(botRevisions.revision))
    .all();
  const activeJob = ctx.db
    .select()
    .from(jobs)
    .where(
      and(
        eq(jobs.botId, b.id),
        ne(jobs.state, "done"),
        ne(jobs.state, "failed"),
        ne(jobs.state, "cancelled"),
        ne(jobs.state, "interrupted"),
      ),
    )
    .orderBy(desc(jobs.id))
    .limit(1)
    .get();
  return {
    bot: botView(b, rev.manifest),
    manifest: rev.manifest,
    config: rev.config,
    revisions,
    events,
    health: health ? { ts: health.ts, ready: health.ready, ...JSON.parse(health.data) } : null,
    job: activeJob ? { id: activeJob.id, kind: activeJob.kind, state: activeJob.state, attempt: activeJob.attempt } : null,
    // which secret versions the gateway runs, and which are outdated until a restart delivers them
    secrets: botSecrets(ctx.db, b, rev.secretRefs),
  };
}

export function diffRevisions(ctx: ServiceContext, name: string, from: number, to: number) {
  const ws = authorize(ctx, "viewer");
  const b = findBot(ctx.db, ws, name);
  const a = latestRevision(ctx.db, b.id, from);
  const c = latestRevision(ctx.db, b.id, to);
  return { from, to, config: diffConfig(a.config, c.config), manifest: diffConfig(a.manifest, c.manifest) };
}

export function getRevision(ctx: ServiceContext, name: string, revision: number) {
  const ws = authorize(ctx, "viewer");
  const b = findBot(ctx.db, ws, name);
  const r = latestRevision(ctx.db, b.id, revision);
  return {
    revision: r.revision,
    manifest: r.manifest,
    config: r.config,
    configHash: r.configHash,
    source: r.source,
    actor: r.actor,
    createdAt: r.createdAt,
  };
}

/** Records the operator's intent and queues the job; the reconciler does the work. */
export function botAction(ctx: ServiceContext, name: string, action: BotAction): BotView {
  const ws = authorize(ctx, "operator");
  return ctx.db.transaction(
    (tx) => {
      const b = findBot(tx, ws, name);
      const now = ctx.now();
      const desiredState = action === "stop" ? "stopped" : action === "pause" ? "paused" : "running";
      const kind: JobKind =
        action === "restart" ? "restart" : action === "stop" ? "stop" : action === "start" ? "start" : "reconcile";
      tx.update(bots)
        .set({ desiredState, failures: 0, updatedAt: now, statusReason: `${action} requested by ${ctx.actor.label}` })
        .where(eq(bots.id, b.id))
        .run();
      tx.insert(botEvents)
        .values({ botId: b.id, ts: now, level: "info", type: "action", message: `${action} requested by ${ctx.actor.label}` })
        .run();
      enqueue(tx, b.id, kind, { now, requestId: ctx.requestId });
      recordAudit(tx, ctx, { action: `bot.${action}`, resourceType: "bot", resourceId: b.id, summary: { name } });
      return botView(tx.select().from(bots).where(eq(bots.id, b.id)).get()!);
    },
    { behavior: "immediate" },
  );
}

export function deleteBot(ctx: ServiceContext, name: string, opts: { purge: boolean }): BotView {
  const ws = authorize(ctx, "operator");
  return ctx.db.transaction(
    (tx) => {
      const b = findBot(tx, ws, name);
      const now = ctx.now();
      tx.update(bots)
        .set({
          deleting: true,
          purge: opts.purge,
          status: "deleting",
          statusReason: opts.purge ? "deleting with its data" : "deleting (data kept)",
          updatedAt: now,
        })
        .where(eq(bots.id, b.id))
        .run();
      tx.insert(botEvents)
        .values({
          botId: b.id,
          ts: now,
          level: "info",
          type: "action",
          message: `delete requested by ${ctx.actor.label}`,
          data: JSON.stringify({ purge: opts.purge }),
        })
        .run();
      enqueue(tx, b.id, "delete", { now, requestId: ctx.requestId });
      recordAudit(tx, ctx, { action: "bot.delete", resourceType: "bot", resourceId: b.id, summary: { name, purge: opts.purge } });
      return botView(tx.select().from(bots).where(eq(bots.id, b.id)).get()!);
    },
    { behavior: "immediate" },
  );
}

/** Cancels the bot's running job, if any; the reconciler stops at the current step and re-plans later. */
export function cancelJob(
  ctx: ServiceContext,
  name: string,
  cancel: (jobId: number) => boolean,
): { cancelled: boolean; jobId: number | null } {
  const ws = authorize(ctx, "operator");
  const b = findBot(ctx.db, ws, name);
  const running = ctx.db
    .select()
    .from(jobs)
    .where(and(eq(jobs.botId, b.id), eq(jobs.state, "running")))
    .get();
  if (!running) return { cancelled: false, jobId: null };
  const cancelled = cancel(running.id);
  ctx.db.transaction(
    (tx) => {
      tx.insert(botEvents)
        .values({
          botId: b.id,
          ts: ctx.now(),
          level: "warn",
          type: "action",
          message: `job ${running.id} (${running.kind}) cancelled by ${ctx.actor.label}`,
        })
        .run();
      recordAudit(tx, ctx, { action: "bot.cancel", resourceType: "bot", resourceId: b.id, summary: { name, jobId: running.id } });
    },
    { behavior: "immediate" },
  );
  return { cancelled, jobId: running.id };
}

/** Exports every bot's current manifest (desired state) for backup or GitOps. */
export function exportManifests(ctx: ServiceContext): Manifest[] {
  const ws = authorize(ctx, "viewer");
  return ctx.db
    .select()
    .from(bots)
    .where(and(eq(bots.workspaceId, ws), eq(bots.deleting, false)))
    .orderBy(bots.name)
    .all()
    .map((b) => latestRevision(ctx.db, b.id, b.desiredRevision).manifest);
}
