import { OpenAPIHono } from "@hono/zod-openapi";
import { streamSSE } from "hono/streaming";
import { redactString } from "../../secrets/redact.ts";
import type { AppEnv } from "../../server/deps.ts";
import { ctxOf } from "../../server/deps.ts";
import { openBotLogs } from "../../services/bot-logs.ts";
import {
  applyManifest,
  botAction,
  cancelJob,
  deleteBot,
  diffRevisions,
  exportManifests,
  getBot,
  getRevision,
  listBots,
} from "../../services/bots.ts";
import { body, json, reply } from "../shared/content.ts";
import { errorResponse, errorResponses } from "../shared/errors.ts";
import { DryRunQuery, NameParam } from "../shared/params.ts";
import { apiRoute } from "../shared/route.ts";
import {
  ActionBody,
  ApplyResultSchema,
  BotDetailSchema,
  BotListSchema,
  BotSchema,
  CancelResultSchema,
  DeleteQuery,
  DiffQuery,
  DiffSchema,
  LogsQuery,
  ManifestBody,
  ManifestListSchema,
  RevisionParams,
  RevisionSchema,
} from "./schema.ts";

export function botRoutes() {
  const app = new OpenAPIHono<AppEnv>();
  const poke = (c: { get: (k: "deps") => AppEnv["Variables"]["deps"] }) => c.get("deps").runtime?.reconciler.poke();

  app.openapi(
    apiRoute("operator", {
      method: "post",
      path: "/api/v1/bots/apply",
      tags: ["bots"],
      summary:
        "Apply a Bot manifest (create or update): validated, stored as a new immutable revision, then reconciled. dryRun=true only reports the changes",
      request: { query: DryRunQuery, ...body(ManifestBody) },
      responses: { 200: json(ApplyResultSchema), ...errorResponses, 409: errorResponse("Conflict") },
    }),
    (c) => {
      const r = applyManifest(ctxOf(c), c.req.valid("json"), { dryRun: c.req.valid("query").dryRun === "true" });
      if (r.action !== "unchanged") poke(c);
      return reply(c, ApplyResultSchema, r, 200);
    },
  );

  app.openapi(
    apiRoute("operator", {
      method: "post",
      path: "/api/v1/bots",
      tags: ["bots"],
      summary: "Create a bot from a manifest; 409 when the name is taken (apply updates instead)",
      request: body(ManifestBody),
      responses: { 201: json(ApplyResultSchema), ...errorResponses, 409: errorResponse("The name is taken") },
    }),
    (c) => {
      const r = applyManifest(ctxOf(c), c.req.valid("json"), { createOnly: true });
      poke(c);
      return reply(c, ApplyResultSchema, r, 201);
    },
  );

  app.openapi(
    apiRoute("operator", {
      method: "post",
      path: "/api/v1/bots/{name}/cancel",
      tags: ["bots"],
      summary: "Cancel the bot's running job (it stops at the current step and is re-planned later)",
      request: { params: NameParam },
      responses: { 200: json(CancelResultSchema), ...errorResponses },
    }),
    (c) => {
      const reconciler = c.get("deps").runtime?.reconciler;
      return reply(
        c,
        CancelResultSchema,
        cancelJob(ctxOf(c), c.req.valid("param").name, (id) => reconciler?.cancel(id) ?? false),
        200,
      );
    },
  );

  app.openapi(
    apiRoute("viewer", {
      method: "get",
      path: "/api/v1/bots",
      tags: ["bots"],
      summary: "Bots of this workspace with their live status",
      responses: { 200: json(BotListSchema), ...errorResponses },
    }),
    (c) => reply(c, BotListSchema, { items: listBots(ctxOf(c)) }, 200),
  );

  app.openapi(
    apiRoute("viewer", {
      method: "get",
      path: "/api/v1/bots/export",
      tags: ["bots"],
      summary: "Every bot's current manifest",
      responses: { 200: json(ManifestListSchema), ...errorResponses },
    }),
    (c) => reply(c, ManifestListSchema, { items: exportManifests(ctxOf(c)) }, 200),
  );

  app.openapi(
    apiRoute("viewer", {
      method: "get",
      path: "/api/v1/bots/{name}",
      tags: ["bots"],
      summary: "A bot: status, manifest, generated config, revisions, events, latest health",
      request: { params: NameParam },
      responses: { 200: json(BotDetailSchema), ...errorResponses },
    }),
    (c) => reply(c, BotDetailSchema, getBot(ctxOf(c), c.req.valid("param").name), 200),
  );

  app.openapi(
    apiRoute("viewer", {
      method: "get",
      path: "/api/v1/bots/{name}/revisions/{revision}",
      tags: ["bots"],
      summary: "One revision's manifest and generated config",
      request: { params: RevisionParams },
      responses: { 200: json(RevisionSchema), ...errorResponses },
    }),
    (c) => {
      const p = c.req.valid("param");
      return reply(c, RevisionSchema, getRevision(ctxOf(c), p.name, p.revision), 200);
    },
  );

  app.openapi(
    apiRoute("viewer", {
      method: "get",
      path: "/api/v1/bots/{name}/diff",
      tags: ["bots"],
      summary: "Per-path differences between two revisions",
      request: { params: NameParam, query: DiffQuery },
      responses: { 200: json(DiffSchema), ...errorResponses },
    }),
    (c) => {
      const q = c.req.valid("query");
      return reply(c, DiffSchema, diffRevisions(ctxOf(c), c.req.valid("param").name, q.from, q.to), 200);
    },
  );

  app.openapi(
    apiRoute("operator", {
      method: "post",
      path: "/api/v1/bots/{name}/actions",
      tags: ["bots"],
      summary: "start, stop, restart, pause (channels stop) or resume",
      request: { params: NameParam, ...body(ActionBody) },
      responses: { 202: json(BotSchema, "Queued"), ...errorResponses },
    }),
    (c) => {
      const r = botAction(ctxOf(c), c.req.valid("param").name, c.req.valid("json").action);
      poke(c);
      return reply(c, BotSchema, r, 202);
    },
  );

  app.openapi(
    apiRoute("operator", {
      method: "delete",
      path: "/api/v1/bots/{name}",
      tags: ["bots"],
      summary: "Delete a bot; purge=true removes its data too",
      request: { params: NameParam, query: DeleteQuery },
      responses: { 202: json(BotSchema, "Queued"), ...errorResponses },
    }),
    (c) => {
      const r = deleteBot(ctxOf(c), c.req.valid("param").name, { purge: c.req.valid("query").purge === "true" });
      poke(c);
      return reply(c, BotSchema, r, 202);
    },
  );

  // plain text or server-sent events, not JSON
  app.openapi(
    apiRoute("viewer", {
      method: "get",
      path: "/api/v1/bots/{name}/logs",
      tags: ["bots"],
      summary: "The gateway's log: the last lines, or a live stream (follow=true, server-sent events)",
      request: { params: NameParam, query: LogsQuery },
      responses: { 200: { description: "text/plain lines, or text/event-stream with follow=true" }, ...errorResponses },
    }),
    async (c) => {
      const log = openBotLogs(ctxOf(c), c.get("deps").runtime, c.req.valid("param").name);
      const q = c.req.valid("query");
      const opts = { tail: q.tail ?? 200, filter: q.filter };
      if (q.follow !== "true") {
        const ctl = new AbortController();
        const lines: string[] = [];
        const timer = setTimeout(() => ctl.abort("timeout"), 10_000);
        try {
          for await (const l of log.lines({ ...opts, follow: false }, ctl.signal)) lines.push(l);
        } finally {
          clearTimeout(timer);
        }
        return c.text(lines.join("\n") + (lines.length ? "\n" : ""), 200);
      }
      return streamSSE(c, async (s) => {
        const ctl = new AbortController();
        s.onAbort(() => ctl.abort("client went away"));
        try {
          for await (const l of log.lines({ ...opts, follow: true }, ctl.signal)) {
            if (s.aborted) break;
            await s.writeSSE({ event: "line", data: l });
          }
        } catch (e) {
          if (!ctl.signal.aborted) await s.writeSSE({ event: "error", data: redactString((e as Error).message) });
        } finally {
          ctl.abort("done");
        }
      }) as unknown as Response;
    },
  );

  return app;
}
