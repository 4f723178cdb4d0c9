import { OpenAPIHono } from "@hono/zod-openapi";
import type { AppEnv } from "../server/deps.ts";

/** API routes for templates (filled in by its module owner). */
export function templatesRoutes() {
  return new OpenAPIHono<AppEnv>();
}
