import { OpenAPIHono } from "@hono/zod-openapi";
import type { AppEnv } from "../../server/deps.ts";
import { ctxOf } from "../../server/deps.ts";
import { createBotFromTemplate, deleteTemplate, getTemplate, listTemplates, putTemplate } from "../../services/templates.ts";
import { body, json, reply } from "../shared/content.ts";
import { errorResponse, errorResponses } from "../shared/errors.ts";
import { DryRunQuery, NameParam } from "../shared/params.ts";
import { apiRoute } from "../shared/route.ts";
import { OkSchema } from "../shared/schemas.ts";
import {
  CreateBotBody,
  CreatedBotSchema,
  PutResultSchema,
  TemplateBody,
  TemplateDetailSchema,
  TemplateListSchema,
} from "./schema.ts";

/** Templates: list, read, user templates (create/update with blast radius, delete) and bots made from them. */
export function templatesRoutes() {
  const app = new OpenAPIHono<AppEnv>();

  app.openapi(
    apiRoute("viewer", {
      method: "get",
      path: "/api/v1/templates",
      tags: ["templates"],
      summary: "Built-in and user templates with their inputs and the bots using them",
      responses: { 200: json(TemplateListSchema), ...errorResponses },
    }),
    (c) => reply(c, TemplateListSchema, { items: listTemplates(ctxOf(c)) }, 200),
  );

  app.openapi(
    apiRoute("viewer", {
      method: "get",
      path: "/api/v1/templates/{name}",
      tags: ["templates"],
      summary: "One template: its definition, inputs and the bots using it",
      request: { params: NameParam },
      responses: { 200: json(TemplateDetailSchema), ...errorResponses },
    }),
    (c) => reply(c, TemplateDetailSchema, getTemplate(ctxOf(c), c.req.valid("param").name), 200),
  );

  app.openapi(
    apiRoute("admin", {
      method: "put",
      path: "/api/v1/templates/{name}",
      tags: ["templates"],
      summary:
        "Create or update a user template (molthub/v1 Template). An update re-renders the bots made from it and is refused when any would fail; dryRun=true only reports that blast radius",
      request: { params: NameParam, query: DryRunQuery, ...body(TemplateBody) },
      responses: {
        200: json(PutResultSchema),
        ...errorResponses,
        409: errorResponse("A built-in's name, or the change would break bots"),
      },
    }),
    (c) => {
      const r = putTemplate(ctxOf(c), c.req.valid("json"), {
        name: c.req.valid("param").name,
        dryRun: c.req.valid("query").dryRun === "true",
      });
      if (!r.dryRun && r.blast.some((b) => b.action === "updated")) c.get("deps").runtime?.reconciler.poke();
      return reply(c, PutResultSchema, r, 200);
    },
  );

  app.openapi(
    apiRoute("admin", {
      method: "delete",
      path: "/api/v1/templates/{name}",
      tags: ["templates"],
      summary: "Delete a user template (refused for built-ins and while bots use it)",
      request: { params: NameParam },
      responses: { 200: json(OkSchema), ...errorResponses, 409: errorResponse("Built-in or in use") },
    }),
    (c) => {
      deleteTemplate(ctxOf(c), c.req.valid("param").name);
      return reply(c, OkSchema, { ok: true }, 200);
    },
  );

  app.openapi(
    apiRoute("operator", {
      method: "post",
      path: "/api/v1/templates/{name}/bots",
      tags: ["templates"],
      summary:
        "Create a bot from a template (its manifest names the template; secrets and policy are checked as for any bot). dryRun only reports the config",
      request: { params: NameParam, ...body(CreateBotBody) },
      responses: {
        201: json(CreatedBotSchema),
        200: json(CreatedBotSchema, "Dry run"),
        ...errorResponses,
        409: errorResponse("The name is taken"),
        422: errorResponse("Blocked by policy"),
      },
    }),
    (c) => {
      const { dryRun, ...input } = c.req.valid("json");
      const r = createBotFromTemplate(ctxOf(c), c.req.valid("param").name, input, { dryRun });
      if (dryRun) return reply(c, CreatedBotSchema, r, 200);
      c.get("deps").runtime?.reconciler.poke();
      return reply(c, CreatedBotSchema, r, 201);
    },
  );

  return app;
}
