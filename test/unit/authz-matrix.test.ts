/**
 * Drives every API route the app exposes with every role (session and token), unauthenticated, and with
 * another workspace's ids. The route list comes from the app itself, so a new route cannot escape.
 */
import { beforeAll, describe, expect, it } from "vitest";
import type { RouteAccess } from "../../src/api/shared/access.ts";
import { accessFor, routeRegistry } from "../../src/api/shared/route.ts";
import { ROLES, type Role, roleRank } from "../../src/core/context.ts";
import { makeTestApp } from "../helpers/app.ts";

// Routes not made with apiRoute, and why.
const EXTRA_PUBLIC = new Set(["GET /api/v1/openapi.json"]);

type T = ReturnType<typeof makeTestApp>;
let t: T;
const cookies: Partial<Record<Role, string>> = {};
const tokens: Partial<Record<Role, string>> = {};
let other: { cookie: string; userId: string; tokenId: string };

async function createToken(cookie: string, role: Role): Promise<{ token: string; id: string }> {
  const res = await t.req("/api/v1/tokens", { method: "POST", cookie, json: { name: `t-${role}`, role } });
  expect(res.status).toBe(201);
  const b = (await res.json()) as { token: string; item: { id: string } };
  return { token: b.token, id: b.item.id };
}

beforeAll(async () => {
  t = makeTestApp();
  const owner = await t.setupOwner("owner@a.test");
  cookies.owner = owner.cookie;
  for (const r of ["admin", "operator", "viewer"] as const) cookies[r] = await t.addUser(`${r}@a.test`, r);
  for (const r of ROLES) tokens[r] = (await createToken(cookies[r]!, r)).token;
  // workspace B, with its own owner and token
  const bCookie = await t.addUser("owner@b.test", "owner", "other-ws");
  const me = (await (await t.req("/api/v1/me", { cookie: bCookie })).json()) as { userId: string };
  other = { cookie: bCookie, userId: me.userId, tokenId: (await createToken(bCookie, "viewer")).id };
  // a bot and a secret in B, both named "bee", so every :name route has a real target in the other workspace
  expect((await t.req("/api/v1/secrets/bee", { method: "PUT", cookie: bCookie, json: { value: "b-secret-value" } })).status).toBe(
    200,
  );
  const applied = await t.req("/api/v1/bots/apply", {
    method: "POST",
    cookie: bCookie,
    json: {
      apiVersion: "molthub/v1",
      kind: "Bot",
      metadata: { name: "bee" },
      spec: { target: { provider: "local", version: "2026.9.6" } },
    },
  });
  expect(applied.status).toBe(200);
  beeId = ((await applied.json()) as { bot: { id: string } }).bot.id;
});
let beeId = "";

function appRoutes(): { method: string; path: string }[] {
  const seen = new Set<string>();
  const out: { method: string; path: string }[] = [];
  for (const r of t.app.routes) {
    if (!r.path.startsWith("/api/v1") || r.method === "ALL") continue;
    const key = `${r.method} ${r.path}`;
    if (seen.has(key)) continue;
    seen.add(key);
    out.push({ method: r.method, path: r.path });
  }
  return out;
}

/** Fills path params with ids that belong to workspace B. */
function concrete(path: string): string {
  return path.replace(":userId", other.userId).replace(":id", other.tokenId).replace(":name", "bee").replace(":revision", "1");
}

function accessOf(method: string, path: string): RouteAccess {
  if (EXTRA_PUBLIC.has(`${method} ${path}`)) return "public";
  const a = accessFor(method, path);
  if (!a) throw new Error(`${method} ${path} is not registered with apiRoute: give it an access rule`);
  return a.access;
}

async function call(method: string, path: string, auth: { cookie?: string; bearer?: string }) {
  const init: Parameters<T["req"]>[1] = { method, ...auth };
  if (!["GET", "HEAD"].includes(method)) init.json = {};
  const res = await t.req(concrete(path), init);
  if (res.headers.get("content-type")?.includes("event-stream")) await res.body?.cancel();
  else await res.text();
  return res.status;
}

describe("authorization matrix", () => {
  it("knows an access rule for every API route", () => {
    const routes = appRoutes();
    expect(routes.length).toBeGreaterThanOrEqual(routeRegistry.length);
    for (const r of routes) expect(() => accessOf(r.method, r.path), `${r.method} ${r.path}`).not.toThrow();
  });

  it("refuses unauthenticated callers on every non-public route", async () => {
    for (const r of appRoutes()) {
      const status = await call(r.method, r.path, {});
      if (accessOf(r.method, r.path) === "public") expect(status, `${r.method} ${r.path}`).not.toBe(401);
      else expect(status, `${r.method} ${r.path}`).toBe(401);
    }
  });

  it("refuses a revoked or unknown bearer token", async () => {
    expect(await call("GET", "/api/v1/me", { bearer: "mht_not-a-real-token-000000" })).toBe(401);
  });

  for (const via of ["session", "token"] as const) {
    it(`enforces the least role on every route (${via})`, async () => {
      for (const role of ROLES) {
        for (const r of appRoutes()) {
          const access = accessOf(r.method, r.path);
          if (access === "public") continue;
          const reg = accessFor(r.method, r.path);
          const auth = via === "session" ? { cookie: cookies[role] } : { bearer: tokens[role] };
          const status = await call(r.method, r.path, auth);
          const label = `${role} ${via} ${r.method} ${r.path}`;
          if (via === "token" && reg?.sessionOnly) expect(status, label).toBe(403);
          else if (access !== "user" && roleRank(role) < roleRank(access as Role)) expect(status, label).toBe(403);
          else expect([401, 403], label).not.toContain(status);
          if (r.path === "/api/v1/auth/logout" && via === "session" && status === 200) {
            cookies[role] = await t.signIn(`${role}@a.test`);
          }
        }
      }
    });
  }

  it("answers 404 for another workspace's ids, to every role allowed to call the route", async () => {
    const withParams = appRoutes().filter((r) => r.path.includes(":"));
    expect(withParams.length).toBeGreaterThan(0);
    for (const r of withParams) {
      const access = accessOf(r.method, r.path);
      for (const role of ROLES) {
        if (access !== "user" && access !== "public" && roleRank(role) < roleRank(access as Role)) continue;
        const init: Parameters<T["req"]>[1] = { method: r.method, cookie: cookies[role] };
        const validBodies: Record<string, unknown> = {
          "PATCH /api/v1/members/:userId": { role: "viewer" },
          "POST /api/v1/bots/:name/actions": { action: "stop" },
          "POST /api/v1/templates/:name/bots": { name: "x" },
        };
        // PUT upserts by name inside the caller's own workspace: it creates A's "bee", never touches B's (checked below)
        if (r.method === "PUT" && (r.path === "/api/v1/secrets/:name" || r.path === "/api/v1/templates/:name")) continue;
        if (r.method !== "GET") init.json = validBodies[`${r.method} ${r.path}`];
        const q = r.path === "/api/v1/bots/:name/diff" ? "?from=1&to=1" : "";
        const res = await t.req(concrete(r.path) + q, init);
        expect(res.status, `${role} ${r.method} ${r.path} ${res.status === 404 ? "" : await res.text()}`).toBe(404);
      }
    }
    // and B's resources are untouched
    const me = await t.req("/api/v1/tokens", { cookie: other.cookie });
    const items = ((await me.json()) as { items: { id: string; revokedAt: number | null }[] }).items;
    expect(items.find((i) => i.id === other.tokenId)?.revokedAt).toBeNull();
    const bee = (await (await t.req("/api/v1/bots/bee", { cookie: other.cookie })).json()) as {
      bot: { desiredState: string; status: string };
    };
    expect(bee.bot.desiredState).toBe("running");
    expect(bee.bot.status).not.toBe("deleting");
    const secrets = (await (await t.req("/api/v1/secrets", { cookie: other.cookie })).json()) as {
      items: { name: string; version: number }[];
    };
    expect(secrets.items).toEqual([expect.objectContaining({ name: "bee", version: 1 })]);
  });

  it("never lists another workspace's audit entries, members or tokens", async () => {
    for (const path of [
      "/api/v1/audit",
      "/api/v1/members",
      "/api/v1/tokens",
      "/api/v1/bots",
      "/api/v1/secrets",
      "/api/v1/bots/export",
    ]) {
      const body = await (await t.req(path, { cookie: cookies.owner })).text();
      expect(body, path).not.toContain("owner@b.test");
      expect(body, path).not.toContain(other.tokenId);
      expect(body, path).not.toContain(beeId);
      expect(body, path).not.toContain("b-secret-value");
    }
  });

  it("every GET path in the OpenAPI document refuses an unauthenticated caller unless public", async () => {
    const doc = (await (await t.req("/api/v1/openapi.json")).json()) as {
      paths: Record<string, Record<string, { "x-molthub-access"?: string }>>;
    };
    const paths = Object.entries(doc.paths);
    expect(paths.length).toBeGreaterThan(10);
    for (const [p, ops] of paths) {
      if (!ops.get) continue;
      const access = ops.get["x-molthub-access"];
      expect(access, `GET ${p} has an access rule in the document`).toBeDefined();
      const status = await call("GET", p.replace(/\{(\w+)\}/g, ":$1"), {});
      if (access === "public") expect(status, p).not.toBe(401);
      else expect(status, p).toBe(401);
    }
  });

  it("authorizes the event stream before it opens", async () => {
    const anon = await t.req("/api/v1/events");
    expect(anon.status).toBe(401);
    expect(anon.headers.get("content-type")).toContain("application/json");
    const ok = await t.req("/api/v1/events", { cookie: cookies.viewer });
    expect(ok.status).toBe(200);
    expect(ok.headers.get("content-type")).toContain("text/event-stream");
    const reader = ok.body!.getReader();
    const first = new TextDecoder().decode((await reader.read()).value);
    expect(first).toContain("event: ready");
    await reader.cancel();
  });
});
