import { OpenAPIHono } from "@hono/zod-openapi";
import type { AppEnv } from "../server/deps.ts";

/** API routes for policies (filled in by its module owner). */
export function policiesRoutes() {
  return new OpenAPIHono<AppEnv>();
}
