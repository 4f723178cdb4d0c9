import { z } from "@hono/zod-openapi";
import { MAX_DESCRIPTION, MAX_SECRET_BYTES } from "../../services/secrets.ts";

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

export const PutBody = z.strictObject({
  value: z
    .string()
    .min(1)
    .max(MAX_SECRET_BYTES)
    .openapi({ description: "the value; write-only (never returned)", format: "password" }),
  description: z.string().max(MAX_DESCRIPTION).optional().openapi({ description: "what the secret is for; kept when omitted" }),
});
