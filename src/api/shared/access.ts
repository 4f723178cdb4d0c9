import type { MiddlewareHandler } from "hono";
import { type Role, roleRank } from "../../core/context.ts";
import { ServiceError } from "../../core/errors.ts";
import type { AppEnv } from "../../server/deps.ts";

/**
 * Who may call a route at the HTTP edge:
 * - "public": anyone (health, setup, login, the OpenAPI document)
 * - "user": a signed-in user or a token, any role; the service decides the rest (self-service verbs)
 * - a Role: the least role; the service verb checks it again on its first line
 */
export type RouteAccess = "public" | "user" | Role;

/**
 * The edge check every API route gets through `apiRoute`: signed in (unless public), not a token on a
 * session-only verb, and at least the route's role. Services check the role again on their first line.
 */
export function requireAccess(access: RouteAccess, sessionOnly = false): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    if (access === "public") return next();
    const actor = c.get("actor");
    if (!actor)
      throw new ServiceError("unauthorized", "sign in first, or send an API token in the Authorization header (Bearer scheme)");
    if (sessionOnly && actor.type !== "user")
      throw new ServiceError("forbidden", "this needs a signed-in user; API tokens cannot do it");
    if (access !== "user" && roleRank(actor.role) < roleRank(access as Role)) {
      throw new ServiceError(
        "forbidden",
        actor.role
          ? `this needs the ${access} role in this workspace; you are ${actor.role}`
          : "you are not a member of this workspace",
      );
    }
    return next();
  };
}
