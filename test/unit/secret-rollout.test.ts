/**
 * A vault write is a rollout, like a connector rotation: its blast radius first (a dry run that lists the bots,
 * their env vars and how each gets the value — API, CLI and the /secrets pages), then a pending rollout row, an
 * event and a reconcile job per running bot, which the reconciler turns into a restart (configure, stop, start)
 * with the new value. Every bot says which secret versions it runs, and "secret outdated" until delivered.
 * Values that an env file cannot carry (a line break, a NUL) are refused where they enter.
 */

import type { Server } from "bun";
import { and, eq } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { type BotRuntime, type Provider, ProviderError } from "../../providers/provider.ts";
import { ApiClient } from "../../src/cli/client.ts";
import { botSecretLines, setSecret } from "../../src/cli/vault.ts";
import { auditLog, botEvents, bots, jobs, secretRollouts, secrets } from "../../src/db/schema.ts";
import { parseConditions, withCondition } from "../../src/domain/conditions.ts";
import { layoutFor } from "../../src/domain/openclaw-config.ts";
import { secretsCurrent } from "../../src/fleet/rollouts.ts";
import { outdatedSecrets, resolveSecretValues, secretVersions } from "../../src/fleet/secrets.ts";
import { silentLogger } from "../../src/log.ts";
import { Reconciler } from "../../src/reconciler/reconciler.ts";
import { sealSecretValue } from "../../src/secrets/vault.ts";
import { makeTestApp } from "../helpers/app.ts";

const V1 = "sk-ant-rollout-first-value-0123";
const V2 = "sk-ant-rollout-second-value-4567";

let t: ReturnType<typeof makeTestApp>;
let cookie = "";
let ws = "";

async function api(path: string, init: { method?: string; json?: unknown } = {}) {
  const res = await t.req(path, { method: init.method ?? "GET", json: init.json, cookie });
  expect(res.status, `${path}: ${await res.clone().text()}`).toBeLessThan(300);
  return res.json() as Promise<any>;
}

const bot = (name: string, env: Record<string, string> = { ANTHROPIC_API_KEY: "anthropic-key" }) => ({
  apiVersion: "molthub/v1",
  kind: "Bot",
  metadata: { name },
  spec: {
    target: { provider: "local", version: "2026.9.6" },
    secrets: Object.fromEntries(Object.entries(env).map(([k, s]) => [k, { secret: s }])),
  },
});

const row = (name: string) => t.store.db.select().from(bots).where(eq(bots.name, name)).get()!;
const queued = () =>
  t.store.db
    .select({ bot: bots.name, kind: jobs.kind })
    .from(jobs)
    .innerJoin(bots, eq(bots.id, jobs.botId))
    .where(eq(jobs.state, "queued"))
    .orderBy(bots.name)
    .all();
const rollouts = () =>
  t.store.db
    .select({ bot: bots.name, secret: secretRollouts.secretName, version: secretRollouts.version, state: secretRollouts.state })
    .from(secretRollouts)
    .innerJoin(bots, eq(bots.id, secretRollouts.botId))
    .orderBy(bots.name, secretRollouts.id)
    .all();
/** What the reconciler records when a start or restart delivered the env: the versions it runs, SecretsCurrent. */
function delivered(name: string) {
  const b = row(name);
  t.store.db
    .update(bots)
    .set({
      status: "running",
      appliedRevision: b.desiredRevision,
      appliedSecrets: JSON.stringify(secretVersions(t.store.db, ws, { K: { secret: "anthropic-key" } })),
      conditions: JSON.stringify(
        withCondition(
          parseConditions(b.conditions),
          "SecretsCurrent",
          { status: "True", reason: "Delivered", message: "the gateway runs the current secrets" },
          Date.now(),
        ),
      ),
    })
    .where(eq(bots.id, b.id))
    .run();
}

beforeAll(async () => {
  t = makeTestApp();
  const owner = await t.setupOwner();
  cookie = owner.cookie;
  ws = owner.workspaceId;
  await api("/api/v1/secrets/anthropic-key", { method: "PUT", json: { value: V1 } });
  await api("/api/v1/secrets/other-key", { method: "PUT", json: { value: "sk-other-value-000111222" } });
  await api("/api/v1/bots/apply", { method: "POST", json: bot("runs") });
  await api("/api/v1/bots/apply", { method: "POST", json: bot("also-runs", { LLM_KEY: "anthropic-key", X: "other-key" }) });
  await api("/api/v1/bots/apply", { method: "POST", json: bot("sleeps") });
  await api("/api/v1/bots/apply", { method: "POST", json: bot("unrelated", { X: "other-key" }) });
  await api("/api/v1/bots/sleeps/actions", { method: "POST", json: { action: "stop" } });
  // the bots are up and run version 1, as the reconciler would have recorded
  t.store.db.update(jobs).set({ state: "done" }).run();
  for (const n of ["runs", "also-runs"]) delivered(n);
});

describe("a vault write rolls out to the bots that reference the secret", () => {
  it("the dry run is the blast radius: bots, env vars and how; nothing stored, nothing queued", async () => {
    const r = await api("/api/v1/secrets/anthropic-key?dryRun=true", { method: "PUT", json: {} });
    expect(r).toMatchObject({ name: "anthropic-key", version: 2, dryRun: true });
    expect(r.rollout).toEqual([
      { bot: "also-runs", env: ["LLM_KEY"], bound: false, method: "restart" },
      { bot: "runs", env: ["ANTHROPIC_API_KEY"], bound: false, method: "restart" },
      { bot: "sleeps", env: ["ANTHROPIC_API_KEY"], bound: false, method: "next start" },
    ]);
    expect((await api("/api/v1/secrets/anthropic-key")).version).toBe(1);
    expect(queued()).toEqual([]);
    expect(rollouts()).toEqual([]);
  });

  it("the write stores version 2, queues the running bots, records a pending rollout per bot, an event and an audit entry", async () => {
    const r = await api("/api/v1/secrets/anthropic-key", { method: "PUT", json: { value: V2 } });
    expect(r).toMatchObject({ name: "anthropic-key", version: 2, dryRun: false });
    expect(r.rollout.map((p: { bot: string; method: string }) => `${p.bot}:${p.method}`)).toEqual([
      "also-runs:restart",
      "runs:restart",
      "sleeps:next start",
    ]);
    expect(queued()).toEqual([
      { bot: "also-runs", kind: "reconcile" },
      { bot: "runs", kind: "reconcile" },
    ]);
    expect(rollouts()).toEqual([
      { bot: "also-runs", secret: "anthropic-key", version: 2, state: "pending" },
      { bot: "runs", secret: "anthropic-key", version: 2, state: "pending" },
      { bot: "sleeps", secret: "anthropic-key", version: 2, state: "pending" },
    ]);
    const ev = t.store.db
      .select()
      .from(botEvents)
      .where(and(eq(botEvents.botId, row("runs").id), eq(botEvents.type, "secret.rotated")))
      .get()!;
    expect(ev.message).toContain(
      "secret anthropic-key v2 stored by owner@example.com: ANTHROPIC_API_KEY will be delivered with a restart",
    );
    const audit = t.store.db.select().from(auditLog).where(eq(auditLog.action, "secret.rollout")).get()!;
    expect(JSON.parse(audit.summary)).toEqual({ version: 2, restart: ["also-runs", "runs"], nextStart: ["sleeps"] });
    const listed = await api("/api/v1/secrets/anthropic-key/rollouts");
    expect(listed.items.map((i: { bot: string; state: string }) => `${i.bot}:${i.state}`)).toEqual([
      "also-runs:pending",
      "runs:pending",
      "sleeps:pending",
    ]);
    expect(JSON.stringify([r, listed, ev, audit])).not.toContain(V2);
  });

  it("describe says which versions each bot runs: outdated until delivered, a stopped bot never", async () => {
    const runs = await api("/api/v1/bots/runs");
    expect(runs.secrets).toEqual([
      {
        secret: "anthropic-key",
        env: ["ANTHROPIC_API_KEY"],
        current: 2,
        running: 1,
        outdated: true,
        message: "secret outdated: anthropic-key (running v1, current v2)",
        rollout: expect.objectContaining({ version: 2, state: "pending" }),
      },
    ]);
    // the bot's SecretsCurrent condition says so too, from the write's own transaction
    expect(runs.bot.conditions).toContainEqual(
      expect.objectContaining({
        type: "SecretsCurrent",
        status: "False",
        reason: "SecretOutdated",
        message: "secret outdated: anthropic-key (running v1, current v2); a restart delivers it",
      }),
    );
    expect((await api("/api/v1/bots/sleeps")).bot.conditions).not.toContainEqual(
      expect.objectContaining({ type: "SecretsCurrent" }),
    );
    const also = await api("/api/v1/bots/also-runs");
    expect(also.secrets.map((s: { secret: string; outdated: boolean }) => `${s.secret}:${s.outdated}`)).toEqual([
      "anthropic-key:true",
      "other-key:false",
    ]);
    expect((await api("/api/v1/bots/sleeps")).secrets[0]).toMatchObject({ outdated: false, running: null, current: 2 });
    const page = await (await t.req("/bots/runs", { cookie })).text();
    expect(page).toContain("secret outdated: anthropic-key (running v1, current v2)");
    expect(botSecretLines(runs.secrets).join("\n")).toContain(
      "secret outdated: anthropic-key (running v1, current v2) as ANTHROPIC_API_KEY — pending: queued: the gateway restarts with the new value",
    );
    // delivered: the reconciler records the versions the new gateway was started with
    delivered("runs");
    const after = await api("/api/v1/bots/runs");
    expect(after.secrets[0]).toMatchObject({ running: 2, current: 2, outdated: false, message: null });
    expect(await (await t.req("/bots/runs", { cookie })).text()).not.toContain("secret outdated");
    expect(botSecretLines(after.secrets)).toEqual(["  anthropic-key v2 as ANTHROPIC_API_KEY (current)"]);
  });

  it("a bot started before versions were recorded is outdated while its rollout is undelivered", async () => {
    const b = row("also-runs");
    t.store.db.update(bots).set({ appliedSecrets: "{}" }).where(eq(bots.id, b.id)).run();
    const s = (await api("/api/v1/bots/also-runs")).secrets[0];
    expect(s).toMatchObject({
      running: null,
      outdated: true,
      message: "secret outdated: anthropic-key (running an earlier version, current v2)",
    });
    t.store.db.update(secretRollouts).set({ state: "delivered" }).where(eq(secretRollouts.botId, b.id)).run();
    expect((await api("/api/v1/bots/also-runs")).secrets[0]).toMatchObject({ outdated: false });
  });

  it("secretsCurrent: what the reconciler records after a pass (True, or False naming a write during the pass)", () => {
    const refs = { ANTHROPIC_API_KEY: { secret: "anthropic-key" } };
    expect(secretsCurrent(t.store.db, ws, { "anthropic-key": 2 }, refs)).toEqual({
      status: "True",
      reason: "Delivered",
      message: "the gateway runs the current secret versions (anthropic-key v2)",
    });
    expect(secretsCurrent(t.store.db, ws, { "anthropic-key": 1 }, refs)).toEqual({
      status: "False",
      reason: "SecretOutdated",
      message: "secret outdated: anthropic-key (running v1, current v2); a restart delivers it",
    });
  });

  it("outdatedSecrets compares recorded versions only; secretVersions leaves missing secrets out", () => {
    expect(outdatedSecrets({ a: 1, b: 3 }, { a: 2, b: 3, c: 5 })).toEqual([{ secret: "a", running: 1, current: 2 }]);
    expect(
      secretVersions(t.store.db, ws, { A: { secret: "anthropic-key" }, B: { secret: "anthropic-key" }, C: { secret: "nope" } }),
    ).toEqual({ "anthropic-key": 2 });
  });
});

describe("the reconciler delivers a vault write with a restart: the new env, stop before start", () => {
  it("configures the new value, stops the old gateway, then starts; a failed start marks the rollout failed", async () => {
    const calls: string[] = [];
    const written: BotRuntime[] = [];
    const stub: Provider = {
      kind: "local",
      capabilities: { validate: false, logs: false, followLogs: false, survivesControlPlane: true },
      layout: (b) => layoutFor(`/nonexistent/molthub-test/${b.id}`),
      ensure: async () => {},
      configure: async (rt) => {
        calls.push(`configure ${rt.name}`);
        written.push(rt);
      },
      start: async (rt) => {
        calls.push(`start ${rt.name}`);
        throw new ProviderError("the gateway could not start (stub)", "failed");
      },
      stop: async (ref) => {
        calls.push(`stop ${ref.name}`);
      },
      observe: async () => ({ exists: true, running: true }),
      logs: async function* () {},
      destroy: async () => {},
      endpoint: async () => {
        throw new ProviderError("no endpoint (stub)", "unreachable");
      },
    };
    t.store.db.update(jobs).set({ state: "done" }).run();
    t.store.db.delete(secretRollouts).run();
    const { version } = await api("/api/v1/secrets/anthropic-key", { method: "PUT", json: { value: `${V2}-three` } });
    const now = Date.now();
    const r = new Reconciler({
      db: t.store.db,
      keyring: t.deps.keyring,
      logger: silentLogger,
      events: t.deps.events,
      providers: { local: stub },
      now: () => now,
    });
    expect(await r.runDue()).toBe(2);
    expect(calls.filter((c) => c.endsWith(" runs"))).toEqual(["configure runs", "stop runs", "start runs"]);
    expect(written.find((w) => w.name === "runs")!.env.ANTHROPIC_API_KEY).toBe(`${V2}-three`);
    expect(written.find((w) => w.name === "also-runs")!.env.LLM_KEY).toBe(`${V2}-three`);
    expect(rollouts().map((x) => `${x.bot}:v${x.version}:${x.state}`)).toEqual([
      `also-runs:v${version}:failed`,
      `runs:v${version}:failed`,
      `sleeps:v${version}:pending`,
    ]);
  });
});

describe("the /secrets pages show the blast radius before a replace", () => {
  it("a secret's page lists the bots that restart; the replace needs the confirm box for that secret", async () => {
    const page = await (await t.req("/secrets/anthropic-key", { cookie })).text();
    expect(page).toContain("Replace the value");
    expect(page).toMatch(/also-runs<\/a>[\s\S]*LLM_KEY[\s\S]*restarts with it/);
    expect(page).toMatch(/sleeps<\/a>[\s\S]*gets it when it starts/);
    const unconfirmed = await t.req("/secrets/anthropic-key", {
      method: "POST",
      cookie,
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams({ value: "sk-ant-unconfirmed-0000" }).toString(),
    });
    expect(unconfirmed.status).toBe(400);
    expect((await api("/api/v1/secrets/anthropic-key")).version).toBe(3);
    const wrongBox = await t.req("/secrets/anthropic-key", {
      method: "POST",
      cookie,
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams({ value: "sk-ant-unconfirmed-0000", confirm: "other-key" }).toString(),
    });
    expect(wrongBox.status).toBe(400);
    const ok = await t.req("/secrets/anthropic-key", {
      method: "POST",
      cookie,
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams({ value: "sk-ant-confirmed-value-1111", confirm: "anthropic-key" }).toString(),
    });
    expect(ok.status).toBe(303);
    expect(ok.headers.get("location")).toBe("/secrets/anthropic-key#rollouts-h");
    expect((await api("/api/v1/secrets/anthropic-key")).version).toBe(4);
  });

  it("the store form on the list shows the bots and asks again before replacing a secret running bots use", async () => {
    const form = (extra: Record<string, string> = {}) =>
      t.req("/secrets", {
        method: "POST",
        cookie,
        headers: { "content-type": "application/x-www-form-urlencoded" },
        body: new URLSearchParams({ name: "anthropic-key", value: "sk-ant-from-list-2222", ...extra }).toString(),
      });
    const first = await form();
    expect(first.status).toBe(400);
    const html = await first.text();
    expect(html).toContain("Replacing anthropic-key restarts bots");
    expect(html).toMatch(/I understand that also-runs, runs restart with the new value/);
    expect(html).not.toContain("sk-ant-from-list-2222");
    expect((await api("/api/v1/secrets/anthropic-key")).version).toBe(4);
    expect((await form({ confirm: "anthropic-key" })).status).toBe(303);
    expect((await api("/api/v1/secrets/anthropic-key")).version).toBe(5);
    // a secret no running bot uses needs no confirmation
    expect(
      (
        await t.req("/secrets", {
          method: "POST",
          cookie,
          headers: { "content-type": "application/x-www-form-urlencoded" },
          body: new URLSearchParams({ name: "fresh-key", value: "sk-fresh-value-3333" }).toString(),
        })
      ).status,
    ).toBe(303);
  });
});

describe("molthub vault set shows the blast radius first", () => {
  let server: Server<undefined>;
  let client: ApiClient;
  beforeAll(async () => {
    const tok = (await api("/api/v1/tokens", { method: "POST", json: { name: "cli", role: "owner" } })) as { token: string };
    server = Bun.serve({ hostname: "127.0.0.1", port: 0, fetch: (req) => t.app.fetch(req) });
    client = new ApiClient({ server: `http://127.0.0.1:${server.port}`, token: tok.token });
  });
  afterAll(async () => {
    await server?.stop(true);
  });

  async function cli(fn: () => Promise<number>) {
    const lines: string[] = [];
    const spy = vi.spyOn(console, "log").mockImplementation((...a: unknown[]) => {
      lines.push(a.join(" "));
    });
    try {
      return { code: await fn(), out: lines.join("\n"), err: "" };
    } catch (e) {
      return { code: (e as { exitCode?: number }).exitCode ?? 1, out: lines.join("\n"), err: (e as Error).message };
    } finally {
      spy.mockRestore();
    }
  }

  it("--dry-run lists the bots; without a terminal or --yes it refuses before reading a value", async () => {
    const dry = await cli(() => setSecret(client, "anthropic-key", { dryRun: true }));
    expect(dry.code).toBe(0);
    expect(dry.out).toContain("storing anthropic-key version 6 would reach 3 bots (2 restarts with the new value)");
    expect(dry.out).toMatch(/runs\s+ANTHROPIC_API_KEY\s+manifest\s+restart/);
    expect(dry.out).toMatch(/sleeps\s+ANTHROPIC_API_KEY\s+manifest\s+next start/);
    const r = await cli(() => setSecret(client, "anthropic-key"));
    expect(r.code).toBe(2);
    expect(r.err).toContain("add --yes");
    expect((await api("/api/v1/secrets/anthropic-key")).version).toBe(5);
  });
});

describe("a value an env file cannot carry is refused where it enters", () => {
  const cases: [string, string][] = [
    ["a line feed", "sk-first-line\nSECOND=forged"],
    ["a carriage return", "sk-value\rmore"],
    ["a NUL", "sk-value\u0000more"],
  ];
  for (const [what, value] of cases) {
    it(`vault set with ${what}: 400 naming the field and what to do; nothing stored`, async () => {
      const res = await t.req("/api/v1/secrets/multi-line", { method: "PUT", cookie, json: { value } });
      expect(res.status).toBe(400);
      const body = (await res.json()) as {
        error: { code: string; message: string; details: { path: string; message: string }[] };
      };
      expect(body.error.code).toBe("invalid_request");
      expect(body.error.details).toEqual([{ path: "value", message: expect.stringMatching(/line break|NUL/) }]);
      expect(body.error.message).toMatch(/store (it on one line|the value without it)/);
      expect(t.store.db.select().from(secrets).where(eq(secrets.name, "multi-line")).get()).toBeUndefined();
    });
  }

  it("replacing a used secret with one is refused too, and no rollout starts", async () => {
    const before = rollouts().length;
    const res = await t.req("/api/v1/secrets/anthropic-key", { method: "PUT", cookie, json: { value: "a\nb-c-d-e-f" } });
    expect(res.status).toBe(400);
    expect(rollouts().length).toBe(before);
  });

  it("connectors refuse it on create and rotate, naming the field", async () => {
    const c = await t.req("/api/v1/connectors", {
      method: "POST",
      cookie,
      json: { name: "oa", type: "openai", value: "sk-openai-line-one\nline-two" },
    });
    expect(c.status).toBe(400);
    expect(((await c.json()) as { error: { details: { path: string }[] } }).error.details).toContainEqual(
      expect.objectContaining({ path: "value", message: expect.stringContaining("line break") }),
    );
    await api("/api/v1/connectors", { method: "POST", json: { name: "oa", type: "openai", value: "sk-openai-one-line-0123" } });
    const r = await t.req("/api/v1/connectors/oa/rotate", { method: "POST", cookie, json: { value: "sk-openai\u0000nul" } });
    expect(r.status).toBe(400);
  });

  it("the /secrets form shows the reason at the value field", async () => {
    const res = await t.req("/secrets", {
      method: "POST",
      cookie,
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams({ name: "pem-key", value: "-----BEGIN KEY-----\nabc\n-----END KEY-----" }).toString(),
    });
    expect(res.status).toBe(400);
    expect(await res.text()).toContain("contains a line break");
  });

  it("a value stored before the check is named at delivery, with how to fix it", () => {
    const id = "legacy-multi-line";
    const sealed = sealSecretValue(t.deps.keyring, { id, workspaceId: ws, name: "legacy-pem", version: 1 }, "line1\nline2");
    t.store.db
      .insert(secrets)
      .values({ id, workspaceId: ws, name: "legacy-pem", ...sealed, version: 1, createdAt: Date.now(), updatedAt: Date.now() })
      .run();
    expect(() => resolveSecretValues(t.store.db, t.deps.keyring, ws, { PEM: { secret: "legacy-pem" } })).toThrow(
      /secret legacy-pem \(version 1, delivered as PEM\) contains a line break.*molthub vault set legacy-pem/,
    );
  });
});
