/** @jsxImportSource hono/jsx */
import { describe, expect, it } from "vitest";
import { makeTestApp } from "../helpers/app.ts";
import { applyBot, assertPageRules, CROSS_SITE, get, post, withFlash } from "../helpers/web.ts";

type T = ReturnType<typeof makeTestApp>;

function manifest(name: string, model = "anthropic/claude-sonnet-4-5", extra = "") {
  return `apiVersion: molthub/v1
kind: Bot
metadata: { name: ${name}, fleet: homelab, environment: prod }
spec:
  target: { provider: local, version: 2026.9.6 }
  openclaw:
    agents: { defaults: { model: ${model} } }
${extra}`;
}

/** The part of the bots page that lists bots (the apply form's text could mention names too). */
function liveList(html: string): string {
  const start = html.indexOf('id="bots-live"');
  const end = html.indexOf('id="apply"');
  return html.slice(start, end === -1 ? undefined : end);
}

async function owner(t: T) {
  const { cookie } = await t.setupOwner();
  return cookie;
}

describe("bots pages", () => {
  it("shows an empty list with the way to create a bot, and no create controls for a viewer", async () => {
    const t = makeTestApp();
    const cookie = await owner(t);
    const res = await get(t, "/bots", cookie);
    expect(res.status).toBe(200);
    const html = await res.text();
    assertPageRules(html, "/bots");
    expect(html).toContain("No bots yet");
    expect(html).toContain('href="/bots/new"');
    expect(html).toContain('action="/bots/apply"');
    expect(html).toContain('hx-trigger="molthub:changed from:body, molthub:bot from:body"');
    // the nav no longer says "soon" for the sections that are here now
    expect(html).toMatch(/<a href="\/bots" aria-current="page"><span>Bots<\/span><\/a>/);
    expect(html).toMatch(/<a href="\/secrets"><span>Secrets<\/span><\/a>/);

    const viewer = await t.addUser("viewer@example.com", "viewer");
    const vhtml = await (await get(t, "/bots", viewer)).text();
    assertPageRules(vhtml, "/bots (viewer)");
    expect(vhtml).toContain("No bots yet");
    expect(vhtml).not.toContain('href="/bots/new"');
    expect(vhtml).not.toContain('action="/bots/apply"');
    const wizard = await (await get(t, "/bots/new", viewer)).text();
    expect(wizard).toContain("Only operators, admins and owners can create bots");
    expect(wizard).not.toContain('action="/bots/new"');
  });

  it("dry-runs a manifest: per-path changes, nothing stored", async () => {
    const t = makeTestApp();
    const cookie = await owner(t);
    const res = await post(t, "/bots/apply", { manifest: manifest("support-bot"), mode: "dry-run" }, cookie);
    expect(res.status).toBe(200);
    const html = await res.text();
    assertPageRules(html, "/bots/apply");
    expect(html).toContain("Dry run: nothing was stored.");
    expect(html).toContain("would be created");
    expect(html).toContain("<code>agents.defaults.model</code>");
    expect(html).toContain("&quot;anthropic/claude-sonnet-4-5&quot;");
    expect(html).toContain("<code>gateway.port</code>");
    // the text stays in the form for the real apply
    expect(html).toContain("metadata: { name: support-bot");
    expect(liveList(html)).toContain("No bots yet");
    expect((await (await t.req("/api/v1/bots", { cookie })).json()).items).toEqual([]);
  });

  it("applies manifests, lists the bot with status, revision and target, and says nothing changed on a repeat", async () => {
    const t = makeTestApp();
    const cookie = await owner(t);
    const res = await applyBot(t, cookie, manifest("support-bot"));
    expect(res.headers.get("location")).toBe("/bots/support-bot");
    const page = await (await get(t, "/bots/support-bot", withFlash(cookie, res))).text();
    expect(page).toContain("Applied. support-bot: created (revision 1).");

    const list = liveList(await (await get(t, "/bots", cookie)).text());
    expect(list).toContain('<a href="/bots/support-bot" class="bot-link">support-bot</a>');
    expect(list).toContain("pending</span>");
    expect(list).toContain("queued for creation");
    expect(list).toMatch(/<code>local@local:\d+<\/code>/);
    expect(list).toContain("homelab");
    expect(list).toMatch(/—<\/span> \/ r1/);

    // two documents at once; the unchanged one says so
    const two = `${manifest("support-bot")}\n---\n${manifest("sales-bot", "openai/gpt-5")}`;
    const again = await applyBot(t, cookie, two);
    expect(again.headers.get("location")).toBe("/bots");
    const after = await (await get(t, "/bots", withFlash(cookie, again))).text();
    expect(after).toContain("support-bot: unchanged; sales-bot: created (revision 1).");
    expect(liveList(after)).toContain("sales-bot");

    // the htmx refresh gets the body without the chrome
    const hx = await get(t, "/bots", cookie, { "hx-request": "true" });
    const hxHtml = await hx.text();
    expect(hxHtml).toContain('id="bots-live"');
    expect(hxHtml).not.toContain("<!doctype html>");
  });

  it("lists every wrong path of an invalid manifest, and applies nothing when one document is bad", async () => {
    const t = makeTestApp();
    const cookie = await owner(t);
    const bad = `apiVersion: molthub/v1
kind: Bot
metadata: { name: Bad_Name }
spec:
  target: { provider: local, version: latest }
  openclaw: { gateway: { port: 1 } }
  colour: blue
`;
    const res = await post(t, "/bots/apply", { manifest: bad, mode: "apply" }, cookie);
    expect(res.status).toBe(400);
    const html = await res.text();
    assertPageRules(html, "/bots/apply (invalid)");
    expect(html).toContain("The manifest is invalid (4 problems).");
    for (const path of ["metadata.name", "spec.target.version", "spec.colour", "spec.openclaw.gateway.port"])
      expect(html).toContain(`<code>${path}</code>`);
    expect(html).toContain("an OpenClaw version like 2026.9.6");
    expect(html).toContain("colour: blue"); // the text comes back to be fixed

    const mixed = `${manifest("good-bot")}\n---\n${bad}`;
    const res2 = await post(t, "/bots/apply", { manifest: mixed, mode: "apply" }, cookie);
    expect(res2.status).toBe(400);
    const html2 = await res2.text();
    expect(html2).toContain("1 of 2 manifests have problems; nothing was applied.");
    expect(html2).toContain("document 2");
    expect(liveList(html2)).toContain("No bots yet");

    const yaml = await post(t, "/bots/apply", { manifest: "metadata: [unclosed", mode: "dry-run" }, cookie);
    expect(yaml.status).toBe(400);
    expect(await yaml.text()).toContain("not valid YAML");

    const missing = await post(
      t,
      "/bots/apply",
      {
        manifest: manifest(
          "needs-key",
          "anthropic/claude-sonnet-4-5",
          "  secrets: { ANTHROPIC_API_KEY: { secret: anthropic-key } }\n",
        ),
        mode: "dry-run",
      },
      cookie,
    );
    expect(missing.status).toBe(400);
    const mhtml = await missing.text();
    expect(mhtml).toContain("missing secret anthropic-key");
    expect(mhtml).toContain("<code>spec.secrets</code>");
  });

  it("renders a bot page: status, revisions, events, manifest, config, health and the log viewer", async () => {
    const t = makeTestApp();
    const cookie = await owner(t);
    await applyBot(t, cookie, manifest("support-bot"));
    const res = await get(t, "/bots/support-bot", cookie);
    expect(res.status).toBe(200);
    const html = await res.text();
    assertPageRules(html, "/bots/support-bot");
    expect(html).toContain("<h1>support-bot</h1>");
    expect(html).toContain("pending</span>");
    expect(html).toContain("queued for creation");
    expect(html).toContain('href="/bots/support-bot/revisions/1"');
    expect(html).toContain("revision 1 created by owner@example.com");
    expect(html).toContain("No health data yet");
    expect(html).toContain("apiVersion: molthub/v1");
    expect(html).toMatch(/&quot;port&quot;: \d+/);
    expect(html).toContain("OPENCLAW_GATEWAY_TOKEN");
    // the job the reconciler will pick up
    expect(html).toContain("reconcile queued");
    // live refresh of status, events and revisions in one request
    expect(html).toContain('hx-select-oob="#bot-revisions"');
    // the log viewer: SSE source for app.js, download and a no-JS link to the text endpoint
    expect(html).toContain('data-src="/api/v1/bots/support-bot/logs"');
    expect(html).toContain('href="/api/v1/bots/support-bot/logs?tail=5000"');
    expect(html).toContain('href="/api/v1/bots/support-bot/logs?tail=200"');
    expect(html).toContain('<label for="log-filter">Filter</label>');
    // operator actions
    expect(html).toContain('action="/bots/support-bot/actions"');
    expect(html).toContain('value="restart"');
    expect(html).toContain('action="/bots/support-bot/delete"');

    const rev = await get(t, "/bots/support-bot/revisions/1", cookie);
    expect(rev.status).toBe(200);
    expect(await rev.text()).toContain("Revision 1");
    expect((await get(t, "/bots/no-such-bot", cookie)).status).toBe(404);
    expect((await get(t, "/bots/Not..A..Name", cookie)).status).toBe(404);
  });

  it("shows health when the reconciler has recorded a snapshot", async () => {
    const t = makeTestApp();
    const cookie = await owner(t);
    await applyBot(t, cookie, manifest("support-bot"));
    const bot = t.store.sqlite.query("select id from bots where name = 'support-bot'").get() as { id: string };
    const snapshot = {
      readyz: { ready: true, uptimeMs: 2 * 3600_000 + 5 * 60_000 },
      health: {
        ok: true,
        channels: { telegram: { configured: true, running: true } },
        eventLoop: { degraded: false, delayP99Ms: 12.34 },
      },
      status: { runtimeVersion: "2026.9.6", processMemory: { rssBytes: 300 * 1024 * 1024 } },
    };
    t.store.sqlite
      .query("insert into health_snapshots (bot_id, ts, ready, data) values (?, ?, 1, ?)")
      .run(bot.id, Date.now(), JSON.stringify(snapshot));
    const html = await (await get(t, "/bots/support-bot", cookie)).text();
    expect(html).toContain('badge-ok">ready</span>');
    expect(html).toContain("telegram</span>");
    expect(html).toContain("300 MiB resident");
    expect(html).toContain("p99 delay 12.3 ms");
    expect(html).toContain("2026.9.6");
    expect(html).toContain("2 h 5 min");
  });

  it("shows the conditions on the bot page (state in words, since, fix) and the first failing one in the list", async () => {
    const now = Date.now();
    const t = makeTestApp({ now: () => now });
    const cookie = await owner(t);
    await applyBot(t, cookie, manifest("support-bot"));
    const before = await (await get(t, "/bots/support-bot", cookie)).text();
    expect(before).toContain('id="conditions-h"');
    expect(before).toContain("No conditions observed yet");

    // stored out of order: shown in CONDITION_TYPES order
    const conditions = {
      Ready: { status: "True", reason: "GatewayReady", message: "readyz ok", since: now - 3 * 3600_000 },
      Drifted: {
        status: "True",
        reason: "LiveConfigDiffers",
        message: "tools.elevated.enabled differs from revision 1",
        since: now - 90_000,
      },
      TargetReachable: {
        status: "False",
        reason: "HostKeyChanged",
        message: "host nas's key changed: re-trust it with molthub host trust nas",
        since: now - 5 * 60_000,
      },
      SecretsCurrent: { status: "Unknown", reason: "NotObserved", message: "", since: now },
    };
    t.store.sqlite
      .query("update bots set conditions = ?, status = 'degraded', status_reason = 'an older reason' where name = 'support-bot'")
      .run(JSON.stringify(conditions));

    const html = await (await get(t, "/bots/support-bot", cookie)).text();
    assertPageRules(html, "/bots/support-bot (conditions)");
    const table = html.slice(
      html.indexOf('<table class="conditions">'),
      html.indexOf("</table>", html.indexOf('class="conditions"')),
    );
    const order = ["Target reachable", "Ready", "Drifted", "Secrets current"].map((l) =>
      table.indexOf(`<th scope="row">${l}</th>`),
    );
    expect(order.every((i) => i > 0)).toBe(true);
    expect([...order].sort((a, b) => a - b)).toEqual(order);
    // good and bad in words, not only colour; Drifted is bad when True
    expect(table).toMatch(
      /<tr class="cond-failing"><th scope="row">Target reachable<\/th><td class="nowrap"><span class="badge badge-danger">failing<\/span>/,
    );
    expect(table).toMatch(
      /<tr class="cond-ok"><th scope="row">Ready<\/th><td class="nowrap"><span class="badge badge-ok">ok<\/span>/,
    );
    expect(table).toMatch(/<tr class="cond-failing"><th scope="row">Drifted<\/th>/);
    expect(table).toMatch(
      /<tr class="cond-unknown"><th scope="row">Secrets current<\/th><td class="nowrap"><span class="badge">unknown<\/span>/,
    );
    expect(table).toContain(">5 min ago</time>");
    expect(table).toContain(">3 h ago</time>");
    expect(table).toContain(">1 min ago</time>");
    expect(table).toContain("re-trust it with molthub host trust nas");
    expect(table).toContain('<code class="cond-reason">HostKeyChanged</code>');

    // the list: the first failing condition's message instead of the status reason
    const list = liveList(await (await get(t, "/bots", cookie)).text());
    expect(list).toContain(
      '<span class="status-reason">host nas&#39;s key changed: re-trust it with molthub host trust nas</span>',
    );
    expect(list).not.toContain("an older reason");

    // all good again: the list shows the status reason
    t.store.sqlite
      .query("update bots set conditions = ?, status_reason = 'revision 1 live' where name = 'support-bot'")
      .run(JSON.stringify({ Ready: conditions.Ready }));
    const ok = liveList(await (await get(t, "/bots", cookie)).text());
    expect(ok).toContain('<span class="status-reason">revision 1 live</span>');
  });

  it("diffs two revisions path by path", async () => {
    const t = makeTestApp();
    const cookie = await owner(t);
    await applyBot(t, cookie, manifest("support-bot"));
    await applyBot(t, cookie, manifest("support-bot", "anthropic/claude-opus-4-1"));
    const page = await (await get(t, "/bots/support-bot", cookie)).text();
    expect(page).toContain('action="/bots/support-bot/diff"');
    expect(page).toContain("revision 2 created by owner@example.com (1 config change)");
    const res = await get(t, "/bots/support-bot/diff?from=1&to=2", cookie);
    expect(res.status).toBe(200);
    const html = await res.text();
    assertPageRules(html, "/bots/support-bot/diff");
    expect(html).toContain("Changes r1 → r2");
    expect(html).toContain("<code>agents.defaults.model</code>");
    expect(html).toContain("<code>spec.openclaw.agents.defaults.model</code>");
    expect(html).toContain("&quot;anthropic/claude-sonnet-4-5&quot;");
    expect(html).toContain("&quot;anthropic/claude-opus-4-1&quot;");
    const same = await (await get(t, "/bots/support-bot/diff?from=2&to=2", cookie)).text();
    expect(same).toContain("The generated config is the same.");
    expect((await get(t, "/bots/support-bot/diff?from=1&to=9", cookie)).status).toBe(404);
    expect((await get(t, "/bots/support-bot/diff?from=x&to=2", cookie)).status).toBe(400);
  });

  it("queues actions for operators; a viewer sees no buttons and is refused", async () => {
    const t = makeTestApp();
    const cookie = await owner(t);
    await applyBot(t, cookie, manifest("support-bot"));
    const stop = await post(t, "/bots/support-bot/actions", { action: "stop" }, cookie);
    expect(stop.status).toBe(303);
    expect(stop.headers.get("location")).toBe("/bots/support-bot");
    const html = await (await get(t, "/bots/support-bot", withFlash(cookie, stop))).text();
    expect(html).toContain("Stop queued for support-bot");
    expect(html).toContain("stop requested by owner@example.com");
    expect(html).toContain("wanted: stopped");
    expect(html).toContain('value="start"');
    expect(html).not.toContain('value="pause"');

    const bad = await post(t, "/bots/support-bot/actions", { action: "explode" }, cookie);
    expect(bad.status).toBe(400);

    const viewer = await t.addUser("viewer@example.com", "viewer");
    const vhtml = await (await get(t, "/bots/support-bot", viewer)).text();
    assertPageRules(vhtml, "/bots/support-bot (viewer)");
    expect(vhtml).not.toContain('action="/bots/support-bot/actions"');
    expect(vhtml).not.toContain('action="/bots/support-bot/delete"');
    const refused = await post(t, "/bots/support-bot/actions", { action: "start" }, viewer);
    expect(refused.status).toBe(403);
    expect(await refused.text()).toContain("This needs the operator role in this workspace; you are viewer.");
    const del = await post(t, "/bots/support-bot/delete", { purge: "on" }, viewer);
    expect(del.status).toBe(403);
    // still stopped, not started by the viewer
    expect((await (await t.req("/api/v1/bots/support-bot", { cookie })).json()).bot.desiredState).toBe("stopped");

    const gone = await post(t, "/bots/support-bot/delete", { purge: "on" }, cookie);
    expect(gone.status).toBe(303);
    const list = await (await get(t, "/bots", withFlash(cookie, gone))).text();
    expect(list).toContain("Deleting support-bot and its data.");
    expect(liveList(list)).toContain("deleting</span>");
  });

  it("creates a bot through the wizard, storing the secrets on the way without ever showing them", async () => {
    const t = makeTestApp();
    const cookie = await owner(t);
    const ANTHROPIC = "sk-ant-wizard-canary-0123456789abcdef";
    const TELEGRAM = "7000000001:AAwizard-telegram-canary-token";
    const pages: string[] = [];
    const step = async (fields: Record<string, string>, expected = 200) => {
      const res = await post(t, "/bots/new", fields, cookie);
      const html = await res.text();
      expect(res.status, html.slice(html.indexOf("<main"), html.indexOf("<main") + 2000)).toBe(expected);
      pages.push(html);
      return html;
    };
    // the hidden fields a page carries to the next step
    const carried = (html: string) => {
      const out: Record<string, string> = {};
      for (const m of html.matchAll(/<input type="hidden" name="([^"]+)" value="([^"]*)"/g))
        out[m[1]!] = m[2]!.replace(/&amp;/g, "&").replace(/&quot;/g, '"');
      return out;
    };

    const first = await (await get(t, "/bots/new", cookie)).text();
    assertPageRules(first, "/bots/new");
    expect(first).toContain("Step 1 of 5: Target");
    expect(first).toContain('value="2026.9.6"');
    expect(first).toContain('value="ghcr.io/openclaw/openclaw:2026.9.6"');

    // step 1: a floating image tag is refused with the reason
    const badImage = await step(
      {
        step: "1",
        go: "next",
        name: "helper",
        provider: "docker",
        image: "ghcr.io/openclaw/openclaw:latest",
        network: "host",
        version: "2026.9.6",
      },
      400,
    );
    expect(badImage).toContain("uses :latest; pin a version tag");
    expect(badImage).toContain("Step 1 of 5");

    const s2 = await step({
      step: "1",
      go: "next",
      name: "helper",
      provider: "local",
      version: "2026.9.6",
      image: "ghcr.io/openclaw/openclaw:2026.9.6",
      network: "host",
      fleet: "homelab",
      labels: "team=support",
    });
    assertPageRules(s2, "/bots/new step 2");
    expect(s2).toContain("Step 2 of 5: Model &amp; channels");
    expect(carried(s2)).toMatchObject({ step: "2", name: "helper", provider: "local", fleet: "homelab", labels: "team=support" });

    // back keeps what was typed
    const back = await step({ ...carried(s2), go: "back", model: "openai/gpt-5" });
    expect(back).toContain("Step 1 of 5");
    expect(back).toContain('value="helper"');

    const s3 = await step({
      ...carried(s2),
      go: "next",
      model: "anthropic/claude-sonnet-4-5",
      telegram: "on",
      dmPolicy: "pairing",
    });
    assertPageRules(s3, "/bots/new step 3");
    expect(s3).toContain("Step 3 of 5: Secrets");
    expect(s3).toContain("<code>ANTHROPIC_API_KEY</code>");
    expect(s3).toContain("<code>TELEGRAM_BOT_TOKEN</code>");
    expect(s3).toContain('value="helper-telegram-bot-token"');

    // a key with neither a stored secret nor a value is refused; the value typed for the other is stored
    const partial = await step(
      {
        ...carried(s3),
        go: "next",
        newname_ANTHROPIC_API_KEY: "anthropic-api-key",
        value_ANTHROPIC_API_KEY: ANTHROPIC,
        newname_TELEGRAM_BOT_TOKEN: "helper-telegram-bot-token",
        value_TELEGRAM_BOT_TOKEN: "",
      },
      400,
    );
    expect(partial).toContain("pick a stored secret, or enter a value to store a new one");
    expect(partial).toMatch(/<option value="anthropic-api-key" selected="">anthropic-api-key<\/option>/);

    const s4 = await step({
      ...carried(partial),
      go: "next",
      ref_ANTHROPIC_API_KEY: "anthropic-api-key",
      newname_TELEGRAM_BOT_TOKEN: "helper-telegram-bot-token",
      value_TELEGRAM_BOT_TOKEN: TELEGRAM,
    });
    assertPageRules(s4, "/bots/new step 4");
    expect(s4).toContain("Step 4 of 5: Review");
    expect(s4).toContain("secret: anthropic-api-key");
    expect(s4).toContain("secret: helper-telegram-bot-token");
    expect(s4).toContain("id: TELEGRAM_BOT_TOKEN");
    expect(s4).toContain("dmPolicy: pairing");
    expect(s4).toContain("<code>channels.telegram.botToken</code>");
    expect(s4).toContain(
      "{&quot;id&quot;:&quot;TELEGRAM_BOT_TOKEN&quot;,&quot;provider&quot;:&quot;default&quot;,&quot;source&quot;:&quot;env&quot;}",
    );
    expect(carried(s4)).toMatchObject({
      ref_ANTHROPIC_API_KEY: "anthropic-api-key",
      ref_TELEGRAM_BOT_TOKEN: "helper-telegram-bot-token",
    });

    const deploy = await post(t, "/bots/new", { ...carried(s4), go: "deploy" }, cookie);
    expect(deploy.status).toBe(303);
    expect(deploy.headers.get("location")).toBe("/bots/helper");
    const botHtml = await (await get(t, "/bots/helper", withFlash(cookie, deploy))).text();
    pages.push(botHtml);
    expect(botHtml).toContain("Created helper (revision 1).");
    expect(botHtml).toContain("<td>ui</td>");
    const api = (await (await t.req("/api/v1/bots/helper", { cookie })).json()) as {
      manifest: { spec: { secrets: unknown; openclaw: { channels: unknown } } };
      config: unknown;
    };
    expect(api.manifest.spec.secrets).toEqual({
      ANTHROPIC_API_KEY: { secret: "anthropic-api-key" },
      TELEGRAM_BOT_TOKEN: { secret: "helper-telegram-bot-token" },
    });
    expect(api.manifest.spec.openclaw.channels).toEqual({
      telegram: {
        enabled: true,
        botToken: { source: "env", provider: "default", id: "TELEGRAM_BOT_TOKEN" },
        dmPolicy: "pairing",
      },
    });

    // the same name again is refused at step 1
    const dup = await step({ step: "1", go: "next", name: "helper", provider: "local", version: "2026.9.6" }, 400);
    expect(dup).toContain("a bot named helper exists already");

    pages.push(await (await get(t, "/secrets", cookie)).text());
    pages.push(await (await get(t, "/audit", cookie)).text());
    pages.push(await (await get(t, "/bots", cookie)).text());
    pages.push(await (await t.req("/api/v1/audit/export?format=jsonl", { cookie })).text());
    pages.push(await (await t.req("/api/v1/bots/helper", { cookie })).text());
    for (const p of pages) {
      expect(p).not.toContain(ANTHROPIC);
      expect(p).not.toContain(TELEGRAM);
    }
    const secrets = pages[pages.length - 5]!;
    expect(secrets).toContain("<code>anthropic-api-key</code>");
    expect(secrets).toContain('<a href="/bots/helper">helper</a>');
    const audit = pages[pages.length - 4]!;
    expect(audit).toContain("secret.create");
    expect(audit).toContain("bot.create");
  });

  it("keeps secret values write-only on the secrets page", async () => {
    const t = makeTestApp();
    const cookie = await owner(t);
    const VALUE = "super-secret-value-canary-42";
    const res = await post(t, "/secrets", { name: "anthropic-api-key", value: VALUE }, cookie);
    expect(res.status).toBe(303);
    const html = await (await get(t, "/secrets", withFlash(cookie, res))).text();
    assertPageRules(html, "/secrets");
    expect(html).toContain("Stored the secret anthropic-api-key.");
    expect(html).toContain("<code>anthropic-api-key</code>");
    expect(html).toContain("v1");
    expect(html).not.toContain(VALUE);
    expect(html).toMatch(/<input id="f-value" name="value" type="password"/);

    const again = await post(t, "/secrets", { name: "anthropic-api-key", value: `${VALUE}-2` }, cookie);
    const html2 = await (await get(t, "/secrets", withFlash(cookie, again))).text();
    expect(html2).toContain("now version 2");
    expect(html2).not.toContain(VALUE);

    // a bad name re-renders the form with the name, never the value
    const bad = await post(t, "/secrets", { name: "Bad Name", value: VALUE }, cookie);
    expect(bad.status).toBe(400);
    const badHtml = await bad.text();
    expect(badHtml).toContain("lowercase letters, digits and dashes");
    expect(badHtml).toContain('value="Bad Name"');
    expect(badHtml).not.toContain(VALUE);

    const audit = await (await t.req("/api/v1/audit/export?format=jsonl", { cookie })).text();
    expect(audit).toContain("secret.update");
    expect(audit).not.toContain(VALUE);

    // operators store but do not delete; viewers do neither
    const op = await t.addUser("ops@example.com", "operator");
    const opHtml = await (await get(t, "/secrets", op)).text();
    expect(opHtml).toContain('action="/secrets"');
    expect(opHtml).not.toContain('action="/secrets/anthropic-api-key/delete"');
    const viewer = await t.addUser("viewer@example.com", "viewer");
    const vHtml = await (await get(t, "/secrets", viewer)).text();
    assertPageRules(vHtml, "/secrets (viewer)");
    expect(vHtml).not.toContain('action="/secrets"');
    const refused = await post(t, "/secrets", { name: "sneaky", value: VALUE }, viewer);
    expect(refused.status).toBe(403);
    const refusedHtml = await refused.text();
    expect(refusedHtml).toContain("This needs the operator role");
    expect(refusedHtml).not.toContain(VALUE);
    expect((await post(t, "/secrets/anthropic-api-key/delete", {}, op)).status).toBe(403);

    const del = await post(t, "/secrets/anthropic-api-key/delete", {}, cookie);
    expect(del.status).toBe(303);
    const after = await (await get(t, "/secrets", withFlash(cookie, del))).text();
    expect(after).toContain("Deleted the secret anthropic-api-key.");
    expect(after).toContain("No secrets yet.");
  });

  it("refuses cross-site posts to every bot and secret form", async () => {
    const t = makeTestApp();
    const cookie = await owner(t);
    await applyBot(t, cookie, manifest("support-bot"));
    const attempts: [string, Record<string, string>][] = [
      ["/bots/apply", { manifest: manifest("evil-bot"), mode: "apply" }],
      [
        "/bots/new",
        {
          step: "4",
          go: "deploy",
          name: "evil-bot",
          provider: "local",
          version: "2026.9.6",
          model: "ollama/llama3",
          dmPolicy: "pairing",
        },
      ],
      ["/bots/support-bot/actions", { action: "stop" }],
      ["/bots/support-bot/delete", { purge: "on" }],
      ["/secrets", { name: "stolen", value: "x" }],
    ];
    for (const [path, fields] of attempts) {
      const res = await post(t, path, fields, cookie, CROSS_SITE);
      expect(res.status, path).toBe(403);
    }
    const bots = (await (await t.req("/api/v1/bots", { cookie })).json()).items as { name: string; desiredState: string }[];
    expect(bots.map((b) => [b.name, b.desiredState])).toEqual([["support-bot", "running"]]);
    expect((await (await t.req("/api/v1/secrets", { cookie })).json()).items).toEqual([]);
  });
});
