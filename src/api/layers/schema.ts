import { z } from "@hono/zod-openapi";
import { BlastEntrySchema, ChangeSchema } from "../shared/schemas.ts";

// names are checked by the services (after the bot or layer is looked up), so a bad one answers 404, not 400
export const NameParam = z.object({
  name: z
    .string()
    .min(1)
    .max(100)
    .openapi({ param: { name: "name", in: "path" } }),
});
export const ProfileParams = NameParam.extend({
  profile: z
    .string()
    .min(1)
    .max(100)
    .openapi({ param: { name: "profile", in: "path" } }),
});
export const DryRun = z.object({
  dryRun: z.enum(["true", "false"]).optional().openapi({ description: "true: compute the blast radius and store nothing" }),
});

export const ChangeResultSchema = z
  .object({
    kind: z.enum(["profile", "overlay"]),
    name: z.string(),
    action: z.enum(["created", "updated", "unchanged", "deleted"]),
    version: z.number(),
    dryRun: z.boolean(),
    bots: z
      .array(BlastEntrySchema)
      .openapi({ description: "the blast radius: each bot whose config changes, its diff and its new revision" }),
    unchanged: z.array(z.string()).openapi({ description: "bots the layer reaches whose config stays the same" }),
  })
  .openapi("LayerChange");
const LayerSummarySchema = z
  .object({
    kind: z.enum(["profile", "overlay"]),
    name: z.string(),
    description: z.string().optional(),
    priority: z.number(),
    version: z.number(),
    enabled: z.boolean(),
    active: z.boolean(),
    locked: z.array(z.string()),
    selector: z.unknown().optional(),
    window: z.unknown().optional(),
    bots: z.array(z.string()),
    createdAt: z.number(),
    updatedAt: z.number(),
  })
  .openapi("LayerSummary");
export const LayerListSchema = z.object({ items: z.array(LayerSummarySchema) });
export const LayerDetailSchema = LayerSummarySchema.extend({
  document: z.record(z.string(), z.unknown()),
  matched: z.array(z.string()),
}).openapi("LayerDetail");
/** An attach or detach: the bot's apply result. */
export const ApplyResultSchema = z
  .object({
    bot: z.object({ name: z.string() }).passthrough(),
    action: z.string(),
    revision: z.number(),
    changes: z.array(ChangeSchema),
  })
  .passthrough();
export const ResolvedSchema = z
  .object({
    bot: z.string(),
    revision: z.number(),
    value: z.record(z.string(), z.unknown()),
    provenance: z.record(z.string(), z.unknown()),
    conflicts: z.array(z.unknown()),
    problems: z.array(z.object({ path: z.string(), message: z.string() })),
    layers: z.array(z.object({ kind: z.string(), id: z.string(), name: z.string(), priority: z.number() })),
    stored: z.object({ revision: z.number(), provenance: z.record(z.string(), z.unknown()), upToDate: z.boolean() }),
  })
  .openapi("ResolvedConfig");

export const AttachBody = z.object({ profile: z.string() }).openapi({ description: "{ profile: NAME }" });
export function layerBody(doc: string) {
  return z.record(z.string(), z.unknown()).openapi({ description: `a molthub/v1 ${doc} document` });
}
