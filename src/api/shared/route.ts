import { createRoute, type RouteConfig } from "@hono/zod-openapi";
import { type RouteAccess, requireAccess } from "./access.ts";

export interface RegisteredRoute {
  method: string;
  /** OpenAPI style path, e.g. /api/v1/tokens/{id} */
  path: string;
  access: RouteAccess;
  /** self-service verbs that an API token may not use */
  sessionOnly?: boolean;
}

/** Every API route, with its access rule; the authorization-matrix test walks this list and app.routes. */
export const routeRegistry: RegisteredRoute[] = [];

/** `createRoute` that also records the route's access rule and marks it in the OpenAPI document. */
export function apiRoute<R extends RouteConfig>(access: RouteAccess, config: R, opts: { sessionOnly?: boolean } = {}): R {
  const exists = routeRegistry.some((r) => r.method === config.method && r.path === config.path);
  if (!exists) routeRegistry.push({ method: config.method, path: config.path, access, sessionOnly: opts.sessionOnly });
  return createRoute({
    ...config,
    middleware: [requireAccess(access, opts.sessionOnly), ...(config.middleware ? [config.middleware].flat() : [])],
    security: access === "public" ? [] : [{ bearerAuth: [] }, { cookieAuth: [] }],
    "x-molthub-access": access,
  } as R);
}

export function accessFor(method: string, honoPath: string): RegisteredRoute | undefined {
  const oapi = honoPath.replace(/:([A-Za-z0-9_]+)/g, "{$1}");
  return routeRegistry.find((r) => r.method === method.toLowerCase() && r.path === oapi);
}
