/**
 * A rotation as the reconciler sees it, with a stub provider (no gateway): the new value is in the env the
 * provider is asked to write, a failed start marks the bot's rollout failed with the reason, and a stopped bot's
 * rollout stays pending until it starts. (The delivered path needs a live gateway for verification; the
 * bookkeeping it calls is covered in connectors.test.ts and end to end with a real gateway.)
 */

import { eq } from "drizzle-orm";
import { beforeAll, describe, expect, it } from "vitest";
import { type BotRuntime, type Provider, ProviderError } from "../../providers/provider.ts";
import { bots, jobs, secretRollouts } from "../../src/db/schema.ts";
import { layoutFor } from "../../src/domain/openclaw-config.ts";
import { silentLogger } from "../../src/log.ts";
import { Reconciler } from "../../src/reconciler/reconciler.ts";
import { makeTestApp } from "../helpers/app.ts";

const OLD = "sk-openai-old-value-0123456789";
const NEW = "sk-openai-new-value-9876543210";

let t: ReturnType<typeof makeTestApp>;
let cookie = "";
const written: BotRuntime[] = [];

const stub: Provider = {
  kind: "local",
  capabilities: { validate: false, logs: false, followLogs: false, survivesControlPlane: true },
  layout: (b) => layoutFor(`/nonexistent/molthub-test/${b.id}`),
  ensure: async () => {},
  configure: async (rt) => {
    written.push(rt);
  },
  start: async () => {
    throw new ProviderError("the gateway could not start (stub)", "failed");
  },
  stop: async () => {},
  observe: async () => ({ exists: false, running: false }),
  logs: async function* () {},
  destroy: async () => {},
  endpoint: async () => {
    throw new ProviderError("no endpoint (stub)", "unreachable");
  },
};

async function api(path: string, init: { method?: string; json?: unknown } = {}) {
  const res = await t.req(path, { method: init.method ?? "GET", json: init.json, cookie });
  expect(res.status, `${path}: ${await res.clone().text()}`).toBeLessThan(300);
  return res.json() as Promise<any>;
}

beforeAll(async () => {
  t = makeTestApp();
  cookie = (await t.setupOwner()).cookie;
  for (const n of ["runs", "sleeps"]) {
    await api("/api/v1/bots/apply", {
      method: "POST",
      json: {
        apiVersion: "molthub/v1",
        kind: "Bot",
        metadata: { name: n },
        spec: { target: { provider: "local", version: "2026.9.6" } },
      },
    });
  }
  await api("/api/v1/connectors", { method: "POST", json: { name: "oa", type: "openai", value: OLD } });
  for (const n of ["runs", "sleeps"]) await api(`/api/v1/bots/${n}/connectors`, { method: "POST", json: { connector: "oa" } });
  await api("/api/v1/bots/sleeps/actions", { method: "POST", json: { action: "stop" } });
  t.store.db.update(jobs).set({ state: "done" }).run();
  await api("/api/v1/connectors/oa/rotate", { method: "POST", json: { value: NEW } });
});

describe("rotation rollout through the reconciler", () => {
  it("delivers the new value in the env file; a failed start marks the rollout failed, a stopped bot's stays pending", async () => {
    const now = Date.now();
    const r = new Reconciler({
      db: t.store.db,
      keyring: t.deps.keyring,
      logger: silentLogger,
      events: t.deps.events,
      providers: { local: stub },
      now: () => now,
    });
    // the stopped bot has no job from the rotation; give it one, as a start request would before changing its state
    const sleeps = t.store.db.select().from(bots).where(eq(bots.name, "sleeps")).get()!;
    t.store.db
      .insert(jobs)
      .values({ botId: sleeps.id, kind: "reconcile", state: "queued", notBefore: now, createdAt: now })
      .run();
    expect(await r.runDue()).toBe(2);
    expect(written.map((w) => w.name)).toEqual(["runs"]);
    expect(written[0]!.env.OPENAI_API_KEY).toBe(NEW);
    expect(written[0]!.config).toMatchObject({
      models: { providers: { openai: { apiKey: { source: "env", provider: "default", id: "OPENAI_API_KEY" } } } },
    });
    const rows = t.store.db
      .select({ bot: bots.name, state: secretRollouts.state, message: secretRollouts.message, method: secretRollouts.method })
      .from(secretRollouts)
      .innerJoin(bots, eq(bots.id, secretRollouts.botId))
      .orderBy(bots.name)
      .all();
    expect(rows).toEqual([
      { bot: "runs", state: "failed", message: expect.stringContaining("the gateway could not start (stub)"), method: null },
      { bot: "sleeps", state: "pending", message: expect.stringContaining("stopped"), method: null },
    ]);
    expect(JSON.stringify(rows)).not.toContain(NEW);
  });
});
