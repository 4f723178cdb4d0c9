import { and, asc, eq, inArray, lte, sql } from "drizzle-orm";
import type { Db, Tx } from "../db/client.ts";
import { bots, jobs } from "../db/schema.ts";

export type JobKind = (typeof jobs.$inferSelect)["kind"];
export type Job = typeof jobs.$inferSelect;

/**
 * Jobs live in SQLite so they survive restarts. One active job per bot: a new request for a bot that
 * already has a queued job collapses into it (a delete supersedes everything queued).
 */
export function enqueue(
  tx: Tx,
  botId: string,
  kind: JobKind,
  opts: { now: number; notBefore?: number; requestId?: string },
): { id: number; collapsed: boolean } {
  const queued = tx
    .select()
    .from(jobs)
    .where(and(eq(jobs.botId, botId), eq(jobs.state, "queued")))
    .orderBy(asc(jobs.id))
    .all();
  if (kind === "delete") {
    if (queued.length)
      tx.update(jobs)
        .set({ state: "cancelled", finishedAt: opts.now, error: "superseded by delete" })
        .where(
          inArray(
            jobs.id,
            queued.map((q) => q.id),
          ),
        )
        .run();
  } else if (queued.length) {
    const q = queued[0]!;
    // every kind ends in "make it match the desired state", so the queued job can carry the newest intent
    const merged: JobKind = q.kind === "delete" ? "delete" : kind === "restart" || q.kind === "restart" ? "restart" : kind;
    tx.update(jobs)
      .set({ kind: merged, notBefore: Math.min(q.notBefore, opts.notBefore ?? opts.now), attempt: 0 })
      .where(eq(jobs.id, q.id))
      .run();
    return { id: q.id, collapsed: true };
  }
  const row = tx
    .insert(jobs)
    .values({
      botId,
      kind,
      state: "queued",
      notBefore: opts.notBefore ?? opts.now,
      requestId: opts.requestId ?? null,
      createdAt: opts.now,
    })
    .returning({ id: jobs.id })
    .get();
  return { id: row.id, collapsed: false };
}

/**
 * Claims the oldest due job of a bot that has no running job; null when there is none. Jobs of bots on
 * `excludeHosts` (targets with no free slot) wait, so the next bot elsewhere goes first.
 */
export function claimNext(db: Db, now: number, opts: { excludeHosts?: string[] } = {}): Job | null {
  const exclude = opts.excludeHosts ?? [];
  return db.transaction(
    (tx) => {
      const candidate = tx
        .select()
        .from(jobs)
        .where(
          and(
            eq(jobs.state, "queued"),
            lte(jobs.notBefore, now),
            sql`NOT EXISTS (SELECT 1 FROM jobs r WHERE r.bot_id = ${jobs.botId} AND r.state = 'running')`,
            exclude.length
              ? sql`NOT EXISTS (SELECT 1 FROM bots b WHERE b.id = ${jobs.botId} AND b.host IN (${sql.join(
                  exclude.map((h) => sql`${h}`),
                  sql`, `,
                )}))`
              : undefined,
          ),
        )
        .orderBy(asc(jobs.notBefore), asc(jobs.id))
        .limit(1)
        .get();
      if (!candidate) return null;
      tx.update(jobs)
        .set({ state: "running", startedAt: now, attempt: candidate.attempt + 1 })
        .where(eq(jobs.id, candidate.id))
        .run();
      return { ...candidate, state: "running" as const, startedAt: now, attempt: candidate.attempt + 1 };
    },
    { behavior: "immediate" },
  );
}

export function finish(db: Tx, id: number, state: "done" | "failed" | "cancelled", now: number, error?: string): void {
  db.update(jobs)
    .set({ state, finishedAt: now, error: error ?? null })
    .where(eq(jobs.id, id))
    .run();
}

/**
 * After a crash or kill, jobs left "running" were interrupted mid-step. Mark them so, and queue a
 * reconcile for each bot: the next pass re-plans from what is observed, so nothing is applied twice.
 */
export function recoverInterrupted(db: Db, now: number): number {
  return db.transaction(
    (tx) => {
      const running = tx.select().from(jobs).where(eq(jobs.state, "running")).all();
      for (const j of running) {
        tx.update(jobs)
          .set({ state: "interrupted", finishedAt: now, error: "the appliance stopped during this job" })
          .where(eq(jobs.id, j.id))
          .run();
        const bot = tx.select({ deleting: bots.deleting }).from(bots).where(eq(bots.id, j.botId)).get();
        if (bot) enqueue(tx, j.botId, bot.deleting || j.kind === "delete" ? "delete" : "reconcile", { now });
      }
      return running.length;
    },
    { behavior: "immediate" },
  );
}

/** Backoff for a failing revision: 5 s, 10 s, 20 s … capped at 10 min. */
export function backoffMs(failures: number): number {
  return Math.min(5_000 * 2 ** Math.max(0, failures - 1), 600_000);
}
