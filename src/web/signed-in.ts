import type { MiddlewareHandler } from "hono";
import type { AppEnv } from "../server/deps.ts";
import { isHtmx } from "./page-response.tsx";

/** The sign-in gate in front of every page but the public ones, and the `next` path it sends the user back to. */

/**
 * Only paths on this site: `next` must not send the user to another origin. Browsers drop tabs and
 * newlines and read a backslash as `/`, so anything but printable ASCII, and any backslash, is refused.
 */
export function safeNext(next: string | undefined | null): string {
  if (!next || next.length > 2000 || !/^\/(?!\/)[\x21-\x5b\x5d-\x7e]*$/.test(next)) return "/";
  return next;
}

/**
 * Pages need a signed-in user with a browser session. Anyone else goes to the sign-in page (and comes
 * back afterwards); a half-finished sign-in goes to the second-factor step.
 */
export const signedIn: MiddlewareHandler<AppEnv> = async (c, next) => {
  const actor = c.get("actor");
  const session = c.get("session");
  if (actor && session && c.get("authVia") === "cookie") return next();
  const target = session?.mfaPending ? "/login/totp" : "/login";
  if (isHtmx(c)) {
    c.header("hx-redirect", target);
    return c.body(null, 401);
  }
  if (c.req.method !== "GET" && c.req.method !== "HEAD") return c.redirect(target, 303);
  const here = c.req.path + (new URL(c.req.url).search || "");
  return c.redirect(target === "/login" && here !== "/" ? `/login?next=${encodeURIComponent(here)}` : target, 302);
};
