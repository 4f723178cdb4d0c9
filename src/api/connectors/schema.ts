import { z } from "@hono/zod-openapi";
import { CONNECTOR_TYPES } from "../../domain/connectors.ts";
import { NameParam } from "../shared/params.ts";
import { BlastEntrySchema, RolloutPlanEntrySchema, SecretRolloutSchema } from "../shared/schemas.ts";

export const ConnectorSchema = z
  .object({
    name: z.string(),
    type: z.enum(CONNECTOR_TYPES),
    label: z.string(),
    category: z.enum(["llm", "channel"]),
    secret: z
      .string()
      .nullable()
      .openapi({ description: "the vault secret holding the credential (its name; values are write-only)" }),
    settings: z.object({ baseUrl: z.string().optional(), appTokenSecret: z.string().optional() }),
    baseUrl: z.string(),
    env: z.array(z.string()),
    boundBots: z.array(z.string()),
    lastTest: z.object({ at: z.number(), ok: z.boolean(), message: z.string() }).nullable(),
    createdAt: z.number(),
    updatedAt: z.number(),
  })
  .openapi("Connector");
export const ConnectorListSchema = z.object({ items: z.array(ConnectorSchema) });

export const TestResultSchema = z
  .object({
    ok: z.boolean(),
    message: z.string(),
    details: z.record(z.string(), z.union([z.string(), z.number(), z.boolean()])),
    at: z.number(),
  })
  .openapi("ConnectorTestResult");
export const UpdateResultSchema = z.object({ connector: ConnectorSchema, bots: z.array(BlastEntrySchema), dryRun: z.boolean() });
export const DeleteResultSchema = z.object({
  deleted: z.string(),
  secretsDeleted: z.array(z.string()),
  secretsKept: z.array(z.string()),
});
export const RotateResultSchema = z
  .object({
    connector: z.string(),
    dryRun: z.boolean(),
    secrets: z.array(z.object({ secret: z.string(), version: z.number() })),
    bots: z.array(RolloutPlanEntrySchema),
  })
  .openapi("ConnectorRotation");
export const RolloutListSchema = z.object({ items: z.array(SecretRolloutSchema) });
/** A bind or unbind: the bot's apply result. */
export const BindingResultSchema = z.object({ action: z.string(), revision: z.number() }).passthrough();

// Bodies are checked by the service after the connector is found (so another workspace's name is a 404 even
// with an empty body), and every wrong field is listed in the 400's details.
export const CreateBody = z
  .object({
    name: z.string().openapi({ description: "lowercase letters, digits and dashes, at most 40 characters" }),
    type: z.enum(CONNECTOR_TYPES),
    value: z
      .string()
      .optional()
      .openapi({ description: "the credential; stored as the vault secret connector-<name>, never returned" }),
    appToken: z.string().optional().openapi({ description: "slack only: the app-level token (xapp-…) for socket mode" }),
    secret: z.string().optional().openapi({ description: "an existing vault secret to use instead of a value" }),
    settings: z.record(z.string(), z.unknown()).optional().openapi({
      description:
        "baseUrl (the API root; the type's default when absent), appTokenSecret (slack: an existing secret with the app token)",
    }),
  })
  .partial()
  .passthrough();
export const UpdateBody = z
  .object({
    settings: z
      .record(z.string(), z.unknown())
      .optional()
      .openapi({ description: 'baseUrl, appTokenSecret (slack); null or "" resets one' }),
  })
  .passthrough();
export const RotateBody = z.object({ value: z.string().optional(), appToken: z.string().optional() }).passthrough();
export const BindBody = z
  .object({ connector: z.string().optional().openapi({ description: "the connector to bind (required)" }) })
  .passthrough();
export const BindingParams = NameParam.extend({
  connector: z
    .string()
    .min(1)
    .max(63)
    .openapi({ param: { name: "connector", in: "path" } }),
});
