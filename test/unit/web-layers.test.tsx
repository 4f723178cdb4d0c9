/** @jsxImportSource hono/jsx */
import { describe, expect, it } from "vitest";
import { makeTestApp } from "../helpers/app.ts";
import { applyBot, assertPageRules, get, post, withFlash } from "../helpers/web.ts";

const PROFILE = `apiVersion: molthub/v1
kind: Profile
metadata: { name: team, description: shared defaults }
spec:
  priority: 10
  values:
    agents: { defaults: { model: team/model } }
    update: { checkOnStart: false }
  locked: [update.checkOnStart]
`;

const BOT = (name: string, extra = "") => `apiVersion: molthub/v1
kind: Bot
metadata: { name: ${name}, environment: prod }
spec:
  target: { provider: local, version: 2026.9.6 }
${extra}`;

describe("profile, overlay and resolved-config pages", () => {
  it("create a profile with a preview, attach a bot, see the resolved config with provenance", async () => {
    const t = makeTestApp();
    const { cookie } = await t.setupOwner();
    const empty = await get(t, "/profiles", cookie);
    expect(empty.status).toBe(200);
    const emptyHtml = await empty.text();
    assertPageRules(emptyHtml, "/profiles");
    expect(emptyHtml).toContain("No profiles yet");

    // a bad document: every wrong path on the form, nothing stored
    const bad = await post(
      t,
      "/profiles/apply",
      {
        document: PROFILE.replace("priority: 10", "priority: 10\n  colour: red").replace(
          "update: { checkOnStart: false }",
          "gateway: { port: 1 }",
        ),
        mode: "save",
      },
      cookie,
    );
    expect(bad.status).toBe(400);
    const badHtml = await bad.text();
    expect(badHtml).toContain("spec.colour");
    expect(badHtml).toContain("spec.values.gateway.port");
    expect(badHtml).toContain("No profiles yet");

    await applyBot(t, cookie, BOT("alpha", "  openclaw: { agents: { defaults: { model: own/model } } }"));
    await applyBot(t, cookie, BOT("beta"));

    const preview = await post(t, "/profiles/apply", { document: PROFILE, mode: "preview" }, cookie);
    expect(preview.status).toBe(200);
    const previewHtml = await preview.text();
    assertPageRules(previewHtml, "preview");
    expect(previewHtml).toContain("Preview: nothing was stored");
    expect((await (await t.req("/api/v1/profiles", { cookie })).json()).items).toEqual([]);

    const saved = await post(t, "/profiles/apply", { document: PROFILE, mode: "save" }, cookie);
    expect(saved.status).toBe(303);
    expect(saved.headers.get("location")).toBe("/profiles/team");
    const page = await get(t, "/profiles/team", withFlash(cookie, saved));
    const html = await page.text();
    assertPageRules(html, "/profiles/team");
    expect(html).toContain("Created the profile team (version 1)");
    expect(html).toContain("update.checkOnStart");
    expect(html).toContain('<option value="alpha">alpha</option>');
    expect(html).toContain('action="/profiles/team/attach"');

    const attached = await post(t, "/profiles/team/attach", { bot: "alpha" }, cookie);
    expect(attached.status).toBe(303);
    const after = await (await get(t, "/profiles/team", withFlash(cookie, attached))).text();
    expect(after).toContain("Attached team to alpha: revision 2");
    expect(after).toContain('action="/profiles/team/detach"');

    // a change that the bot's own value overrides leaves alpha's model alone; the preview says which bots change
    const edit = await post(
      t,
      "/profiles/apply",
      { document: PROFILE.replace("team/model", "team/other"), mode: "preview" },
      cookie,
    );
    const editHtml = await edit.text();
    expect(editHtml).toContain("Saving would make this version 2");
    expect(editHtml).toContain("No bot&#39;s configuration changes (1 checked: alpha)");

    const resolved = await get(t, "/bots/alpha/resolved", cookie);
    expect(resolved.status).toBe(200);
    const r = await resolved.text();
    assertPageRules(r, "/bots/alpha/resolved");
    expect(r).toContain("agents.defaults.model");
    expect(r).toContain('href="/profiles/team"');
    expect(r).toMatch(/own\/model/);
    expect(r).toMatch(/team\/model/); // what the bot's value overrode

    const botPage = await (await get(t, "/bots/alpha", cookie)).text();
    expect(botPage).toContain('href="/bots/alpha/resolved"');

    const refused = await post(t, "/profiles/team/delete", {}, cookie);
    expect(refused.status).toBe(409);
    expect(await refused.text()).toContain("used by alpha");
  });

  it("overlays: a conflicting save lists the bot and path; disable from the page; viewers get no editor", async () => {
    const t = makeTestApp();
    const { cookie } = await t.setupOwner();
    await applyBot(t, cookie, BOT("alpha"));
    const ov = (name: string, v: boolean) => `apiVersion: molthub/v1
kind: Overlay
metadata: { name: ${name} }
spec:
  priority: 3
  selector: { environments: [prod] }
  window: { from: "2020-01-01T00:00:00Z" }
  values: { update: { checkOnStart: ${v} } }
`;
    expect((await post(t, "/overlays/apply", { document: ov("one", false), mode: "save" }, cookie)).status).toBe(303);
    const clash = await post(t, "/overlays/apply", { document: ov("two", true), mode: "save" }, cookie);
    expect(clash.status).toBe(400);
    const clashHtml = await clash.text();
    expect(clashHtml).toContain("bot alpha");
    expect(clashHtml).toContain("openclaw.update.checkOnStart");

    const list = await (await get(t, "/overlays", cookie)).text();
    assertPageRules(list, "/overlays");
    expect(list).toContain("environments: prod");
    expect(list).toContain("active");

    const off = await post(t, "/overlays/one/disable", {}, cookie);
    expect(off.status).toBe(303);
    const detail = await (await get(t, "/overlays/one", withFlash(cookie, off))).text();
    assertPageRules(detail, "/overlays/one");
    expect(detail).toContain("Disabled one.");
    expect(detail).toContain("disabled");
    expect(detail).toContain('action="/overlays/one/enable"');

    const viewer = await t.addUser("v@example.com", "viewer");
    const vpage = await (await get(t, "/overlays/one", viewer)).text();
    expect(vpage).not.toContain('action="/overlays/apply"');
    expect(vpage).not.toContain("/disable");
    const vpost = await post(t, "/overlays/apply", { document: ov("three", true), mode: "save" }, viewer);
    expect(vpost.status).toBe(403);
    expect((await get(t, "/overlays/nope", cookie)).status).toBe(404);
  });
});
