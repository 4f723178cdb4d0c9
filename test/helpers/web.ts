/**
 * Helpers for the web-page tests: requests the way a browser sends them from our pages, the flash cookie a
 * redirect sets, and the rules every page is held to (CSP-safe markup, forms without JS, labelled controls).
 */
import { expect } from "vitest";
import type { makeTestApp } from "./app.ts";

type TestApp = ReturnType<typeof makeTestApp>;

export const HTML = { accept: "text/html,application/xhtml+xml" };
export const SAME_ORIGIN = { origin: "http://localhost", host: "localhost", "sec-fetch-site": "same-origin" };
export const CROSS_SITE = { origin: "http://evil.example", host: "localhost", "sec-fetch-site": "cross-site" };
export const FORM_CONTENT_TYPE = { "content-type": "application/x-www-form-urlencoded" };

/** A page request the way a browser asks for it. */
export function get(t: TestApp, path: string, cookie?: string, headers: Record<string, string> = {}) {
  return t.req(path, { cookie, headers: { ...HTML, ...headers } });
}

/** A form POST the way a browser sends it from one of our pages. */
export function post(
  t: TestApp,
  path: string,
  fields: Record<string, string>,
  cookie?: string,
  headers: Record<string, string> = SAME_ORIGIN,
) {
  return t.req(path, {
    method: "POST",
    cookie,
    headers: { ...HTML, ...FORM_CONTENT_TYPE, ...headers },
    body: new URLSearchParams(fields).toString(),
  });
}

/** The `name=value` pair of a cookie the response sets (not one it clears). */
export function cookieFrom(res: Response, name: string): string | undefined {
  const all = res.headers.getSetCookie();
  const c = all.find((s) => s.startsWith(`${name}=`) && !/max-age=0/i.test(s));
  return c?.split(";")[0];
}

/** Adds the flash cookie a redirect set, the way a browser would carry it to the next page. */
export function withFlash(cookie: string, res: Response): string {
  const flash = cookieFrom(res, "molthub_flash");
  return flash ? `${cookie}; ${flash}` : cookie;
}

/** The text of the flash message a redirect set, or "" when it set none. */
export function flashText(res: Response): string {
  const flash = cookieFrom(res, "molthub_flash");
  return flash
    ? (JSON.parse(Buffer.from(decodeURIComponent(flash.split("=")[1]!), "base64url").toString()) as { text: string }).text
    : "";
}

/** CSP allows scripts and styles from 'self' only: no inline <script>, no style attributes, no event handlers. */
export function assertNoInlineCode(body: string, path: string) {
  expect(body.match(/<script(?![^>]*\bsrc=)[^>]*>/gi) ?? [], `inline <script> on ${path}`).toEqual([]);
  expect(body.includes(" style="), `style attribute on ${path}`).toBe(false);
  expect(/\son[a-z]+=/i.test(body), `inline event handler on ${path}`).toBe(false);
}

/** Every form has a method and a same-site action, so it works without JS. */
export function assertFormsWorkWithoutJs(body: string, path: string) {
  for (const tag of body.match(/<form\b[^>]*>/gi) ?? []) {
    expect(tag, `form without method on ${path}`).toMatch(/\bmethod="(get|post)"/);
    expect(tag, `form without action on ${path}`).toMatch(/\baction="\/[^"]*"/);
  }
}

/** Every visible input, select and textarea with an id has a label for it. */
export function assertLabelled(body: string, path: string) {
  for (const m of body.matchAll(/<(input|select|textarea)\b[^>]*\bid="([^"]+)"[^>]*>/g)) {
    if (/type="hidden"/.test(m[0])) continue;
    expect(body, `${path}: label for #${m[2]}`).toContain(`for="${m[2]}"`);
  }
}

/** The rules every page follows: a full document, CSP-safe markup, forms without JS, labelled fields. */
export function assertPageRules(body: string, path: string) {
  expect(body, path).toMatch(/^<!doctype html>/i);
  assertNoInlineCode(body, path);
  assertFormsWorkWithoutJs(body, path);
  assertLabelled(body, path);
}

/** Applies a bot manifest through the bots page's form; expects the redirect that means it was stored. */
export async function applyBot(t: TestApp, cookie: string, text: string) {
  const res = await post(t, "/bots/apply", { manifest: text, mode: "apply" }, cookie);
  expect(res.status, await res.clone().text()).toBe(303);
  return res;
}
