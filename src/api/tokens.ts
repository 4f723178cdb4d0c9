import { OpenAPIHono, z } from "@hono/zod-openapi";
import type { AppEnv } from "../server/deps.ts";
import { ctxOf } from "../server/deps.ts";
import { apiRoute } from "./route.ts";
import { body, errorResponses, IdParam, json, OkSchema, RoleSchema } from "./schemas.ts";
import { createToken, listTokens, revokeToken } from "../services/tokens.ts";

const TokenSchema = z.object({
  id: z.string(), name: z.string(), role: RoleSchema, prefix: z.string(), userId: z.string(),
  expiresAt: z.number().nullable(), lastUsedAt: z.number().nullable(), revokedAt: z.number().nullable(), createdAt: z.number(),
}).openapi("ApiToken");

export function tokenRoutes() {
  const app = new OpenAPIHono<AppEnv>();
  app.openapi(apiRoute("viewer", {
    method: "get", path: "/api/v1/tokens", tags: ["tokens"], summary: "API tokens (yours; admins see all of the workspace)",
    responses: { 200: json(z.object({ items: z.array(TokenSchema) })), ...errorResponses },
  }), (c) => c.json({ items: listTokens(ctxOf(c)) }, 200));

  app.openapi(apiRoute("viewer", {
    method: "post", path: "/api/v1/tokens", tags: ["tokens"], summary: "Create an API token bound to this workspace; the token is shown only in this response",
    request: body(z.strictObject({ name: z.string().min(1).max(100), role: RoleSchema, expiresInDays: z.number().int().min(1).max(3650).nullable().optional() })),
    responses: { 201: json(z.object({ token: z.string(), item: TokenSchema })), ...errorResponses },
  }), (c) => c.json(createToken(ctxOf(c), c.req.valid("json")), 201));

  app.openapi(apiRoute("viewer", {
    method: "delete", path: "/api/v1/tokens/{id}", tags: ["tokens"], summary: "Revoke a token (yours, or any as admin)",
    request: { params: IdParam },
    responses: { 200: json(OkSchema), ...errorResponses },
  }), (c) => {
    revokeToken(ctxOf(c), c.req.valid("param").id);
    return c.json({ ok: true as const }, 200);
  });
  return app;
}
