/** @jsxImportSource hono/jsx */
/**
 * The connectors pages: list, add (value write-only), detail with test, rotate (blast radius shown before the
 * confirm), rollouts and bindings — CSP-safe markup, forms that work without JS, roles respected, and no
 * credential anywhere in a page.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { makeTestApp } from "../helpers/app.ts";
import { type StandIn, startProviderStandIn, VALID } from "../helpers/provider-standins.ts";
import { assertPageRules, flashText, get as getPage, post as postForm } from "../helpers/web.ts";

type T = ReturnType<typeof makeTestApp>;
const NEW_TOKEN = "sk-openai-rotated-canary-0123456789";

let t: T;
let api: StandIn;
let owner = "";
let viewer = "";
const pages: string[] = [];

async function get(path: string, cookie = owner) {
  const res = await getPage(t, path, cookie);
  const body = await res.text();
  pages.push(body);
  return { status: res.status, body };
}

async function post(path: string, fields: Record<string, string>, cookie = owner) {
  const res = await postForm(t, path, fields, cookie);
  const body = await res.text();
  pages.push(body);
  const flash = flashText(res);
  if (flash) pages.push(flash);
  return { status: res.status, body, location: res.headers.get("location"), flash };
}

beforeAll(async () => {
  api = startProviderStandIn();
  t = makeTestApp();
  owner = (await t.setupOwner()).cookie;
  viewer = await t.addUser("viewer@example.com", "viewer");
  const m = {
    apiVersion: "molthub/v1",
    kind: "Bot",
    metadata: { name: "helper" },
    spec: { target: { provider: "local", version: "2026.9.6" } },
  };
  expect((await t.req("/api/v1/bots/apply", { method: "POST", cookie: owner, json: m })).status).toBe(200);
});
afterAll(async () => {
  await api.stop();
});

describe("connectors pages", () => {
  it("shows the empty list with the add form to an admin, and no form to a viewer", async () => {
    const r = await get("/connectors");
    expect(r.status).toBe(200);
    assertPageRules(r.body, "/connectors");
    expect(r.body).toContain("No connectors yet");
    expect(r.body).toContain('action="/connectors"');
    const v = await get("/connectors", viewer);
    expect(v.body).not.toContain('action="/connectors"');
  });

  it("adds a connector from the form; a bad one shows the fields to fix", async () => {
    const bad = await post("/connectors", { name: "gpt", type: "openai", value: "", baseUrl: "http://api.example.com" });
    expect(bad.status).toBe(400);
    assertPageRules(bad.body, "POST /connectors");
    expect(bad.body).toContain("use https://");
    const ok = await post("/connectors", { name: "gpt", type: "openai", value: VALID.openai, baseUrl: api.url });
    expect(ok.status, ok.body).toBe(303);
    expect(ok.location).toBe("/connectors/gpt");
    const list = await get("/connectors");
    expect(list.body).toContain('href="/connectors/gpt"');
    expect(list.body).toContain("OPENAI_API_KEY");
    expect((await post("/connectors", { name: "x", type: "ollama" }, viewer)).status).toBe(403);
  });

  it("tests the connection from the detail page and shows the result", async () => {
    const r = await post("/connectors/gpt/test", {});
    expect(r.status).toBe(303);
    expect(r.flash).toContain("3 models");
    const d = await get("/connectors/gpt");
    assertPageRules(d.body, "/connectors/gpt");
    expect(d.body).toContain("badge-ok");
  });

  it("binds a bot, previews the rotation's blast radius, then rotates after the confirm", async () => {
    const b = await post("/connectors/gpt/bind", { bot: "helper" });
    expect(b.status, b.body).toBe(303);
    const d = await get("/connectors/gpt");
    expect(d.body).toContain("Unbind from helper");
    // the preview: the bot that restarts, before any value is entered
    const rotate = d.body.slice(d.body.indexOf('id="rotate"'));
    expect(rotate).toContain('href="/bots/helper"');
    expect(rotate).toContain("restart");
    expect(rotate).toMatch(/data-confirm="Rotate gpt\? helper will restart/);
    const unconfirmed = await post("/connectors/gpt/rotate", { value: NEW_TOKEN });
    expect(unconfirmed.status).toBe(400);
    expect(unconfirmed.body).toContain("tick the box");
    const r = await post("/connectors/gpt/rotate", { value: NEW_TOKEN, confirm: "yes" });
    expect(r.status, r.body).toBe(303);
    expect(r.flash).toContain("connector-gpt v2");
    const after = await get("/connectors/gpt");
    expect(after.body).toContain("connector-gpt</code> v2");
    expect(after.body).toContain("pending");
    const v = await get("/connectors/gpt", viewer);
    assertPageRules(v.body, "/connectors/gpt (viewer)");
    expect(v.body).not.toContain('action="/connectors/gpt/rotate"');
    expect(v.body).not.toContain('action="/connectors/gpt/test"');
  });

  it("refuses to delete while bound, naming the bot", async () => {
    const r = await post("/connectors/gpt/delete", {});
    expect(r.status).toBe(409);
    expect(r.body).toContain("bound to helper");
    expect((await post("/connectors/gpt/unbind", { bot: "helper" })).status).toBe(303);
    const d = await post("/connectors/gpt/delete", {});
    expect(d.status).toBe(303);
    expect((await get("/connectors/gpt")).status).toBe(404);
  });

  it("never shows a credential on any page", () => {
    for (const p of pages) {
      expect(p).not.toContain(VALID.openai);
      expect(p).not.toContain(NEW_TOKEN);
    }
  });
});
