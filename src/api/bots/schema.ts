import { z } from "@hono/zod-openapi";
import { BOT_ACTIONS } from "../../domain/bot-actions.ts";
import { NameParam } from "../shared/params.ts";
import { ChangeSchema, PolicyEvaluationSchema } from "../shared/schemas.ts";

export const BotSchema = z
  .object({
    id: z.string(),
    name: z.string(),
    fleet: z.string().nullable(),
    environment: z.string().nullable(),
    labels: z.record(z.string(), z.string()),
    provider: z.string(),
    host: z.string(),
    port: z.number(),
    status: z.string(),
    statusReason: z.string(),
    desiredState: z.string(),
    desiredRevision: z.number(),
    appliedRevision: z.number().nullable(),
    drift: z.string(),
    createdAt: z.number(),
    updatedAt: z.number(),
  })
  .openapi("Bot");
const PathChangeSchema = ChangeSchema.openapi("PathChange");
export const ApplyResultSchema = z
  .object({
    bot: BotSchema,
    action: z.enum(["created", "updated", "unchanged"]),
    revision: z.number(),
    changes: z.array(PathChangeSchema),
    // the findings that did not block: advisory packs, warnings, excepted rules
    policy: PolicyEvaluationSchema,
  })
  .openapi("ApplyResult");

export const ManifestBody = z.record(z.string(), z.unknown()).openapi({ description: "a molthub/v1 Bot manifest" });

export const CancelResultSchema = z.object({ cancelled: z.boolean(), jobId: z.number().nullable() });
export const BotListSchema = z.object({ items: z.array(BotSchema) });
export const ManifestListSchema = z.object({ items: z.array(z.unknown()) });
/** A bot with its manifest, generated config, revisions, events, latest health and running job. */
export const BotDetailSchema = z.object({ bot: BotSchema }).passthrough();

export const RevisionParams = NameParam.extend({
  revision: z.coerce
    .number()
    .int()
    .min(1)
    .openapi({ param: { name: "revision", in: "path" } }),
});
/** One revision's manifest, generated config and provenance. */
export const RevisionSchema = z.object({ revision: z.number() }).passthrough();

export const DiffQuery = z.object({ from: z.coerce.number().int().min(1), to: z.coerce.number().int().min(1) });
export const DiffSchema = z.object({
  from: z.number(),
  to: z.number(),
  config: z.array(PathChangeSchema),
  manifest: z.array(PathChangeSchema),
});

export const ActionBody = z.strictObject({ action: z.enum(BOT_ACTIONS) });
export const DeleteQuery = z.object({ purge: z.enum(["true", "false"]).optional() });
export const LogsQuery = z.object({
  follow: z.enum(["true", "false"]).optional(),
  tail: z.coerce.number().int().min(0).max(5000).optional(),
  filter: z.string().max(200).optional(),
});
