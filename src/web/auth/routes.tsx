/** @jsxImportSource hono/jsx */
import { Hono } from "hono";
import { deleteCookie, getCookie } from "hono/cookie";
import * as z from "zod";
import { sessionCookie } from "../../api/auth/session-cookie.ts";
import type { AppEnv } from "../../server/deps.ts";
import { ctxOf, serviceContext } from "../../server/deps.ts";
import { completeSetup, login, logout, SESSION_COOKIE, setupPending, verifySecondFactor } from "../../services/auth.ts";
import { attempt, formFromError, parseForm, readForm } from "../forms.ts";
import { redirectWith, renderAuthPage, type WebContext } from "../page-response.tsx";
import { safeNext } from "../signed-in.ts";
import { emptyForm, type FormState } from "../ui/components.tsx";
import { LoginPage, SetupPage, TotpPage } from "./page.tsx";

const SetupForm = z.strictObject({
  token: z.string({ error: "paste the setup token from the server log" }).trim().min(10, "this is not a setup token").max(200),
  name: z.string({ error: "enter your name" }).trim().min(1, "enter your name").max(100, "at most 100 characters"),
  email: z.email({ error: "enter a valid email address" }).max(200),
  password: z.string({ error: "choose a password" }).max(1000, "at most 1000 characters"),
  workspaceName: z.string().trim().min(1).max(100, "at most 100 characters").optional(),
});

const LoginForm = z.strictObject({
  email: z.string({ error: "enter your email" }).trim().min(1, "enter your email").max(200),
  password: z.string({ error: "enter your password" }).max(1000),
  next: z.string().max(2000).optional(),
});

const TotpForm = z.strictObject({
  code: z
    .string({ error: "enter the 6-digit code" })
    .transform((s) => s.replace(/\s/g, ""))
    .pipe(z.string().regex(/^\d{6}$/, "six digits")),
  next: z.string().max(2000).optional(),
});

function sessionTtlMs(c: WebContext): number {
  return c.get("deps").settings.sessionTtlHours * 3_600_000;
}

function loginPage(c: WebContext, form: FormState, next: string, status = 200) {
  return renderAuthPage(c, "Sign in", <LoginPage form={form} next={next} setupPending={setupPending(c.get("deps").store.db)} />, {
    status,
    foot: <a href="/api/docs">API reference</a>,
  });
}

/** First-run setup, sign-in (with the optional second step) and sign-out. */
export function authPages() {
  const app = new Hono<AppEnv>();

  app.get("/setup", (c) => {
    if (!setupPending(c.get("deps").store.db)) return c.redirect("/login", 302);
    const token = c.req.query("token") ?? "";
    return renderAuthPage(c, "Set up", <SetupPage form={emptyForm({ token: token.slice(0, 200) })} />);
  });

  app.post("/setup", async (c) => {
    const deps = c.get("deps");
    if (!setupPending(deps.store.db))
      return redirectWith(c, "/login", { kind: "info", text: "This Molthub is already set up; sign in." });
    const values = await readForm(c);
    const parsed = parseForm(SetupForm, values, { keep: ["token"] });
    if (!parsed.ok) return renderAuthPage(c, "Set up", <SetupPage form={parsed.form} />, { status: 400 });
    const input = parsed.data;
    const r = await attempt(async () => {
      const created = await completeSetup({ db: deps.store.db, now: deps.now, requestId: c.get("requestId") }, input);
      const s = await login(
        { db: deps.store.db, now: deps.now, requestId: c.get("requestId"), sessionTtlMs: sessionTtlMs(c) },
        { email: input.email, password: input.password, ip: c.get("clientIp"), userAgent: c.req.header("user-agent") },
      );
      return { created, s };
    });
    if (!r.ok)
      return renderAuthPage(c, "Set up", <SetupPage form={formFromError(r.error, values, { keep: ["token"] })} />, {
        status: r.error.status,
      });
    sessionCookie(c, r.value.s.sessionToken, r.value.s.expiresAt);
    return redirectWith(c, "/", { kind: "ok", text: "Welcome to Molthub. You are the owner of this instance." });
  });

  app.get("/login", (c) => {
    const next = safeNext(c.req.query("next"));
    if (c.get("actor") && c.get("authVia") === "cookie") return c.redirect(next, 302);
    return loginPage(c, emptyForm(), next);
  });

  app.post("/login", async (c) => {
    const deps = c.get("deps");
    const values = await readForm(c);
    const next = safeNext(values.next);
    const parsed = parseForm(LoginForm, values);
    if (!parsed.ok) return loginPage(c, parsed.form, next, 400);
    const r = await attempt(() =>
      login(
        { db: deps.store.db, now: deps.now, requestId: c.get("requestId"), sessionTtlMs: sessionTtlMs(c) },
        {
          email: parsed.data.email,
          password: parsed.data.password,
          ip: c.get("clientIp"),
          userAgent: c.req.header("user-agent"),
        },
      ),
    );
    if (!r.ok) {
      if (r.error.retryAfterSeconds) c.header("retry-after", String(r.error.retryAfterSeconds));
      return loginPage(c, formFromError(r.error, values), next, r.error.status);
    }
    sessionCookie(c, r.value.sessionToken, r.value.expiresAt);
    if (r.value.mfaRequired)
      return c.redirect(next === "/" ? "/login/totp" : `/login/totp?next=${encodeURIComponent(next)}`, 303);
    return c.redirect(next, 303);
  });

  app.get("/login/totp", (c) => {
    const next = safeNext(c.req.query("next"));
    if (c.get("actor") && c.get("authVia") === "cookie") return c.redirect(next, 302);
    if (!c.get("session")?.mfaPending) return c.redirect("/login", 302);
    return renderAuthPage(c, "Two-step verification", <TotpPage form={emptyForm()} next={next} />);
  });

  app.post("/login/totp", async (c) => {
    const deps = c.get("deps");
    const values = await readForm(c);
    const next = safeNext(values.next);
    const token = getCookie(c, SESSION_COOKIE);
    if (!token || !c.get("session")?.mfaPending)
      return redirectWith(c, "/login", { kind: "error", text: "The sign-in expired; sign in again." });
    const parsed = parseForm(TotpForm, values);
    if (!parsed.ok)
      return renderAuthPage(c, "Two-step verification", <TotpPage form={parsed.form} next={next} />, { status: 400 });
    const r = await attempt(() =>
      verifySecondFactor(
        { db: deps.store.db, keyring: deps.keyring, now: deps.now, requestId: c.get("requestId") },
        token,
        parsed.data.code,
        c.get("clientIp"),
      ),
    );
    if (!r.ok) {
      if (r.error.retryAfterSeconds) c.header("retry-after", String(r.error.retryAfterSeconds));
      return renderAuthPage(c, "Two-step verification", <TotpPage form={formFromError(r.error, values)} next={next} />, {
        status: r.error.status,
      });
    }
    return c.redirect(next, 303);
  });

  // Not behind the sign-in check: a half-finished (second-factor) sign-in must be able to cancel too.
  app.post("/logout", (c) => {
    const actor = c.get("actor");
    const session = c.get("session");
    if (actor?.sessionId) logout(ctxOf(c));
    else if (session) {
      const pending = {
        type: "user" as const,
        userId: session.user.id,
        label: session.user.email,
        workspaceId: null,
        role: null,
        sessionId: session.id,
      };
      logout(serviceContext(c.get("deps"), pending, c.get("requestId")));
    }
    deleteCookie(c, SESSION_COOKIE, { path: "/", secure: c.get("secure") });
    return redirectWith(c, "/login", { kind: "ok", text: "You are signed out." });
  });

  return app;
}
