import { OpenAPIHono, z } from "@hono/zod-openapi";
import type { AppEnv } from "../server/deps.ts";
import { ctxOf } from "../server/deps.ts";
import { apiRoute } from "./route.ts";
import { body, DryRunQuery, errorResponses, json, NameParam } from "./schemas.ts";
import { CONNECTOR_TYPES } from "../domain/connectors.ts";
import { createConnector, deleteConnector, getConnector, listConnectors, listRollouts, rotateConnector, setBinding, testConnector, updateConnector } from "../services/connectors.ts";

const ConnectorSchema = z.object({
  name: z.string(), type: z.enum(CONNECTOR_TYPES), label: z.string(), category: z.enum(["llm", "channel"]),
  secret: z.string().nullable().openapi({ description: "the vault secret holding the credential (its name; values are write-only)" }),
  settings: z.object({ baseUrl: z.string().optional(), appTokenSecret: z.string().optional() }),
  baseUrl: z.string(), env: z.array(z.string()), boundBots: z.array(z.string()),
  lastTest: z.object({ at: z.number(), ok: z.boolean(), message: z.string() }).nullable(),
  createdAt: z.number(), updatedAt: z.number(),
}).openapi("Connector");

const TestResultSchema = z.object({ ok: z.boolean(), message: z.string(), details: z.record(z.string(), z.union([z.string(), z.number(), z.boolean()])), at: z.number() }).openapi("ConnectorTestResult");
const BlastSchema = z.object({ bot: z.string(), action: z.enum(["updated", "unchanged", "failed"]), revision: z.number(), changes: z.array(z.object({ path: z.string(), from: z.unknown(), to: z.unknown() })), error: z.unknown().optional() });
const RotateResultSchema = z.object({
  connector: z.string(), dryRun: z.boolean(),
  secrets: z.array(z.object({ secret: z.string(), version: z.number() })),
  bots: z.array(z.object({ bot: z.string(), env: z.array(z.string()), bound: z.boolean(), method: z.enum(["restart", "next start"]) })),
}).openapi("ConnectorRotation");
const RolloutSchema = z.object({ bot: z.string(), secret: z.string(), version: z.number(), state: z.enum(["pending", "delivered", "failed"]), method: z.string().nullable(), message: z.string(), updatedAt: z.number() }).openapi("SecretRollout");

// Bodies are checked by the service after the connector is found (so another workspace's name is a 404 even
// with an empty body), and every wrong field is listed in the 400's details.
const CreateBody = z.object({
  name: z.string().openapi({ description: "lowercase letters, digits and dashes, at most 40 characters" }),
  type: z.enum(CONNECTOR_TYPES),
  value: z.string().optional().openapi({ description: "the credential; stored as the vault secret connector-<name>, never returned" }),
  appToken: z.string().optional().openapi({ description: "slack only: the app-level token (xapp-…) for socket mode" }),
  secret: z.string().optional().openapi({ description: "an existing vault secret to use instead of a value" }),
  settings: z.record(z.string(), z.unknown()).optional().openapi({ description: "baseUrl (the API root; the type's default when absent), appTokenSecret (slack: an existing secret with the app token)" }),
}).partial().passthrough();
const UpdateBody = z.object({ settings: z.record(z.string(), z.unknown()).optional().openapi({ description: "baseUrl, appTokenSecret (slack); null or \"\" resets one" }) }).passthrough();
const RotateBody = z.object({ value: z.string().optional(), appToken: z.string().optional() }).passthrough();
const BindBody = z.object({ connector: z.string().optional().openapi({ description: "the connector to bind (required)" }) }).passthrough();

function poke(c: { get: (k: "deps") => AppEnv["Variables"]["deps"] }) {
  c.get("deps").runtime?.reconciler.poke();
}

export function connectorsRoutes() {
  const app = new OpenAPIHono<AppEnv>();

  app.openapi(apiRoute("viewer", {
    method: "get", path: "/api/v1/connectors", tags: ["connectors"], summary: "Connectors (shared credentials) with their type, bound bots and last test result; never a credential",
    responses: { 200: json(z.object({ items: z.array(ConnectorSchema) })), ...errorResponses },
  }), (c) => c.json({ items: listConnectors(ctxOf(c)) }, 200));

  app.openapi(apiRoute("admin", {
    method: "post", path: "/api/v1/connectors", tags: ["connectors"], summary: "Create a connector; a given value is stored in the vault (write-only)",
    request: body(CreateBody),
    responses: { 201: json(ConnectorSchema), ...errorResponses, 409: json(z.any(), "The name is taken") },
  }), (c) => c.json(createConnector(ctxOf(c), c.req.valid("json")), 201));

  app.openapi(apiRoute("viewer", {
    method: "get", path: "/api/v1/connectors/{name}", tags: ["connectors"], summary: "One connector",
    request: { params: NameParam },
    responses: { 200: json(ConnectorSchema), ...errorResponses },
  }), (c) => c.json(getConnector(ctxOf(c), c.req.valid("param").name), 200));

  app.openapi(apiRoute("admin", {
    method: "patch", path: "/api/v1/connectors/{name}", tags: ["connectors"],
    summary: "Change a connector's settings; bound bots get new revisions (dryRun=true: only the blast radius). Refused when a bound bot would fail",
    request: { params: NameParam, query: DryRunQuery, ...body(UpdateBody, { required: false }) },
    responses: { 200: json(z.object({ connector: ConnectorSchema, bots: z.array(BlastSchema), dryRun: z.boolean() })), ...errorResponses, 409: json(z.any(), "A bound bot would fail") },
  }), (c) => {
    const r = updateConnector(ctxOf(c), c.req.valid("param").name, c.req.valid("json"), { dryRun: c.req.valid("query").dryRun === "true" });
    if (!r.dryRun && r.bots.some((b) => b.action === "updated")) poke(c);
    return c.json(r, 200);
  });

  app.openapi(apiRoute("admin", {
    method: "delete", path: "/api/v1/connectors/{name}", tags: ["connectors"], summary: "Delete a connector (refused while bots are bound); the secrets it made go too unless a bot still uses them",
    request: { params: NameParam },
    responses: { 200: json(z.object({ deleted: z.string(), secretsDeleted: z.array(z.string()), secretsKept: z.array(z.string()) })), ...errorResponses, 409: json(z.any(), "Still bound") },
  }), (c) => c.json(deleteConnector(ctxOf(c), c.req.valid("param").name), 200));

  app.openapi(apiRoute("operator", {
    method: "post", path: "/api/v1/connectors/{name}/test", tags: ["connectors"], summary: "Test the connection: one real call to the provider's API (10 s deadline); the result is stored on the connector",
    request: { params: NameParam },
    responses: { 200: json(TestResultSchema), ...errorResponses },
  }), async (c) => c.json(await testConnector(ctxOf(c), c.req.valid("param").name), 200));

  app.openapi(apiRoute("admin", {
    method: "post", path: "/api/v1/connectors/{name}/rotate", tags: ["connectors"],
    summary: "Rotate the credential: a new secret version, rolled out to every bot that uses it (a gateway restart each); dryRun=true: the blast radius only",
    request: { params: NameParam, query: DryRunQuery, ...body(RotateBody, { required: false }) },
    responses: { 200: json(RotateResultSchema), ...errorResponses },
  }), (c) => {
    const r = rotateConnector(ctxOf(c), c.req.valid("param").name, c.req.valid("json"), { dryRun: c.req.valid("query").dryRun === "true" });
    if (!r.dryRun && r.bots.length) poke(c);
    return c.json(r, 200);
  });

  app.openapi(apiRoute("viewer", {
    method: "get", path: "/api/v1/connectors/{name}/rollouts", tags: ["connectors"], summary: "Per-bot delivery of the connector's rotated secret versions",
    request: { params: NameParam },
    responses: { 200: json(z.object({ items: z.array(RolloutSchema) })), ...errorResponses },
  }), (c) => c.json({ items: listRollouts(ctxOf(c), c.req.valid("param").name) }, 200));

  app.openapi(apiRoute("operator", {
    method: "post", path: "/api/v1/bots/{name}/connectors", tags: ["connectors"], summary: "Bind a connector to a bot (a new revision of the bot)",
    request: { params: NameParam, ...body(BindBody, { required: false }) },
    responses: { 200: json(z.object({ action: z.string(), revision: z.number() }).passthrough()), ...errorResponses },
  }), (c) => {
    const body = c.req.valid("json") as { connector?: unknown };
    const r = setBinding(ctxOf(c), c.req.valid("param").name, typeof body?.connector === "string" ? body.connector : "", true);
    if (r.action !== "unchanged") poke(c);
    return c.json(r, 200);
  });

  app.openapi(apiRoute("operator", {
    method: "delete", path: "/api/v1/bots/{name}/connectors/{connector}", tags: ["connectors"], summary: "Unbind a connector from a bot (a new revision of the bot)",
    request: { params: NameParam.extend({ connector: z.string().min(1).max(63).openapi({ param: { name: "connector", in: "path" } }) }) },
    responses: { 200: json(z.object({ action: z.string(), revision: z.number() }).passthrough()), ...errorResponses },
  }), (c) => {
    const p = c.req.valid("param");
    const r = setBinding(ctxOf(c), p.name, p.connector, false);
    if (r.action !== "unchanged") poke(c);
    return c.json(r, 200);
  });

  return app;
}
