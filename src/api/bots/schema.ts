import { z } from "@hono/zod-openapi";
import { BOT_ACTIONS } from "../../domain/bot-actions.ts";
import { CONDITION_TYPES } from "../../domain/conditions.ts";
import { NameParam } from "../shared/params.ts";
import { ChangeSchema, PolicyEvaluationSchema } from "../shared/schemas.ts";

const BotConditionSchema = z
  .object({
    type: z.enum(CONDITION_TYPES),
    status: z.enum(["True", "False", "Unknown"]),
    reason: z.string().openapi({ description: "a short CamelCase code to branch on, e.g. HostKeyChanged" }),
    message: z.string().openapi({ description: "what is wrong and what to do" }),
    since: z.number().openapi({ description: "when the status last changed (ms since the epoch)" }),
  })
  .openapi("BotCondition", {
    description:
      "One independent condition the status derives from. Good is True, except Drifted (good when False); Unknown is not yet observed.",
  });

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
    conditions: z
      .array(BotConditionSchema)
      .openapi({ description: "in the order TargetReachable, Ready, ConfigApplied, Drifted, ChannelsConnected, SecretsCurrent" }),
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
/** One secret a bot uses: the version its gateway runs against the vault's (fleet/rollouts.ts botSecrets). */
const BotSecretSchema = z
  .object({
    secret: z.string(),
    env: z.array(z.string()).openapi({ description: "the bot's env vars that carry it" }),
    current: z.number().nullable().openapi({ description: "the vault's version now" }),
    running: z
      .number()
      .nullable()
      .openapi({ description: "the version the running gateway was started with (null: nothing runs, or not recorded)" }),
    outdated: z.boolean().openapi({ description: "the gateway runs an older value, until a restart delivers the current one" }),
    message: z.string().nullable().openapi({ example: "secret outdated: anthropic-key (running v1, current v2)" }),
    rollout: z
      .object({
        version: z.number(),
        state: z.enum(["pending", "delivered", "failed"]),
        message: z.string(),
        updatedAt: z.number(),
      })
      .nullable()
      .openapi({ description: "the newest rollout of this secret to the bot" }),
  })
  .openapi("BotSecret");

/** A bot with its manifest, generated config, revisions, events, latest health, running job and secret versions. */
export const BotDetailSchema = z.object({ bot: BotSchema, secrets: z.array(BotSecretSchema) }).passthrough();

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
