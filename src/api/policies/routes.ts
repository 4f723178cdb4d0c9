import { OpenAPIHono } from "@hono/zod-openapi";
import { ServiceError } from "../../core/errors.ts";
import type { AppEnv } from "../../server/deps.ts";
import { ctxOf } from "../../server/deps.ts";
import {
  botPolicy,
  checkManifest,
  createException,
  deletePack,
  getPack,
  listExceptions,
  listPacks,
  putPack,
  revokeException,
  setPackState,
} from "../../services/policies.ts";
import { body, json, reply } from "../shared/content.ts";
import { errorResponse, errorResponses } from "../shared/errors.ts";
import { DryRunQuery, IdParam, NameParam } from "../shared/params.ts";
import { apiRoute } from "../shared/route.ts";
import {
  BotPolicySchema,
  CheckSchema,
  ExceptionBody,
  ExceptionChangeSchema,
  ExceptionListSchema,
  ExceptionQuery,
  ManifestBody,
  PackBody,
  PackChangeSchema,
  PackDetailSchema,
  PackListSchema,
  PackStateBody,
} from "./schema.ts";

export function policiesRoutes() {
  const app = new OpenAPIHono<AppEnv>();

  app.openapi(
    apiRoute("viewer", {
      method: "get",
      path: "/api/v1/policies",
      tags: ["policies"],
      summary: "Policy packs (built-in and custom) with mode, scope, rule count and the bots that violate them now",
      responses: { 200: json(PackListSchema), ...errorResponses },
    }),
    (c) => reply(c, PackListSchema, listPacks(ctxOf(c)), 200),
  );

  app.openapi(
    apiRoute("operator", {
      method: "post",
      path: "/api/v1/policies/evaluate",
      tags: ["policies"],
      summary:
        "Dry run: render a Bot manifest through its layers and evaluate the policy packs; saves nothing. blocked=true means an apply would be refused",
      request: body(ManifestBody),
      responses: { 200: json(CheckSchema), ...errorResponses },
    }),
    (c) => reply(c, CheckSchema, checkManifest(ctxOf(c), c.req.valid("json")), 200),
  );

  app.openapi(
    apiRoute("viewer", {
      method: "get",
      path: "/api/v1/policies/{id}",
      tags: ["policies"],
      summary: "One pack: its rules, its YAML and its current findings per bot",
      request: { params: IdParam },
      responses: { 200: json(PackDetailSchema), ...errorResponses },
    }),
    (c) => reply(c, PackDetailSchema, getPack(ctxOf(c), c.req.valid("param").id), 200),
  );

  app.openapi(
    apiRoute("admin", {
      method: "put",
      path: "/api/v1/policies/{id}",
      tags: ["policies"],
      summary:
        "Create or replace a custom pack. A bad pack (unknown rule type, bad regex, bad JSON Schema) is refused with every wrong path, nothing saved. dryRun=true only reports which bots would violate",
      request: { params: IdParam, query: DryRunQuery, ...body(PackBody, { required: false }) },
      responses: { 200: json(PackChangeSchema), ...errorResponses },
    }),
    (c) => {
      const id = c.req.valid("param").id;
      const body = c.req.valid("json") as Record<string, unknown>;
      const ctx = ctxOf(c);
      if (Object.keys(body).length === 0) {
        getPack(ctx, id); // 404 for an unknown id
        throw new ServiceError("invalid_request", 'send the pack as the body (JSON, or {"text": "<YAML>"})', [
          { path: "(body)", message: "empty" },
        ]);
      }
      const keys = Object.keys(body);
      const input = keys.length === 1 && keys[0] === "text" && typeof body.text === "string" ? body.text : body;
      return reply(
        c,
        PackChangeSchema,
        putPack(ctx, input, { expectId: id, dryRun: c.req.valid("query").dryRun === "true" }),
        200,
      );
    },
  );

  app.openapi(
    apiRoute("admin", {
      method: "delete",
      path: "/api/v1/policies/{id}",
      tags: ["policies"],
      summary: "Delete a custom pack (built-in packs can only be disabled)",
      request: { params: IdParam },
      responses: { 200: json(PackChangeSchema), ...errorResponses },
    }),
    (c) => reply(c, PackChangeSchema, deletePack(ctxOf(c), c.req.valid("param").id), 200),
  );

  for (const verb of ["enable", "disable"] as const) {
    app.openapi(
      apiRoute("admin", {
        method: "post",
        path: `/api/v1/policies/{id}/${verb}`,
        tags: ["policies"],
        summary:
          verb === "enable"
            ? "Turn a pack on; {mode: enforce|advisory} also sets the mode it runs in"
            : "Turn a pack off (built-in or custom)",
        request: { params: IdParam, ...body(PackStateBody, { required: false }) },
        responses: { 200: json(PackChangeSchema), ...errorResponses },
      }),
      (c) =>
        reply(
          c,
          PackChangeSchema,
          setPackState(ctxOf(c), c.req.valid("param").id, { enabled: verb === "enable", mode: c.req.valid("json").mode }),
          200,
        ),
    );
  }

  app.openapi(
    apiRoute("viewer", {
      method: "get",
      path: "/api/v1/policy-exceptions",
      tags: ["policies"],
      summary: "Policy exceptions, newest first; state=active|expired|revoked filters",
      request: { query: ExceptionQuery },
      responses: { 200: json(ExceptionListSchema), ...errorResponses },
    }),
    (c) => reply(c, ExceptionListSchema, listExceptions(ctxOf(c), { state: c.req.valid("query").state }), 200),
  );

  app.openapi(
    apiRoute("admin", {
      method: "post",
      path: "/api/v1/policy-exceptions",
      tags: ["policies"],
      summary:
        "Waive a rule (for one bot, or every bot) until a date: reason and expiry (future, at most 366 days) required; audited",
      request: body(ExceptionBody),
      responses: { 201: json(ExceptionChangeSchema), ...errorResponses },
    }),
    (c) => reply(c, ExceptionChangeSchema, createException(ctxOf(c), c.req.valid("json")), 201),
  );

  app.openapi(
    apiRoute("admin", {
      method: "delete",
      path: "/api/v1/policy-exceptions/{id}",
      tags: ["policies"],
      summary: "Revoke an exception; the rule applies again at once",
      request: { params: IdParam },
      responses: { 200: json(ExceptionChangeSchema), ...errorResponses, 409: errorResponse("Already revoked") },
    }),
    (c) => reply(c, ExceptionChangeSchema, revokeException(ctxOf(c), c.req.valid("param").id), 200),
  );

  app.openapi(
    apiRoute("viewer", {
      method: "get",
      path: "/api/v1/bots/{name}/policy",
      tags: ["policies"],
      summary: "A bot's current policy findings (its desired revision against the packs and exceptions in force now)",
      request: { params: NameParam },
      responses: { 200: json(BotPolicySchema), ...errorResponses },
    }),
    (c) => reply(c, BotPolicySchema, botPolicy(ctxOf(c), c.req.valid("param").name), 200),
  );

  return app;
}
