import { OpenAPIHono, z } from "@hono/zod-openapi";
import type { AppEnv } from "../server/deps.ts";
import { ctxOf } from "../server/deps.ts";
import { apiRoute } from "./route.ts";
import { body, errorResponses, json, NameParam } from "./schemas.ts";
import { deleteSecret, getSecret, listSecrets, putSecret, MAX_DESCRIPTION, MAX_SECRET_BYTES } from "../services/secrets.ts";

const SecretSchema = z.object({
  name: z.string(),
  version: z.number().int(),
  description: z.string(),
  createdAt: z.number(),
  updatedAt: z.number(),
  updatedBy: z.string().nullable(),
  usedBy: z.object({ bots: z.array(z.string()), connectors: z.array(z.string()) }),
}).openapi("Secret");
const PutSchema = z.strictObject({
  value: z.string().min(1).max(MAX_SECRET_BYTES).openapi({ description: "the value; write-only (never returned)", format: "password" }),
  description: z.string().max(MAX_DESCRIPTION).optional().openapi({ description: "what the secret is for; kept when omitted" }),
});

/** The secrets vault over HTTP: names, versions and users only; values go in and never come out. */
export function secretsRoutes() {
  const app = new OpenAPIHono<AppEnv>();

  app.openapi(apiRoute("viewer", {
    method: "get", path: "/api/v1/secrets", tags: ["secrets"], summary: "Secrets of this workspace: name, version, description, updated at/by and used-by (values are never returned)",
    responses: { 200: json(z.object({ items: z.array(SecretSchema) })), ...errorResponses },
  }), (c) => c.json({ items: listSecrets(ctxOf(c)) }, 200));

  app.openapi(apiRoute("viewer", {
    method: "get", path: "/api/v1/secrets/{name}", tags: ["secrets"], summary: "One secret's metadata and users (never its value)",
    request: { params: NameParam },
    responses: { 200: json(SecretSchema), ...errorResponses },
  }), (c) => c.json(getSecret(ctxOf(c), c.req.valid("param").name), 200));

  app.openapi(apiRoute("operator", {
    method: "put", path: "/api/v1/secrets/{name}", tags: ["secrets"], summary: "Create a secret or replace its value (a new version; write-only). Bots that use it get it on their next reconcile",
    request: { params: NameParam, ...body(PutSchema) },
    responses: { 200: json(SecretSchema), ...errorResponses },
  }), (c) => {
    const b = c.req.valid("json");
    return c.json(putSecret(ctxOf(c), { name: c.req.valid("param").name, value: b.value, description: b.description }), 200);
  });

  app.openapi(apiRoute("admin", {
    method: "delete", path: "/api/v1/secrets/{name}", tags: ["secrets"], summary: "Delete a secret; refused (409) while a bot or connector uses it",
    request: { params: NameParam },
    responses: { 200: json(z.object({ ok: z.literal(true) })), ...errorResponses, 409: json(z.any(), "In use") },
  }), (c) => {
    deleteSecret(ctxOf(c), c.req.valid("param").name);
    return c.json({ ok: true as const }, 200);
  });

  return app;
}
