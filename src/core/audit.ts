/**
 * The audit chain: every change writes one hash-chained entry in its own transaction; retention prunes behind a
 * signed checkpoint so verification still detects edits, removals and forged checkpoints.
 */
import { createHash } from "node:crypto";
import { asc, desc, eq, gt, lt, lte, sql } from "drizzle-orm";
import type { Db, Tx } from "../db/client.ts";
import { auditCheckpoints, auditLog, settings } from "../db/schema.ts";
import type { Keyring } from "../secrets/keyring.ts";
import { redact } from "../secrets/redact.ts";
import type { ServiceContext } from "./context.ts";

const GENESIS = "0".repeat(64);

export interface AuditInput {
  action: string;
  resourceType: string;
  resourceId?: string | null;
  summary?: unknown;
  /** defaults to the actor's workspace */
  workspaceId?: string | null;
}

type Row = typeof auditLog.$inferSelect;

function entryHash(prevHash: string, r: Omit<Row, "id" | "hash" | "prevHash">): string {
  const canonical = JSON.stringify([
    prevHash,
    r.ts,
    r.workspaceId,
    r.actorType,
    r.actorId,
    r.actorLabel,
    r.action,
    r.resourceType,
    r.resourceId,
    r.requestId,
    r.summary,
  ]);
  return createHash("sha256").update(canonical).digest("hex");
}

function chainHead(tx: Tx): string {
  const last = tx.select({ hash: auditLog.hash }).from(auditLog).orderBy(desc(auditLog.id)).limit(1).get();
  if (last) return last.hash;
  const cp = tx.select({ h: auditCheckpoints.uptoHash }).from(auditCheckpoints).orderBy(desc(auditCheckpoints.id)).limit(1).get();
  return cp?.h ?? GENESIS;
}

/**
 * Writes one audit entry. Call it inside the transaction that makes the change, so that the change and
 * its entry commit (or roll back) together. The summary is redacted before it is stored.
 */
export function recordAudit(tx: Tx, ctx: Pick<ServiceContext, "actor" | "requestId" | "now">, input: AuditInput): Row {
  const base = {
    ts: ctx.now(),
    workspaceId: input.workspaceId === undefined ? ctx.actor.workspaceId : input.workspaceId,
    actorType: ctx.actor.type,
    actorId: ctx.actor.tokenId ?? ctx.actor.userId,
    actorLabel: ctx.actor.label,
    action: input.action,
    resourceType: input.resourceType,
    resourceId: input.resourceId ?? null,
    requestId: ctx.requestId ?? null,
    summary: JSON.stringify(redact(input.summary ?? {})),
  };
  const prevHash = chainHead(tx);
  const hash = entryHash(prevHash, base);
  return tx
    .insert(auditLog)
    .values({ ...base, prevHash, hash })
    .returning()
    .get();
}

export interface VerifyResult {
  ok: boolean;
  checked: number;
  /** the id of the first entry whose link is broken */
  brokenAt?: number;
  reason?: string;
  fromCheckpoint?: number;
}

/** Walks the chain from the latest signed checkpoint (or the start) and reports the first broken link. */
export function verifyAudit(db: Db, keyring: Keyring): VerifyResult {
  const cp = db.select().from(auditCheckpoints).orderBy(desc(auditCheckpoints.id)).limit(1).get();
  let prev = GENESIS;
  if (cp) {
    const expected = keyring.hmac("audit-checkpoint", `${cp.uptoId}|${cp.uptoHash}|${cp.createdAt}`);
    if (expected !== cp.signature)
      return {
        ok: false,
        checked: 0,
        brokenAt: cp.uptoId,
        reason: `checkpoint ${cp.id} has an invalid signature`,
        fromCheckpoint: cp.id,
      };
    prev = cp.uptoHash;
  }
  let checked = 0;
  let lastId = cp?.uptoId ?? 0;
  for (;;) {
    const rows = db.select().from(auditLog).where(gt(auditLog.id, lastId)).orderBy(asc(auditLog.id)).limit(1000).all();
    if (rows.length === 0) break;
    for (const r of rows) {
      if (r.prevHash !== prev)
        return {
          ok: false,
          checked,
          brokenAt: r.id,
          reason: "prev_hash does not match the previous entry (an entry was removed or reordered)",
          fromCheckpoint: cp?.id,
        };
      if (entryHash(prev, r) !== r.hash)
        return {
          ok: false,
          checked,
          brokenAt: r.id,
          reason: "the entry's content does not match its hash (it was edited)",
          fromCheckpoint: cp?.id,
        };
      prev = r.hash;
      checked++;
      lastId = r.id;
    }
  }
  return { ok: true, checked, fromCheckpoint: cp?.id };
}

export function getRetentionDays(db: Tx): number {
  const row = db.select().from(settings).where(eq(settings.key, "audit.retentionDays")).get();
  return row ? Number(JSON.parse(row.value)) : 0;
}

/**
 * Prunes entries older than the retention window. The chain stays verifiable: the last pruned entry's id
 * and hash are kept in a checkpoint signed with the appliance key, and verification starts from it.
 * 1. Find the newest entry older than the cutoff; none → nothing to do.
 * 2. In one transaction: write the signed checkpoint, delete entries up to it, audit the prune.
 */
export function pruneAudit(
  db: Db,
  keyring: Keyring,
  ctx: Pick<ServiceContext, "actor" | "requestId" | "now">,
  retentionDays: number,
): { pruned: number } {
  if (retentionDays <= 0) return { pruned: 0 };
  const cutoff = ctx.now() - retentionDays * 86_400_000;
  const last = db.select().from(auditLog).where(lt(auditLog.ts, cutoff)).orderBy(desc(auditLog.id)).limit(1).get();
  if (!last) return { pruned: 0 };
  return db.transaction(
    (tx) => {
      const createdAt = ctx.now();
      const count = tx.select({ n: sql<number>`count(*)` }).from(auditLog).where(lte(auditLog.id, last.id)).get()!.n;
      tx.insert(auditCheckpoints)
        .values({
          uptoId: last.id,
          uptoHash: last.hash,
          prunedCount: count,
          createdAt,
          signature: keyring.hmac("audit-checkpoint", `${last.id}|${last.hash}|${createdAt}`),
        })
        .run();
      tx.delete(auditLog).where(lte(auditLog.id, last.id)).run();
      recordAudit(tx, ctx, {
        action: "audit.prune",
        resourceType: "audit",
        workspaceId: null,
        summary: { retentionDays, pruned: count, uptoId: last.id },
      });
      return { pruned: count };
    },
    { behavior: "immediate" },
  );
}
