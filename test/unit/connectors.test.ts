/**
 * Connectors through the API: create (value into the vault, write-only), bind to a bot (SecretRef and env
 * reference in the new revision, provenance "connector"), one env var from two connectors, settings changes
 * with their blast radius, rotation (dry run, new version, rollouts, queued reconciles), the reconciler's
 * bookkeeping, delete while bound, access rules — and no credential in any response, log or audit entry.
 */

import { and, eq } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { botRevisions, bots, jobs, secretRollouts, secrets } from "../../src/db/schema.ts";
import { rolloutCutoff, settleRollouts } from "../../src/fleet/rollouts.ts";
import { makeTestApp } from "../helpers/app.ts";
import { type StandIn, startProviderStandIn, VALID } from "../helpers/provider-standins.ts";

type T = ReturnType<typeof makeTestApp>;
let t: T;
let owner = "";
let operator = "";
let viewer = "";
let api: StandIn;
const bodies: string[] = [];
const NEW_KEY = "sk-ant-rotated-canary-value-987654321";

async function call(path: string, init: { method?: string; json?: unknown; cookie?: string } = {}) {
  const res = await t.req(path, { method: init.method ?? "GET", json: init.json, cookie: init.cookie ?? owner });
  const text = await res.text();
  bodies.push(text);
  let body: any = {};
  try {
    body = text ? JSON.parse(text) : {};
  } catch {
    body = { text };
  }
  return { status: res.status, body };
}

function manifest(name: string, extra: Record<string, unknown> = {}) {
  return {
    apiVersion: "molthub/v1",
    kind: "Bot",
    metadata: { name },
    spec: {
      target: { provider: "local", version: "2026.9.6" },
      openclaw: { agents: { defaults: { model: "anthropic/claude-sonnet-4-5" } } },
      ...extra,
    },
  };
}

function revisionOf(botName: string) {
  const b = t.store.db.select().from(bots).where(eq(bots.name, botName)).get()!;
  const r = t.store.db
    .select()
    .from(botRevisions)
    .where(and(eq(botRevisions.botId, b.id), eq(botRevisions.revision, b.desiredRevision)))
    .get()!;
  return {
    bot: b,
    rev: r,
    config: JSON.parse(r.config),
    secretRefs: JSON.parse(r.secretRefs),
    provenance: JSON.parse(r.provenance),
  };
}

beforeAll(async () => {
  api = startProviderStandIn();
  t = makeTestApp();
  owner = (await t.setupOwner()).cookie;
  operator = await t.addUser("op@example.com", "operator");
  viewer = await t.addUser("view@example.com", "viewer");
  for (const n of ["alpha", "beta", "gamma"])
    expect((await call("/api/v1/bots/apply", { method: "POST", json: manifest(n) })).status).toBe(200);
});
afterAll(async () => {
  await api.stop();
});

describe("connectors", () => {
  it("creates a connector: the value goes into the vault and never comes back", async () => {
    const r = await call("/api/v1/connectors", {
      method: "POST",
      json: { name: "claude", type: "anthropic", value: VALID.anthropic, settings: { baseUrl: api.url } },
    });
    expect(r.status, JSON.stringify(r.body)).toBe(201);
    expect(r.body).toMatchObject({
      name: "claude",
      type: "anthropic",
      secret: "connector-claude",
      env: ["ANTHROPIC_API_KEY"],
      boundBots: [],
      lastTest: null,
      baseUrl: api.url,
    });
    const s = await call("/api/v1/secrets");
    expect(s.body.items).toEqual(expect.arrayContaining([expect.objectContaining({ name: "connector-claude", version: 1 })]));
    const list = await call("/api/v1/connectors", { cookie: viewer });
    expect(list.status).toBe(200);
    expect(list.body.items.map((c: { name: string }) => c.name)).toEqual(["claude"]);
  });

  it("refuses bad input listing every wrong field, and saves nothing", async () => {
    const r = await call("/api/v1/connectors", {
      method: "POST",
      json: { name: "Bad_Name", type: "openai", settings: { baseUrl: "http://api.example.com", extra: 1 } },
    });
    expect(r.status).toBe(400);
    const paths = (r.body.error.details as { path: string }[]).map((d) => d.path).sort();
    expect(paths).toEqual(["name", "settings.extra", "value"].sort());
    const http = await call("/api/v1/connectors", {
      method: "POST",
      json: { name: "plain", type: "openai", value: "sk-x-0123456789", settings: { baseUrl: "http://api.example.com" } },
    });
    expect(http.status).toBe(400);
    expect(http.body.error.details).toEqual([{ path: "settings.baseUrl", message: expect.stringContaining("https://") }]);
    const slack = await call("/api/v1/connectors", { method: "POST", json: { name: "chat", type: "slack", value: VALID.slack } });
    expect(slack.body.error.details).toEqual([{ path: "appToken", message: expect.stringContaining("app-level token") }]);
    const unknownType = await call("/api/v1/connectors", {
      method: "POST",
      json: { name: "x", type: "myspace", value: "v-0123456789" },
    });
    expect(unknownType.status).toBe(400);
    expect((await call("/api/v1/connectors")).body.items).toHaveLength(1);
    expect((await call("/api/v1/secrets")).body.items.map((s: { name: string }) => s.name)).not.toContain("connector-plain");
  });

  it("tests the connection for an operator and stores the result on the connector", async () => {
    const r = await call("/api/v1/connectors/claude/test", { method: "POST", cookie: operator });
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({ ok: true, details: { models: 2 } });
    const g = await call("/api/v1/connectors/claude", { cookie: viewer });
    expect(g.body.lastTest).toMatchObject({ ok: true, message: expect.stringContaining("2 models") });
    expect((await call("/api/v1/connectors/claude/test", { method: "POST", cookie: viewer })).status).toBe(403);
  });

  it("binding puts the SecretRef and the env reference into the bot's new revision, with provenance", async () => {
    const before = revisionOf("alpha").rev.revision;
    const r = await call("/api/v1/bots/alpha/connectors", { method: "POST", json: { connector: "claude" }, cookie: operator });
    expect(r.status, JSON.stringify(r.body)).toBe(200);
    expect(r.body).toMatchObject({ action: "updated", revision: before + 1 });
    const { config, secretRefs, provenance, rev } = revisionOf("alpha");
    expect(JSON.parse(rev.manifest).spec.connectors).toEqual(["claude"]);
    expect(config.models.providers.anthropic).toEqual({
      apiKey: { source: "env", provider: "default", id: "ANTHROPIC_API_KEY" },
      baseUrl: api.url,
    });
    expect(secretRefs).toEqual({ ANTHROPIC_API_KEY: { secret: "connector-claude" } });
    expect(provenance["models.providers.anthropic.apiKey.id"].layer).toEqual({
      kind: "connector",
      id: "connector:claude",
      name: "claude",
    });
    // binding twice changes nothing; the connector lists its bot
    expect((await call("/api/v1/bots/alpha/connectors", { method: "POST", json: { connector: "claude" } })).body.action).toBe(
      "unchanged",
    );
    expect((await call("/api/v1/connectors/claude")).body.boundBots).toEqual(["alpha"]);
    expect((await call("/api/v1/bots/beta/connectors", { method: "POST", json: { connector: "claude" } })).status).toBe(200);
  });

  it("binding a missing connector, or one the bot lacks, is refused clearly", async () => {
    const missing = await call("/api/v1/bots/alpha/connectors", { method: "POST", json: { connector: "nope" } });
    expect(missing.status).toBe(404);
    expect(missing.body.error.message).toContain("no connector named nope");
    const empty = await call("/api/v1/bots/alpha/connectors", { method: "POST", json: {} });
    expect(empty.status).toBe(400);
    expect((await call("/api/v1/bots/gamma/connectors/claude", { method: "DELETE" })).status).toBe(404);
    const applied = await call("/api/v1/bots/apply", { method: "POST", json: manifest("delta", { connectors: ["ghost"] }) });
    expect(applied.status).toBe(400);
    expect(applied.body.error.message).toContain("connector ghost does not exist");
  });

  it("two connectors delivering one env var is an error naming both", async () => {
    expect(
      (
        await call("/api/v1/connectors", {
          method: "POST",
          json: { name: "claude-two", type: "anthropic", value: "sk-ant-second-0123456789" },
        })
      ).status,
    ).toBe(201);
    const r = await call("/api/v1/bots/alpha/connectors", { method: "POST", json: { connector: "claude-two" } });
    expect(r.status).toBe(400);
    expect(r.body.error.message).toContain("connectors claude and claude-two both deliver ANTHROPIC_API_KEY");
    expect(revisionOf("alpha").secretRefs).toEqual({ ANTHROPIC_API_KEY: { secret: "connector-claude" } });
  });

  it("a settings change shows its blast radius, then gives the bound bots new revisions", async () => {
    const dry = await call("/api/v1/connectors/claude?dryRun=true", {
      method: "PATCH",
      json: { settings: { baseUrl: "https://llm-proxy.example.com" } },
    });
    expect(dry.status, JSON.stringify(dry.body)).toBe(200);
    expect(dry.body.bots.map((b: { bot: string; action: string }) => [b.bot, b.action])).toEqual([
      ["alpha", "updated"],
      ["beta", "updated"],
    ]);
    expect(dry.body.bots[0].changes).toEqual([
      { path: "models.providers.anthropic.baseUrl", from: api.url, to: "https://llm-proxy.example.com" },
    ]);
    expect((await call("/api/v1/connectors/claude")).body.baseUrl).toBe(api.url);
    const before = revisionOf("alpha").rev.revision;
    const real = await call("/api/v1/connectors/claude", {
      method: "PATCH",
      json: { settings: { baseUrl: "https://llm-proxy.example.com" } },
    });
    expect(real.status).toBe(200);
    expect(revisionOf("alpha").rev.revision).toBe(before + 1);
    expect(revisionOf("alpha").rev.source).toBe("layer");
    // back to the stand-in (the default is dropped from the config again when reset)
    expect((await call("/api/v1/connectors/claude", { method: "PATCH", json: { settings: { baseUrl: api.url } } })).status).toBe(
      200,
    );
    expect(
      (await call("/api/v1/connectors/claude", { method: "PATCH", json: { settings: { baseUrl: api.url } }, cookie: operator }))
        .status,
    ).toBe(403);
  });

  it("rotation: the dry run shows the bound bots; the real one stores a new version, rollouts and reconciles", async () => {
    const dry = await call("/api/v1/connectors/claude/rotate?dryRun=true", { method: "POST", json: {} });
    expect(dry.status, JSON.stringify(dry.body)).toBe(200);
    expect(dry.body).toEqual({
      connector: "claude",
      dryRun: true,
      secrets: [{ secret: "connector-claude", version: 2 }],
      bots: [
        { bot: "alpha", env: ["ANTHROPIC_API_KEY"], bound: true, method: "restart" },
        { bot: "beta", env: ["ANTHROPIC_API_KEY"], bound: true, method: "restart" },
      ],
    });
    expect(t.store.db.select().from(secretRollouts).all()).toHaveLength(0);
    // settle the queue first so the reconciles below are the rotation's
    t.store.db.update(jobs).set({ state: "done" }).run();
    expect(
      (await call("/api/v1/connectors/claude/rotate", { method: "POST", json: { value: NEW_KEY }, cookie: operator })).status,
    ).toBe(403);
    const r = await call("/api/v1/connectors/claude/rotate", { method: "POST", json: { value: NEW_KEY } });
    expect(r.status, JSON.stringify(r.body)).toBe(200);
    expect(r.body.secrets).toEqual([{ secret: "connector-claude", version: 2 }]);
    const sec = t.store.db.select().from(secrets).where(eq(secrets.name, "connector-claude")).get()!;
    expect(sec.version).toBe(2);
    const rows = t.store.db.select().from(secretRollouts).all();
    expect(rows.map((x) => [x.secretName, x.version, x.state])).toEqual([
      ["connector-claude", 2, "pending"],
      ["connector-claude", 2, "pending"],
    ]);
    const queued = t.store.db
      .select()
      .from(jobs)
      .where(eq(jobs.state, "queued"))
      .all()
      .map((j) => j.botId)
      .sort();
    expect(queued).toEqual([revisionOf("alpha").bot.id, revisionOf("beta").bot.id].sort());
    const ro = await call("/api/v1/connectors/claude/rollouts", { cookie: viewer });
    expect(ro.body.items.map((i: { bot: string; state: string; version: number }) => [i.bot, i.version, i.state])).toEqual([
      ["alpha", 2, "pending"],
      ["beta", 2, "pending"],
    ]);
    // the new value works against the API only once it is the valid one: the stand-in refuses it
    const test = await call("/api/v1/connectors/claude/test", { method: "POST" });
    expect(test.body.ok).toBe(false);
    expect(test.body.message).toContain("refused (401)");
  });

  it("the reconciler's bookkeeping marks a bot's rollouts delivered, leaving later rotations pending", async () => {
    const alpha = revisionOf("alpha").bot;
    const cutoff = rolloutCutoff(t.store.db, alpha.id);
    // a rotation lands while the pass runs: it must stay pending
    expect((await call("/api/v1/connectors/claude/rotate", { method: "POST", json: { value: VALID.anthropic } })).status).toBe(
      200,
    );
    expect(
      settleRollouts(t.store.db, alpha.id, cutoff, { state: "failed", message: "start failed (retrying)", now: Date.now() }),
    ).toBe(1);
    expect(
      settleRollouts(t.store.db, alpha.id, cutoff, {
        state: "delivered",
        method: "restart",
        message: "delivered with a gateway restart",
        now: Date.now(),
      }),
    ).toBe(1);
    const ro = (await call("/api/v1/connectors/claude/rollouts")).body.items as {
      bot: string;
      version: number;
      state: string;
      method: string | null;
    }[];
    expect(ro.filter((i) => i.bot === "alpha").map((i) => [i.version, i.state, i.method])).toEqual([
      [3, "pending", null],
      [2, "delivered", "restart"],
    ]);
  });

  it("a stopped bot's rollout waits for its next start", async () => {
    expect((await call("/api/v1/bots/beta/actions", { method: "POST", json: { action: "stop" } })).status).toBe(202);
    const dry = await call("/api/v1/connectors/claude/rotate?dryRun=true", {
      method: "POST",
      json: { value: "ignored-in-dry-run-123" },
    });
    expect(dry.body.bots.find((b: { bot: string }) => b.bot === "beta").method).toBe("next start");
  });

  it("delete is refused while bound (naming the bots); unbound, it removes the connector and its secret", async () => {
    const r = await call("/api/v1/connectors/claude", { method: "DELETE" });
    expect(r.status).toBe(409);
    expect(r.body.error.message).toContain("bound to alpha, beta");
    for (const b of ["alpha", "beta"]) {
      const u = await call(`/api/v1/bots/${b}/connectors/claude`, { method: "DELETE", cookie: operator });
      expect(u.status, JSON.stringify(u.body)).toBe(200);
    }
    expect(JSON.parse(revisionOf("alpha").rev.manifest).spec.connectors).toBeUndefined();
    expect(revisionOf("alpha").secretRefs).toEqual({});
    const d = await call("/api/v1/connectors/claude", { method: "DELETE" });
    expect(d.status, JSON.stringify(d.body)).toBe(200);
    expect(d.body).toEqual({ deleted: "claude", secretsDeleted: ["connector-claude"], secretsKept: [] });
    expect((await call("/api/v1/connectors/claude")).status).toBe(404);
  });

  it("slack keeps two secrets and delivers both tokens", async () => {
    const r = await call("/api/v1/connectors", {
      method: "POST",
      json: { name: "team-chat", type: "slack", value: VALID.slack, appToken: VALID.slackApp, settings: { baseUrl: api.url } },
    });
    expect(r.status, JSON.stringify(r.body)).toBe(201);
    expect(r.body).toMatchObject({
      secret: "connector-team-chat",
      settings: { appTokenSecret: "connector-team-chat-app" },
      env: ["SLACK_BOT_TOKEN", "SLACK_APP_TOKEN"],
    });
    expect((await call("/api/v1/bots/gamma/connectors", { method: "POST", json: { connector: "team-chat" } })).status).toBe(200);
    expect(revisionOf("gamma").secretRefs).toEqual({
      SLACK_BOT_TOKEN: { secret: "connector-team-chat" },
      SLACK_APP_TOKEN: { secret: "connector-team-chat-app" },
    });
    // one channel token serves one bot: the channel-safety policy refuses a second binding
    const second = await call("/api/v1/bots/alpha/connectors", { method: "POST", json: { connector: "team-chat" } });
    expect(second.status, JSON.stringify(second.body)).toBe(422);
    expect(second.body.error.message).toContain("gamma");
    const test = await call("/api/v1/connectors/team-chat/test", { method: "POST" });
    expect(test.body).toMatchObject({ ok: true, details: { team: "Stand-in Team" } });
  });

  it("a viewer and an operator cannot create, change, rotate or delete", async () => {
    for (const cookie of [viewer, operator]) {
      expect((await call("/api/v1/connectors", { method: "POST", json: { name: "x", type: "ollama" }, cookie })).status).toBe(
        403,
      );
      expect((await call("/api/v1/connectors/team-chat", { method: "DELETE", cookie })).status).toBe(403);
    }
    expect((await call("/api/v1/bots/gamma/connectors/team-chat", { method: "DELETE", cookie: viewer })).status).toBe(403);
    expect((await call("/api/v1/connectors", { method: "GET", cookie: "" })).status).toBe(401);
  });

  it("another workspace's connector is a 404 on every route, even with an empty body", async () => {
    const other = await t.addUser("owner@other.test", "owner", "other-ws");
    expect(
      (await call("/api/v1/connectors", { method: "POST", json: { name: "bee", type: "ollama" }, cookie: other })).status,
    ).toBe(201);
    expect((await call("/api/v1/bots/apply", { method: "POST", json: manifest("bee"), cookie: other })).status).toBe(200);
    const routes: [string, string][] = [
      ["GET", "/api/v1/connectors/bee"],
      ["PATCH", "/api/v1/connectors/bee"],
      ["DELETE", "/api/v1/connectors/bee"],
      ["POST", "/api/v1/connectors/bee/test"],
      ["POST", "/api/v1/connectors/bee/rotate"],
      ["GET", "/api/v1/connectors/bee/rollouts"],
      ["POST", "/api/v1/bots/bee/connectors"],
      ["DELETE", "/api/v1/bots/bee/connectors/bee"],
    ];
    for (const [method, path] of routes) {
      const res = await t.req(path, { method, cookie: owner });
      expect(res.status, `${method} ${path}: ${await res.text()}`).toBe(404);
    }
    expect((await call("/api/v1/connectors")).body.items.map((c: { name: string }) => c.name)).not.toContain("bee");
  });

  it("no credential appears in any response, log line or audit entry", async () => {
    const canaries = [VALID.anthropic, NEW_KEY, VALID.slack, VALID.slackApp, "sk-ant-second-0123456789"];
    const audit = t.store.sqlite
      .query("SELECT action, summary FROM audit_log")
      .all()
      .map((r) => JSON.stringify(r))
      .join("\n");
    const rollouts =
      JSON.stringify(t.store.sqlite.query("SELECT * FROM secret_rollouts").all()) +
      JSON.stringify(t.store.sqlite.query("SELECT * FROM connectors").all());
    const events = JSON.stringify(t.store.sqlite.query("SELECT message, data FROM bot_events").all());
    for (const c of canaries) {
      for (const b of bodies) expect(b).not.toContain(c);
      expect(t.logs.join("\n")).not.toContain(c);
      expect(audit).not.toContain(c);
      expect(rollouts).not.toContain(c);
      expect(events).not.toContain(c);
    }
    expect(audit).toContain("connector.rotate");
    expect(audit).toContain("connector.create");
  });
});
