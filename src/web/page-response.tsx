/** @jsxImportSource hono/jsx */
import type { Context } from "hono";
import { deleteCookie, getCookie, setCookie } from "hono/cookie";
import { html } from "hono/html";
import type { Child } from "hono/jsx";
import type { AppEnv } from "../server/deps.ts";
import { ctxOf } from "../server/deps.ts";
import { listMyWorkspaces } from "../services/workspaces.ts";
import { assetUrl } from "./ui/assets.ts";
import type { Flash, FlashKind } from "./ui/components.tsx";
import { AppLayout, type AssetUrls, AuthLayout, type Shell } from "./ui/layout.tsx";

/**
 * How a page handler answers: a signed-in page in the app chrome (only its body for an htmx refresh), a sign-in
 * style page, or a Post/Redirect/Get with a one-time flash message.
 */

export type WebContext = Context<AppEnv, string, object>;

const FLASH_COOKIE = "molthub_flash";

/** The hashed URLs of the embedded assets every page links to. */
export function assets(): AssetUrls {
  return { css: assetUrl("app.css"), htmx: assetUrl("htmx.min.js"), js: assetUrl("app.js"), icon: assetUrl("favicon.svg") };
}

/** htmx refreshes (hx-get from a live list) get the page body without the chrome. */
export function isHtmx(c: WebContext): boolean {
  return c.req.header("hx-request") === "true";
}

/**
 * Puts a one-line message into a cookie that lives for one minute and is read by the next page,
 * so a POST can redirect (PRG) and still say what happened. Messages never hold secrets.
 */
function setFlash(c: WebContext, kind: FlashKind, text: string): void {
  const value = Buffer.from(JSON.stringify({ kind, text: text.slice(0, 500) })).toString("base64url");
  setCookie(c, FLASH_COOKIE, value, { httpOnly: true, sameSite: "Lax", secure: c.get("secure"), path: "/", maxAge: 60 });
}

/** Reads and clears the flash message; htmx refreshes leave it for the next full page. */
function takeFlash(c: WebContext): Flash | null {
  if (isHtmx(c)) return null;
  const raw = getCookie(c, FLASH_COOKIE);
  if (!raw) return null;
  deleteCookie(c, FLASH_COOKIE, { path: "/", secure: c.get("secure") });
  try {
    const v = JSON.parse(Buffer.from(raw, "base64url").toString("utf8")) as { kind?: unknown; text?: unknown };
    const kinds: FlashKind[] = ["ok", "error", "info", "warn"];
    if (typeof v.text !== "string" || !kinds.includes(v.kind as FlashKind)) return null;
    return { kind: v.kind as FlashKind, text: v.text.slice(0, 500) };
  } catch {
    return null;
  }
}

/** Post/Redirect/Get: 303 so the browser follows with a GET. */
export function redirectWith(c: WebContext, to: string, flash?: { kind: FlashKind; text: string }) {
  if (flash) setFlash(c, flash.kind, flash.text);
  return c.redirect(to, 303);
}

function noStore(c: WebContext): void {
  c.header("cache-control", "no-store");
  c.header("vary", "HX-Request, Cookie");
}

function shellOf(c: WebContext): Shell {
  const session = c.get("session")!;
  const actor = c.get("actor")!;
  return {
    path: c.req.path,
    user: { email: session.user.email, name: session.user.name },
    role: actor.role,
    workspaces: listMyWorkspaces(ctxOf(c)),
    flash: takeFlash(c),
    assets: assets(),
    version: c.get("deps").version,
  };
}

/** Renders a signed-in page in the app chrome (or only its body for an htmx refresh). */
export function renderPage(c: WebContext, title: string, body: Child, status = 200) {
  noStore(c);
  if (isHtmx(c)) return c.html(html`${body}`, status as 200);
  return c.html(
    html`<!doctype html>${(
      <AppLayout title={title} shell={shellOf(c)}>
        {body}
      </AppLayout>
    )}`,
    status as 200,
  );
}

/** Renders a sign-in style page (login, setup, second factor). */
export function renderAuthPage(c: WebContext, title: string, body: Child, opts: { status?: number; foot?: Child } = {}) {
  noStore(c);
  return c.html(
    html`<!doctype html>${(
      <AuthLayout title={title} assets={assets()} flash={takeFlash(c)} foot={opts.foot}>
        {body}
      </AuthLayout>
    )}`,
    (opts.status ?? 200) as 200,
  );
}
