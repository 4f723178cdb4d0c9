import { z } from "@hono/zod-openapi";
import { EvaluationSchema, ExceptedSchema, ViolationSchema } from "../shared/schemas.ts";

const ModeSchema = z.enum(["enforce", "advisory"]);

const PackSchema = z
  .object({
    id: z.string(),
    name: z.string(),
    description: z.string(),
    builtin: z.boolean(),
    enabled: z.boolean(),
    mode: ModeSchema,
    defaultMode: ModeSchema,
    scope: z
      .object({
        workspace: z.string().optional(),
        fleets: z.array(z.string()).optional(),
        environments: z.array(z.string()).optional(),
        labels: z.record(z.string(), z.string()).optional(),
      })
      .nullable(),
    ruleCount: z.number(),
    updatedAt: z.number().nullable(),
  })
  .openapi("PolicyPack");
const FindingsSchema = EvaluationSchema.extend({ bot: z.string(), revision: z.number() }).openapi("BotPolicyFindings");
export const PackChangeSchema = z
  .object({ pack: PackSchema.nullable(), action: z.string(), dryRun: z.boolean(), violating: z.array(FindingsSchema) })
  .openapi("PolicyPackChange");
const ExceptionSchema = z
  .object({
    id: z.string(),
    ruleId: z.string(),
    botName: z.string().nullable(),
    reason: z.string(),
    expiresAt: z.number(),
    createdBy: z.string(),
    createdAt: z.number(),
    revokedAt: z.number().nullable(),
    state: z.enum(["active", "expired", "revoked"]),
  })
  .openapi("PolicyException");

export const PackListSchema = z.object({
  items: z.array(PackSchema.extend({ violating: z.array(z.string()), blocking: z.array(z.string()) })),
});
export const CheckSchema = EvaluationSchema.extend({ name: z.string(), action: z.enum(["create", "update"]) });
export const PackDetailSchema = PackSchema.extend({
  rules: z.array(z.record(z.string(), z.unknown())),
  yaml: z.string(),
  findings: z.array(z.object({ bot: z.string(), violations: z.array(ViolationSchema), excepted: z.array(ExceptedSchema) })),
});
export const ExceptionListSchema = z.object({ items: z.array(ExceptionSchema) });
export const ExceptionChangeSchema = z.object({ exception: ExceptionSchema, violating: z.array(FindingsSchema) });
export const BotPolicySchema = EvaluationSchema.extend({ name: z.string(), revision: z.number() });

export const ManifestBody = z.record(z.string(), z.unknown()).openapi({ description: "a molthub/v1 Bot manifest" });
export const PackBody = z.record(z.string(), z.unknown()).openapi({
  description:
    'a policy pack as JSON ({id, name, description?, scope?, mode?, rules}), or {"text": "<the pack as YAML or JSON>"}',
});
export const PackStateBody = z.strictObject({ mode: ModeSchema.optional() });
export const ExceptionQuery = z.object({ state: z.enum(["active", "expired", "revoked"]).optional() });
export const ExceptionBody = z.strictObject({
  ruleId: z.string().max(100).optional(),
  botName: z.string().max(63).nullable().optional(),
  reason: z.string().max(2000).optional(),
  expiresAt: z
    .union([z.string().max(64), z.number()])
    .optional()
    .openapi({ description: "YYYY-MM-DD (end of that day, UTC), an ISO timestamp, or epoch ms" }),
});
