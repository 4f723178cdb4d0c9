/**
 * Policy packs wired to the write paths: apply (create, update, dry run), the dry-run endpoint, exceptions
 * (expiry on the service clock, revocation), advisory and disabled packs, custom packs of every rule type,
 * bad packs, fleet-wide checks (one Telegram token per bot), the reconcile-time check, and the audit trail.
 */

import { eq } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import type { Provider } from "../../providers/provider.ts";
import { auditLog, botRevisions, bots, jobs } from "../../src/db/schema.ts";
import { layoutFor } from "../../src/domain/openclaw-config.ts";
import { BUILTIN_TEMPLATES } from "../../src/domain/templates/builtins.ts";
import { claimNext } from "../../src/fleet/queue.ts";
import { createLogger } from "../../src/log.ts";
import { Reconciler } from "../../src/reconciler/reconciler.ts";
import { makeTestApp } from "../helpers/app.ts";

type T = ReturnType<typeof makeTestApp>;
const DAY = 86_400_000;
const START = Date.parse("2026-03-01T12:00:00Z");

function setup() {
  let clock = START;
  const t = makeTestApp({ now: () => clock });
  return { t, tick: (ms: number) => (clock += ms), now: () => clock };
}

async function owner(t: T) {
  return (await t.setupOwner()).cookie;
}

function bot(
  name: string,
  openclaw: Record<string, unknown> = {},
  extra: { metadata?: Record<string, unknown>; secrets?: Record<string, { secret: string }> } = {},
) {
  return {
    apiVersion: "molthub/v1",
    kind: "Bot",
    metadata: { name, ...extra.metadata },
    spec: {
      target: { provider: "local", version: "2026.9.6" },
      openclaw: { agents: { defaults: { model: "anthropic/claude-sonnet-4-5" } }, ...openclaw },
      secrets: extra.secrets ?? {},
    },
  };
}

const ELEVATED = { tools: { elevated: { enabled: true } } };

async function api(t: T, cookie: string, method: string, path: string, json?: unknown) {
  const res = await t.req(path, { method, cookie, json });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : null };
}

function counts(t: T) {
  const db = t.store.db;
  return {
    bots: db.select().from(bots).all().length,
    revisions: db.select().from(botRevisions).all().length,
    jobs: db.select().from(jobs).all().length,
  };
}

describe("policy enforcement on the write paths", () => {
  it("lists the built-in packs, on and enforcing by default", async () => {
    const { t } = setup();
    const cookie = await owner(t);
    const r = await api(t, cookie, "GET", "/api/v1/policies");
    expect(r.status).toBe(200);
    const items = r.body.items as {
      id: string;
      builtin: boolean;
      enabled: boolean;
      mode: string;
      ruleCount: number;
      scope: unknown;
    }[];
    expect(items.map((p) => p.id)).toEqual(["security-baseline", "production-hardening", "channel-safety"]);
    expect(items.every((p) => p.builtin && p.enabled && p.mode === "enforce" && p.ruleCount > 0)).toBe(true);
    expect(items.find((p) => p.id === "production-hardening")!.scope).toEqual({ environments: ["production", "prod"] });
    const one = await api(t, cookie, "GET", "/api/v1/policies/security-baseline");
    expect(one.status).toBe(200);
    expect(one.body.rules.map((x: { id: string }) => x.id)).toContain("no-elevated-tools");
    expect(one.body.yaml).toContain("id: security-baseline");
    expect((await api(t, cookie, "GET", "/api/v1/policies/nope")).status).toBe(404);
  });

  it("blocks an unsafe create with 422, violations and fixes; nothing stored, no revision, no job", async () => {
    const { t } = setup();
    const cookie = await owner(t);
    const r = await api(t, cookie, "POST", "/api/v1/bots/apply", bot("unsafe", ELEVATED));
    expect(r.status).toBe(422);
    expect(r.body.error.code).toBe("policy_blocked");
    expect(r.body.error.message).toContain("no-elevated-tools");
    expect(r.body.error.details.issues).toEqual([expect.objectContaining({ path: "tools.elevated.enabled" })]);
    const v = r.body.error.details.policy.violations.find((x: { ruleId: string }) => x.ruleId === "no-elevated-tools");
    expect(v).toMatchObject({
      packId: "security-baseline",
      mode: "enforce",
      severity: "error",
      fix: { tools: { elevated: { enabled: false } } },
    });
    expect(counts(t)).toEqual({ bots: 0, revisions: 0, jobs: 0 });
    // the wizard's ordinary bot passes every built-in pack
    const ok = await api(
      t,
      cookie,
      "POST",
      "/api/v1/bots/apply",
      bot("safe", {}, { metadata: { environment: "prod", fleet: "homelab" } }),
    );
    expect(ok.status).toBe(200);
    expect(ok.body.policy.blocked).toBe(false);
  });

  it("blocks an unsafe update: the desired revision stays, no new revision or job", async () => {
    const { t } = setup();
    const cookie = await owner(t);
    expect((await api(t, cookie, "POST", "/api/v1/bots/apply", bot("b1"))).status).toBe(200);
    const before = counts(t);
    const r = await api(
      t,
      cookie,
      "POST",
      "/api/v1/bots/apply",
      bot("b1", { channels: { telegram: { botToken: "${TELEGRAM_BOT_TOKEN}", dmPolicy: "open" } } }),
    );
    expect(r.status).toBe(422);
    expect(r.body.error.details.policy.violations.map((v: { ruleId: string }) => v.ruleId)).toContain("dm-policy-not-open");
    expect(r.body.error.details.policy.violations.find((v: { ruleId: string }) => v.ruleId === "dm-policy-not-open").fix).toEqual(
      { channels: { telegram: { dmPolicy: "pairing" } } },
    );
    expect(counts(t)).toEqual(before);
    expect((await api(t, cookie, "GET", "/api/v1/bots/b1")).body.bot.desiredRevision).toBe(1);
    // the apply dry run refuses the same way
    expect((await api(t, cookie, "POST", "/api/v1/bots/apply?dryRun=true", bot("b1", ELEVATED))).status).toBe(422);
  });

  it("the dry-run endpoint reports violations with fixes and saves nothing", async () => {
    const { t } = setup();
    const cookie = await owner(t);
    const r = await api(t, cookie, "POST", "/api/v1/policies/evaluate", bot("dry", { ...ELEVATED, gateway: {} }));
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({ name: "dry", action: "create", blocked: true });
    expect(r.body.violations).toEqual([
      expect.objectContaining({
        ruleId: "no-elevated-tools",
        path: "tools.elevated.enabled",
        fix: { tools: { elevated: { enabled: false } } },
      }),
    ]);
    const fine = await api(t, cookie, "POST", "/api/v1/policies/evaluate", bot("dry"));
    expect(fine.body).toMatchObject({ blocked: false, violations: [], excepted: [] });
    expect(counts(t)).toEqual({ bots: 0, revisions: 0, jobs: 0 });
    const bad = await api(t, cookie, "POST", "/api/v1/policies/evaluate", {
      apiVersion: "molthub/v1",
      kind: "Bot",
      metadata: { name: "Bad_Name" },
      spec: {},
    });
    expect(bad.status).toBe(400);
    expect(JSON.stringify(bad.body.error.details)).toContain("metadata.name");
  });

  it("an exception lets a bot pass until it expires (service clock); a revoked one blocks again", async () => {
    const { t, tick } = setup();
    let cookie = await owner(t);
    const ex = await api(t, cookie, "POST", "/api/v1/policy-exceptions", {
      ruleId: "no-elevated-tools",
      botName: "lab",
      reason: "hardware lab, isolated network",
      expiresAt: "2026-03-10",
    });
    expect(ex.status).toBe(201);
    expect(ex.body.exception).toMatchObject({
      ruleId: "no-elevated-tools",
      botName: "lab",
      state: "active",
      expiresAt: Date.parse("2026-03-11T00:00:00Z"),
    });
    const ok = await api(t, cookie, "POST", "/api/v1/bots/apply", bot("lab", ELEVATED));
    expect(ok.status).toBe(200);
    expect(ok.body.policy.excepted).toEqual([
      expect.objectContaining({
        ruleId: "no-elevated-tools",
        exception: expect.objectContaining({ reason: "hardware lab, isolated network" }),
      }),
    ]);
    // for the named bot only
    expect((await api(t, cookie, "POST", "/api/v1/policies/evaluate", bot("other", ELEVATED))).body.blocked).toBe(true);
    expect((await api(t, cookie, "GET", "/api/v1/bots/lab/policy")).body).toMatchObject({
      name: "lab",
      revision: 1,
      blocked: false,
    });
    tick(10 * DAY); // past the end of 2026-03-10
    cookie = await t.signIn("owner@example.com"); // the session idled out meanwhile
    expect((await api(t, cookie, "GET", "/api/v1/bots/lab/policy")).body.blocked).toBe(true);
    const after = await api(
      t,
      cookie,
      "POST",
      "/api/v1/bots/apply",
      bot("lab", { ...ELEVATED, agents: { defaults: { model: "anthropic/claude-opus-4-1" } } }),
    );
    expect(after.status).toBe(422);
    const list = await api(t, cookie, "GET", "/api/v1/policy-exceptions");
    expect(list.body.items.map((e: { state: string }) => e.state)).toEqual(["expired"]);

    const ex2 = await api(t, cookie, "POST", "/api/v1/policy-exceptions", {
      ruleId: "no-elevated-tools",
      reason: "fleet-wide trial",
      expiresAt: "2026-04-01",
    });
    expect(ex2.status).toBe(201);
    expect((await api(t, cookie, "GET", "/api/v1/bots/lab/policy")).body.blocked).toBe(false);
    const revoked = await api(t, cookie, "DELETE", `/api/v1/policy-exceptions/${ex2.body.exception.id}`);
    expect(revoked.status).toBe(200);
    expect(revoked.body.exception.state).toBe("revoked");
    expect(revoked.body.violating.map((f: { bot: string; blocked: boolean }) => [f.bot, f.blocked])).toEqual([["lab", true]]);
    expect((await api(t, cookie, "GET", "/api/v1/bots/lab/policy")).body.blocked).toBe(true);
    expect((await api(t, cookie, "DELETE", `/api/v1/policy-exceptions/${ex2.body.exception.id}`)).status).toBe(409);
    expect((await api(t, cookie, "GET", "/api/v1/policy-exceptions?state=revoked")).body.items).toHaveLength(1);
  });

  it("refuses an exception without a reason, with a past or too distant expiry, or for an unknown rule", async () => {
    const { t } = setup();
    const cookie = await owner(t);
    const r = await api(t, cookie, "POST", "/api/v1/policy-exceptions", { ruleId: "no-such-rule", expiresAt: "2020-01-01" });
    expect(r.status).toBe(400);
    expect(r.body.error.details.map((d: { path: string }) => d.path).sort()).toEqual(["expiresAt", "reason", "ruleId"]);
    const far = await api(t, cookie, "POST", "/api/v1/policy-exceptions", {
      ruleId: "allowLanBind",
      reason: "x",
      expiresAt: "2028-01-01",
    });
    expect(far.status).toBe(400);
    expect(far.body.error.details).toEqual([
      expect.objectContaining({ path: "expiresAt", message: expect.stringContaining("366 days") }),
    ]);
    const none = await api(t, cookie, "POST", "/api/v1/policy-exceptions", { ruleId: "allowLanBind", reason: "x" });
    expect(none.body.error.details).toEqual([expect.objectContaining({ path: "expiresAt" })]);
    expect((await api(t, cookie, "GET", "/api/v1/policy-exceptions")).body.items).toEqual([]);
    // operators may not waive rules
    const op = await t.addUser("op@example.com", "operator");
    expect(
      (await api(t, op, "POST", "/api/v1/policy-exceptions", { ruleId: "allowLanBind", reason: "x", expiresAt: "2026-04-01" }))
        .status,
    ).toBe(403);
  });

  it("an advisory pack warns but lets the bot pass; a disabled pack is ignored", async () => {
    const { t } = setup();
    const cookie = await owner(t);
    const adv = await api(t, cookie, "POST", "/api/v1/policies/security-baseline/enable", { mode: "advisory" });
    expect(adv.status).toBe(200);
    expect(adv.body.pack).toMatchObject({ id: "security-baseline", enabled: true, mode: "advisory", defaultMode: "enforce" });
    const r = await api(t, cookie, "POST", "/api/v1/bots/apply", bot("warned", ELEVATED));
    expect(r.status).toBe(200);
    expect(r.body.policy.violations).toEqual([
      expect.objectContaining({ ruleId: "no-elevated-tools", mode: "advisory", severity: "warning" }),
    ]);

    const off = await api(t, cookie, "POST", "/api/v1/policies/security-baseline/disable");
    expect(off.status).toBe(200);
    expect(off.body.pack).toMatchObject({ enabled: false });
    const r2 = await api(t, cookie, "POST", "/api/v1/bots/apply", bot("ignored", ELEVATED));
    expect(r2.status).toBe(200);
    expect(r2.body.policy.violations).toEqual([]);
    // back to enforcing: the two bots are reported, not rewritten
    const on = await api(t, cookie, "POST", "/api/v1/policies/security-baseline/enable", { mode: "enforce" });
    expect(on.body.violating.map((f: { bot: string; blocked: boolean }) => [f.bot, f.blocked])).toEqual([
      ["ignored", true],
      ["warned", true],
    ]);
    const list = await api(t, cookie, "GET", "/api/v1/policies");
    expect(list.body.items.find((p: { id: string }) => p.id === "security-baseline")).toMatchObject({
      mode: "enforce",
      blocking: ["ignored", "warned"],
    });
    // built-ins cannot be deleted; operators cannot change packs
    expect((await api(t, cookie, "DELETE", "/api/v1/policies/security-baseline")).status).toBe(400);
    const op = await t.addUser("op@example.com", "operator");
    expect((await api(t, op, "POST", "/api/v1/policies/security-baseline/disable")).status).toBe(403);
  });
});

const CUSTOM_PACK = `id: team-rules
name: Team rules
description: every rule type
mode: enforce
rules:
  - { id: model-required, type: required, path: agents.defaults.model }
  - { id: no-env-vars, type: forbidden, path: env.vars }
  - { id: known-log-level, type: allowedValues, path: logging.level, values: [info, warn, error] }
  - { id: anthropic-only, type: pattern, path: agents.defaults.model, regex: "^anthropic/" }
  - { id: small-history, type: range, path: agents.defaults.contextTokens, min: 1000, max: 200000 }
  - id: channel-shape
    type: jsonSchema
    path: channels.*
    schema: { type: object, required: [dmPolicy] }
`;

describe("custom packs", () => {
  it("enforces every rule type of a YAML pack, and reports the bots it affects", async () => {
    const { t } = setup();
    const cookie = await owner(t);
    expect(
      (await api(t, cookie, "POST", "/api/v1/bots/apply", bot("existing", { agents: { defaults: { model: "openai/gpt-5" } } })))
        .status,
    ).toBe(200);
    const put = await api(t, cookie, "PUT", "/api/v1/policies/team-rules", { text: CUSTOM_PACK });
    expect(put.status).toBe(200);
    expect(put.body).toMatchObject({
      action: "created",
      pack: { id: "team-rules", builtin: false, enabled: true, ruleCount: 6 },
    });
    expect(put.body.violating).toEqual([
      expect.objectContaining({
        bot: "existing",
        blocked: true,
        violations: [expect.objectContaining({ ruleId: "anthropic-only" })],
      }),
    ]);
    const again = await api(t, cookie, "PUT", "/api/v1/policies/team-rules", { text: CUSTOM_PACK });
    expect(again.body.action).toBe("unchanged");

    const badBot = bot("x", {
      agents: { defaults: { model: "openai/gpt-5", contextTokens: 10 } },
      env: { vars: { FOO: "bar" } },
      logging: { level: "trace" },
      channels: { telegram: { botToken: "${TELEGRAM_BOT_TOKEN}", groupPolicy: "disabled" } },
    });
    const r = await api(t, cookie, "POST", "/api/v1/bots/apply", badBot);
    expect(r.status).toBe(422);
    const ids = (r.body.error.details.policy.violations as { packId: string; ruleId: string; path: string }[])
      .filter((v) => v.packId === "team-rules")
      .map((v) => `${v.ruleId}@${v.path}`);
    expect(ids.sort()).toEqual([
      "anthropic-only@agents.defaults.model",
      "channel-shape@channels.telegram.dmPolicy",
      "known-log-level@logging.level",
      "no-env-vars@env.vars",
      "small-history@agents.defaults.contextTokens",
    ]);
    const noModel = await api(t, cookie, "POST", "/api/v1/policies/evaluate", {
      ...bot("y"),
      spec: { target: { provider: "local", version: "2026.9.6" } },
    });
    expect(noModel.body.violations.map((v: { ruleId: string }) => v.ruleId)).toEqual(["model-required"]);
    const good = await api(
      t,
      cookie,
      "POST",
      "/api/v1/bots/apply",
      bot("z", {
        agents: { defaults: { model: "anthropic/claude-opus-4-1", contextTokens: 50_000 } },
        logging: { level: "info" },
      }),
    );
    expect(good.status).toBe(200);

    // dryRun of a replacement reports without saving
    const relaxed = CUSTOM_PACK.replace("mode: enforce", "mode: advisory");
    const preview = await api(t, cookie, "PUT", "/api/v1/policies/team-rules?dryRun=true", { text: relaxed });
    expect(preview.body).toMatchObject({ action: "updated", dryRun: true, pack: { mode: "advisory" } });
    expect((await api(t, cookie, "GET", "/api/v1/policies/team-rules")).body.mode).toBe("enforce");
    // a JSON object body works too; deleting a custom pack lifts its rules
    const del = await api(t, cookie, "DELETE", "/api/v1/policies/team-rules");
    expect(del.status).toBe(200);
    expect(del.body.violating).toEqual([]);
    const asJson = await api(t, cookie, "PUT", "/api/v1/policies/json-pack", {
      id: "json-pack",
      name: "J",
      rules: [{ id: "r", type: "forbidden", path: "tools.elevated" }],
    });
    expect(asJson.status).toBe(200);
    expect((await api(t, cookie, "POST", "/api/v1/bots/apply", badBot)).status).toBe(200);
  });

  it("refuses a bad pack with 400 naming every path; nothing is saved", async () => {
    const { t } = setup();
    const cookie = await owner(t);
    const bad = `id: broken
name: Broken
rules:
  - { id: a, type: sometimes, path: x }
  - { id: b, type: pattern, path: x, regex: "([a-z" }
  - { id: c, type: jsonSchema, path: x, schema: { type: object, oneOf: [] } }
  - { id: d, type: range, path: x }
`;
    const r = await api(t, cookie, "PUT", "/api/v1/policies/broken", { text: bad });
    expect(r.status).toBe(400);
    const paths = (r.body.error.details as { path: string }[]).map((d) => d.path);
    expect(paths).toEqual(expect.arrayContaining(["rules.0.type", "rules.1.regex", "rules.2.schema.oneOf", "rules.3"]));
    expect(r.body.error.message).toContain("rules.0.type");
    expect((await api(t, cookie, "GET", "/api/v1/policies/broken")).status).toBe(404);
    const yamlErr = await api(t, cookie, "PUT", "/api/v1/policies/broken", { text: "id: [unclosed" });
    expect(yamlErr.status).toBe(400);
    const clash = await api(t, cookie, "PUT", "/api/v1/policies/security-baseline", {
      id: "security-baseline",
      name: "Mine",
      rules: [],
    });
    expect(clash.status).toBe(400);
    expect(clash.body.error.details).toEqual([expect.objectContaining({ path: "id" })]);
    const mismatch = await api(t, cookie, "PUT", "/api/v1/policies/other", { id: "mine", name: "Mine", rules: [] });
    expect(mismatch.body.error.details).toEqual([expect.objectContaining({ path: "id" })]);
    expect((await api(t, cookie, "GET", "/api/v1/policies")).body.items).toHaveLength(3);
  });
});

describe("fleet-wide rules", () => {
  it("blocks a second bot polling the same stored Telegram token", async () => {
    const { t } = setup();
    const cookie = await owner(t);
    expect(
      (await api(t, cookie, "PUT", "/api/v1/secrets/tg-token", { value: "123456789:AAHk3jd9s8LmNq0pQrStUvWxYz1234567_-" }))
        .status,
    ).toBe(200);
    expect(
      (await api(t, cookie, "PUT", "/api/v1/secrets/tg-other", { value: "987654321:AAHk3jd9s8LmNq0pQrStUvWxYz7654321_-" }))
        .status,
    ).toBe(200);
    const tg = (name: string, secret: string) =>
      bot(
        name,
        {
          channels: {
            telegram: {
              enabled: true,
              botToken: { source: "env", provider: "default", id: "TELEGRAM_BOT_TOKEN" },
              dmPolicy: "pairing",
            },
          },
        },
        { secrets: { TELEGRAM_BOT_TOKEN: { secret } } },
      );
    expect((await api(t, cookie, "POST", "/api/v1/bots/apply", tg("tg-a", "tg-token"))).status).toBe(200);
    const dup = await api(t, cookie, "POST", "/api/v1/bots/apply", tg("tg-b", "tg-token"));
    expect(dup.status).toBe(422);
    expect(dup.body.error.details.issues).toEqual([
      expect.objectContaining({ path: "channels.telegram.botToken", message: expect.stringContaining("tg-a") }),
    ]);
    expect(JSON.stringify(dup.body)).not.toContain("AAHk3jd9");
    expect((await api(t, cookie, "POST", "/api/v1/bots/apply", tg("tg-b", "tg-other"))).status).toBe(200);
    // re-applying the first bot does not count itself as a peer
    expect((await api(t, cookie, "POST", "/api/v1/bots/apply", tg("tg-a", "tg-token"))).body.action).toBe("unchanged");
  });

  it("never quotes a plaintext credential back in a finding", async () => {
    const { t } = setup();
    const cookie = await owner(t);
    await api(t, cookie, "PUT", "/api/v1/policies/tokens", {
      id: "tokens",
      name: "T",
      rules: [{ id: "tok-shape", type: "pattern", path: "channels.telegram.botToken", regex: "^\\$\\{" }],
    });
    const r = await api(
      t,
      cookie,
      "POST",
      "/api/v1/policies/evaluate",
      bot("leaky", {
        channels: { telegram: { botToken: "123456789:AAHk3jd9s8LmNq0pQrStUvWxYz1234567_-", groupPolicy: "disabled" } },
      }),
    );
    expect(r.body.blocked).toBe(true);
    expect(r.body.violations.map((v: { ruleId: string }) => v.ruleId).sort()).toEqual(["no-plaintext-secrets", "tok-shape"]);
    expect(JSON.stringify(r.body)).not.toContain("AAHk3jd9");
  });
});

describe("reconcile-time check and audit", () => {
  it("a pack enabled after a revision was saved makes the reconciler refuse to apply it", async () => {
    const { t, now } = setup();
    const cookie = await owner(t);
    expect(
      (await api(t, cookie, "POST", "/api/v1/bots/apply", bot("late", { agents: { defaults: { model: "openai/gpt-5" } } })))
        .status,
    ).toBe(200);
    const put = await api(t, cookie, "PUT", "/api/v1/policies/anthropic", {
      id: "anthropic",
      name: "Anthropic only",
      rules: [{ id: "anthropic-only", type: "pattern", path: "agents.defaults.model", regex: "^anthropic/" }],
    });
    expect(put.body.violating.map((f: { bot: string }) => f.bot)).toEqual(["late"]);

    const calls: string[] = [];
    const stub: Provider = {
      kind: "local",
      capabilities: { validate: false, logs: false, followLogs: false, survivesControlPlane: true },
      layout: () => layoutFor("/nonexistent/late"),
      observe: async () => ({ exists: false, running: false }),
      ensure: async () => void calls.push("ensure"),
      configure: async () => void calls.push("configure"),
      start: async () => void calls.push("start"),
      stop: async () => void calls.push("stop"),
      destroy: async () => void calls.push("destroy"),
      logs: async function* () {},
      endpoint: async () => {
        throw new Error("not used");
      },
    };
    const rec = new Reconciler({
      db: t.store.db,
      keyring: t.deps.keyring,
      logger: createLogger({ level: "error", write: () => {} }),
      events: t.deps.events,
      providers: { local: stub },
      now,
    });
    const job = claimNext(t.store.db, now())!;
    expect(job).toBeTruthy();
    await rec.process(job);
    expect(calls).toEqual([]);
    const d = await api(t, cookie, "GET", "/api/v1/bots/late");
    expect(d.body.bot.status).toBe("error");
    expect(d.body.bot.statusReason).toContain("anthropic/anthropic-only");
    expect(d.body.events.map((e: { type: string }) => e.type)).toContain("policy.failed");
  });

  it("audits pack and exception changes", async () => {
    const { t } = setup();
    const cookie = await owner(t);
    await api(t, cookie, "PUT", "/api/v1/policies/p1", {
      id: "p1",
      name: "P1",
      rules: [{ id: "r1", type: "required", path: "agents" }],
    });
    await api(t, cookie, "POST", "/api/v1/policies/p1/disable");
    await api(t, cookie, "POST", "/api/v1/policies/channel-safety/enable", { mode: "advisory" });
    const ex = await api(t, cookie, "POST", "/api/v1/policy-exceptions", {
      ruleId: "r1",
      reason: "migration window",
      expiresAt: "2026-03-05",
    });
    await api(t, cookie, "DELETE", `/api/v1/policy-exceptions/${ex.body.exception.id}`);
    await api(t, cookie, "DELETE", "/api/v1/policies/p1");
    const rows = t.store.db
      .select()
      .from(auditLog)
      .all()
      .filter((r) => r.action.startsWith("policy."));
    expect(rows.map((r) => `${r.action} ${r.resourceId}`)).toEqual([
      "policy.pack.create p1",
      "policy.pack.disable p1",
      "policy.pack.enable channel-safety",
      `policy.exception.create ${ex.body.exception.id}`,
      `policy.exception.revoke ${ex.body.exception.id}`,
      "policy.pack.delete p1",
    ]);
    const exRow = rows.find((r) => r.action === "policy.exception.create")!;
    expect(JSON.parse(exRow.summary)).toMatchObject({
      ruleId: "r1",
      reason: "migration window",
      expiresAt: "2026-03-06T00:00:00.000Z",
    });
    expect(t.store.db.select().from(auditLog).where(eq(auditLog.action, "policy.pack.enable")).get()!.summary).toContain(
      "advisory",
    );
  });
});

describe("workspace isolation", () => {
  it("another workspace's pack, exception and bot are not found, even with an empty body", async () => {
    const { t } = setup();
    const cookie = await owner(t);
    await api(t, cookie, "PUT", "/api/v1/policies/mine", { id: "mine", name: "Mine", rules: [] });
    const ex = await api(t, cookie, "POST", "/api/v1/policy-exceptions", {
      ruleId: "allowLanBind",
      reason: "x",
      expiresAt: "2026-03-20",
    });
    expect((await api(t, cookie, "POST", "/api/v1/bots/apply", bot("bee"))).status).toBe(200);
    const other = await t.addUser("b@example.com", "owner", "other-ws");
    for (const [method, path] of [
      ["GET", "/api/v1/policies/mine"],
      ["PUT", "/api/v1/policies/mine"],
      ["DELETE", "/api/v1/policies/mine"],
      ["POST", "/api/v1/policies/mine/enable"],
      ["POST", "/api/v1/policies/mine/disable"],
      ["DELETE", `/api/v1/policy-exceptions/${ex.body.exception.id}`],
      ["GET", "/api/v1/bots/bee/policy"],
    ] as const) {
      const res = await t.req(path, { method, cookie: other });
      expect(res.status, `${method} ${path}`).toBe(404);
    }
    expect((await api(t, other, "GET", "/api/v1/policy-exceptions")).body.items).toEqual([]);
    expect((await api(t, other, "GET", "/api/v1/policies")).body.items.map((p: { id: string }) => p.id)).not.toContain("mine");
    // B's view of the built-ins is its own: disabling one in B leaves A's on
    await api(t, other, "POST", "/api/v1/policies/security-baseline/disable");
    expect((await api(t, cookie, "POST", "/api/v1/policies/evaluate", bot("x", ELEVATED))).body.blocked).toBe(true);
  });
});

describe("policy on the shared-config write paths (profiles, overlays, templates)", () => {
  it("a profile or overlay that would make a bot unsafe is refused, naming the path; nothing is stored", async () => {
    const { t } = setup();
    const cookie = await owner(t);
    const profile = (values: Record<string, unknown>) => ({
      apiVersion: "molthub/v1",
      kind: "Profile",
      metadata: { name: "team" },
      spec: { priority: 10, values },
    });
    expect((await api(t, cookie, "PUT", "/api/v1/profiles/team", profile({ update: { checkOnStart: false } }))).status).toBe(200);
    expect(
      (
        await api(t, cookie, "POST", "/api/v1/bots/apply", {
          ...bot("layered"),
          spec: { ...bot("layered").spec, profiles: ["team"] },
        })
      ).status,
    ).toBe(200);
    const before = counts(t);
    const p = await api(t, cookie, "PUT", "/api/v1/profiles/team", profile({ update: { checkOnStart: false }, ...ELEVATED }));
    expect(p.status).toBe(422);
    expect(JSON.stringify(p.body)).toContain("tools.elevated.enabled");
    expect(counts(t)).toEqual(before);
    expect(JSON.stringify((await api(t, cookie, "GET", "/api/v1/profiles/team")).body)).not.toContain("elevated");

    const overlay = {
      apiVersion: "molthub/v1",
      kind: "Overlay",
      metadata: { name: "open-dms" },
      spec: {
        priority: 5,
        values: { channels: { telegram: { botToken: "${TELEGRAM_BOT_TOKEN}", dmPolicy: "open" } } },
        selector: { bots: ["layered"] },
      },
    };
    const o = await api(t, cookie, "PUT", "/api/v1/overlays/open-dms", overlay);
    expect(o.status).toBe(422);
    expect(JSON.stringify(o.body)).toContain("channels.telegram.dmPolicy");
    expect((await api(t, cookie, "GET", "/api/v1/overlays/open-dms")).status).toBe(404);
    expect(counts(t)).toEqual(before);
    // with an exception the same overlay is saved and reaches the bot
    expect(
      (
        await api(t, cookie, "POST", "/api/v1/policy-exceptions", {
          ruleId: "allowOpenDm",
          botName: "layered",
          reason: "public demo bot",
          expiresAt: "2026-04-01",
        })
      ).status,
    ).toBe(201);
    expect((await api(t, cookie, "PUT", "/api/v1/overlays/open-dms", overlay)).status).toBe(200);
    expect((await api(t, cookie, "GET", "/api/v1/bots/layered")).body.bot.desiredRevision).toBe(2);
  });

  it("creating a bot from a template that is unsafe is blocked like any other create", async () => {
    const { t } = setup();
    const cookie = await owner(t);
    const tpl = {
      apiVersion: "molthub/v1",
      kind: "Template",
      metadata: { name: "yolo", title: "YOLO" },
      spec: {
        inputs: [{ name: "model", label: "Model", type: "string", default: "anthropic/claude-sonnet-4-5" }],
        openclaw: { agents: { defaults: { model: "{{ inputs.model }}" } }, ...ELEVATED },
        target: { provider: "local", version: "2026.9.6" },
      },
    };
    expect((await api(t, cookie, "PUT", "/api/v1/templates/yolo", tpl)).status).toBe(200);
    const r = await api(t, cookie, "POST", "/api/v1/templates/yolo/bots", { name: "from-tpl" });
    expect(r.status).toBe(422);
    expect(r.body.error.details.policy.violations).toEqual([
      expect.objectContaining({ ruleId: "no-elevated-tools", fix: { tools: { elevated: { enabled: false } } } }),
    ]);
    expect(counts(t)).toEqual({ bots: 0, revisions: 0, jobs: 0 });
    // every built-in template, with its required inputs, passes the built-in packs (in production too)
    for (const tp of BUILTIN_TEMPLATES) {
      const inputs: Record<string, unknown> = {};
      for (const i of tp.spec.inputs.filter((x) => x.required)) {
        if (i.type === "secret") {
          await api(t, cookie, "PUT", `/api/v1/secrets/s-${i.name.toLowerCase()}`, { value: `value-of-${i.name}` });
          inputs[i.name] = `s-${i.name.toLowerCase()}`;
        } else
          inputs[i.name] = i.name === "ownerNumber" ? "+15551234567" : i.name === "guildId" ? "123456789012" : (i.default ?? "x");
      }
      const r = await api(t, cookie, "POST", `/api/v1/templates/${tp.metadata.name}/bots`, {
        name: `from-${tp.metadata.name}`,
        environment: "production",
        inputs,
        dryRun: true,
      });
      expect(r.status, `${tp.metadata.name}: ${JSON.stringify(r.body)}`).toBe(200);
      expect(r.body.policy.blocked).toBe(false);
      const check = await api(t, cookie, "POST", "/api/v1/policies/evaluate", r.body.manifest);
      expect(
        check.body.violations.filter((v: { severity: string }) => v.severity === "error"),
        tp.metadata.name,
      ).toEqual([]);
    }
  });
});
