import { OpenAPIHono } from "@hono/zod-openapi";
import { deleteCookie } from "hono/cookie";
import { ServiceError } from "../../core/errors.ts";
import type { AppEnv } from "../../server/deps.ts";
import { ctxOf } from "../../server/deps.ts";
import {
  changePassword,
  completeSetup,
  confirmTotp,
  disableTotp,
  enrollTotp,
  login,
  logout,
  SESSION_COOKIE,
  setupPending,
  verifySecondFactor,
} from "../../services/auth.ts";
import { listMyWorkspaces } from "../../services/workspaces.ts";
import { body, json, reply } from "../shared/content.ts";
import { errorResponse, errorResponses } from "../shared/errors.ts";
import { apiRoute } from "../shared/route.ts";
import { OkSchema } from "../shared/schemas.ts";
import {
  LoginBody,
  LoginResultSchema,
  MeSchema,
  PasswordBody,
  PasswordResultSchema,
  SetupBody,
  SetupResultSchema,
  SetupStateSchema,
  TotpConfirmBody,
  TotpDisableBody,
  TotpEnrolmentSchema,
  TotpVerifyBody,
} from "./schema.ts";
import { sessionCookie } from "./session-cookie.ts";

export function authRoutes() {
  const app = new OpenAPIHono<AppEnv>();

  app.openapi(
    apiRoute("public", {
      method: "get",
      path: "/api/v1/setup",
      tags: ["auth"],
      summary: "Whether the appliance still waits for its first owner",
      responses: { 200: json(SetupStateSchema) },
    }),
    (c) => reply(c, SetupStateSchema, { pending: setupPending(c.get("deps").store.db) }, 200),
  );

  app.openapi(
    apiRoute("public", {
      method: "post",
      path: "/api/v1/setup",
      tags: ["auth"],
      summary: "Claim the appliance with the one-time setup token from the server log; creates the first owner and signs in",
      request: body(SetupBody),
      responses: { 201: json(SetupResultSchema, "Owner created and signed in"), ...errorResponses },
    }),
    async (c) => {
      const deps = c.get("deps");
      const input = c.req.valid("json");
      const r = await completeSetup({ db: deps.store.db, now: deps.now, requestId: c.get("requestId") }, input);
      const s = await login(
        {
          db: deps.store.db,
          now: deps.now,
          requestId: c.get("requestId"),
          sessionTtlMs: deps.settings.sessionTtlHours * 3_600_000,
        },
        { email: input.email, password: input.password, ip: c.get("clientIp"), userAgent: c.req.header("user-agent") },
      );
      sessionCookie(c, s.sessionToken, s.expiresAt);
      return reply(c, SetupResultSchema, r, 201);
    },
  );

  app.openapi(
    apiRoute("public", {
      method: "post",
      path: "/api/v1/auth/login",
      tags: ["auth"],
      summary: "Sign in; sets the session cookie",
      request: body(LoginBody),
      responses: { 200: json(LoginResultSchema), ...errorResponses, 429: errorResponse("Too many failed attempts") },
    }),
    async (c) => {
      const deps = c.get("deps");
      const input = c.req.valid("json");
      const s = await login(
        {
          db: deps.store.db,
          now: deps.now,
          requestId: c.get("requestId"),
          sessionTtlMs: deps.settings.sessionTtlHours * 3_600_000,
        },
        { ...input, ip: c.get("clientIp"), userAgent: c.req.header("user-agent") },
      );
      sessionCookie(c, s.sessionToken, s.expiresAt);
      return reply(c, LoginResultSchema, { userId: s.userId, mfaRequired: s.mfaRequired }, 200);
    },
  );

  app.openapi(
    apiRoute("public", {
      method: "post",
      path: "/api/v1/auth/totp/verify",
      tags: ["auth"],
      summary: "Second step of a sign-in when a second factor is enabled",
      request: body(TotpVerifyBody),
      responses: { 200: json(OkSchema), ...errorResponses },
    }),
    (c) => {
      const deps = c.get("deps");
      const token = c.req.header("cookie")?.match(new RegExp(`${SESSION_COOKIE}=([^;]+)`))?.[1];
      if (!token) throw new ServiceError("unauthorized", "sign in with your password first");
      verifySecondFactor(
        { db: deps.store.db, keyring: deps.keyring, now: deps.now, requestId: c.get("requestId") },
        token,
        c.req.valid("json").code,
        c.get("clientIp"),
      );
      return reply(c, OkSchema, { ok: true }, 200);
    },
  );

  app.openapi(
    apiRoute(
      "user",
      {
        method: "post",
        path: "/api/v1/auth/logout",
        tags: ["auth"],
        summary: "Sign out (ends this session)",
        responses: { 200: json(OkSchema), ...errorResponses },
      },
      { sessionOnly: true },
    ),
    (c) => {
      logout(ctxOf(c));
      deleteCookie(c, SESSION_COOKIE, { path: "/" });
      return reply(c, OkSchema, { ok: true }, 200);
    },
  );

  app.openapi(
    apiRoute("user", {
      method: "get",
      path: "/api/v1/me",
      tags: ["auth"],
      summary: "Who am I: user or token, role and workspaces",
      responses: { 200: json(MeSchema), ...errorResponses },
    }),
    (c) => {
      const actor = c.get("actor")!;
      const ctx = ctxOf(c);
      return reply(
        c,
        MeSchema,
        {
          type: actor.type,
          userId: actor.userId,
          label: actor.label,
          role: actor.role,
          workspaceId: actor.workspaceId,
          totpEnabled: c.get("session")?.user.totpEnabled,
          workspaces: listMyWorkspaces(ctx),
        },
        200,
      );
    },
  );

  app.openapi(
    apiRoute(
      "user",
      {
        method: "post",
        path: "/api/v1/me/password",
        tags: ["auth"],
        summary: "Change your password; every other session and all your API tokens are revoked",
        request: body(PasswordBody),
        responses: { 200: json(PasswordResultSchema), ...errorResponses },
      },
      { sessionOnly: true },
    ),
    async (c) => reply(c, PasswordResultSchema, await changePassword(ctxOf(c), c.req.valid("json")), 200),
  );

  app.openapi(
    apiRoute(
      "user",
      {
        method: "post",
        path: "/api/v1/me/totp",
        tags: ["auth"],
        summary: "Start enrolling a TOTP second factor: returns the secret and otpauth URI once",
        responses: { 200: json(TotpEnrolmentSchema), ...errorResponses },
      },
      { sessionOnly: true },
    ),
    (c) => reply(c, TotpEnrolmentSchema, enrollTotp(ctxOf(c)), 200),
  );

  app.openapi(
    apiRoute(
      "user",
      {
        method: "post",
        path: "/api/v1/me/totp/confirm",
        tags: ["auth"],
        summary: "Finish TOTP enrolment with a current code",
        request: body(TotpConfirmBody),
        responses: { 200: json(OkSchema), ...errorResponses },
      },
      { sessionOnly: true },
    ),
    (c) => {
      confirmTotp(ctxOf(c), c.req.valid("json").code);
      return reply(c, OkSchema, { ok: true }, 200);
    },
  );

  app.openapi(
    apiRoute(
      "user",
      {
        method: "delete",
        path: "/api/v1/me/totp",
        tags: ["auth"],
        summary: "Disable the second factor (needs your password)",
        request: body(TotpDisableBody),
        responses: { 200: json(OkSchema), ...errorResponses },
      },
      { sessionOnly: true },
    ),
    async (c) => {
      await disableTotp(ctxOf(c), c.req.valid("json").password);
      return reply(c, OkSchema, { ok: true }, 200);
    },
  );

  return app;
}
