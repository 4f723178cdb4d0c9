import * as OTPAuth from "otpauth";
import { describe, expect, it } from "vitest";
import { issueSetupToken } from "../../src/services/auth.ts";
import { makeTestApp, PASSWORD } from "../helpers/app.ts";

describe("first run", () => {
  it("only the setup token creates the first owner, once", async () => {
    const t = makeTestApp();
    expect(await (await t.req("/api/v1/setup")).json()).toEqual({ pending: true });
    const tok = issueSetupToken(t.store.db)!;
    const body = { email: "o@x.test", name: "O", password: PASSWORD };
    const wrong = await t.req("/api/v1/setup", { method: "POST", json: { ...body, token: "mhu_wrongwrongwrong" } });
    expect(wrong.status).toBe(403);
    const ok = await t.req("/api/v1/setup", { method: "POST", json: { ...body, token: tok.token } });
    expect(ok.status).toBe(201);
    expect(ok.headers.get("set-cookie")).toMatch(/molthub_session=.*HttpOnly.*SameSite=Lax/i);
    const again = await t.req("/api/v1/setup", { method: "POST", json: { ...body, email: "p@x.test", token: tok.token } });
    expect(again.status).toBe(403);
    expect(issueSetupToken(t.store.db)).toBeNull();
    expect(await (await t.req("/api/v1/setup")).json()).toEqual({ pending: false });
  });

  it("refuses an expired setup token", async () => {
    let now = Date.now();
    const t = makeTestApp({ now: () => now });
    const tok = issueSetupToken(t.store.db, now)!;
    now += 61 * 60 * 1000;
    const res = await t.req("/api/v1/setup", {
      method: "POST",
      json: { token: tok.token, email: "o@x.test", name: "O", password: PASSWORD },
    });
    expect(res.status).toBe(403);
    expect(((await res.json()) as { error: { message: string } }).error.message).toContain("expired");
  });

  it("a new setup token invalidates the previous one", async () => {
    const t = makeTestApp();
    const first = issueSetupToken(t.store.db)!;
    issueSetupToken(t.store.db);
    const res = await t.req("/api/v1/setup", {
      method: "POST",
      json: { token: first.token, email: "o@x.test", name: "O", password: PASSWORD },
    });
    expect(res.status).toBe(403);
  });
});

describe("sessions, passwords and tokens", () => {
  it("rate-limits failed sign-ins with growing delays", async () => {
    let now = Date.now();
    const t = makeTestApp({ now: () => now });
    await t.setupOwner("o@x.test");
    const bad = () => t.req("/api/v1/auth/login", { method: "POST", json: { email: "o@x.test", password: "wrong-password" } });
    for (let i = 0; i < 4; i++) expect((await bad()).status).toBe(401);
    expect((await bad()).status).toBe(401); // 5th failure sets a 1 s lock
    const locked = await bad();
    expect(locked.status).toBe(429);
    expect(Number(locked.headers.get("retry-after"))).toBeGreaterThanOrEqual(1);
    // even the right password waits for the lock
    expect((await t.req("/api/v1/auth/login", { method: "POST", json: { email: "o@x.test", password: PASSWORD } })).status).toBe(
      429,
    );
    now += 1500;
    expect((await bad()).status).toBe(401); // 6th failure: 2 s
    const r = await bad();
    expect(r.status).toBe(429);
    expect(Number(r.headers.get("retry-after"))).toBe(2);
    now += 2500;
    expect((await t.req("/api/v1/auth/login", { method: "POST", json: { email: "o@x.test", password: PASSWORD } })).status).toBe(
      200,
    );
  });

  it("a password change revokes every other session and every token", async () => {
    const t = makeTestApp();
    const { cookie } = await t.setupOwner("o@x.test");
    const other = await t.signIn("o@x.test");
    const tok = (
      (await (await t.req("/api/v1/tokens", { method: "POST", cookie, json: { name: "ci", role: "admin" } })).json()) as {
        token: string;
      }
    ).token;
    expect((await t.req("/api/v1/me", { bearer: tok })).status).toBe(200);
    const res = await t.req("/api/v1/me/password", {
      method: "POST",
      cookie,
      json: { currentPassword: PASSWORD, newPassword: "another long password" },
    });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ sessionsRevoked: 1, tokensRevoked: 1 });
    expect((await t.req("/api/v1/me", { cookie })).status).toBe(200);
    expect((await t.req("/api/v1/me", { cookie: other })).status).toBe(401);
    expect((await t.req("/api/v1/me", { bearer: tok })).status).toBe(401);
    expect((await t.req("/api/v1/auth/login", { method: "POST", json: { email: "o@x.test", password: PASSWORD } })).status).toBe(
      401,
    );
  });

  it("logout ends the session", async () => {
    const t = makeTestApp();
    const { cookie } = await t.setupOwner();
    expect((await t.req("/api/v1/auth/logout", { method: "POST", cookie })).status).toBe(200);
    expect((await t.req("/api/v1/me", { cookie })).status).toBe(401);
  });

  it("tokens are shown once, hashed at rest, capped by role, and expire", async () => {
    let now = Date.now();
    const t = makeTestApp({ now: () => now });
    const { cookie } = await t.setupOwner();
    const op = await t.addUser("op@x.test", "operator");
    expect((await t.req("/api/v1/tokens", { method: "POST", cookie: op, json: { name: "x", role: "admin" } })).status).toBe(403);
    const res = await t.req("/api/v1/tokens", {
      method: "POST",
      cookie,
      json: { name: "short", role: "viewer", expiresInDays: 1 },
    });
    const { token } = (await res.json()) as { token: string };
    expect(token).toMatch(/^mht_/);
    const rows = t.store.sqlite.query("SELECT token_hash, prefix FROM api_tokens").all() as {
      token_hash: string;
      prefix: string;
    }[];
    expect(rows.some((r) => r.token_hash.includes(token) || token === r.token_hash)).toBe(false);
    expect(JSON.stringify(await (await t.req("/api/v1/tokens", { cookie })).json())).not.toContain(token);
    expect((await t.req("/api/v1/me", { bearer: token })).status).toBe(200);
    now += 2 * 86_400_000;
    expect((await t.req("/api/v1/me", { bearer: token })).status).toBe(401);
  });

  it("a token's role follows its owner's demotion", async () => {
    const t = makeTestApp();
    const { cookie } = await t.setupOwner();
    const adm = await t.addUser("adm@x.test", "admin");
    const tok = (
      (await (await t.req("/api/v1/tokens", { method: "POST", cookie: adm, json: { name: "a", role: "admin" } })).json()) as {
        token: string;
      }
    ).token;
    const me = (await (await t.req("/api/v1/me", { cookie: adm })).json()) as { userId: string };
    expect((await t.req(`/api/v1/members/${me.userId}`, { method: "PATCH", cookie, json: { role: "viewer" } })).status).toBe(200);
    const who = (await (await t.req("/api/v1/me", { bearer: tok })).json()) as { role: string };
    expect(who.role).toBe("viewer");
    expect((await t.req("/api/v1/workspace", { method: "PATCH", bearer: tok, json: { name: "x" } })).status).toBe(403);
  });

  it("the last owner cannot be removed or demoted", async () => {
    const t = makeTestApp();
    const { cookie, userId } = await t.setupOwner();
    expect((await t.req(`/api/v1/members/${userId}`, { method: "PATCH", cookie, json: { role: "admin" } })).status).toBe(409);
    expect((await t.req(`/api/v1/members/${userId}`, { method: "DELETE", cookie })).status).toBe(409);
  });

  it("TOTP: enrol, confirm, then sign-in needs the code", async () => {
    const t = makeTestApp();
    const { cookie } = await t.setupOwner("o@x.test");
    const { secret } = (await (await t.req("/api/v1/me/totp", { method: "POST", cookie })).json()) as { secret: string };
    const totp = new OTPAuth.TOTP({ secret: OTPAuth.Secret.fromBase32(secret) });
    expect(
      (
        await t.req("/api/v1/me/totp/confirm", {
          method: "POST",
          cookie,
          json: { code: "000000" === totp.generate() ? "111111" : "000000" },
        })
      ).status,
    ).toBe(400);
    expect((await t.req("/api/v1/me/totp/confirm", { method: "POST", cookie, json: { code: totp.generate() } })).status).toBe(
      200,
    );
    // the secret is stored encrypted
    const row = t.store.sqlite.query("SELECT totp_secret_enc FROM users").get() as { totp_secret_enc: string };
    expect(row.totp_secret_enc).not.toContain(secret);
    const login = await t.req("/api/v1/auth/login", { method: "POST", json: { email: "o@x.test", password: PASSWORD } });
    expect(await login.json()).toMatchObject({ mfaRequired: true });
    const pending = login.headers.get("set-cookie")!.split(";")[0]!;
    expect((await t.req("/api/v1/me", { cookie: pending })).status).toBe(401);
    expect(
      (await t.req("/api/v1/auth/totp/verify", { method: "POST", cookie: pending, json: { code: totp.generate() } })).status,
    ).toBe(200);
    expect((await t.req("/api/v1/me", { cookie: pending })).status).toBe(200);
  });
});

describe("bad input and the edge", () => {
  it("malformed JSON, unknown fields and wrong types get 400 with each bad field", async () => {
    const t = makeTestApp();
    const { cookie } = await t.setupOwner();
    const malformed = await t.req("/api/v1/tokens", {
      method: "POST",
      cookie,
      headers: { "content-type": "application/json" },
      body: "{nope",
    });
    expect(malformed.status).toBe(400);
    expect(((await malformed.json()) as { error: { code: string } }).error.code).toBe("invalid_request");
    const res = await t.req("/api/v1/tokens", { method: "POST", cookie, json: { name: 5, role: "king", extra: true } });
    expect(res.status).toBe(400);
    const err = ((await res.json()) as { error: { details: { path: string }[] } }).error;
    const paths = err.details.map((d) => d.path).sort();
    expect(paths).toEqual(["extra", "name", "role"]);
    // nothing was created
    expect(((await (await t.req("/api/v1/tokens", { cookie })).json()) as { items: unknown[] }).items).toHaveLength(0);
  });

  it("oversized bodies get 413, unknown API routes a JSON 404", async () => {
    const t = makeTestApp({ settings: { maxBodyBytes: 2048 } });
    const { cookie } = await t.setupOwner();
    const big = await t.req("/api/v1/tokens", { method: "POST", cookie, json: { name: "x".repeat(5000), role: "viewer" } });
    expect(big.status).toBe(413);
    expect(((await big.json()) as { error: { code: string } }).error.code).toBe("payload_too_large");
    const nf = await t.req("/api/v1/nothing-here");
    expect(nf.status).toBe(404);
    expect(await nf.json()).toMatchObject({ error: { code: "not_found" } });
  });

  it("refuses cross-site writes with a session cookie", async () => {
    const t = makeTestApp();
    const { cookie } = await t.setupOwner();
    const res = await t.req("/api/v1/tokens", {
      method: "POST",
      cookie,
      headers: { origin: "http://evil.example" },
      json: { name: "x", role: "viewer" },
    });
    expect(res.status).toBe(403);
    const form = await t.req("/api/v1/auth/logout", {
      method: "POST",
      cookie,
      headers: { origin: "http://evil.example", "content-type": "application/x-www-form-urlencoded" },
      body: "a=1",
    });
    expect(form.status).toBe(403);
  });

  it("sends security headers and a request id", async () => {
    const t = makeTestApp();
    const res = await t.req("/healthz", { headers: { "x-request-id": "abc-123" } });
    expect(res.headers.get("x-request-id")).toBe("abc-123");
    expect(res.headers.get("content-security-policy")).toContain("script-src 'self'");
    expect(res.headers.get("x-frame-options")).toBe("SAMEORIGIN");
    expect(res.headers.get("x-content-type-options")).toBe("nosniff");
  });

  it("a busy store answers 503 with Retry-After, never 500", async () => {
    const { Database } = await import("bun:sqlite");
    const { mkdtempSync } = await import("node:fs");
    const { tmpdir } = await import("node:os");
    const { join } = await import("node:path");
    const { openStore, migrate } = await import("../../src/db/client.ts");
    const t = makeTestApp();
    const { cookie } = await t.setupOwner();
    // move the app onto a file store and hold its write lock from another connection
    const file = join(mkdtempSync(join(tmpdir(), "busy-")), "db.sqlite");
    t.store.sqlite.query("VACUUM INTO ?").run(file);
    const store = openStore(file);
    migrate(store);
    store.sqlite.exec("PRAGMA busy_timeout = 50");
    Object.assign(t.deps.store, { db: store.db, sqlite: store.sqlite });
    const locker = new Database(file);
    locker.exec("BEGIN IMMEDIATE");
    const res = await t.req("/api/v1/tokens", { method: "POST", cookie, json: { name: "x", role: "viewer" } });
    locker.exec("ROLLBACK");
    expect(res.status).toBe(503);
    expect(res.headers.get("retry-after")).toBe("1");
    expect((await t.req("/api/v1/tokens", { method: "POST", cookie, json: { name: "x", role: "viewer" } })).status).toBe(201);
  });

  it("never logs passwords or tokens", async () => {
    const t = makeTestApp();
    const { cookie } = await t.setupOwner("o@x.test");
    const { token } = (await (
      await t.req("/api/v1/tokens", { method: "POST", cookie, json: { name: "x", role: "viewer" } })
    ).json()) as { token: string };
    await t.req("/api/v1/me", { bearer: token });
    await t.req("/api/v1/auth/login", { method: "POST", json: { email: "o@x.test", password: `wrong ${PASSWORD}` } });
    const all = t.logs.join("\n");
    expect(t.logs.length).toBeGreaterThan(3);
    expect(all).not.toContain(PASSWORD);
    expect(all).not.toContain(token);
    expect(all).not.toContain(cookie.split("=")[1]);
  });
});
