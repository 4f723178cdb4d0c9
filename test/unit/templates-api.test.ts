import { and, asc, eq } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { auditLog, botRevisions, bots, templates } from "../../src/db/schema.ts";
import { makeTestApp } from "../helpers/app.ts";

type T = ReturnType<typeof makeTestApp>;

const TOKEN_VALUE = "123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsawQ";

async function setup() {
  const t = makeTestApp();
  const { cookie } = await t.setupOwner();
  const call = async (method: string, path: string, json?: unknown, as = cookie) => {
    const res = await t.req(path, { method, cookie: as, json });
    const text = await res.text();
    return { status: res.status, text, body: text ? JSON.parse(text) : undefined };
  };
  await call("PUT", "/api/v1/secrets/telegram-token", { value: TOKEN_VALUE });
  await call("PUT", "/api/v1/secrets/anthropic-key", { value: `sk-ant-api03-${"x".repeat(40)}` });
  return { t, cookie, call };
}

function revisions(t: T, botName: string) {
  const b = t.store.db.select().from(bots).where(eq(bots.name, botName)).get()!;
  return t.store.db.select().from(botRevisions).where(eq(botRevisions.botId, b.id)).orderBy(asc(botRevisions.revision)).all();
}

function userTemplate(extra: Record<string, unknown> = {}, model = "anthropic/claude-sonnet-4-5") {
  return {
    apiVersion: "molthub/v1",
    kind: "Template",
    metadata: { name: "support-desk", title: "Support desk", description: "Our support bot" },
    spec: {
      inputs: [
        { name: "tokenSecret", label: "Telegram token", type: "secret", required: true },
        { name: "maxConcurrent", label: "Parallel runs", type: "number", default: 2 },
        ...((extra.inputs as unknown[]) ?? []),
      ],
      openclaw: {
        agents: { defaults: { model, maxConcurrent: "{{ inputs.maxConcurrent }}" } },
        channels: {
          telegram: {
            enabled: true,
            botToken: { source: "env", provider: "default", id: "TELEGRAM_BOT_TOKEN" },
            dmPolicy: "pairing",
            groupPolicy: "disabled",
            ...((extra.telegram as object) ?? {}),
          },
        },
      },
      secrets: { TELEGRAM_BOT_TOKEN: { secret: "{{ inputs.tokenSecret }}" } },
    },
  };
}

describe("templates API", () => {
  it("lists the built-ins with their inputs, and gets one", async () => {
    const { call } = await setup();
    const list = await call("GET", "/api/v1/templates");
    expect(list.status).toBe(200);
    const names = list.body.items.map((i: { name: string }) => i.name);
    expect(names).toContain("telegram-bot");
    expect(names).toHaveLength(7);
    const one = await call("GET", "/api/v1/templates/telegram-bot");
    expect(one.status).toBe(200);
    expect(one.body.builtin).toBe(true);
    expect(one.body.inputs.map((i: { name: string }) => i.name)).toContain("botTokenSecret");
    expect(one.body.secretEnvs).toEqual(["ANTHROPIC_API_KEY", "TELEGRAM_BOT_TOKEN"]);
    expect((await call("GET", "/api/v1/templates/nope")).status).toBe(404);
  });

  it("creates a bot from a template: the manifest names the template, the revision holds its values with provenance kind template", async () => {
    const { t, call } = await setup();
    const r = await call("POST", "/api/v1/templates/telegram-bot/bots", {
      name: "tg1",
      inputs: { botTokenSecret: "telegram-token", anthropicKeySecret: "anthropic-key", allowFrom: "42" },
      fleet: "home",
    });
    expect(r.status, r.text).toBe(201);
    expect(r.body.action).toBe("created");
    const [rev] = revisions(t, "tg1");
    const manifest = JSON.parse(rev!.manifest);
    expect(manifest.spec.template).toEqual({
      name: "telegram-bot",
      inputs: { botTokenSecret: "telegram-token", anthropicKeySecret: "anthropic-key", allowFrom: "42" },
    });
    expect(manifest.spec.openclaw).toEqual({});
    expect(manifest.metadata.fleet).toBe("home");
    const config = JSON.parse(rev!.config);
    expect(config.channels.telegram).toEqual({
      enabled: true,
      botToken: { source: "env", provider: "default", id: "TELEGRAM_BOT_TOKEN" },
      dmPolicy: "pairing",
      allowFrom: ["42"],
      groupPolicy: "allowlist",
    });
    expect(config.agents.defaults.sandbox).toEqual({ mode: "non-main" });
    expect(JSON.parse(rev!.secretRefs)).toEqual({
      TELEGRAM_BOT_TOKEN: { secret: "telegram-token" },
      ANTHROPIC_API_KEY: { secret: "anthropic-key" },
    });
    const prov = JSON.parse(rev!.provenance);
    expect(prov["channels.telegram.dmPolicy"].layer).toEqual({
      kind: "template",
      id: "template:telegram-bot",
      name: "telegram-bot",
    });
    // the secret's value never appears in what the API stored or answered
    expect(r.text).not.toContain(TOKEN_VALUE);
    expect(rev!.config + rev!.manifest + rev!.resolved).not.toContain(TOKEN_VALUE);
    // a second bot of that name is refused
    const again = await call("POST", "/api/v1/templates/telegram-bot/bots", {
      name: "tg1",
      inputs: { botTokenSecret: "telegram-token" },
    });
    expect(again.status).toBe(409);
  });

  it("bad inputs: every wrong input named, nothing created; a missing secret names the secret", async () => {
    const { t, call } = await setup();
    const r = await call("POST", "/api/v1/templates/discord-server/bots", {
      name: "d1",
      inputs: { guildId: "abc", requireMention: "maybe", colour: "red" },
    });
    expect(r.status).toBe(400);
    expect(r.body.error.details.map((d: { path: string }) => d.path).sort()).toEqual([
      "inputs.botTokenSecret",
      "inputs.colour",
      "inputs.guildId",
      "inputs.requireMention",
    ]);
    const missing = await call("POST", "/api/v1/templates/discord-server/bots", {
      name: "d1",
      inputs: { botTokenSecret: "no-such-secret", guildId: "123456789012" },
    });
    expect(missing.status).toBe(400);
    expect(missing.body.error.message).toContain("no-such-secret");
    expect(t.store.db.select().from(bots).all()).toHaveLength(0);
    // a dry run reports the config without storing a bot
    const dry = await call("POST", "/api/v1/templates/minimal-gateway/bots", { name: "m1", dryRun: true });
    expect(dry.status, dry.text).toBe(200);
    expect(dry.body.changes.some((c: { path: string }) => c.path.startsWith("agents"))).toBe(true);
    expect(t.store.db.select().from(bots).all()).toHaveLength(0);
  });

  it("user templates: create, refuse a built-in's name, and validation errors per path with nothing saved", async () => {
    const { t, call } = await setup();
    const created = await call("PUT", "/api/v1/templates/support-desk", userTemplate());
    expect(created.status, created.text).toBe(200);
    expect(created.body).toMatchObject({ action: "created", version: 1, blast: [] });
    const same = await call("PUT", "/api/v1/templates/support-desk", userTemplate());
    expect(same.body.action).toBe("unchanged");
    const builtin = await call("PUT", "/api/v1/templates/telegram-bot", {
      ...userTemplate(),
      metadata: { name: "telegram-bot", title: "Mine" },
    });
    expect(builtin.status).toBe(409);
    const bad = userTemplate();
    (bad.spec.openclaw as Record<string, unknown>).x = "{{ inputs.missing }}";
    (bad.spec.openclaw as Record<string, unknown>).gateway = { bind: "lan" };
    const refused = await call("PUT", "/api/v1/templates/support-desk", bad);
    expect(refused.status).toBe(400);
    expect(refused.body.error.details.map((d: { path: string }) => d.path).sort()).toEqual([
      "spec.openclaw.gateway.bind",
      "spec.openclaw.x",
    ]);
    const mismatch = await call("PUT", "/api/v1/templates/other-name", userTemplate());
    expect(mismatch.status).toBe(400);
    expect(
      t.store.db
        .select()
        .from(templates)
        .all()
        .map((r) => r.version),
    ).toEqual([1]);
    const actions = t.store.db
      .select()
      .from(auditLog)
      .all()
      .map((a) => a.action);
    expect(actions.filter((a) => a.startsWith("template."))).toEqual(["template.create"]);
  });

  it("editing a user template shows the blast radius, then creates new revisions for the bots using it", async () => {
    const { t, call } = await setup();
    await call("PUT", "/api/v1/templates/support-desk", userTemplate());
    const a = await call("POST", "/api/v1/templates/support-desk/bots", {
      name: "desk-a",
      inputs: { tokenSecret: "telegram-token" },
    });
    expect(a.status, a.text).toBe(201);
    await call("PUT", "/api/v1/secrets/telegram-token-b", { value: "987654321:BBHdqTcvCH1vGWJxfSeofSAs0K5PALDsawQ" });
    const b = await call("POST", "/api/v1/templates/support-desk/bots", {
      name: "desk-b",
      inputs: { tokenSecret: "telegram-token-b", maxConcurrent: "4" },
    });
    expect(b.status, b.text).toBe(201);
    await call("POST", "/api/v1/templates/minimal-gateway/bots", { name: "other" });

    const edited = userTemplate({}, "anthropic/claude-opus-4-1");
    const dry = await call("PUT", "/api/v1/templates/support-desk?dryRun=true", edited);
    expect(dry.status, dry.text).toBe(200);
    expect(dry.body.dryRun).toBe(true);
    expect(dry.body.blast.map((e: { bot: string; action: string }) => [e.bot, e.action])).toEqual([
      ["desk-a", "updated"],
      ["desk-b", "updated"],
    ]);
    expect(dry.body.blast[0].changes).toEqual([
      { path: "agents.defaults.model", from: "anthropic/claude-sonnet-4-5", to: "anthropic/claude-opus-4-1" },
    ]);
    // the dry run saved nothing
    expect(revisions(t, "desk-a")).toHaveLength(1);
    expect(t.store.db.select().from(templates).get()!.version).toBe(1);

    const saved = await call("PUT", "/api/v1/templates/support-desk", edited);
    expect(saved.status, saved.text).toBe(200);
    expect(saved.body).toMatchObject({ action: "updated", version: 2, dryRun: false });
    for (const name of ["desk-a", "desk-b"]) {
      const revs = revisions(t, name);
      expect(revs).toHaveLength(2);
      expect(revs[1]!.source).toBe("layer");
      expect(JSON.parse(revs[1]!.config).agents.defaults.model).toBe("anthropic/claude-opus-4-1");
    }
    expect(JSON.parse(revisions(t, "desk-b")[1]!.config).agents.defaults.maxConcurrent).toBe(4);
    expect(revisions(t, "other")).toHaveLength(1);
    const audit = t.store.db
      .select()
      .from(auditLog)
      .where(and(eq(auditLog.action, "template.update")))
      .get()!;
    expect(JSON.parse(audit.summary!)).toMatchObject({
      name: "support-desk",
      version: 2,
      bots: [
        { bot: "desk-a", revision: 2 },
        { bot: "desk-b", revision: 2 },
      ],
    });

    // a version that would break the bots (a new required input they do not give) is refused, nothing saved
    const breaking = userTemplate(
      { inputs: [{ name: "region", label: "Region", type: "string", required: true }] },
      "anthropic/claude-opus-4-1",
    );
    const refused = await call("PUT", "/api/v1/templates/support-desk", breaking);
    expect(refused.status).toBe(409);
    expect(refused.body.error.message).toContain("desk-a, desk-b");
    expect(refused.body.error.details.map((d: { path: string }) => d.path)).toContain("bots.desk-a.spec.template.inputs.region");
    expect(t.store.db.select().from(templates).get()!.version).toBe(2);
    expect(revisions(t, "desk-a")).toHaveLength(2);

    // deleting is refused while bots use it
    const del = await call("DELETE", "/api/v1/templates/support-desk");
    expect(del.status).toBe(409);
    expect(del.body.error.message).toContain("desk-a");
    expect((await call("DELETE", "/api/v1/templates/telegram-bot")).status).toBe(409);
  });

  it("deletes an unused user template, audited", async () => {
    const { t, call } = await setup();
    await call("PUT", "/api/v1/templates/support-desk", userTemplate());
    expect((await call("DELETE", "/api/v1/templates/support-desk")).status).toBe(200);
    expect((await call("GET", "/api/v1/templates/support-desk")).status).toBe(404);
    expect(
      t.store.db
        .select()
        .from(auditLog)
        .all()
        .map((a) => a.action),
    ).toContain("template.delete");
  });

  it("roles: viewers read, operators create bots, only admins change templates", async () => {
    const { t, call } = await setup();
    const viewer = await t.addUser("v@x.test", "viewer");
    const operator = await t.addUser("op@x.test", "operator");
    expect((await call("GET", "/api/v1/templates", undefined, viewer)).status).toBe(200);
    expect((await call("POST", "/api/v1/templates/minimal-gateway/bots", { name: "v1" }, viewer)).status).toBe(403);
    expect((await call("PUT", "/api/v1/templates/support-desk", userTemplate(), operator)).status).toBe(403);
    expect((await call("POST", "/api/v1/templates/minimal-gateway/bots", { name: "op1" }, operator)).status).toBe(201);
  });

  it("a template that would produce an unsafe config is blocked by policy, nothing created", async () => {
    const { t, call } = await setup();
    const unsafe = userTemplate({ telegram: { dmPolicy: "open", allowFrom: ["*"] } });
    unsafe.metadata.name = "open-door";
    expect((await call("PUT", "/api/v1/templates/open-door", unsafe)).status).toBe(200);
    const r = await call("POST", "/api/v1/templates/open-door/bots", {
      name: "unsafe",
      inputs: { tokenSecret: "telegram-token" },
    });
    expect(r.status, r.text).toBe(422);
    expect(r.body.error.code).toBe("policy_blocked");
    expect(r.body.error.message).toContain("dm-policy-not-open");
    expect(t.store.db.select().from(bots).all()).toHaveLength(0);
  });
});
