/** @jsxImportSource hono/jsx */
/**
 * The policies pages (packs, toggles, custom pack editor, exceptions) and policy results on the bot forms
 * (apply form, wizard review) before anything is submitted.
 */
import { describe, expect, it } from "vitest";
import { policyPacks } from "../../src/db/schema.ts";
import { makeTestApp } from "../helpers/app.ts";
import { assertLabelled, get, post, withFlash } from "../helpers/web.ts";

/** The shared page rules, except that every form on these pages must post. */
function assertPageRules(body: string, path: string) {
  expect(body, path).toMatch(/^<!doctype html>/i);
  expect(body.match(/<script(?![^>]*\bsrc=)[^>]*>/gi) ?? [], `inline <script> on ${path}`).toEqual([]);
  expect(body.includes(" style="), `style attribute on ${path}`).toBe(false);
  for (const tag of body.match(/<form\b[^>]*>/gi) ?? [])
    expect(tag, path).toMatch(/\bmethod="post".*\baction="\/[^"]*"|\baction="\/[^"]*".*\bmethod="post"/);
  assertLabelled(body, path);
}

const htmlText = (s: string) =>
  s.replaceAll("&quot;", '"').replaceAll("&#39;", "'").replaceAll("&lt;", "<").replaceAll("&gt;", ">").replaceAll("&amp;", "&");

describe("policies pages", () => {
  it("lists the packs with mode, scope and rules; admins get toggles, viewers do not", async () => {
    const t = makeTestApp();
    const { cookie } = await t.setupOwner();
    const res = await get(t, "/policies", cookie);
    expect(res.status).toBe(200);
    const html = await res.text();
    assertPageRules(html, "/policies");
    for (const s of [
      "Security baseline",
      "Production hardening",
      "Channel safety",
      "environment production or prod",
      'action="/policies/security-baseline/disable"',
      'action="/policies/exceptions"',
      'name="pack"',
    ])
      expect(html).toContain(s);
    expect(html).not.toContain("not available in this version yet");
    const viewer = await t.addUser("v@example.com", "viewer");
    const vhtml = await (await get(t, "/policies", viewer)).text();
    expect(vhtml).toContain("Security baseline");
    expect(vhtml).not.toContain('action="/policies/security-baseline/disable"');
    expect(vhtml).not.toContain('name="pack"');
    expect((await post(t, "/policies/security-baseline/disable", {}, viewer)).status).toBe(403);
    const detail = await get(t, "/policies/security-baseline", cookie);
    expect(detail.status).toBe(200);
    const dhtml = await detail.text();
    assertPageRules(dhtml, "/policies/security-baseline");
    expect(dhtml).toContain("no-elevated-tools");
    expect(dhtml).toContain("id: security-baseline");
    expect((await get(t, "/policies/nope", cookie)).status).toBe(404);
  });

  it("switches a built-in pack to advisory and off, and says which bots are affected", async () => {
    const t = makeTestApp();
    const { cookie } = await t.setupOwner();
    const adv = await post(t, "/policies/security-baseline/enable", { mode: "advisory" }, cookie);
    expect(adv.status).toBe(303);
    const html = await (await get(t, "/policies", withFlash(cookie, adv))).text();
    expect(html).toContain("Security baseline is on (advisory)");
    expect(html).toContain("advisory</span>");
    const off = await post(t, "/policies/security-baseline/disable", {}, cookie);
    expect(off.status).toBe(303);
    expect(t.store.db.select().from(policyPacks).all()).toEqual([
      expect.objectContaining({ packId: "security-baseline", enabled: false, builtin: true }),
    ]);
  });

  it("the pack editor lists every wrong path and saves nothing; preview and save a good pack", async () => {
    const t = makeTestApp();
    const { cookie } = await t.setupOwner();
    const bad = await post(
      t,
      "/policies",
      {
        pack: 'id: bad\nname: Bad\nrules:\n  - { id: a, type: sometimes, path: x }\n  - { id: b, type: pattern, path: x, regex: "([" }\n',
        mode: "save",
      },
      cookie,
    );
    expect(bad.status).toBe(400);
    const bhtml = htmlText(await bad.text());
    expect(bhtml).toContain("rules.0.type");
    expect(bhtml).toContain("rules.1.regex");
    expect(bhtml).toContain("type: sometimes"); // the text is kept
    expect(t.store.db.select().from(policyPacks).all()).toEqual([]);

    const pack =
      'id: team\nname: Team\nrules:\n  - { id: anthropic-only, type: pattern, path: agents.defaults.model, regex: "^anthropic/" }\n';
    const preview = await post(t, "/policies", { pack, mode: "preview" }, cookie);
    expect(preview.status).toBe(200);
    expect(await preview.text()).toContain("nothing was saved");
    expect(t.store.db.select().from(policyPacks).all()).toEqual([]);
    const saved = await post(t, "/policies", { pack, mode: "save" }, cookie);
    expect(saved.status).toBe(303);
    expect(saved.headers.get("location")).toBe("/policies/team");
    const page = await (await get(t, "/policies/team", withFlash(cookie, saved))).text();
    expect(page).toContain("Pack team created");
    expect(page).toContain("anthropic-only");
    expect(page).toContain('action="/policies/team/delete"');
    const del = await post(t, "/policies/team/delete", {}, cookie);
    expect(del.status).toBe(303);
    expect(t.store.db.select().from(policyPacks).all()).toEqual([]);
  });

  it("creates an exception only with a reason and expiry, and revokes it", async () => {
    const t = makeTestApp();
    const { cookie } = await t.setupOwner();
    const bad = await post(
      t,
      "/policies/exceptions",
      { ruleId: "no-elevated-tools", botName: "", reason: "", expiresAt: "" },
      cookie,
    );
    expect(bad.status).toBe(400);
    const bhtml = await bad.text();
    expect(bhtml).toContain("say why the rule is waived");
    expect(bhtml).toContain("give an expiry");
    const day = new Date(Date.now() + 30 * 86_400_000).toISOString().slice(0, 10);
    const ok = await post(
      t,
      "/policies/exceptions",
      { ruleId: "no-elevated-tools", botName: "", reason: "lab machine", expiresAt: day },
      cookie,
    );
    expect(ok.status).toBe(303);
    const html = await (await get(t, "/policies", withFlash(cookie, ok))).text();
    expect(html).toContain("Exception created");
    expect(html).toContain("lab machine");
    const id = /action="\/policies\/exceptions\/([^"/]+)\/revoke"/.exec(html)![1]!;
    const rev = await post(t, `/policies/exceptions/${id}/revoke`, {}, cookie);
    expect(rev.status).toBe(303);
    const after = await (await get(t, "/policies", withFlash(cookie, rev))).text();
    expect(after).toContain("revoked");
    expect(after).not.toContain(`/policies/exceptions/${id}/revoke`);
  });
});

describe("policy results on the bot forms, before submit", () => {
  const manifest = (name: string, extra = "") => `apiVersion: molthub/v1
kind: Bot
metadata: { name: ${name} }
spec:
  target: { provider: local, version: 2026.9.6 }
  openclaw:
    agents: { defaults: { model: anthropic/claude-sonnet-4-5 } }
${extra}`;

  it("the apply form shows blocking violations with their fix, and advisory findings as warnings", async () => {
    const t = makeTestApp();
    const { cookie } = await t.setupOwner();
    const unsafe = manifest("unsafe", "    tools: { elevated: { enabled: true } }\n");
    const dry = await post(t, "/bots/apply", { manifest: unsafe, mode: "dry-run" }, cookie);
    expect(dry.status).toBe(422);
    const html = htmlText(await dry.text());
    expect(html).toContain("Blocked by policy");
    expect(html).toContain("security-baseline/no-elevated-tools");
    expect(html).toContain('{"tools":{"elevated":{"enabled":false}}}');
    const applied = await post(t, "/bots/apply", { manifest: unsafe, mode: "apply" }, cookie);
    expect(applied.status).toBe(422);
    expect(htmlText(await applied.text())).toContain('{"tools":{"elevated":{"enabled":false}}}');
    expect((await (await t.req("/api/v1/bots", { cookie })).json()) as unknown).toEqual({ items: [] });

    expect((await post(t, "/policies/security-baseline/enable", { mode: "advisory" }, cookie)).status).toBe(303);
    const warned = await post(t, "/bots/apply", { manifest: unsafe, mode: "dry-run" }, cookie);
    expect(warned.status).toBe(200);
    const whtml = await warned.text();
    expect(whtml).toContain("Policy warnings (1)");
    expect(whtml).not.toContain("Blocked by policy");
  });

  it("the wizard's review step shows that the bot would be blocked (a Telegram token another bot uses)", async () => {
    const t = makeTestApp();
    const { cookie } = await t.setupOwner();
    expect(
      (
        await t.req("/api/v1/secrets/tg", {
          method: "PUT",
          cookie,
          json: { value: "123456789:AAHk3jd9s8LmNq0pQrStUvWxYz1234567_-" },
        })
      ).status,
    ).toBe(200);
    expect(
      (
        await t.req("/api/v1/secrets/anthropic-api-key", {
          method: "PUT",
          cookie,
          json: { value: "sk-ant-0123456789abcdef0123" },
        })
      ).status,
    ).toBe(200);
    const first = await t.req("/api/v1/bots/apply", {
      method: "POST",
      cookie,
      json: {
        apiVersion: "molthub/v1",
        kind: "Bot",
        metadata: { name: "first" },
        spec: {
          target: { provider: "local", version: "2026.9.6" },
          openclaw: {
            channels: {
              telegram: {
                enabled: true,
                botToken: { source: "env", provider: "default", id: "TELEGRAM_BOT_TOKEN" },
                dmPolicy: "pairing",
              },
            },
          },
          secrets: { TELEGRAM_BOT_TOKEN: { secret: "tg" } },
        },
      },
    });
    expect(first.status).toBe(200);
    const fields = {
      step: "4",
      name: "second",
      provider: "local",
      version: "2026.9.6",
      model: "anthropic/claude-sonnet-4-5",
      telegram: "on",
      dmPolicy: "pairing",
      ref_TELEGRAM_BOT_TOKEN: "tg",
      ref_ANTHROPIC_API_KEY: "anthropic-api-key",
    };
    const review = await post(t, "/bots/new", { ...fields, go: "review" }, cookie);
    const html = await review.text();
    expect(html).toContain("Step 4 of 5");
    expect(html).toContain("Blocked by policy");
    expect(html).toContain("channel-safety/unique-channel-tokens");
    expect(html).not.toContain("AAHk3jd9");
    const deploy = await post(t, "/bots/new", { ...fields, go: "deploy" }, cookie);
    expect(deploy.status).toBe(422);
    expect(await deploy.text()).toContain("channel-safety/unique-channel-tokens");
    expect(
      ((await (await t.req("/api/v1/bots", { cookie })).json()) as { items: { name: string }[] }).items.map((b) => b.name),
    ).toEqual(["first"]);
  });
});
