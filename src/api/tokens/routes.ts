import { OpenAPIHono } from "@hono/zod-openapi";
import type { AppEnv } from "../../server/deps.ts";
import { ctxOf } from "../../server/deps.ts";
import { createToken, listTokens, revokeToken } from "../../services/tokens.ts";
import { body, json, reply } from "../shared/content.ts";
import { errorResponses } from "../shared/errors.ts";
import { IdParam } from "../shared/params.ts";
import { apiRoute } from "../shared/route.ts";
import { OkSchema } from "../shared/schemas.ts";
import { CreateBody, CreatedSchema, TokenListSchema } from "./schema.ts";

export function tokenRoutes() {
  const app = new OpenAPIHono<AppEnv>();
  app.openapi(
    apiRoute("viewer", {
      method: "get",
      path: "/api/v1/tokens",
      tags: ["tokens"],
      summary: "API tokens (yours; admins see all of the workspace)",
      responses: { 200: json(TokenListSchema), ...errorResponses },
    }),
    (c) => reply(c, TokenListSchema, { items: listTokens(ctxOf(c)) }, 200),
  );

  app.openapi(
    apiRoute("viewer", {
      method: "post",
      path: "/api/v1/tokens",
      tags: ["tokens"],
      summary: "Create an API token bound to this workspace; the token is shown only in this response",
      request: body(CreateBody),
      responses: { 201: json(CreatedSchema), ...errorResponses },
    }),
    (c) => reply(c, CreatedSchema, createToken(ctxOf(c), c.req.valid("json")), 201),
  );

  app.openapi(
    apiRoute("viewer", {
      method: "delete",
      path: "/api/v1/tokens/{id}",
      tags: ["tokens"],
      summary: "Revoke a token (yours, or any as admin)",
      request: { params: IdParam },
      responses: { 200: json(OkSchema), ...errorResponses },
    }),
    (c) => {
      revokeToken(ctxOf(c), c.req.valid("param").id);
      return reply(c, OkSchema, { ok: true }, 200);
    },
  );
  return app;
}
