/** @jsxImportSource hono/jsx */

import { asc, eq } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { botRevisions, bots, templates } from "../../src/db/schema.ts";
import { makeTestApp } from "../helpers/app.ts";
import { assertPageRules, get, post } from "../helpers/web.ts";

type T = ReturnType<typeof makeTestApp>;

const CANARY = "987654321:CANARYtokenVALUEdoNotLeak0123456789ab";

async function page(t: T, path: string, cookie: string, status = 200) {
  const res = await get(t, path, cookie);
  const body = await res.text();
  expect(res.status, `${path}: ${body.slice(0, 300)}`).toBe(status);
  assertPageRules(body, path);
  expect(body, `secret value on ${path}`).not.toContain(CANARY);
  return body;
}

describe("templates pages", () => {
  it("lists built-in templates as cards and shows one with its inputs, values, secrets and the create form", async () => {
    const t = makeTestApp();
    const { cookie } = await t.setupOwner();
    const list = await page(t, "/templates", cookie);
    expect(
      list,
      "the placeholder entry for /templates in src/web/ui/coming-soon.tsx (SECTIONS) still shadows this page; remove it",
    ).not.toContain("are not available in this version yet");
    expect(list).toContain('href="/templates/telegram-bot"');
    expect(list).toContain("Slack workspace");
    expect(list).toContain('href="/templates/new"');
    const one = await page(t, "/templates/telegram-bot", cookie);
    expect(one).toContain("botTokenSecret");
    expect(one).toContain("TELEGRAM_BOT_TOKEN");
    expect(one).toContain("{{ inputs.dmPolicy }}");
    expect(one).toContain('action="/templates/telegram-bot/bots"');
    expect(one).toContain('name="value_botTokenSecret" type="password"');
    expect((await get(t, "/templates/no-such", cookie)).status).toBe(404);
    // the wizard's first step offers the templates
    const wizard = await page(t, "/bots/new", cookie);
    expect(wizard).toContain('href="/templates/telegram-bot#create"');
  });

  it("creates a bot from a template, storing a typed secret value first; no secret value on any page", async () => {
    const t = makeTestApp();
    const { cookie } = await t.setupOwner();
    const res = await post(
      t,
      "/templates/telegram-bot/bots",
      {
        bot_name: "tg-web",
        in_botTokenSecret: "",
        newname_botTokenSecret: "tg-web-token",
        value_botTokenSecret: CANARY,
        in_model: "anthropic/claude-sonnet-4-5",
        in_anthropicKeySecret: "",
        in_dmPolicy: "pairing",
        in_allowFrom: "",
        in_groupPolicy: "disabled",
        provider: "",
        version: "",
        image: "",
        fleet: "home",
        environment: "",
        labels: "team=support",
        mode: "create",
      },
      cookie,
    );
    expect(res.status, await res.clone().text()).toBe(303);
    expect(res.headers.get("location")).toBe("/bots/tg-web");
    const b = t.store.db.select().from(bots).where(eq(bots.name, "tg-web")).get()!;
    const rev = t.store.db
      .select()
      .from(botRevisions)
      .where(eq(botRevisions.botId, b.id))
      .orderBy(asc(botRevisions.revision))
      .get()!;
    expect(JSON.parse(rev.manifest).spec.template).toEqual({
      name: "telegram-bot",
      inputs: {
        botTokenSecret: "tg-web-token",
        model: "anthropic/claude-sonnet-4-5",
        dmPolicy: "pairing",
        groupPolicy: "disabled",
      },
    });
    expect(JSON.parse(rev.config).channels.telegram.groupPolicy).toBe("disabled");
    expect(JSON.parse(rev.manifest).metadata).toMatchObject({ fleet: "home", labels: { team: "support" } });
    // every page that could show it: none does
    for (const p of ["/templates", "/templates/telegram-bot", "/bots/tg-web", "/secrets", "/bots", "/audit"])
      await page(t, p, cookie);
    const list = await page(t, "/templates/telegram-bot", cookie);
    expect(list).toContain('href="/bots/tg-web"');
  });

  it("a refused create shows the problems per field, keeps the typed choices and never the secret value", async () => {
    const t = makeTestApp();
    const { cookie } = await t.setupOwner();
    const res = await post(
      t,
      "/templates/discord-server/bots",
      {
        bot_name: "dc",
        in_botTokenSecret: "",
        newname_botTokenSecret: "dc-token",
        value_botTokenSecret: CANARY,
        in_guildId: "not-a-number",
        in_requireMention: "true",
        mode: "create",
      },
      cookie,
    );
    const body = await res.text();
    expect(res.status).toBe(400);
    expect(body).toContain("inputs.guildId");
    expect(body).toContain('value="not-a-number"');
    expect(body).not.toContain(CANARY);
    // the value was stored under its new name, and the form now names it
    expect(body).toMatch(/<option value="dc-token" selected/);
    expect(t.store.db.select().from(bots).all()).toHaveLength(0);
    // a dry run shows the config and stores nothing
    const dry = await post(t, "/templates/minimal-gateway/bots", { bot_name: "mini", mode: "preview" }, cookie);
    expect(dry.status).toBe(200);
    expect(await dry.text()).toContain("agents.defaults.model");
    expect(t.store.db.select().from(bots).all()).toHaveLength(0);
  });

  it("the editor validates per path, previews the blast radius, saves and updates the bots made from it", async () => {
    const t = makeTestApp();
    const { cookie } = await t.setupOwner();
    await page(t, "/templates/new", cookie);
    const text = (model: string, extra = "") => `apiVersion: molthub/v1
kind: Template
metadata: { name: web-tpl, title: Web template }
spec:
  inputs:
    - { name: model, label: Model, type: string, default: ${model} }
  openclaw:
    agents: { defaults: { model: "{{ inputs.model }}" } }
${extra}`;
    const bad = await post(
      t,
      "/templates/editor",
      { text: text("anthropic/claude-sonnet-4-5", '    logging: { file: /tmp/x }\n    x: "{{ inputs.nope }}"\n'), mode: "save" },
      cookie,
    );
    expect(bad.status).toBe(400);
    const badBody = await bad.text();
    expect(badBody).toContain("spec.openclaw.logging.file");
    expect(badBody).toContain("spec.openclaw.x");
    expect(t.store.db.select().from(templates).all()).toHaveLength(0);

    const saved = await post(t, "/templates/editor", { text: text("anthropic/claude-sonnet-4-5"), mode: "save" }, cookie);
    expect(saved.status, await saved.clone().text()).toBe(303);
    expect(saved.headers.get("location")).toBe("/templates/web-tpl");
    const created = await post(t, "/templates/web-tpl/bots", { bot_name: "wb", mode: "create" }, cookie);
    expect(created.status, await created.clone().text()).toBe(303);

    const edit = await page(t, "/templates/web-tpl/edit", cookie);
    expect(edit).toContain('name="original" value="web-tpl"');
    const preview = await post(
      t,
      "/templates/editor",
      { text: text("openai/gpt-5"), original: "web-tpl", mode: "preview" },
      cookie,
    );
    const pv = await preview.text();
    expect(preview.status).toBe(200);
    expect(pv).toContain("gets revision 2");
    expect(pv).toContain("openai/gpt-5");
    expect(t.store.db.select().from(templates).get()!.version).toBe(1);

    const save2 = await post(t, "/templates/editor", { text: text("openai/gpt-5"), original: "web-tpl", mode: "save" }, cookie);
    expect(save2.status).toBe(303);
    const b = t.store.db.select().from(bots).where(eq(bots.name, "wb")).get()!;
    expect(b.desiredRevision).toBe(2);

    // built-ins are read-only: editing offers a copy
    const builtinEdit = await get(t, "/templates/telegram-bot/edit", cookie);
    expect(builtinEdit.status).toBe(303);
    expect(builtinEdit.headers.get("location")).toBe("/templates/new?from=telegram-bot");
    const copy = await page(t, "/templates/new?from=telegram-bot", cookie);
    expect(copy).toContain("my-telegram-bot");
  });

  it("viewers see templates without create or edit controls", async () => {
    const t = makeTestApp();
    await t.setupOwner();
    const viewer = await t.addUser("v@x.test", "viewer");
    const one = await page(t, "/templates/telegram-bot", viewer);
    expect(one).not.toContain('action="/templates/telegram-bot/bots"');
    const list = await page(t, "/templates", viewer);
    expect(list).not.toContain('href="/templates/new"');
    const refused = await post(t, "/templates/minimal-gateway/bots", { bot_name: "v", mode: "create" }, viewer);
    expect(refused.status).toBe(403);
  });
});
