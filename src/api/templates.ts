import { OpenAPIHono, z } from "@hono/zod-openapi";
import type { AppEnv } from "../server/deps.ts";
import { ctxOf } from "../server/deps.ts";
import { apiRoute } from "./route.ts";
import { body, DryRunQuery, errorResponses, json, NameParam, OkSchema, BlastEntrySchema } from "./schemas.ts";
import { createBotFromTemplate, deleteTemplate, getTemplate, listTemplates, putTemplate } from "../services/templates.ts";

const InputSchema = z.object({
  name: z.string(), label: z.string(), description: z.string().optional(), type: z.enum(["string", "number", "boolean", "enum", "secret"]),
  required: z.boolean(), default: z.union([z.string(), z.number(), z.boolean()]).optional(), options: z.array(z.string()).optional(), pattern: z.string().optional(),
}).openapi("TemplateInput");

const SummarySchema = z.object({
  name: z.string(), title: z.string(), description: z.string(), tags: z.array(z.string()), builtin: z.boolean(), version: z.number(), updatedAt: z.number().nullable(),
  inputs: z.array(InputSchema), secretEnvs: z.array(z.string()), usedBy: z.array(z.string()),
}).openapi("TemplateSummary");

const ChangeSchema = z.object({ path: z.string(), from: z.unknown(), to: z.unknown() });


const scalar = z.union([z.string().max(10_000), z.number(), z.boolean()]);
const CreateBotBody = z.strictObject({
  name: z.string().min(1).max(63).openapi({ description: "the new bot's name" }),
  inputs: z.record(z.string(), scalar).optional().openapi({ description: "the template's inputs; secret inputs name stored secrets, never values" }),
  target: z.record(z.string(), z.union([z.string(), z.number()])).optional().openapi({ description: "the whole target, or fields that refine the template's default (e.g. {version})" }),
  fleet: z.string().max(63).optional(),
  environment: z.string().max(63).optional(),
  labels: z.record(z.string(), z.string()).optional(),
  profiles: z.array(z.string()).max(20).optional(),
  dryRun: z.boolean().optional(),
}).openapi("CreateBotFromTemplate");

/** Templates: list, read, user templates (create/update with blast radius, delete) and bots made from them. */
export function templatesRoutes() {
  const app = new OpenAPIHono<AppEnv>();

  app.openapi(apiRoute("viewer", {
    method: "get", path: "/api/v1/templates", tags: ["templates"], summary: "Built-in and user templates with their inputs and the bots using them",
    responses: { 200: json(z.object({ items: z.array(SummarySchema) })), ...errorResponses },
  }), (c) => c.json({ items: listTemplates(ctxOf(c)) }, 200));

  app.openapi(apiRoute("viewer", {
    method: "get", path: "/api/v1/templates/{name}", tags: ["templates"], summary: "One template: its definition, inputs and the bots using it",
    request: { params: NameParam },
    responses: { 200: json(SummarySchema.extend({ template: z.record(z.string(), z.unknown()) })), ...errorResponses },
  }), (c) => c.json(getTemplate(ctxOf(c), c.req.valid("param").name) as never, 200));

  app.openapi(apiRoute("admin", {
    method: "put", path: "/api/v1/templates/{name}", tags: ["templates"],
    summary: "Create or update a user template (molthub/v1 Template). An update re-renders the bots made from it and is refused when any would fail; dryRun=true only reports that blast radius",
    request: { params: NameParam, query: DryRunQuery, ...body(z.record(z.string(), z.unknown()).openapi({ description: "a molthub/v1 Template" })) },
    responses: {
      200: json(z.object({ template: SummarySchema, action: z.enum(["created", "updated", "unchanged"]), version: z.number(), dryRun: z.boolean(), blast: z.array(BlastEntrySchema) })),
      ...errorResponses, 409: json(z.any(), "A built-in's name, or the change would break bots"),
    },
  }), (c) => {
    const r = putTemplate(ctxOf(c), c.req.valid("json"), { name: c.req.valid("param").name, dryRun: c.req.valid("query").dryRun === "true" });
    if (!r.dryRun && r.blast.some((b) => b.action === "updated")) c.get("deps").runtime?.reconciler.poke();
    return c.json(r, 200);
  });

  app.openapi(apiRoute("admin", {
    method: "delete", path: "/api/v1/templates/{name}", tags: ["templates"], summary: "Delete a user template (refused for built-ins and while bots use it)",
    request: { params: NameParam },
    responses: { 200: json(OkSchema), ...errorResponses, 409: json(z.any(), "Built-in or in use") },
  }), (c) => {
    deleteTemplate(ctxOf(c), c.req.valid("param").name);
    return c.json({ ok: true as const }, 200);
  });

  app.openapi(apiRoute("operator", {
    method: "post", path: "/api/v1/templates/{name}/bots", tags: ["templates"],
    summary: "Create a bot from a template (its manifest names the template; secrets and policy are checked as for any bot). dryRun only reports the config",
    request: { params: NameParam, ...body(CreateBotBody) },
    responses: { 201: json(z.object({ bot: z.record(z.string(), z.unknown()), action: z.string(), revision: z.number(), changes: z.array(ChangeSchema), manifest: z.unknown() }).passthrough()), 200: json(z.any(), "Dry run"), ...errorResponses, 409: json(z.any(), "The name is taken"), 422: json(z.any(), "Blocked by policy") },
  }), (c) => {
    const b = c.req.valid("json");
    const { dryRun, ...input } = b;
    const r = createBotFromTemplate(ctxOf(c), c.req.valid("param").name, input, { dryRun });
    if (dryRun) return c.json(r, 200);
    c.get("deps").runtime?.reconciler.poke();
    return c.json(r, 201);
  });

  return app;
}
