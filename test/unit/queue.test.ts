import { describe, expect, it } from "vitest";
import { jobs } from "../../src/db/schema.ts";
import { backoffMs, claimNext, enqueue, finish, recoverInterrupted } from "../../src/fleet/queue.ts";
import { serviceContext } from "../../src/server/deps.ts";
import { applyManifest } from "../../src/services/bots.ts";
import { makeTestApp } from "../helpers/app.ts";

async function withBot() {
  const t = makeTestApp();
  const owner = await t.setupOwner();
  const actor = {
    type: "user" as const,
    userId: owner.userId,
    label: "o",
    workspaceId: owner.workspaceId,
    role: "owner" as const,
  };
  const ctx = serviceContext(t.deps, actor);
  const r = applyManifest(ctx, {
    apiVersion: "molthub/v1",
    kind: "Bot",
    metadata: { name: "b1" },
    spec: { target: { provider: "local", version: "2026.9.6" } },
  });
  return { t, ctx, botId: r.bot.id };
}

describe("job queue", () => {
  it("collapses duplicates into one queued job per bot", async () => {
    const { t, botId } = await withBot();
    const now = Date.now();
    const a = enqueue(t.store.db, botId, "reconcile", { now });
    const b = enqueue(t.store.db, botId, "restart", { now });
    expect(b).toEqual({ id: a.id, collapsed: true });
    const all = t.store.db.select().from(jobs).all();
    expect(all).toHaveLength(1);
    expect(all[0]!.kind).toBe("restart");
    enqueue(t.store.db, botId, "delete", { now });
    const states = t.store.db
      .select()
      .from(jobs)
      .all()
      .map((j) => `${j.kind}:${j.state}`)
      .sort();
    expect(states).toEqual(["delete:queued", "restart:cancelled"]);
  });

  it("runs one job per bot at a time and honours notBefore", async () => {
    const { t, botId } = await withBot();
    const now = Date.now();
    const j = claimNext(t.store.db, now)!;
    expect(j.state).toBe("running");
    enqueue(t.store.db, botId, "reconcile", { now });
    expect(claimNext(t.store.db, now)).toBeNull(); // the bot is busy
    finish(t.store.db, j.id, "done", now);
    t.store.db
      .update(jobs)
      .set({ notBefore: now + 10_000 })
      .run();
    expect(claimNext(t.store.db, now)).toBeNull();
    expect(claimNext(t.store.db, now + 10_000)?.botId).toBe(botId);
  });

  it("marks jobs interrupted by a crash and re-plans them once", async () => {
    const { t } = await withBot();
    const now = Date.now();
    claimNext(t.store.db, now);
    expect(recoverInterrupted(t.store.db, now)).toBe(1);
    const rows = t.store.db
      .select()
      .from(jobs)
      .all()
      .map((j) => `${j.kind}:${j.state}`)
      .sort();
    expect(rows).toEqual(["reconcile:interrupted", "reconcile:queued"]);
    expect(recoverInterrupted(t.store.db, now)).toBe(0);
  });

  it("backs off 5 s doubling to 10 min", () => {
    expect([1, 2, 3, 10, 20].map(backoffMs)).toEqual([5000, 10000, 20000, 600000, 600000]);
  });
});
