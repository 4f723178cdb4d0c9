import { OpenAPIHono } from "@hono/zod-openapi";
import type { AppEnv } from "../../server/deps.ts";
import { ctxOf } from "../../server/deps.ts";
import { deleteSecret, getSecret, listSecrets, putSecret, secretRollouts } from "../../services/secrets.ts";
import { body, json, reply } from "../shared/content.ts";
import { errorResponse, errorResponses } from "../shared/errors.ts";
import { DryRunQuery, NameParam } from "../shared/params.ts";
import { apiRoute } from "../shared/route.ts";
import {
  DeleteResultSchema,
  PutBody,
  SecretChangeSchema,
  SecretListSchema,
  SecretRolloutListSchema,
  SecretSchema,
} from "./schema.ts";

/** The secrets vault over HTTP: names, versions and users only; values go in and never come out. */
export function secretsRoutes() {
  const app = new OpenAPIHono<AppEnv>();

  app.openapi(
    apiRoute("viewer", {
      method: "get",
      path: "/api/v1/secrets",
      tags: ["secrets"],
      summary: "Secrets of this workspace: name, version, description, updated at/by and used-by (values are never returned)",
      responses: { 200: json(SecretListSchema), ...errorResponses },
    }),
    (c) => reply(c, SecretListSchema, { items: listSecrets(ctxOf(c)) }, 200),
  );

  app.openapi(
    apiRoute("viewer", {
      method: "get",
      path: "/api/v1/secrets/{name}",
      tags: ["secrets"],
      summary: "One secret's metadata and users (never its value)",
      request: { params: NameParam },
      responses: { 200: json(SecretSchema), ...errorResponses },
    }),
    (c) => reply(c, SecretSchema, getSecret(ctxOf(c), c.req.valid("param").name), 200),
  );

  app.openapi(
    apiRoute("operator", {
      method: "put",
      path: "/api/v1/secrets/{name}",
      tags: ["secrets"],
      summary:
        "Create a secret or replace its value (a new version; write-only), rolled out to every bot that uses it (a running one restarts); dryRun=true: the blast radius only (no value needed)",
      request: { params: NameParam, query: DryRunQuery, ...body(PutBody, { required: false }) },
      responses: { 200: json(SecretChangeSchema), ...errorResponses },
    }),
    (c) => {
      const b = (c.req.valid("json") ?? {}) as { value?: string; description?: string };
      const r = putSecret(
        ctxOf(c),
        { name: c.req.valid("param").name, value: b.value, description: b.description },
        { dryRun: c.req.valid("query").dryRun === "true" },
      );
      if (!r.dryRun && r.rollout.some((p) => p.method === "restart")) c.get("deps").runtime?.reconciler.poke();
      return reply(c, SecretChangeSchema, r, 200);
    },
  );

  app.openapi(
    apiRoute("viewer", {
      method: "get",
      path: "/api/v1/secrets/{name}/rollouts",
      tags: ["secrets"],
      summary: "Per-bot delivery of the secret's new versions (pending, delivered with a restart, failed with the reason)",
      request: { params: NameParam },
      responses: { 200: json(SecretRolloutListSchema), ...errorResponses },
    }),
    (c) => reply(c, SecretRolloutListSchema, { items: secretRollouts(ctxOf(c), c.req.valid("param").name) }, 200),
  );

  app.openapi(
    apiRoute("admin", {
      method: "delete",
      path: "/api/v1/secrets/{name}",
      tags: ["secrets"],
      summary: "Delete a secret; refused (409) while a bot or connector uses it",
      request: { params: NameParam },
      responses: { 200: json(DeleteResultSchema), ...errorResponses, 409: errorResponse("In use") },
    }),
    (c) => {
      deleteSecret(ctxOf(c), c.req.valid("param").name);
      return reply(c, DeleteResultSchema, { ok: true }, 200);
    },
  );

  return app;
}
