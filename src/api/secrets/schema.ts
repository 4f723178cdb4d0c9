import { z } from "@hono/zod-openapi";
import { MAX_DESCRIPTION, MAX_SECRET_BYTES } from "../../services/secrets.ts";
import { RolloutPlanEntrySchema, SecretRolloutSchema } from "../shared/schemas.ts";

export const SecretSchema = z
  .object({
    name: z.string(),
    version: z.number().int(),
    description: z.string(),
    createdAt: z.number(),
    updatedAt: z.number(),
    updatedBy: z.string().nullable(),
    usedBy: z.object({ bots: z.array(z.string()), connectors: z.array(z.string()) }),
  })
  .openapi("Secret");
export const SecretListSchema = z.object({ items: z.array(SecretSchema) });
export const DeleteResultSchema = z.object({ ok: z.literal(true) });

/** A write (or its dry run): the secret as stored and the bots that take the new version. */
export const SecretChangeSchema = SecretSchema.extend({
  dryRun: z.boolean().openapi({ description: "true: nothing was stored; version and rollout are what a write would give" }),
  rollout: z.array(RolloutPlanEntrySchema).openapi({
    description: "the blast radius: bots whose desired revision references the secret, their env vars and how they get it",
  }),
}).openapi("SecretChange");
export const SecretRolloutListSchema = z.object({ items: z.array(SecretRolloutSchema) });

export const PutBody = z.strictObject({
  value: z.string().min(1).max(MAX_SECRET_BYTES).optional().openapi({
    description:
      "the value; write-only (never returned). Required unless dryRun=true. One line: a line break or NUL is refused (it reaches the bot as one line of an env file)",
    format: "password",
  }),
  description: z.string().max(MAX_DESCRIPTION).optional().openapi({ description: "what the secret is for; kept when omitted" }),
});
