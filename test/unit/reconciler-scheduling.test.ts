/**
 * The reconciler's scheduling: jobs of different bots run at once (bounded overall and per target), a slow target
 * does not starve the others, and the jobs of one bot stay one after another. The provider is a stand-in whose
 * `observe` the test holds open, so "slow" is exact; the real-gateway version is
 * test/integration/reconciler-concurrency.test.ts.
 */
import { eq } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import type { Provider } from "../../providers/provider.ts";
import { bots, jobs } from "../../src/db/schema.ts";
import { layoutFor } from "../../src/domain/openclaw-config.ts";
import { enqueue } from "../../src/fleet/queue.ts";
import { Reconciler } from "../../src/reconciler/reconciler.ts";
import { JobSlots } from "../../src/reconciler/slots.ts";
import { serviceContext } from "../../src/server/deps.ts";
import { applyManifest } from "../../src/services/bots.ts";
import { makeTestApp } from "../helpers/app.ts";

/** A provider whose bots are all stopped; `observe` of a held bot waits until the test releases it. */
function heldProvider() {
  const held = new Map<string, { release: () => void; promise: Promise<void> }>();
  const calls: string[] = [];
  const hold = (name: string) => {
    let release = () => {};
    const promise = new Promise<void>((r) => {
      release = r;
    });
    held.set(name, { release, promise });
  };
  const provider = {
    kind: "local",
    capabilities: { validate: false, logs: false, followLogs: false, survivesControlPlane: true },
    layout: (bot: { name: string }) => layoutFor(`/nonexistent/${bot.name}`),
    async observe(bot: { name: string }) {
      calls.push(`observe:${bot.name}`);
      await held.get(bot.name)?.promise;
      calls.push(`observed:${bot.name}`);
      return { exists: false, running: false };
    },
  } as unknown as Provider;
  return { provider, hold, release: (name: string) => held.get(name)?.release(), calls };
}

async function setup(names: string[], concurrency: { jobs: number; perTarget: number }) {
  const t = makeTestApp();
  const owner = await t.setupOwner();
  const ctx = serviceContext(t.deps, {
    type: "user",
    userId: owner.userId,
    label: "o",
    workspaceId: owner.workspaceId,
    role: "owner",
  });
  const ids: Record<string, string> = {};
  for (const name of names) {
    const r = applyManifest(ctx, {
      apiVersion: "molthub/v1",
      kind: "Bot",
      metadata: { name },
      spec: { target: { provider: "local", version: "2026.9.6" } },
    });
    ids[name] = r.bot.id;
    // stopped bots: a job is just observe → "stopped", so the test controls its length through observe
    t.store.db.update(bots).set({ desiredState: "stopped" }).where(eq(bots.id, r.bot.id)).run();
  }
  const p = heldProvider();
  const reconciler = new Reconciler({
    db: t.store.db,
    keyring: t.deps.keyring,
    logger: t.deps.logger,
    events: t.deps.events,
    providers: { local: p.provider },
    healthIntervalMs: 3_600_000,
    driftIntervalMs: 3_600_000,
    concurrency,
  });
  const status = (name: string) => t.store.db.select().from(bots).where(eq(bots.id, ids[name]!)).get()!.status;
  const until = async (pred: () => boolean, ms = 5_000) => {
    const end = Date.now() + ms;
    while (!pred()) {
      if (Date.now() > end) throw new Error("timed out");
      await Bun.sleep(10);
    }
  };
  return { t, ids, p, reconciler, status, until };
}

describe("reconciler scheduling", () => {
  it("finishes a quick bot's job while another bot's job is stuck", async () => {
    const { p, reconciler, status, until } = await setup(["slow", "quick"], { jobs: 4, perTarget: 4 });
    p.hold("slow");
    reconciler.start();
    try {
      await until(() => p.calls.includes("observe:slow"));
      await until(() => status("quick") === "stopped");
      expect(status("slow")).not.toBe("stopped");
      expect(reconciler.runningJobs).toBe(1);
      p.release("slow");
      await until(() => status("slow") === "stopped");
    } finally {
      p.release("slow");
      await reconciler.stop();
    }
  });

  it("keeps a slow target to its own slots: other targets' jobs go first", async () => {
    const { t, ids, p, reconciler, status, until } = await setup(["s1", "s2", "elsewhere"], { jobs: 4, perTarget: 1 });
    for (const n of ["s1", "s2"]) t.store.db.update(bots).set({ host: "slow-host" }).where(eq(bots.id, ids[n]!)).run();
    p.hold("s1");
    p.hold("s2");
    reconciler.start();
    try {
      await until(() => status("elsewhere") === "stopped");
      // one slot on slow-host: only one of its bots is being worked on
      expect(p.calls.filter((c) => c === "observe:s1" || c === "observe:s2")).toHaveLength(1);
      p.release("s1");
      p.release("s2");
      await until(() => status("s1") === "stopped" && status("s2") === "stopped");
    } finally {
      p.release("s1");
      p.release("s2");
      await reconciler.stop();
    }
  });

  it("never runs two jobs of one bot at once, and runs them in order", async () => {
    const { t, ids, p, reconciler, until } = await setup(["one"], { jobs: 4, perTarget: 4 });
    p.hold("one");
    reconciler.start();
    try {
      await until(() => p.calls.includes("observe:one"));
      t.store.db.transaction((tx) => {
        enqueue(tx, ids.one!, "reconcile", { now: Date.now() });
      });
      reconciler.poke();
      await Bun.sleep(200);
      expect(p.calls.filter((c) => c === "observe:one")).toHaveLength(1);
      p.release("one");
      await until(() => p.calls.filter((c) => c === "observed:one").length === 2);
      const done = t.store.db.select().from(jobs).where(eq(jobs.botId, ids.one!)).all();
      expect(done.map((j) => j.state)).toEqual(["done", "done"]);
      expect(done[0]!.finishedAt!).toBeLessThanOrEqual(done[1]!.startedAt!);
    } finally {
      p.release("one");
      await reconciler.stop();
    }
  });

  it("bounds the jobs running at once", () => {
    const s = new JobSlots(2, 1);
    s.take("a");
    expect(s.saturated()).toEqual(["a"]);
    expect(s.full()).toBe(false);
    s.take("b");
    expect(s.full()).toBe(true);
    s.release("a");
    expect(s.saturated()).toEqual(["b"]);
    expect(s.running).toBe(1);
  });
});
