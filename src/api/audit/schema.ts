import { z } from "@hono/zod-openapi";

const time = z
  .union([z.coerce.number().int(), z.iso.datetime({ offset: true })])
  .transform((v) => (typeof v === "number" ? v : Date.parse(v)));

const AuditFilter = z.strictObject({
  actor: z.string().max(200).optional(),
  action: z.string().max(100).optional().openapi({ description: "exact action, or a prefix ending in * (e.g. member.*)" }),
  resourceType: z.string().max(50).optional(),
  resourceId: z.string().max(100).optional(),
  from: time.optional().openapi({ description: "epoch ms or ISO-8601", type: "string" }),
  to: time.optional().openapi({ description: "epoch ms or ISO-8601", type: "string" }),
});

export const AuditListQuery = AuditFilter.extend({
  cursor: z.coerce.number().int().optional(),
  limit: z.coerce.number().int().min(1).max(500).optional(),
});
export const AuditExportQuery = AuditFilter.extend({ format: z.enum(["csv", "jsonl"]).default("jsonl") });

const AuditEntrySchema = z
  .object({
    id: z.number(),
    ts: z.number(),
    time: z.string(),
    actorType: z.string(),
    actorId: z.string().nullable(),
    actor: z.string(),
    action: z.string(),
    resourceType: z.string(),
    resourceId: z.string().nullable(),
    requestId: z.string().nullable(),
    summary: z.unknown(),
  })
  .openapi("AuditEntry");

export const AuditPageSchema = z.object({ items: z.array(AuditEntrySchema), nextCursor: z.number().nullable() });

export const VerifyResultSchema = z.object({
  ok: z.boolean(),
  checked: z.number(),
  brokenAt: z.number().optional(),
  reason: z.string().optional(),
  fromCheckpoint: z.number().optional(),
});
