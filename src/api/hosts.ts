import { OpenAPIHono } from "@hono/zod-openapi";
import type { AppEnv } from "../server/deps.ts";

/** API routes for hosts (filled in by its module owner). */
export function hostsRoutes() {
  return new OpenAPIHono<AppEnv>();
}
