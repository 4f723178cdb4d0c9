import { OpenAPIHono, z } from "@hono/zod-openapi";
import { setCookie, deleteCookie } from "hono/cookie";
import type { AppEnv } from "../server/deps.ts";
import { ctxOf } from "../server/deps.ts";
import { apiRoute } from "./route.ts";
import { body, errorResponses, json, OkSchema, RoleSchema } from "./schemas.ts";
import { changePassword, completeSetup, confirmTotp, disableTotp, enrollTotp, login, logout, SESSION_COOKIE, setupPending, verifySecondFactor } from "../services/auth.ts";
import { listMyWorkspaces } from "../services/workspaces.ts";
import { ServiceError } from "../core/errors.ts";
import type { Context } from "hono";

const Email = z.email().max(200);
const Password = z.string().min(1).max(1000);

export function sessionCookie(c: Context<AppEnv>, token: string, expiresAt: number): void {
  setCookie(c, SESSION_COOKIE, token, {
    httpOnly: true, sameSite: "Lax", secure: c.get("secure"), path: "/", expires: new Date(expiresAt),
  });
}

export function authRoutes() {
  const app = new OpenAPIHono<AppEnv>();

  app.openapi(apiRoute("public", {
    method: "get", path: "/api/v1/setup", tags: ["auth"], summary: "Whether the appliance still waits for its first owner",
    responses: { 200: json(z.object({ pending: z.boolean() })) },
  }), (c) => c.json({ pending: setupPending(c.get("deps").store.db) }, 200));

  app.openapi(apiRoute("public", {
    method: "post", path: "/api/v1/setup", tags: ["auth"],
    summary: "Claim the appliance with the one-time setup token from the server log; creates the first owner and signs in",
    request: body(z.strictObject({ token: z.string().min(10).max(200), email: Email, name: z.string().min(1).max(100), password: Password, workspaceName: z.string().min(1).max(100).optional() })),
    responses: { 201: json(z.object({ userId: z.string(), workspaceId: z.string() }), "Owner created and signed in"), ...errorResponses },
  }), async (c) => {
    const deps = c.get("deps");
    const input = c.req.valid("json");
    const r = await completeSetup({ db: deps.store.db, now: deps.now, requestId: c.get("requestId") }, input);
    const s = await login({ db: deps.store.db, now: deps.now, requestId: c.get("requestId"), sessionTtlMs: deps.settings.sessionTtlHours * 3_600_000 }, { email: input.email, password: input.password, ip: c.get("clientIp"), userAgent: c.req.header("user-agent") });
    sessionCookie(c, s.sessionToken, s.expiresAt);
    return c.json(r, 201);
  });

  app.openapi(apiRoute("public", {
    method: "post", path: "/api/v1/auth/login", tags: ["auth"], summary: "Sign in; sets the session cookie",
    request: body(z.strictObject({ email: Email, password: Password })),
    responses: { 200: json(z.object({ userId: z.string(), mfaRequired: z.boolean() })), ...errorResponses, 429: json(z.any(), "Too many failed attempts") },
  }), async (c) => {
    const deps = c.get("deps");
    const input = c.req.valid("json");
    const s = await login({ db: deps.store.db, now: deps.now, requestId: c.get("requestId"), sessionTtlMs: deps.settings.sessionTtlHours * 3_600_000 }, { ...input, ip: c.get("clientIp"), userAgent: c.req.header("user-agent") });
    sessionCookie(c, s.sessionToken, s.expiresAt);
    return c.json({ userId: s.userId, mfaRequired: s.mfaRequired }, 200);
  });

  app.openapi(apiRoute("public", {
    method: "post", path: "/api/v1/auth/totp/verify", tags: ["auth"], summary: "Second step of a sign-in when a second factor is enabled",
    request: body(z.strictObject({ code: z.string().regex(/^\d{6}$/, "six digits") })),
    responses: { 200: json(OkSchema), ...errorResponses },
  }), (c) => {
    const deps = c.get("deps");
    const token = c.req.header("cookie")?.match(new RegExp(`${SESSION_COOKIE}=([^;]+)`))?.[1];
    if (!token) throw new ServiceError("unauthorized", "sign in with your password first");
    verifySecondFactor({ db: deps.store.db, keyring: deps.keyring, now: deps.now, requestId: c.get("requestId") }, token, c.req.valid("json").code, c.get("clientIp"));
    return c.json({ ok: true as const }, 200);
  });

  app.openapi(apiRoute("user", {
    method: "post", path: "/api/v1/auth/logout", tags: ["auth"], summary: "Sign out (ends this session)",
    responses: { 200: json(OkSchema), ...errorResponses },
  }, { sessionOnly: true }), (c) => {
    logout(ctxOf(c));
    deleteCookie(c, SESSION_COOKIE, { path: "/" });
    return c.json({ ok: true as const }, 200);
  });

  app.openapi(apiRoute("user", {
    method: "get", path: "/api/v1/me", tags: ["auth"], summary: "Who am I: user or token, role and workspaces",
    responses: {
      200: json(z.object({
        type: z.string(), userId: z.string().nullable(), label: z.string(), role: RoleSchema.nullable(), workspaceId: z.string().nullable(),
        totpEnabled: z.boolean().optional(),
        workspaces: z.array(z.object({ id: z.string(), slug: z.string(), name: z.string(), role: RoleSchema, current: z.boolean() })),
      })),
      ...errorResponses,
    },
  }), (c) => {
    const actor = c.get("actor")!;
    const ctx = ctxOf(c);
    return c.json({
      type: actor.type, userId: actor.userId, label: actor.label, role: actor.role, workspaceId: actor.workspaceId,
      totpEnabled: c.get("session")?.user.totpEnabled, workspaces: listMyWorkspaces(ctx),
    }, 200);
  });

  app.openapi(apiRoute("user", {
    method: "post", path: "/api/v1/me/password", tags: ["auth"], summary: "Change your password; every other session and all your API tokens are revoked",
    request: body(z.strictObject({ currentPassword: Password, newPassword: Password })),
    responses: { 200: json(z.object({ sessionsRevoked: z.number(), tokensRevoked: z.number() })), ...errorResponses },
  }, { sessionOnly: true }), async (c) => {
    const r = await changePassword(ctxOf(c), c.req.valid("json"));
    return c.json(r, 200);
  });

  app.openapi(apiRoute("user", {
    method: "post", path: "/api/v1/me/totp", tags: ["auth"], summary: "Start enrolling a TOTP second factor: returns the secret and otpauth URI once",
    responses: { 200: json(z.object({ secret: z.string(), uri: z.string() })), ...errorResponses },
  }, { sessionOnly: true }), (c) => c.json(enrollTotp(ctxOf(c)), 200));

  app.openapi(apiRoute("user", {
    method: "post", path: "/api/v1/me/totp/confirm", tags: ["auth"], summary: "Finish TOTP enrolment with a current code",
    request: body(z.strictObject({ code: z.string().regex(/^\d{6}$/, "six digits") })),
    responses: { 200: json(OkSchema), ...errorResponses },
  }, { sessionOnly: true }), (c) => {
    confirmTotp(ctxOf(c), c.req.valid("json").code);
    return c.json({ ok: true as const }, 200);
  });

  app.openapi(apiRoute("user", {
    method: "delete", path: "/api/v1/me/totp", tags: ["auth"], summary: "Disable the second factor (needs your password)",
    request: body(z.strictObject({ password: Password })),
    responses: { 200: json(OkSchema), ...errorResponses },
  }, { sessionOnly: true }), async (c) => {
    await disableTotp(ctxOf(c), c.req.valid("json").password);
    return c.json({ ok: true as const }, 200);
  });

  return app;
}
