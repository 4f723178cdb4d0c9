/** @jsxImportSource hono/jsx */
import { Hono } from "hono";
import * as z from "zod";
import type { AppEnv } from "../../server/deps.ts";
import { ctxOf } from "../../server/deps.ts";
import { type AuditQuery, listAudit } from "../../services/audit.ts";
import { parseForm } from "../forms.ts";
import { renderPage } from "../page-response.tsx";
import { signedIn } from "../signed-in.ts";
import { AuditPage } from "./page.tsx";

const PAGE_SIZE = 50;
const day = z
  .string()
  .regex(/^\d{4}-\d{2}-\d{2}$/, "pick a date")
  .refine((s) => !Number.isNaN(Date.parse(`${s}T00:00:00Z`)), "not a real date");

/** The filter form; the query string is its body. */
const AuditFilters = z.strictObject({
  actor: z.string().trim().max(200, "at most 200 characters").optional(),
  action: z.string().trim().max(100, "at most 100 characters").optional(),
  resourceType: z.string().trim().max(50, "at most 50 characters").optional(),
  from: day.optional(),
  to: day.optional(),
  cursor: z.coerce.number().int().positive().optional(),
});
type Filters = z.output<typeof AuditFilters>;

function query(params: Record<string, string | number | undefined>): string {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== "") q.set(k, String(v));
  const s = q.toString();
  return s ? `?${s}` : "";
}

/** Dates are whole UTC days: `from` is the day's first millisecond, `to` its last. */
function range(f: Filters): { from?: number; to?: number } {
  return {
    from: f.from ? Date.parse(`${f.from}T00:00:00.000Z`) : undefined,
    to: f.to ? Date.parse(`${f.to}T23:59:59.999Z`) : undefined,
  };
}

export function auditPages() {
  const app = new Hono<AppEnv>();

  app.get("/audit", signedIn, (c) => {
    const raw = c.req.query();
    const parsed = parseForm(AuditFilters, raw);
    const filters = { actor: raw.actor, action: raw.action, resourceType: raw.resourceType, from: raw.from, to: raw.to };
    if (!parsed.ok) {
      const form = {
        ...parsed.form,
        values: Object.fromEntries(Object.entries(filters).filter(([, v]) => v !== undefined)) as Record<string, string>,
      };
      const data = {
        filters: form,
        items: [],
        selfUrl: `/audit${query(filters)}`,
        olderUrl: null,
        newestUrl: null,
        exportQuery: "",
        filtered: true,
      };
      return renderPage(c, "Audit", <AuditPage data={data} />, 400);
    }
    const f = parsed.data;
    const { from, to } = range(f);
    const q: AuditQuery = {
      actor: f.actor,
      action: f.action,
      resourceType: f.resourceType,
      from,
      to,
      cursor: f.cursor,
      limit: PAGE_SIZE,
    };
    const { items, nextCursor } = listAudit(ctxOf(c), q);
    const kept = { actor: f.actor, action: f.action, resourceType: f.resourceType, from: f.from, to: f.to };
    const exportParams = {
      actor: f.actor,
      action: f.action,
      resourceType: f.resourceType,
      from: from !== undefined ? new Date(from).toISOString() : undefined,
      to: to !== undefined ? new Date(to).toISOString() : undefined,
    };
    const data = {
      filters: {
        values: Object.fromEntries(Object.entries(kept).filter(([, v]) => v !== undefined)) as Record<string, string>,
        errors: {},
      },
      items,
      selfUrl: `/audit${query({ ...kept, cursor: f.cursor })}`,
      olderUrl: nextCursor ? `/audit${query({ ...kept, cursor: nextCursor })}` : null,
      newestUrl: f.cursor ? `/audit${query(kept)}` : null,
      exportQuery: query(exportParams).replace(/^\?/, "&"),
      filtered: Object.values(kept).some((v) => v !== undefined),
    };
    return renderPage(c, "Audit", <AuditPage data={data} />);
  });

  return app;
}
