import { OpenAPIHono, z } from "@hono/zod-openapi";
import type { AppEnv } from "../server/deps.ts";
import { ctxOf } from "../server/deps.ts";
import { apiRoute } from "./route.ts";
import { body, DryRunQuery, errorResponses, IdParam, json, NameParam } from "./schemas.ts";
import { ServiceError } from "../core/errors.ts";
import { botPolicy, checkManifest, createException, deletePack, getPack, listExceptions, listPacks, putPack, revokeException, setPackState } from "../services/policies.ts";

const ViolationSchema = z.object({
  packId: z.string(), ruleId: z.string(), severity: z.enum(["error", "warning"]), mode: z.enum(["enforce", "advisory"]), path: z.string(), message: z.string(),
  fix: z.record(z.string(), z.unknown()).optional().openapi({ description: "an RFC 7396 merge patch on the OpenClaw config that makes the rule pass" }),
}).openapi("PolicyViolation");
const ExceptedSchema = ViolationSchema.extend({ exception: z.object({ ruleId: z.string(), botName: z.string().optional(), reason: z.string(), expiresAt: z.string() }) }).openapi("PolicyExcepted");
const EvaluationSchema = z.object({ blocked: z.boolean(), violations: z.array(ViolationSchema), excepted: z.array(ExceptedSchema) });
const PackSchema = z.object({
  id: z.string(), name: z.string(), description: z.string(), builtin: z.boolean(), enabled: z.boolean(), mode: z.enum(["enforce", "advisory"]), defaultMode: z.enum(["enforce", "advisory"]),
  scope: z.object({ workspace: z.string().optional(), fleets: z.array(z.string()).optional(), environments: z.array(z.string()).optional(), labels: z.record(z.string(), z.string()).optional() }).nullable(),
  ruleCount: z.number(), updatedAt: z.number().nullable(),
}).openapi("PolicyPack");
const FindingsSchema = EvaluationSchema.extend({ bot: z.string(), revision: z.number() }).openapi("BotPolicyFindings");
const ChangeSchema = z.object({ pack: PackSchema.nullable(), action: z.string(), dryRun: z.boolean(), violating: z.array(FindingsSchema) }).openapi("PolicyPackChange");
const ExceptionSchema = z.object({
  id: z.string(), ruleId: z.string(), botName: z.string().nullable(), reason: z.string(), expiresAt: z.number(), createdBy: z.string(), createdAt: z.number(), revokedAt: z.number().nullable(),
  state: z.enum(["active", "expired", "revoked"]),
}).openapi("PolicyException");
const PackBody = z.record(z.string(), z.unknown()).openapi({ description: "a policy pack as JSON ({id, name, description?, scope?, mode?, rules}), or {\"text\": \"<the pack as YAML or JSON>\"}" });

export function policiesRoutes() {
  const app = new OpenAPIHono<AppEnv>();

  app.openapi(apiRoute("viewer", {
    method: "get", path: "/api/v1/policies", tags: ["policies"], summary: "Policy packs (built-in and custom) with mode, scope, rule count and the bots that violate them now",
    responses: { 200: json(z.object({ items: z.array(PackSchema.extend({ violating: z.array(z.string()), blocking: z.array(z.string()) })) })), ...errorResponses },
  }), (c) => c.json(listPacks(ctxOf(c)), 200));

  app.openapi(apiRoute("operator", {
    method: "post", path: "/api/v1/policies/evaluate", tags: ["policies"],
    summary: "Dry run: render a Bot manifest through its layers and evaluate the policy packs; saves nothing. blocked=true means an apply would be refused",
    request: body(z.record(z.string(), z.unknown()).openapi({ description: "a molthub/v1 Bot manifest" })),
    responses: { 200: json(EvaluationSchema.extend({ name: z.string(), action: z.enum(["create", "update"]) })), ...errorResponses },
  }), (c) => c.json(checkManifest(ctxOf(c), c.req.valid("json")), 200));

  app.openapi(apiRoute("viewer", {
    method: "get", path: "/api/v1/policies/{id}", tags: ["policies"], summary: "One pack: its rules, its YAML and its current findings per bot",
    request: { params: IdParam },
    responses: { 200: json(PackSchema.extend({ rules: z.array(z.record(z.string(), z.unknown())), yaml: z.string(), findings: z.array(z.object({ bot: z.string(), violations: z.array(ViolationSchema), excepted: z.array(ExceptedSchema) })) })), ...errorResponses },
  }), (c) => c.json(getPack(ctxOf(c), c.req.valid("param").id), 200));

  app.openapi(apiRoute("admin", {
    method: "put", path: "/api/v1/policies/{id}", tags: ["policies"],
    summary: "Create or replace a custom pack. A bad pack (unknown rule type, bad regex, bad JSON Schema) is refused with every wrong path, nothing saved. dryRun=true only reports which bots would violate",
    request: { params: IdParam, query: DryRunQuery, ...body(PackBody, { required: false }) },
    responses: { 200: json(ChangeSchema), ...errorResponses },
  }), (c) => {
    const id = c.req.valid("param").id;
    const body = c.req.valid("json") as Record<string, unknown>;
    const ctx = ctxOf(c);
    if (Object.keys(body).length === 0) {
      getPack(ctx, id); // 404 for an unknown id
      throw new ServiceError("invalid_request", "send the pack as the body (JSON, or {\"text\": \"<YAML>\"})", [{ path: "(body)", message: "empty" }]);
    }
    const keys = Object.keys(body);
    const input = keys.length === 1 && keys[0] === "text" && typeof body.text === "string" ? body.text : body;
    return c.json(putPack(ctx, input, { expectId: id, dryRun: c.req.valid("query").dryRun === "true" }), 200);
  });

  app.openapi(apiRoute("admin", {
    method: "delete", path: "/api/v1/policies/{id}", tags: ["policies"], summary: "Delete a custom pack (built-in packs can only be disabled)",
    request: { params: IdParam },
    responses: { 200: json(ChangeSchema), ...errorResponses },
  }), (c) => c.json(deletePack(ctxOf(c), c.req.valid("param").id), 200));

  for (const verb of ["enable", "disable"] as const) {
    app.openapi(apiRoute("admin", {
      method: "post", path: `/api/v1/policies/{id}/${verb}`, tags: ["policies"],
      summary: verb === "enable" ? "Turn a pack on; {mode: enforce|advisory} also sets the mode it runs in" : "Turn a pack off (built-in or custom)",
      request: { params: IdParam, ...body(z.strictObject({ mode: z.enum(["enforce", "advisory"]).optional() }), { required: false }) },
      responses: { 200: json(ChangeSchema), ...errorResponses },
    }), (c) => c.json(setPackState(ctxOf(c), c.req.valid("param").id, { enabled: verb === "enable", mode: c.req.valid("json").mode }), 200));
  }

  app.openapi(apiRoute("viewer", {
    method: "get", path: "/api/v1/policy-exceptions", tags: ["policies"], summary: "Policy exceptions, newest first; state=active|expired|revoked filters",
    request: { query: z.object({ state: z.enum(["active", "expired", "revoked"]).optional() }) },
    responses: { 200: json(z.object({ items: z.array(ExceptionSchema) })), ...errorResponses },
  }), (c) => c.json(listExceptions(ctxOf(c), { state: c.req.valid("query").state }), 200));

  app.openapi(apiRoute("admin", {
    method: "post", path: "/api/v1/policy-exceptions", tags: ["policies"],
    summary: "Waive a rule (for one bot, or every bot) until a date: reason and expiry (future, at most 366 days) required; audited",
    request: {
      body: {
        content: {
          "application/json": {
            schema: z.strictObject({
              ruleId: z.string().max(100).optional(), botName: z.string().max(63).nullable().optional(), reason: z.string().max(2000).optional(),
              expiresAt: z.union([z.string().max(64), z.number()]).optional().openapi({ description: "YYYY-MM-DD (end of that day, UTC), an ISO timestamp, or epoch ms" }),
            }),
          },
        },
        required: true,
      },
    },
    responses: { 201: json(z.object({ exception: ExceptionSchema, violating: z.array(FindingsSchema) })), ...errorResponses },
  }), (c) => c.json(createException(ctxOf(c), c.req.valid("json")), 201));

  app.openapi(apiRoute("admin", {
    method: "delete", path: "/api/v1/policy-exceptions/{id}", tags: ["policies"], summary: "Revoke an exception; the rule applies again at once",
    request: { params: IdParam },
    responses: { 200: json(z.object({ exception: ExceptionSchema, violating: z.array(FindingsSchema) })), ...errorResponses, 409: json(z.any(), "Already revoked") },
  }), (c) => c.json(revokeException(ctxOf(c), c.req.valid("param").id), 200));

  app.openapi(apiRoute("viewer", {
    method: "get", path: "/api/v1/bots/{name}/policy", tags: ["policies"], summary: "A bot's current policy findings (its desired revision against the packs and exceptions in force now)",
    request: { params: NameParam },
    responses: { 200: json(EvaluationSchema.extend({ name: z.string(), revision: z.number() })), ...errorResponses },
  }), (c) => c.json(botPolicy(ctxOf(c), c.req.valid("param").name), 200));

  return app;
}
