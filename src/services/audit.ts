import { and, asc, desc, eq, gt, gte, like, lt, lte, sql } from "drizzle-orm";
import { authorize, type ServiceContext } from "../core/context.ts";
import { auditLog } from "../db/schema.ts";

type Row = typeof auditLog.$inferSelect;

export interface AuditQuery {
  actor?: string;
  action?: string;
  resourceType?: string;
  resourceId?: string;
  from?: number;
  to?: number;
  cursor?: number;
  limit?: number;
}

export interface AuditEntryView {
  id: number;
  ts: number;
  time: string;
  actorType: string;
  actorId: string | null;
  actor: string;
  action: string;
  resourceType: string;
  resourceId: string | null;
  requestId: string | null;
  summary: unknown;
}

function view(r: Row): AuditEntryView {
  return {
    id: r.id,
    ts: r.ts,
    time: new Date(r.ts).toISOString(),
    actorType: r.actorType,
    actorId: r.actorId,
    actor: r.actorLabel,
    action: r.action,
    resourceType: r.resourceType,
    resourceId: r.resourceId,
    requestId: r.requestId,
    summary: JSON.parse(r.summary),
  };
}

/** Newest first, scoped to the actor's workspace; `nextCursor` continues after the last entry. */
export function listAudit(ctx: ServiceContext, q: AuditQuery): { items: AuditEntryView[]; nextCursor: number | null } {
  const ws = authorize(ctx, "viewer");
  const limit = Math.min(Math.max(q.limit ?? 50, 1), 500);
  const conds = [eq(auditLog.workspaceId, ws)];
  if (q.actor) conds.push(sql`(${auditLog.actorLabel} = ${q.actor} OR ${auditLog.actorId} = ${q.actor})`);
  if (q.action)
    conds.push(
      q.action.endsWith("*")
        ? like(auditLog.action, `${q.action.slice(0, -1).replace(/[%_]/g, "")}%`)
        : eq(auditLog.action, q.action),
    );
  if (q.resourceType) conds.push(eq(auditLog.resourceType, q.resourceType));
  if (q.resourceId) conds.push(eq(auditLog.resourceId, q.resourceId));
  if (q.from !== undefined) conds.push(gte(auditLog.ts, q.from));
  if (q.to !== undefined) conds.push(lte(auditLog.ts, q.to));
  if (q.cursor !== undefined) conds.push(lt(auditLog.id, q.cursor));
  const rows = ctx.db
    .select()
    .from(auditLog)
    .where(and(...conds))
    .orderBy(desc(auditLog.id))
    .limit(limit + 1)
    .all();
  const more = rows.length > limit;
  const items = rows.slice(0, limit).map(view);
  return { items, nextCursor: more ? items[items.length - 1]!.id : null };
}

/** Streams every matching entry oldest first, for CSV / JSONL export. */
export function* exportAudit(ctx: ServiceContext, q: Omit<AuditQuery, "cursor" | "limit">): Generator<AuditEntryView> {
  const ws = authorize(ctx, "viewer");
  let after = 0;
  for (;;) {
    const conds = [eq(auditLog.workspaceId, ws), gt(auditLog.id, after)];
    if (q.actor) conds.push(sql`(${auditLog.actorLabel} = ${q.actor} OR ${auditLog.actorId} = ${q.actor})`);
    if (q.action) conds.push(eq(auditLog.action, q.action));
    if (q.resourceType) conds.push(eq(auditLog.resourceType, q.resourceType));
    if (q.from !== undefined) conds.push(gte(auditLog.ts, q.from));
    if (q.to !== undefined) conds.push(lte(auditLog.ts, q.to));
    const rows = ctx.db
      .select()
      .from(auditLog)
      .where(and(...conds))
      .orderBy(asc(auditLog.id))
      .limit(500)
      .all();
    if (rows.length === 0) return;
    for (const r of rows) yield view(r);
    after = rows[rows.length - 1]!.id;
  }
}

export function toCsvRow(e: AuditEntryView): string {
  const cells = [
    e.id,
    e.time,
    e.actorType,
    e.actor,
    e.action,
    e.resourceType,
    e.resourceId ?? "",
    e.requestId ?? "",
    JSON.stringify(e.summary),
  ];
  return cells
    .map((c) => {
      const s = String(c);
      return /[",\n\r]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
    })
    .join(",");
}
export const CSV_HEADER = "id,time,actor_type,actor,action,resource_type,resource_id,request_id,summary";
