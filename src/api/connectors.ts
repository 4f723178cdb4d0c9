import { OpenAPIHono } from "@hono/zod-openapi";
import type { AppEnv } from "../server/deps.ts";

/** API routes for connectors (filled in by its module owner). */
export function connectorsRoutes() {
  return new OpenAPIHono<AppEnv>();
}
