/** @jsxImportSource hono/jsx */

import * as OTPAuth from "otpauth";
import { describe, expect, it } from "vitest";
import { issueSetupToken } from "../../src/services/auth.ts";
import { setOpenApiProvider } from "../../src/web/index.tsx";
import { assetUrl } from "../../src/web/ui/assets.ts";
import { makeTestApp, PASSWORD } from "../helpers/app.ts";
import { assertFormsWorkWithoutJs, assertNoInlineCode, cookieFrom, get, post, withFlash } from "../helpers/web.ts";

const NAV_PAGES: [string, string][] = [
  ["/", "Welcome"],
  ["/bots", "Bots"],
  ["/fleets", "Fleets"],
  ["/hosts", "Hosts"],
  ["/templates", "Templates"],
  ["/profiles", "Profiles"],
  ["/overlays", "Overlays"],
  ["/policies", "Policies"],
  ["/secrets", "Secrets"],
  ["/connectors", "Connectors"],
  ["/changesets", "Change sets"],
  ["/audit", "Audit"],
  ["/settings", "Settings"],
  ["/settings/account", "Change password"],
  ["/settings/members", "Members"],
  ["/settings/tokens", "Create a token"],
  ["/settings/workspace", "This workspace"],
  ["/settings/instance", "Audit retention"],
  ["/api/docs", "API reference"],
];

describe("web pages", () => {
  it("sends anonymous visitors to the sign-in page, and back afterwards", async () => {
    const t = makeTestApp();
    await t.setupOwner();
    const res = await get(t, "/");
    expect(res.status).toBe(302);
    expect(res.headers.get("location")).toBe("/login");
    const audit = await get(t, "/audit?action=token.create");
    expect(audit.status).toBe(302);
    expect(audit.headers.get("location")).toBe(`/login?next=${encodeURIComponent("/audit?action=token.create")}`);
    // signing in returns to where the visitor was going; an off-site `next` is ignored
    const login = await post(t, "/login", { email: "owner@example.com", password: PASSWORD, next: "/audit?action=token.create" });
    expect(login.status).toBe(303);
    expect(login.headers.get("location")).toBe("/audit?action=token.create");
    const offsite = await post(t, "/login", { email: "owner@example.com", password: PASSWORD, next: "//evil.example/x" });
    expect(offsite.headers.get("location")).toBe("/");
    // htmx refreshes get a redirect header instead of a login page swapped into a list
    const hx = await get(t, "/audit", undefined, { "hx-request": "true" });
    expect(hx.status).toBe(401);
    expect(hx.headers.get("hx-redirect")).toBe("/login");
  });

  it("claims the appliance through /setup and lands on the dashboard signed in", async () => {
    const t = makeTestApp();
    const { token } = issueSetupToken(t.store.db)!;
    const page = await get(t, `/setup?token=${token}`);
    expect(page.status).toBe(200);
    const html = await page.text();
    expect(html).toContain(`value="${token}"`);
    expect(html).toMatch(/<form method="post" action="\/setup"/);

    // a too-short password re-renders the form: the token and email stay, the password does not
    const short = await post(t, "/setup", { token, name: "Olive", email: "olive@example.com", password: "short" });
    expect(short.status).toBe(400);
    const shortHtml = await short.text();
    expect(shortHtml).toContain("at least 10 characters");
    expect(shortHtml).toContain(`value="${token}"`);
    expect(shortHtml).toContain('value="olive@example.com"');
    expect(shortHtml).not.toContain('value="short"');

    const res = await post(t, "/setup", {
      token,
      name: "Olive",
      email: "olive@example.com",
      password: PASSWORD,
      workspaceName: "Home lab",
    });
    expect(res.status).toBe(303);
    expect(res.headers.get("location")).toBe("/");
    const session = cookieFrom(res, "molthub_session");
    expect(session).toBeTruthy();
    const dash = await get(t, "/", withFlash(session!, res));
    expect(dash.status).toBe(200);
    const body = await dash.text();
    expect(body).toContain("Welcome, Olive");
    expect(body).toContain("Home lab");
    expect(body).toContain("You are the owner of this instance");
    // once claimed, /setup is gone
    const again = await get(t, `/setup?token=${token}`);
    expect(again.status).toBe(302);
    expect(again.headers.get("location")).toBe("/login");
  });

  it("refuses a used or wrong setup token with the service's message", async () => {
    const t = makeTestApp();
    issueSetupToken(t.store.db);
    const res = await post(t, "/setup", {
      token: "mhu_not-the-right-token",
      name: "X",
      email: "x@example.com",
      password: PASSWORD,
    });
    expect(res.status).toBe(403);
    expect(await res.text()).toContain("The setup token is invalid, used or expired");
  });

  it("shows a wrong password on the sign-in form and keeps the email", async () => {
    const t = makeTestApp();
    await t.setupOwner();
    const res = await post(t, "/login", { email: "owner@example.com", password: "not the password" });
    expect(res.status).toBe(401);
    const body = await res.text();
    expect(body).toContain("Wrong email or password.");
    expect(body).toContain('value="owner@example.com"');
    expect(body).not.toContain("not the password");
    expect(res.headers.getSetCookie().some((c) => c.startsWith("molthub_session="))).toBe(false);
  });

  it("shows the rate limit with the wait", async () => {
    // a fixed clock, so the one-second lock cannot expire between the attempts
    const now = Date.now();
    const t = makeTestApp({ now: () => now });
    await t.setupOwner();
    for (let i = 0; i < 5; i++) await post(t, "/login", { email: "owner@example.com", password: "wrong password" });
    const res = await post(t, "/login", { email: "owner@example.com", password: PASSWORD });
    expect(res.status).toBe(429);
    expect(res.headers.get("retry-after")).toBe("1");
    expect(await res.text()).toContain("Too many failed sign-ins; try again in 1 s.");
  });

  it("refuses cross-site form posts", async () => {
    const t = makeTestApp();
    const { cookie } = await t.setupOwner();
    const evil = { origin: "http://evil.example", host: "localhost", "sec-fetch-site": "cross-site" };
    const login = await post(t, "/login", { email: "owner@example.com", password: PASSWORD }, undefined, evil);
    expect(login.status).toBe(403);
    const token = await post(t, "/settings/tokens", { name: "stolen", role: "owner", expiresInDays: "30" }, cookie, evil);
    expect(token.status).toBe(403);
    const logout = await post(t, "/logout", {}, cookie, { origin: "http://evil.example", host: "localhost" });
    expect(logout.status).toBe(403);
    // nothing was created
    expect(await (await get(t, "/settings/tokens", cookie)).text()).not.toContain("stolen");
  });

  it("renders every page for a viewer: heading, CSP, no inline code, forms without JS", async () => {
    const t = makeTestApp();
    setOpenApiProvider(() => t.app.getOpenAPI31Document({ openapi: "3.1.0", info: { title: "Molthub API", version: "test" } }));
    await t.setupOwner();
    const viewer = await t.addUser("viewer@example.com", "viewer");
    for (const [path, heading] of NAV_PAGES) {
      const res = await get(t, path, viewer);
      expect(res.status, path).toBe(200);
      const body = await res.text();
      expect(body, path).toContain(heading);
      expect(body, path).toMatch(/^<!doctype html>/i);
      expect(body, path).toContain('<main id="main"');
      expect(body, path).toContain('aria-label="Main"');
      expect(body, path).toContain('<a class="skip-link" href="#main">');
      const csp = res.headers.get("content-security-policy") ?? "";
      expect(csp, path).toContain("script-src 'self'");
      expect(csp, path).toContain("style-src 'self'");
      expect(res.headers.get("cache-control"), path).toBe("no-store");
      assertNoInlineCode(body, path);
      assertFormsWorkWithoutJs(body, path);
      // every input has a label
      for (const m of body.matchAll(/<(input|select)\b[^>]*\bid="([^"]+)"[^>]*>/g)) {
        if (/type="hidden"/.test(m[0])) continue;
        expect(body, `${path}: label for #${m[2]}`).toContain(`for="${m[2]}"`);
      }
    }
    // the nav marks where you are
    const audit = await (await get(t, "/audit", viewer)).text();
    expect(audit).toContain('<a href="/audit" aria-current="page">');
    // sections that arrive later say so, with no fake data
    const fleets = await (await get(t, "/fleets", viewer)).text();
    expect(fleets).toContain("not available in this version yet");
    expect(fleets).not.toMatch(/<table/);
    // the sign-in pages follow the same rules
    for (const path of ["/login"]) {
      const body = await (await get(t, path)).text();
      assertNoInlineCode(body, path);
      assertFormsWorkWithoutJs(body, path);
    }
  });

  it("hides the add-member form from a viewer and refuses the POST with the reason", async () => {
    const t = makeTestApp();
    await t.setupOwner();
    const viewer = await t.addUser("viewer@example.com", "viewer");
    const page = await (await get(t, "/settings/members", viewer)).text();
    expect(page).not.toContain('action="/settings/members"');
    expect(page).toContain("Only admins and owners can add members");
    const res = await post(
      t,
      "/settings/members",
      { email: "new@example.com", role: "viewer", name: "New", password: PASSWORD },
      viewer,
    );
    expect(res.status).toBe(403);
    const body = await res.text();
    expect(body).toContain("This needs the admin role in this workspace; you are viewer.");
    expect(body).not.toContain("new@example.com</div>");
  });

  it("lets an owner add a member, change the role and remove them", async () => {
    const t = makeTestApp();
    const { cookie } = await t.setupOwner();
    const page = await (await get(t, "/settings/members", cookie)).text();
    expect(page).toContain('action="/settings/members"');

    const bad = await post(t, "/settings/members", { email: "not-an-email", role: "viewer" }, cookie);
    expect(bad.status).toBe(400);
    expect(await bad.text()).toContain("enter a valid email address");

    const unknown = await post(t, "/settings/members", { email: "x@example.com", role: "viewer", isAdmin: "1" }, cookie);
    expect(unknown.status).toBe(400);
    expect(await unknown.text()).toContain("unexpected field isAdmin");

    const missing = await post(t, "/settings/members", { email: "ghost@example.com", role: "viewer" }, cookie);
    expect(missing.status).toBe(404);
    const missingHtml = await missing.text();
    expect(missingHtml).toContain("give a name and an initial password");
    expect(missingHtml).toContain('value="ghost@example.com"');

    const added = await post(
      t,
      "/settings/members",
      { email: "ops@example.com", role: "operator", name: "Ops", password: PASSWORD },
      cookie,
    );
    expect(added.status).toBe(303);
    const list = await (await get(t, "/settings/members", withFlash(cookie, added))).text();
    expect(list).toContain("Added ops@example.com as operator.");
    const userId = list.match(/action="\/settings\/members\/([^"/]+)\/role"[^>]*>(?:(?!<\/form>).)*ops@example\.com/s)?.[1];
    expect(userId).toBeTruthy();

    const role = await post(t, `/settings/members/${userId}/role`, { role: "admin" }, cookie);
    expect(role.status).toBe(303);
    const removed = await post(t, `/settings/members/${userId}/remove`, {}, cookie);
    expect(removed.status).toBe(303);
    const after = await (await get(t, "/settings/members", cookie)).text();
    expect(after).not.toContain("ops@example.com");

    // the last owner cannot be demoted: the message comes back on the page
    const ownerId = after.match(/action="\/settings\/members\/([^"/]+)\/role"/)?.[1];
    const demote = await post(t, `/settings/members/${ownerId}/role`, { role: "viewer" }, cookie);
    expect(demote.status).toBe(409);
    expect(await demote.text()).toContain("A workspace needs at least one owner");
  });

  it("shows a new API token once, then only its prefix", async () => {
    const t = makeTestApp();
    const { cookie } = await t.setupOwner();
    const res = await post(t, "/settings/tokens", { name: "ci-deploy", role: "operator", expiresInDays: "30" }, cookie);
    expect(res.status).toBe(201);
    expect(res.headers.get("cache-control")).toBe("no-store");
    const body = await res.text();
    const token = body.match(/<code id="new-token">(mht_[A-Za-z0-9_-]+)<\/code>/)?.[1];
    expect(token).toBeTruthy();
    expect(body.split(token!).length - 1).toBe(1);
    expect(body).toContain("shown only once");
    expect(body).toContain('data-copy="new-token"');

    // the token works against the API
    const me = await t.req("/api/v1/tokens", { bearer: token });
    expect(me.status).toBe(200);

    const list = await (await get(t, "/settings/tokens", cookie)).text();
    expect(list).not.toContain(token!);
    expect(list).toContain(`<code>${token!.slice(0, 10)}…</code>`);
    expect(list).toContain("ci-deploy");

    // a role above your own is refused with the reason, and the name is kept
    const viewer = await t.addUser("viewer@example.com", "viewer");
    const high = await post(t, "/settings/tokens", { name: "too-much", role: "admin" }, viewer);
    expect(high.status).toBe(403);
    const highHtml = await high.text();
    expect(highHtml).toContain("A token cannot have a higher role (admin) than yours (viewer).");
    expect(highHtml).toContain('value="too-much"');

    // revoke: the flash says so and the token stops working
    const id = list.match(/action="\/settings\/tokens\/([^"/]+)\/revoke"/)?.[1];
    const revoked = await post(t, `/settings/tokens/${id}/revoke`, {}, cookie);
    expect(revoked.status).toBe(303);
    const after = await (await get(t, "/settings/tokens", withFlash(cookie, revoked))).text();
    expect(after).toContain("Token revoked.");
    expect(after).toContain("revoked</span>");
    expect((await t.req("/api/v1/tokens", { bearer: token })).status).toBe(401);
  });

  it("changes the password, keeping nothing secret in the re-rendered form", async () => {
    const t = makeTestApp();
    const { cookie } = await t.setupOwner();
    const mismatch = await post(
      t,
      "/settings/account/password",
      { currentPassword: PASSWORD, newPassword: "a new long password", confirmPassword: "something else!" },
      cookie,
    );
    expect(mismatch.status).toBe(400);
    const html = await mismatch.text();
    expect(html).toContain("does not match the new password");
    expect(html).not.toContain(PASSWORD);
    expect(html).not.toContain("a new long password");

    const wrong = await post(
      t,
      "/settings/account/password",
      { currentPassword: "wrong one here", newPassword: "a new long password", confirmPassword: "a new long password" },
      cookie,
    );
    expect(wrong.status).toBe(400);
    expect(await wrong.text()).toContain("wrong password");

    const ok = await post(
      t,
      "/settings/account/password",
      { currentPassword: PASSWORD, newPassword: "a new long password", confirmPassword: "a new long password" },
      cookie,
    );
    expect(ok.status).toBe(303);
    const page = await (await get(t, "/settings/account", withFlash(cookie, ok))).text();
    expect(page).toContain("Password changed.");
    expect((await post(t, "/login", { email: "owner@example.com", password: "a new long password" })).status).toBe(303);
  });

  it("enrols TOTP and then asks for the code at sign-in", async () => {
    const t = makeTestApp();
    const { cookie } = await t.setupOwner();
    const enrol = await post(t, "/settings/account/totp", {}, cookie);
    expect(enrol.status).toBe(200);
    const html = await enrol.text();
    const secret = html.match(/<code id="totp-secret">([A-Z2-7]+)<\/code>/)?.[1];
    expect(secret).toBeTruthy();
    expect(html).toContain("otpauth://totp/");

    const totp = new OTPAuth.TOTP({ secret: OTPAuth.Secret.fromBase32(secret!), digits: 6, period: 30, algorithm: "SHA1" });
    const wrong = await post(
      t,
      "/settings/account/totp/confirm",
      { code: "000000" === totp.generate() ? "111111" : "000000" },
      cookie,
    );
    expect(wrong.status).toBe(400);
    const wrongHtml = await wrong.text();
    expect(wrongHtml).toContain("The code is wrong");
    expect(wrongHtml).not.toContain(secret!);

    const confirm = await post(t, "/settings/account/totp/confirm", { code: totp.generate() }, cookie);
    expect(confirm.status).toBe(303);

    const out = await post(t, "/logout", {}, cookie);
    expect(out.status).toBe(303);
    expect(out.headers.get("location")).toBe("/login");
    expect((await get(t, "/", cookie)).status).toBe(302);

    const login = await post(t, "/login", { email: "owner@example.com", password: PASSWORD });
    expect(login.status).toBe(303);
    expect(login.headers.get("location")).toBe("/login/totp");
    const pending = cookieFrom(login, "molthub_session")!;
    // half signed in: pages go to the second step
    const dash = await get(t, "/", pending);
    expect(dash.headers.get("location")).toBe("/login/totp");
    const step = await get(t, "/login/totp", pending);
    expect(step.status).toBe(200);
    expect(await step.text()).toContain('autocomplete="one-time-code"');
    const verified = await post(t, "/login/totp", { code: totp.generate() }, pending);
    expect(verified.status).toBe(303);
    expect(verified.headers.get("location")).toBe("/");
    expect((await get(t, "/", pending)).status).toBe(200);
  });

  it("filters the audit log, pages with a cursor and links exports with the same filters", async () => {
    const t = makeTestApp();
    const { cookie } = await t.setupOwner();
    for (let i = 0; i < 3; i++)
      await post(t, "/settings/tokens", { name: `t${i}`, role: "viewer", expiresInDays: "never" }, cookie);
    const all = await (await get(t, "/audit", cookie)).text();
    expect(all).toContain("token.create");
    expect(all).toContain("setup.complete");
    expect(all).toContain('hx-trigger="molthub:changed from:body"');

    const filtered = await (await get(t, "/audit?action=token.create&from=2000-01-01", cookie)).text();
    expect(filtered).toContain("token.create");
    expect(filtered).not.toContain("<code>setup.complete</code>");
    expect(filtered).toContain("/api/v1/audit/export?format=csv&amp;action=token.create&amp;from=2000-01-01T00%3A00%3A00.000Z");
    expect(filtered).toContain("format=jsonl");

    const bad = await get(t, "/audit?from=yesterday", cookie);
    expect(bad.status).toBe(400);
    expect(await bad.text()).toContain("pick a date");

    const unknown = await get(t, "/audit?sort=asc", cookie);
    expect(unknown.status).toBe(400);

    // the cursor link shows older entries
    const entries = (all.match(/<code>[a-z.]+<\/code>/g) ?? []).length;
    expect(entries).toBeGreaterThan(3);
    const cursorPage = await (await get(t, "/audit?cursor=3", cookie)).text();
    expect(cursorPage).toContain("Newest");
  });

  it("live lists return only their fragment to htmx", async () => {
    const t = makeTestApp();
    const { cookie } = await t.setupOwner();
    const res = await get(t, "/settings/tokens", cookie, { "hx-request": "true" });
    expect(res.status).toBe(200);
    const body = await res.text();
    expect(body).not.toContain("<html");
    expect(body).toContain('id="tokens-live"');
  });

  it("creates, renames and switches workspaces", async () => {
    const t = makeTestApp();
    const { cookie } = await t.setupOwner();
    const created = await post(t, "/settings/workspace/create", { name: "Staging lab" }, cookie);
    expect(created.status).toBe(303);
    const ws = await (await get(t, "/settings/workspace", withFlash(cookie, created))).text();
    expect(ws).toContain("Created the workspace Staging lab");
    expect(ws).toContain("<code>staging-lab</code>");
    // the switcher lists both, the new one selected
    expect(ws).toMatch(/<option value="[^"]+" selected="">Staging lab<\/option>/);
    const defaultId = ws.match(/<option value="([^"]+)">Default<\/option>/)?.[1];
    expect(defaultId).toBeTruthy();

    const renamed = await post(t, "/settings/workspace", { name: "Staging" }, cookie);
    expect(renamed.status).toBe(303);

    const dup = await post(t, "/settings/workspace/create", { name: "Again", slug: "staging-lab" }, cookie);
    expect(dup.status).toBe(409);
    expect(await dup.text()).toContain("already exists");

    const sw = await post(t, "/workspaces/switch", { workspace: defaultId! }, cookie);
    expect(sw.status).toBe(303);
    const dash = await (await get(t, "/", withFlash(cookie, sw))).text();
    expect(dash).toContain("Switched to Default.");
    expect(dash).toContain("<strong>Default</strong>");

    const other = await post(t, "/workspaces/switch", { workspace: "not-mine" }, cookie);
    expect(other.status).toBe(303);
    expect(await (await get(t, "/", withFlash(cookie, other))).text()).toContain("Workspace not found.");
  });

  it("lets only an owner change instance settings", async () => {
    const t = makeTestApp();
    const { cookie } = await t.setupOwner();
    const admin = await t.addUser("admin@example.com", "admin");
    const adminPage = await (await get(t, "/settings/instance", admin)).text();
    expect(adminPage).not.toContain('action="/settings/instance"');
    const refused = await post(t, "/settings/instance", { auditRetentionDays: "30" }, admin);
    expect(refused.status).toBe(403);
    const saved = await post(t, "/settings/instance", { auditRetentionDays: "30" }, cookie);
    expect(saved.status).toBe(303);
    expect(await (await get(t, "/settings/instance", cookie)).text()).toContain("30 days");
  });

  it("serves embedded assets with a content hash and an ETag", async () => {
    const t = makeTestApp();
    for (const name of ["app.css", "app.js", "htmx.min.js", "favicon.svg"] as const) {
      const url = assetUrl(name);
      const res = await t.req(url);
      expect(res.status, name).toBe(200);
      expect(res.headers.get("cache-control"), name).toContain("immutable");
      const body = await res.text();
      expect(body.length, name).toBeGreaterThan(100);
      const etag = res.headers.get("etag")!;
      const again = await t.req(`/static/${name}`, { headers: { "if-none-match": etag } });
      expect(again.status, name).toBe(304);
    }
    expect((await t.req("/static/app.css")).headers.get("content-type")).toContain("text/css");
    expect((await t.req("/static/nope.js")).status).toBe(404);
    const login = await (await get(t, "/login")).text();
    expect(login).toContain(`href="${assetUrl("app.css")}"`);
    expect(login).toContain(`src="${assetUrl("htmx.min.js")}"`);
    expect(login).toContain("includeIndicatorStyles");
  });

  it("renders the API reference from the OpenAPI document, publicly", async () => {
    const t = makeTestApp();
    setOpenApiProvider(() => t.app.getOpenAPI31Document({ openapi: "3.1.0", info: { title: "Molthub API", version: "test" } }));
    const res = await get(t, "/api/docs");
    expect(res.status).toBe(200);
    const body = await res.text();
    expect(body).toContain("/api/v1/tokens");
    expect(body).toContain('id="tag-tokens"');
    expect(body).toContain("Create an API token bound to this workspace");
    expect(body).toContain("expiresInDays");
    expect(body).toContain("viewer+");
    expect(body).toContain(">public<");
    expect(body).toContain('href="#schema-ApiToken"');
    expect(body).toContain("Sign in");
    assertNoInlineCode(body, "/api/docs");
  });
});
