import type { Context } from "hono";
import { setCookie } from "hono/cookie";
import type { AppEnv } from "../../server/deps.ts";
import { SESSION_COOKIE } from "../../services/auth.ts";

/** Sets the session cookie after a sign-in (the API's and the sign-in page's). */
export function sessionCookie(c: Context<AppEnv>, token: string, expiresAt: number): void {
  setCookie(c, SESSION_COOKIE, token, {
    httpOnly: true,
    sameSite: "Lax",
    secure: c.get("secure"),
    path: "/",
    expires: new Date(expiresAt),
  });
}
