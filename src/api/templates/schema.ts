import { z } from "@hono/zod-openapi";
import { BlastEntrySchema, ChangeSchema } from "../shared/schemas.ts";

const InputSchema = z
  .object({
    name: z.string(),
    label: z.string(),
    description: z.string().optional(),
    type: z.enum(["string", "number", "boolean", "enum", "secret"]),
    required: z.boolean(),
    default: z.union([z.string(), z.number(), z.boolean()]).optional(),
    options: z.array(z.string()).optional(),
    pattern: z.string().optional(),
  })
  .openapi("TemplateInput");

const SummarySchema = z
  .object({
    name: z.string(),
    title: z.string(),
    description: z.string(),
    tags: z.array(z.string()),
    builtin: z.boolean(),
    version: z.number(),
    updatedAt: z.number().nullable(),
    inputs: z.array(InputSchema),
    secretEnvs: z.array(z.string()),
    usedBy: z.array(z.string()),
  })
  .openapi("TemplateSummary");

export const TemplateListSchema = z.object({ items: z.array(SummarySchema) });
export const TemplateDetailSchema = SummarySchema.extend({ template: z.record(z.string(), z.unknown()) });
export const TemplateBody = z.record(z.string(), z.unknown()).openapi({ description: "a molthub/v1 Template" });
export const PutResultSchema = z.object({
  template: SummarySchema,
  action: z.enum(["created", "updated", "unchanged"]),
  version: z.number(),
  dryRun: z.boolean(),
  blast: z.array(BlastEntrySchema),
});

const scalar = z.union([z.string().max(10_000), z.number(), z.boolean()]);
export const CreateBotBody = z
  .strictObject({
    name: z.string().min(1).max(63).openapi({ description: "the new bot's name" }),
    inputs: z
      .record(z.string(), scalar)
      .optional()
      .openapi({ description: "the template's inputs; secret inputs name stored secrets, never values" }),
    target: z
      .record(z.string(), z.union([z.string(), z.number()]))
      .optional()
      .openapi({ description: "the whole target, or fields that refine the template's default (e.g. {version})" }),
    fleet: z.string().max(63).optional(),
    environment: z.string().max(63).optional(),
    labels: z.record(z.string(), z.string()).optional(),
    profiles: z.array(z.string()).max(20).optional(),
    dryRun: z.boolean().optional(),
  })
  .openapi("CreateBotFromTemplate");
/** The new bot's apply result and the manifest made from the template (also the dry run's answer). */
export const CreatedBotSchema = z
  .object({
    bot: z.record(z.string(), z.unknown()),
    action: z.string(),
    revision: z.number(),
    changes: z.array(ChangeSchema),
    manifest: z.unknown(),
  })
  .passthrough();
