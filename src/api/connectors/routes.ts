import { OpenAPIHono } from "@hono/zod-openapi";
import type { AppEnv } from "../../server/deps.ts";
import { ctxOf } from "../../server/deps.ts";
import {
  createConnector,
  deleteConnector,
  getConnector,
  listConnectors,
  listRollouts,
  rotateConnector,
  setBinding,
  testConnector,
  updateConnector,
} from "../../services/connectors.ts";
import { body, json, reply } from "../shared/content.ts";
import { errorResponse, errorResponses } from "../shared/errors.ts";
import { DryRunQuery, NameParam } from "../shared/params.ts";
import { apiRoute } from "../shared/route.ts";
import {
  BindBody,
  BindingParams,
  BindingResultSchema,
  ConnectorListSchema,
  ConnectorSchema,
  CreateBody,
  DeleteResultSchema,
  RolloutListSchema,
  RotateBody,
  RotateResultSchema,
  TestResultSchema,
  UpdateBody,
  UpdateResultSchema,
} from "./schema.ts";

function poke(c: { get: (k: "deps") => AppEnv["Variables"]["deps"] }) {
  c.get("deps").runtime?.reconciler.poke();
}

export function connectorsRoutes() {
  const app = new OpenAPIHono<AppEnv>();

  app.openapi(
    apiRoute("viewer", {
      method: "get",
      path: "/api/v1/connectors",
      tags: ["connectors"],
      summary: "Connectors (shared credentials) with their type, bound bots and last test result; never a credential",
      responses: { 200: json(ConnectorListSchema), ...errorResponses },
    }),
    (c) => reply(c, ConnectorListSchema, { items: listConnectors(ctxOf(c)) }, 200),
  );

  app.openapi(
    apiRoute("admin", {
      method: "post",
      path: "/api/v1/connectors",
      tags: ["connectors"],
      summary: "Create a connector; a given value is stored in the vault (write-only)",
      request: body(CreateBody),
      responses: { 201: json(ConnectorSchema), ...errorResponses, 409: errorResponse("The name is taken") },
    }),
    (c) => reply(c, ConnectorSchema, createConnector(ctxOf(c), c.req.valid("json")), 201),
  );

  app.openapi(
    apiRoute("viewer", {
      method: "get",
      path: "/api/v1/connectors/{name}",
      tags: ["connectors"],
      summary: "One connector",
      request: { params: NameParam },
      responses: { 200: json(ConnectorSchema), ...errorResponses },
    }),
    (c) => reply(c, ConnectorSchema, getConnector(ctxOf(c), c.req.valid("param").name), 200),
  );

  app.openapi(
    apiRoute("admin", {
      method: "patch",
      path: "/api/v1/connectors/{name}",
      tags: ["connectors"],
      summary:
        "Change a connector's settings; bound bots get new revisions (dryRun=true: only the blast radius). Refused when a bound bot would fail",
      request: { params: NameParam, query: DryRunQuery, ...body(UpdateBody, { required: false }) },
      responses: { 200: json(UpdateResultSchema), ...errorResponses, 409: errorResponse("A bound bot would fail") },
    }),
    (c) => {
      const r = updateConnector(ctxOf(c), c.req.valid("param").name, c.req.valid("json"), {
        dryRun: c.req.valid("query").dryRun === "true",
      });
      if (!r.dryRun && r.bots.some((b) => b.action === "updated")) poke(c);
      return reply(c, UpdateResultSchema, r, 200);
    },
  );

  app.openapi(
    apiRoute("admin", {
      method: "delete",
      path: "/api/v1/connectors/{name}",
      tags: ["connectors"],
      summary: "Delete a connector (refused while bots are bound); the secrets it made go too unless a bot still uses them",
      request: { params: NameParam },
      responses: { 200: json(DeleteResultSchema), ...errorResponses, 409: errorResponse("Still bound") },
    }),
    (c) => reply(c, DeleteResultSchema, deleteConnector(ctxOf(c), c.req.valid("param").name), 200),
  );

  app.openapi(
    apiRoute("operator", {
      method: "post",
      path: "/api/v1/connectors/{name}/test",
      tags: ["connectors"],
      summary: "Test the connection: one real call to the provider's API (10 s deadline); the result is stored on the connector",
      request: { params: NameParam },
      responses: { 200: json(TestResultSchema), ...errorResponses },
    }),
    async (c) => reply(c, TestResultSchema, await testConnector(ctxOf(c), c.req.valid("param").name), 200),
  );

  app.openapi(
    apiRoute("admin", {
      method: "post",
      path: "/api/v1/connectors/{name}/rotate",
      tags: ["connectors"],
      summary:
        "Rotate the credential: a new secret version, rolled out to every bot that uses it (a gateway restart each); dryRun=true: the blast radius only",
      request: { params: NameParam, query: DryRunQuery, ...body(RotateBody, { required: false }) },
      responses: { 200: json(RotateResultSchema), ...errorResponses },
    }),
    (c) => {
      const r = rotateConnector(ctxOf(c), c.req.valid("param").name, c.req.valid("json"), {
        dryRun: c.req.valid("query").dryRun === "true",
      });
      if (!r.dryRun && r.bots.length) poke(c);
      return reply(c, RotateResultSchema, r, 200);
    },
  );

  app.openapi(
    apiRoute("viewer", {
      method: "get",
      path: "/api/v1/connectors/{name}/rollouts",
      tags: ["connectors"],
      summary: "Per-bot delivery of the connector's rotated secret versions",
      request: { params: NameParam },
      responses: { 200: json(RolloutListSchema), ...errorResponses },
    }),
    (c) => reply(c, RolloutListSchema, { items: listRollouts(ctxOf(c), c.req.valid("param").name) }, 200),
  );

  app.openapi(
    apiRoute("operator", {
      method: "post",
      path: "/api/v1/bots/{name}/connectors",
      tags: ["connectors"],
      summary: "Bind a connector to a bot (a new revision of the bot)",
      request: { params: NameParam, ...body(BindBody, { required: false }) },
      responses: { 200: json(BindingResultSchema), ...errorResponses },
    }),
    (c) => {
      const body = c.req.valid("json") as { connector?: unknown };
      const r = setBinding(ctxOf(c), c.req.valid("param").name, typeof body?.connector === "string" ? body.connector : "", true);
      if (r.action !== "unchanged") poke(c);
      return reply(c, BindingResultSchema, r, 200);
    },
  );

  app.openapi(
    apiRoute("operator", {
      method: "delete",
      path: "/api/v1/bots/{name}/connectors/{connector}",
      tags: ["connectors"],
      summary: "Unbind a connector from a bot (a new revision of the bot)",
      request: { params: BindingParams },
      responses: { 200: json(BindingResultSchema), ...errorResponses },
    }),
    (c) => {
      const p = c.req.valid("param");
      const r = setBinding(ctxOf(c), p.name, p.connector, false);
      if (r.action !== "unchanged") poke(c);
      return reply(c, BindingResultSchema, r, 200);
    },
  );

  return app;
}
