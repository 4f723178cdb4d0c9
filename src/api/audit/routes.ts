import { OpenAPIHono } from "@hono/zod-openapi";
import { stream } from "hono/streaming";
import { verifyAudit } from "../../core/audit.ts";
import { authorize } from "../../core/context.ts";
import type { AppEnv } from "../../server/deps.ts";
import { ctxOf } from "../../server/deps.ts";
import { CSV_HEADER, exportAudit, listAudit, toCsvRow } from "../../services/audit.ts";
import { json, reply } from "../shared/content.ts";
import { errorResponses } from "../shared/errors.ts";
import { apiRoute } from "../shared/route.ts";
import { AuditExportQuery, AuditListQuery, AuditPageSchema, VerifyResultSchema } from "./schema.ts";

export function auditRoutes() {
  const app = new OpenAPIHono<AppEnv>();
  app.openapi(
    apiRoute("viewer", {
      method: "get",
      path: "/api/v1/audit",
      tags: ["audit"],
      summary: "Audit entries of this workspace, newest first, with filters and cursor pagination",
      request: { query: AuditListQuery },
      responses: { 200: json(AuditPageSchema), ...errorResponses },
    }),
    (c) => reply(c, AuditPageSchema, listAudit(ctxOf(c), c.req.valid("query")), 200),
  );

  // a stream of CSV or JSON lines, not a JSON response: each line is an entry as listed above
  app.openapi(
    apiRoute("viewer", {
      method: "get",
      path: "/api/v1/audit/export",
      tags: ["audit"],
      summary: "Export matching entries, oldest first, as CSV or JSON lines",
      request: { query: AuditExportQuery },
      responses: { 200: { description: "text/csv or application/x-ndjson" }, ...errorResponses },
    }),
    (c) => {
      const ctx = ctxOf(c);
      const { format, ...q } = c.req.valid("query");
      authorize(ctx, "viewer");
      c.header("content-type", format === "csv" ? "text/csv; charset=utf-8" : "application/x-ndjson");
      c.header("content-disposition", `attachment; filename="molthub-audit.${format}"`);
      return stream(c, async (s) => {
        if (format === "csv") await s.write(`${CSV_HEADER}\n`);
        let buf = "";
        for (const e of exportAudit(ctx, q)) {
          buf += `${format === "csv" ? toCsvRow(e) : JSON.stringify(e)}\n`;
          if (buf.length > 64_000) {
            await s.write(buf);
            buf = "";
          }
        }
        if (buf) await s.write(buf);
      });
    },
  );

  app.openapi(
    apiRoute("admin", {
      method: "get",
      path: "/api/v1/audit/verify",
      tags: ["audit"],
      summary: "Verify the hash chain; reports the first broken link",
      responses: { 200: json(VerifyResultSchema), ...errorResponses },
    }),
    (c) => {
      authorize(ctxOf(c), "admin");
      const d = c.get("deps");
      return reply(c, VerifyResultSchema, verifyAudit(d.store.db, d.keyring), 200);
    },
  );
  return app;
}
