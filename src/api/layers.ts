import { OpenAPIHono } from "@hono/zod-openapi";
import type { AppEnv } from "../server/deps.ts";

/** API routes for layers (filled in by its module owner). */
export function layersRoutes() {
  return new OpenAPIHono<AppEnv>();
}
