import { randomBytes, randomUUID } from "node:crypto";
import { and, desc, eq, ne } from "drizzle-orm";
import { botEvents, botRevisions, bots, healthSnapshots, jobs } from "../db/schema.ts";
import type { Tx } from "../db/client.ts";
import { targetHost, validateManifest, type Manifest } from "../domain/manifest.ts";
import { allocatePort, canonicalJson, diffConfig, type PathChange } from "../domain/openclaw-config.ts";
import { recordAudit } from "../core/audit.ts";
import { authorize, type ServiceContext } from "../core/context.ts";
import { ServiceError } from "../core/errors.ts";
import { missingSecrets } from "./secrets.ts";
import { enqueue, type JobKind } from "../reconciler/queue.ts";
import { enforcePolicy, renderBot, type RenderedBot } from "./render.ts";
import type { EvaluationResult } from "../domain/policy.ts";
import type { Provenance } from "../domain/layers.ts";
import type { BotAction } from "../domain/bot-actions.ts";

export type BotRow = typeof bots.$inferSelect;

/** A port (and the browser-control port beside it) that nothing on this machine listens on yet. */
function portFreeLocally(port: number): boolean {
  for (const p of [port, port + 2]) {
    try {
      Bun.listen({ hostname: "127.0.0.1", port: p, socket: { data() {} } }).stop(true);
    } catch {
      return false;
    }
  }
  return true;
}

export interface BotView {
  id: string;
  name: string;
  fleet: string | null;
  environment: string | null;
  labels: Record<string, string>;
  provider: string;
  host: string;
  port: number;
  status: BotRow["status"];
  statusReason: string;
  desiredState: BotRow["desiredState"];
  desiredRevision: number;
  appliedRevision: number | null;
  drift: Manifest["spec"]["drift"];
  createdAt: number;
  updatedAt: number;
}

export function botView(b: BotRow, manifest?: Manifest): BotView {
  return {
    id: b.id, name: b.name, fleet: b.fleet, environment: b.environment, labels: JSON.parse(b.labels), provider: b.provider, host: b.host, port: b.port,
    status: b.status, statusReason: b.statusReason, desiredState: b.desiredState, desiredRevision: b.desiredRevision, appliedRevision: b.appliedRevision,
    drift: manifest?.spec.drift ?? "revert", createdAt: b.createdAt, updatedAt: b.updatedAt,
  };
}

function findBot(tx: Tx, ws: string, name: string): BotRow {
  const b = tx.select().from(bots).where(and(eq(bots.workspaceId, ws), eq(bots.name, name), eq(bots.deleting, false))).get();
  if (!b) throw new ServiceError("not_found", `no bot named ${name}`);
  return b;
}

export function latestRevision(tx: Tx, botId: string, revision?: number) {
  const r = revision === undefined
    ? tx.select().from(botRevisions).where(eq(botRevisions.botId, botId)).orderBy(desc(botRevisions.revision)).limit(1).get()
    : tx.select().from(botRevisions).where(and(eq(botRevisions.botId, botId), eq(botRevisions.revision, revision))).get();
  if (!r) throw new ServiceError("not_found", `revision ${revision} not found`);
  return {
    ...r, manifest: JSON.parse(r.manifest) as Manifest, config: JSON.parse(r.config) as Record<string, unknown>,
    secretRefs: { ...(JSON.parse(r.manifest) as Manifest).spec.secrets, ...(JSON.parse(r.secretRefs) as Record<string, { secret: string }>) },
    provenance: JSON.parse(r.provenance) as Record<string, Provenance>,
    /** the manifest with every layer applied and every secret reference: what the reconciler delivers */
    effective: effectiveOf(r),
  };
}

export interface ApplyResult {
  bot: BotView;
  action: "created" | "updated" | "unchanged";
  revision: number;
  changes: PathChange[];
  /** policy findings that did not block (advisory packs, warnings, excepted rules) */
  policy: EvaluationResult;
}

export { LAYOUT_ROOT } from "./render.ts";

function effectiveOf(r: typeof botRevisions.$inferSelect): Manifest {
  const m = JSON.parse(r.manifest) as Manifest;
  const openclaw = r.resolved ? (JSON.parse(r.resolved) as Record<string, unknown>) : m.spec.openclaw;
  return { ...m, spec: { ...m.spec, openclaw, secrets: { ...m.spec.secrets, ...(JSON.parse(r.secretRefs) as Record<string, { secret: string }>) } } };
}

type Checked = RenderedBot & { policy: EvaluationResult };

/** Renders a bot through its layers, checks its secrets exist and enforces the policy packs. */
function renderChecked(tx: Tx, ctx: ServiceContext, ws: string, m: Manifest, port: number, host: string, botId?: string): Checked {
  const r = renderBot(tx, ws, m, { port, now: new Date(ctx.now()) });
  const missing = missingSecrets(tx, ws, [...new Set(Object.values(r.secretRefs).map((s) => s.secret))]);
  if (missing.length) {
    throw new ServiceError("invalid_request", `bot ${m.metadata.name} is not applied: missing secret${missing.length > 1 ? "s" : ""} ${missing.join(", ")}; create ${missing.length > 1 ? "them" : "it"} first`,
      missing.map((s) => ({ path: "spec.secrets", message: `secret ${s} does not exist` })));
  }
  const policy = enforcePolicy(tx, ws, r, { id: botId, port, host, now: ctx.now() });
  return { ...r, policy };
}

function revisionExtras(r: RenderedBot) {
  return { secretRefs: JSON.stringify(r.secretRefs), provenance: JSON.stringify(r.resolution.provenance), resolved: JSON.stringify(r.resolution.value) };
}

/** Validates a manifest from a request; a bad one is an invalid_request listing every wrong path. */
export function manifestInput(input: unknown): Manifest {
  try {
    return validateManifest(input);
  } catch (e) {
    const err = e as { message: string; issues?: { path: string; message: string }[] };
    throw new ServiceError("invalid_request", err.message, err.issues);
  }
}

/**
 * Applies a manifest: validate → authorize → check secrets → store an immutable revision and the audit
 * entry in one transaction → queue a reconcile. Applying the same manifest twice changes nothing.
 */
export function applyManifest(ctx: ServiceContext, input: unknown, opts: { dryRun?: boolean; source?: "apply" | "ui" | "adopt"; createOnly?: boolean } = {}): ApplyResult {
  const ws = authorize(ctx, "operator");
  const m = manifestInput(input);
  const host = targetHost(m);
  const run = (tx: Tx): ApplyResult => {
    const now = ctx.now();
    const existing = tx.select().from(bots).where(and(eq(bots.workspaceId, ws), eq(bots.name, m.metadata.name))).get();
    if (existing?.deleting) throw new ServiceError("conflict", `bot ${m.metadata.name} is being deleted; wait until it is gone, then apply again`);
    if (existing && opts.createOnly) throw new ServiceError("conflict", `a bot named ${m.metadata.name} already exists; pick another name, or apply the manifest to update it`, [{ path: "metadata.name", message: "taken" }]);
    if (!existing) {
      const taken = tx.select({ port: bots.port }).from(bots).where(eq(bots.host, host)).all().map((r) => r.port);
      const port = allocatePort(taken, host === "local" ? portFreeLocally : undefined);
      const r = renderChecked(tx, ctx, ws, m, port, host);
      const { config, hash } = r;
      const id = randomUUID();
      const changes = diffConfig({}, config);
      if (opts.dryRun) return { policy: r.policy, bot: { ...botView({ id, workspaceId: ws, name: m.metadata.name, fleet: m.metadata.fleet ?? null, environment: m.metadata.environment ?? null, labels: JSON.stringify(m.metadata.labels ?? {}), provider: m.spec.target.provider, host, port, gatewayTokenEnc: "", desiredRevision: 1, appliedRevision: null, appliedHash: null, appliedEnvHash: null, desiredState: "running", status: "pending", statusReason: "", failures: 0, deleting: false, purge: false, lastSeenAt: null, createdAt: now, updatedAt: now }, m) }, action: "created", revision: 1, changes };
      const token = randomBytes(32).toString("base64url");
      tx.insert(bots).values({
        id, workspaceId: ws, name: m.metadata.name, fleet: m.metadata.fleet ?? null, environment: m.metadata.environment ?? null,
        labels: JSON.stringify(m.metadata.labels ?? {}), provider: m.spec.target.provider, host, port,
        gatewayTokenEnc: ctx.keyring.seal("gateway-token", token, id), desiredRevision: 1,
        desiredState: m.spec.paused ? "paused" : "running", status: "pending", statusReason: "queued for creation", createdAt: now, updatedAt: now,
      }).run();
      tx.insert(botRevisions).values({ ...revisionExtras(r), botId: id, revision: 1, manifest: JSON.stringify(m), config: JSON.stringify(config), configHash: hash, source: opts.source ?? "apply", actor: ctx.actor.label, createdAt: now }).run();
      tx.insert(botEvents).values({ botId: id, ts: now, level: "info", type: "revision", message: `revision 1 created by ${ctx.actor.label}` }).run();
      enqueue(tx, id, "reconcile", { now, requestId: ctx.requestId });
      recordAudit(tx, ctx, { action: "bot.create", resourceType: "bot", resourceId: id, summary: { name: m.metadata.name, provider: m.spec.target.provider, revision: 1, port } });
      return { bot: botView(tx.select().from(bots).where(eq(bots.id, id)).get()!, m), action: "created", revision: 1, changes, policy: r.policy };
    }
    const current = latestRevision(tx, existing.id);
    if (current.manifest.spec.target.provider !== m.spec.target.provider || host !== existing.host) {
      throw new ServiceError("conflict", `bot ${m.metadata.name} runs on ${existing.provider}@${existing.host}; moving it to another target is not supported in place — delete it and apply again`, [{ path: "spec.target", message: "target changed" }]);
    }
    const r = renderChecked(tx, ctx, ws, m, existing.port, existing.host, existing.id);
    const { config, hash } = r;
    const changes = diffConfig(current.config, config);
    if (canonicalJson(current.manifest) === canonicalJson(m) && current.configHash === hash && canonicalJson(current.secretRefs) === canonicalJson(r.secretRefs)) {
      return { bot: botView(existing, m), action: "unchanged", revision: current.revision, changes: [], policy: r.policy };
    }
    const revision = current.revision + 1;
    if (opts.dryRun) return { bot: botView(existing, m), action: "updated", revision, changes, policy: r.policy };
    tx.insert(botRevisions).values({ ...revisionExtras(r), botId: existing.id, revision, manifest: JSON.stringify(m), config: JSON.stringify(config), configHash: hash, source: opts.source ?? "apply", actor: ctx.actor.label, createdAt: now }).run();
    const desiredState = m.spec.paused ? "paused" : existing.desiredState === "paused" && !m.spec.paused ? "running" : existing.desiredState;
    tx.update(bots).set({
      desiredRevision: revision, fleet: m.metadata.fleet ?? null, environment: m.metadata.environment ?? null, labels: JSON.stringify(m.metadata.labels ?? {}),
      desiredState, failures: 0, updatedAt: now, statusReason: `revision ${revision} queued`,
    }).where(eq(bots.id, existing.id)).run();
    tx.insert(botEvents).values({ botId: existing.id, ts: now, level: "info", type: "revision", message: `revision ${revision} created by ${ctx.actor.label} (${changes.length} config change${changes.length === 1 ? "" : "s"})`, data: JSON.stringify({ paths: changes.map((c) => c.path) }) }).run();
    enqueue(tx, existing.id, "reconcile", { now, requestId: ctx.requestId });
    recordAudit(tx, ctx, { action: opts.source === "adopt" ? "bot.adopt" : "bot.update", resourceType: "bot", resourceId: existing.id, summary: { name: m.metadata.name, revision, paths: changes.map((c) => c.path) } });
    return { bot: botView(tx.select().from(bots).where(eq(bots.id, existing.id)).get()!, m), action: "updated", revision, changes, policy: r.policy };
  };
  return opts.dryRun ? run(ctx.db) : ctx.db.transaction(run, { behavior: "immediate" });
}

export function listBots(ctx: ServiceContext): BotView[] {
  const ws = authorize(ctx, "viewer");
  return ctx.db.select().from(bots).where(eq(bots.workspaceId, ws)).orderBy(bots.name).all().map((b) => botView(b));
}

export function getBot(ctx: ServiceContext, name: string) {
  const ws = authorize(ctx, "viewer");
  const b = ctx.db.select().from(bots).where(and(eq(bots.workspaceId, ws), eq(bots.name, name))).get();
  if (!b) throw new ServiceError("not_found", `no bot named ${name}`);
  const rev = latestRevision(ctx.db, b.id, b.desiredRevision);
  const events = ctx.db.select().from(botEvents).where(eq(botEvents.botId, b.id)).orderBy(desc(botEvents.id)).limit(50).all().map((e) => ({ ...e, data: JSON.parse(e.data) }));
  const health = ctx.db.select().from(healthSnapshots).where(eq(healthSnapshots.botId, b.id)).orderBy(desc(healthSnapshots.id)).limit(1).get();
  const revisions = ctx.db.select({ revision: botRevisions.revision, configHash: botRevisions.configHash, source: botRevisions.source, actor: botRevisions.actor, createdAt: botRevisions.createdAt })
    .from(botRevisions).where(eq(botRevisions.botId, b.id)).orderBy(desc(botRevisions.revision)).all();
  const activeJob = ctx.db.select().from(jobs).where(and(eq(jobs.botId, b.id), ne(jobs.state, "done"), ne(jobs.state, "failed"), ne(jobs.state, "cancelled"), ne(jobs.state, "interrupted"))).orderBy(desc(jobs.id)).limit(1).get();
  return {
    bot: botView(b, rev.manifest), manifest: rev.manifest, config: rev.config, revisions, events,
    health: health ? { ts: health.ts, ready: health.ready, ...JSON.parse(health.data) } : null,
    job: activeJob ? { id: activeJob.id, kind: activeJob.kind, state: activeJob.state, attempt: activeJob.attempt } : null,
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
  return { revision: r.revision, manifest: r.manifest, config: r.config, configHash: r.configHash, source: r.source, actor: r.actor, createdAt: r.createdAt };
}

export type { BotAction };

/** Records the operator's intent and queues the job; the reconciler does the work. */
export function botAction(ctx: ServiceContext, name: string, action: BotAction): BotView {
  const ws = authorize(ctx, "operator");
  return ctx.db.transaction((tx) => {
    const b = findBot(tx, ws, name);
    const now = ctx.now();
    const desiredState = action === "stop" ? "stopped" : action === "pause" ? "paused" : "running";
    const kind: JobKind = action === "restart" ? "restart" : action === "stop" ? "stop" : action === "start" ? "start" : "reconcile";
    tx.update(bots).set({ desiredState, failures: 0, updatedAt: now, statusReason: `${action} requested by ${ctx.actor.label}` }).where(eq(bots.id, b.id)).run();
    tx.insert(botEvents).values({ botId: b.id, ts: now, level: "info", type: "action", message: `${action} requested by ${ctx.actor.label}` }).run();
    enqueue(tx, b.id, kind, { now, requestId: ctx.requestId });
    recordAudit(tx, ctx, { action: `bot.${action}`, resourceType: "bot", resourceId: b.id, summary: { name } });
    return botView(tx.select().from(bots).where(eq(bots.id, b.id)).get()!);
  }, { behavior: "immediate" });
}

export function deleteBot(ctx: ServiceContext, name: string, opts: { purge: boolean }): BotView {
  const ws = authorize(ctx, "operator");
  return ctx.db.transaction((tx) => {
    const b = findBot(tx, ws, name);
    const now = ctx.now();
    tx.update(bots).set({ deleting: true, purge: opts.purge, status: "deleting", statusReason: opts.purge ? "deleting with its data" : "deleting (data kept)", updatedAt: now }).where(eq(bots.id, b.id)).run();
    tx.insert(botEvents).values({ botId: b.id, ts: now, level: "info", type: "action", message: `delete requested by ${ctx.actor.label}`, data: JSON.stringify({ purge: opts.purge }) }).run();
    enqueue(tx, b.id, "delete", { now, requestId: ctx.requestId });
    recordAudit(tx, ctx, { action: "bot.delete", resourceType: "bot", resourceId: b.id, summary: { name, purge: opts.purge } });
    return botView(tx.select().from(bots).where(eq(bots.id, b.id)).get()!);
  }, { behavior: "immediate" });
}

/** Cancels the bot's running job, if any; the reconciler stops at the current step and re-plans later. */
export function cancelJob(ctx: ServiceContext, name: string, cancel: (jobId: number) => boolean): { cancelled: boolean; jobId: number | null } {
  const ws = authorize(ctx, "operator");
  const b = findBot(ctx.db, ws, name);
  const running = ctx.db.select().from(jobs).where(and(eq(jobs.botId, b.id), eq(jobs.state, "running"))).get();
  if (!running) return { cancelled: false, jobId: null };
  const cancelled = cancel(running.id);
  ctx.db.transaction((tx) => {
    tx.insert(botEvents).values({ botId: b.id, ts: ctx.now(), level: "warn", type: "action", message: `job ${running.id} (${running.kind}) cancelled by ${ctx.actor.label}` }).run();
    recordAudit(tx, ctx, { action: "bot.cancel", resourceType: "bot", resourceId: b.id, summary: { name, jobId: running.id } });
  }, { behavior: "immediate" });
  return { cancelled, jobId: running.id };
}

export function botEventsAfter(ctx: ServiceContext, name: string, afterId = 0) {
  const ws = authorize(ctx, "viewer");
  const b = ctx.db.select().from(bots).where(and(eq(bots.workspaceId, ws), eq(bots.name, name))).get();
  if (!b) throw new ServiceError("not_found", `no bot named ${name}`);
  return ctx.db.select().from(botEvents).where(and(eq(botEvents.botId, b.id))).orderBy(desc(botEvents.id)).limit(200).all().filter((e) => e.id > afterId).reverse();
}

/** Exports every bot's current manifest (desired state) for backup or GitOps. */
export function exportManifests(ctx: ServiceContext): Manifest[] {
  const ws = authorize(ctx, "viewer");
  return ctx.db.select().from(bots).where(and(eq(bots.workspaceId, ws), eq(bots.deleting, false))).orderBy(bots.name).all().map((b) => latestRevision(ctx.db, b.id, b.desiredRevision).manifest);
}

export interface BlastEntry {
  bot: string;
  action: "updated" | "unchanged" | "failed";
  /** the new revision when written, or the one it would get */
  revision: number;
  changes: PathChange[];
  error?: { code: string; message: string; issues: { path: string; message: string }[] };
}

/**
 * The blast radius of a change to shared configuration (a template, profile, overlay, connector or policy):
 * re-renders the workspace's bots against what is stored now — call it inside the transaction that made the
 * change — and, with `write`, stores a new revision (source "layer") for every bot whose config or secret
 * references changed and queues it. Bots that would fail (conflict, policy, missing secret) are reported, not
 * written; the caller decides whether that refuses the change.
 */
export function rerenderBots(tx: Tx, ctx: ServiceContext, opts: { write: boolean; reason: string; only?: (m: Manifest) => boolean }): BlastEntry[] {
  const ws = authorize(ctx, "operator");
  const out: BlastEntry[] = [];
  for (const b of tx.select().from(bots).where(and(eq(bots.workspaceId, ws), eq(bots.deleting, false))).orderBy(bots.name).all()) {
    const current = latestRevision(tx, b.id, b.desiredRevision);
    if (opts.only && !opts.only(current.manifest)) continue;
    let r: Checked;
    try {
      r = renderChecked(tx, ctx, ws, current.manifest, b.port, b.host, b.id);
    } catch (e) {
      if (!(e instanceof ServiceError)) throw e;
      const d = e.details as { issues?: { path: string; message: string }[] } | { path: string; message: string }[] | undefined;
      const issues = Array.isArray(d) ? d : d?.issues ?? [];
      out.push({ bot: b.name, action: "failed", revision: current.revision, changes: [], error: { code: e.code, message: e.message, issues } });
      continue;
    }
    const changes = diffConfig(current.config, r.config);
    if (current.configHash === r.hash && canonicalJson(current.secretRefs) === canonicalJson(r.secretRefs)) {
      out.push({ bot: b.name, action: "unchanged", revision: current.revision, changes: [] });
      continue;
    }
    const last = latestRevision(tx, b.id).revision;
    const revision = last + 1;
    out.push({ bot: b.name, action: "updated", revision, changes });
    if (!opts.write) continue;
    const now = ctx.now();
    tx.insert(botRevisions).values({ ...revisionExtras(r), botId: b.id, revision, manifest: JSON.stringify(current.manifest), config: JSON.stringify(r.config), configHash: r.hash, source: "layer", actor: ctx.actor.label, createdAt: now }).run();
    tx.update(bots).set({ desiredRevision: revision, failures: 0, updatedAt: now, statusReason: `revision ${revision} queued (${opts.reason})` }).where(eq(bots.id, b.id)).run();
    tx.insert(botEvents).values({ botId: b.id, ts: now, level: "info", type: "revision", message: `revision ${revision} created by ${ctx.actor.label}: ${opts.reason} (${changes.length} config change${changes.length === 1 ? "" : "s"})`, data: JSON.stringify({ paths: changes.map((c) => c.path) }) }).run();
    enqueue(tx, b.id, "reconcile", { now, requestId: ctx.requestId });
    recordAudit(tx, ctx, { action: "bot.update", resourceType: "bot", resourceId: b.id, summary: { name: b.name, revision, reason: opts.reason, paths: changes.map((c) => c.path) } });
  }
  return out;
}
