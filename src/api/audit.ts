import { OpenAPIHono, z } from "@hono/zod-openapi";
import { stream } from "hono/streaming";
import type { AppEnv } from "../server/deps.ts";
import { ctxOf } from "../server/deps.ts";
import { apiRoute } from "./route.ts";
import { errorResponses, json } from "./schemas.ts";
import { CSV_HEADER, exportAudit, listAudit, toCsvRow } from "../services/audit.ts";
import { verifyAudit } from "../core/audit.ts";
import { authorize } from "../core/context.ts";

const time = z.union([z.coerce.number().int(), z.iso.datetime({ offset: true })]).transform((v) => (typeof v === "number" ? v : Date.parse(v)));

export const AuditFilter = z.strictObject({
  actor: z.string().max(200).optional(),
  action: z.string().max(100).optional().openapi({ description: "exact action, or a prefix ending in * (e.g. member.*)" }),
  resourceType: z.string().max(50).optional(),
  resourceId: z.string().max(100).optional(),
  from: time.optional().openapi({ description: "epoch ms or ISO-8601", type: "string" }),
  to: time.optional().openapi({ description: "epoch ms or ISO-8601", type: "string" }),
});

const EntrySchema = z.object({
  id: z.number(), ts: z.number(), time: z.string(), actorType: z.string(), actorId: z.string().nullable(), actor: z.string(),
  action: z.string(), resourceType: z.string(), resourceId: z.string().nullable(), requestId: z.string().nullable(), summary: z.unknown(),
}).openapi("AuditEntry");

export function auditRoutes() {
  const app = new OpenAPIHono<AppEnv>();
  app.openapi(apiRoute("viewer", {
    method: "get", path: "/api/v1/audit", tags: ["audit"], summary: "Audit entries of this workspace, newest first, with filters and cursor pagination",
    request: { query: AuditFilter.extend({ cursor: z.coerce.number().int().optional(), limit: z.coerce.number().int().min(1).max(500).optional() }) },
    responses: { 200: json(z.object({ items: z.array(EntrySchema), nextCursor: z.number().nullable() })), ...errorResponses },
  }), (c) => c.json(listAudit(ctxOf(c), c.req.valid("query")), 200));

  app.openapi(apiRoute("viewer", {
    method: "get", path: "/api/v1/audit/export", tags: ["audit"], summary: "Export matching entries, oldest first, as CSV or JSON lines",
    request: { query: AuditFilter.extend({ format: z.enum(["csv", "jsonl"]).default("jsonl") }) },
    responses: { 200: { description: "text/csv or application/x-ndjson" }, ...errorResponses },
  }), (c) => {
    const ctx = ctxOf(c);
    const { format, ...q } = c.req.valid("query");
    authorize(ctx, "viewer");
    c.header("content-type", format === "csv" ? "text/csv; charset=utf-8" : "application/x-ndjson");
    c.header("content-disposition", `attachment; filename="molthub-audit.${format}"`);
    return stream(c, async (s) => {
      if (format === "csv") await s.write(CSV_HEADER + "\n");
      let buf = "";
      for (const e of exportAudit(ctx, q)) {
        buf += (format === "csv" ? toCsvRow(e) : JSON.stringify(e)) + "\n";
        if (buf.length > 64_000) {
          await s.write(buf);
          buf = "";
        }
      }
      if (buf) await s.write(buf);
    });
  });

  app.openapi(apiRoute("admin", {
    method: "get", path: "/api/v1/audit/verify", tags: ["audit"], summary: "Verify the hash chain; reports the first broken link",
    responses: { 200: json(z.object({ ok: z.boolean(), checked: z.number(), brokenAt: z.number().optional(), reason: z.string().optional(), fromCheckpoint: z.number().optional() })), ...errorResponses },
  }), (c) => {
    authorize(ctxOf(c), "admin");
    const d = c.get("deps");
    return c.json(verifyAudit(d.store.db, d.keyring), 200);
  });
  return app;
}
