/**
 * One render pipeline (fleet/render.ts) behind every answer about a manifest: `policy check`
 * (POST /policies/evaluate) and `apply --dry-run` (POST /bots/apply?dryRun=true) must agree, and a dry run must
 * leave nothing behind while answering as the real apply does.
 */
import { describe, expect, it } from "vitest";
import { auditLog, botEvents, botRevisions, bots, jobs } from "../../src/db/schema.ts";
import { makeTestApp } from "../helpers/app.ts";

type T = ReturnType<typeof makeTestApp>;

function bot(name: string, opts: { openclaw?: Record<string, unknown>; secrets?: Record<string, { secret: string }> } = {}) {
  return {
    apiVersion: "molthub/v1",
    kind: "Bot",
    metadata: { name },
    spec: {
      target: { provider: "local", version: "2026.9.6" },
      openclaw: { agents: { defaults: { model: "anthropic/claude-sonnet-4-5" } }, ...opts.openclaw },
      secrets: opts.secrets ?? {},
    },
  };
}

async function call(t: T, cookie: string, method: string, path: string, json?: unknown) {
  const res = await t.req(path, { method, cookie, json });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : null };
}

function rowCounts(t: T) {
  const db = t.store.db;
  return [bots, botRevisions, botEvents, jobs, auditLog].map((table) => db.select().from(table).all().length);
}

describe("policy check and apply --dry-run agree", () => {
  it("a missing secret: both refuse with the same code and the same issues", async () => {
    const t = makeTestApp();
    const { cookie } = await t.setupOwner();
    const m = bot("needs-key", { secrets: { ANTHROPIC_API_KEY: { secret: "no-such-key" } } });
    const check = await call(t, cookie, "POST", "/api/v1/policies/evaluate", m);
    const dry = await call(t, cookie, "POST", "/api/v1/bots/apply?dryRun=true", m);
    expect(check.status).toBe(400);
    expect(dry.status).toBe(400);
    expect(check.body.error.code).toBe("invalid_request");
    expect(check.body.error).toEqual(dry.body.error);
    expect(check.body.error.details).toEqual([{ path: "spec.secrets", message: "secret no-such-key does not exist" }]);
  });

  it("a policy violation: the check reports it blocked, the dry run refuses it with the same findings", async () => {
    const t = makeTestApp();
    const { cookie } = await t.setupOwner();
    const m = bot("elevated", { openclaw: { tools: { elevated: { enabled: true } } } });
    const check = await call(t, cookie, "POST", "/api/v1/policies/evaluate", m);
    const dry = await call(t, cookie, "POST", "/api/v1/bots/apply?dryRun=true", m);
    expect(check.status).toBe(200);
    expect(check.body.blocked).toBe(true);
    expect(dry.status).toBe(422);
    expect(dry.body.error.code).toBe("policy_blocked");
    const { name: _name, action: _action, ...evaluation } = check.body;
    expect(dry.body.error.details.policy).toEqual(evaluation);
  });

  it("a clean manifest: the check passes and the dry run answers as the apply does, leaving no row behind", async () => {
    const t = makeTestApp();
    const { cookie } = await t.setupOwner();
    const m = bot("clean");
    const before = rowCounts(t);
    const check = await call(t, cookie, "POST", "/api/v1/policies/evaluate", m);
    const dry = await call(t, cookie, "POST", "/api/v1/bots/apply?dryRun=true", m);
    expect(check.body).toMatchObject({ name: "clean", action: "create", blocked: false });
    expect(dry.status).toBe(200);
    expect(rowCounts(t)).toEqual(before);
    const real = await call(t, cookie, "POST", "/api/v1/bots/apply", m);
    expect(real.status).toBe(200);
    expect(dry.body.action).toBe(real.body.action);
    expect(dry.body.revision).toBe(real.body.revision);
    expect(dry.body.changes).toEqual(real.body.changes);
    expect(dry.body.bot.port).toBe(real.body.bot.port);
  });
});
