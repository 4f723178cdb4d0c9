import { z } from "@hono/zod-openapi";
import { ROLES } from "../../core/context.ts";

// Schemas more than one resource answers with.

export const RoleSchema = z.enum(ROLES).openapi("Role");

export const OkSchema = z.object({ ok: z.literal(true) }).openapi("Ok");

/** One path whose value differs between two configurations (inline; bots register it as PathChange). */
export const ChangeSchema = z.object({ path: z.string(), from: z.unknown(), to: z.unknown() });

/** One wrong thing at a dotted path (core/errors.ts Issue); also what a 400 from request validation lists. */
export const IssueSchema = z
  .object({
    path: z.string().openapi({ example: "spec.target.port" }),
    message: z.string(),
    bot: z.string().optional().openapi({ description: "the bot a shared change would break" }),
  })
  .openapi("Issue");

export const ViolationSchema = z
  .object({
    packId: z.string(),
    ruleId: z.string(),
    severity: z.enum(["error", "warning"]),
    mode: z.enum(["enforce", "advisory"]),
    path: z.string(),
    message: z.string(),
    fix: z
      .record(z.string(), z.unknown())
      .optional()
      .openapi({ description: "an RFC 7396 merge patch on the OpenClaw config that makes the rule pass" }),
  })
  .openapi("PolicyViolation");
export const ExceptedSchema = ViolationSchema.extend({
  exception: z.object({ ruleId: z.string(), botName: z.string().optional(), reason: z.string(), expiresAt: z.string() }),
}).openapi("PolicyExcepted");
/** The policy packs' verdict on one rendered configuration (domain/policy.ts EvaluationResult). */
export const EvaluationSchema = z.object({
  blocked: z.boolean(),
  violations: z.array(ViolationSchema),
  excepted: z.array(ExceptedSchema),
});
/** The same verdict as a named component, where it is a field of its own (an apply's findings, a policy refusal). */
export const PolicyEvaluationSchema = EvaluationSchema.openapi("PolicyEvaluation");

/** One bot in the blast radius of a shared-configuration change (templates, profiles, overlays, connectors). */
export const BlastEntrySchema = z
  .object({
    bot: z.string(),
    action: z.enum(["updated", "unchanged", "failed"]),
    revision: z.number(),
    changes: z.array(ChangeSchema),
    error: z
      .object({ code: z.string(), message: z.string(), issues: z.array(IssueSchema) })
      .optional()
      .openapi({ description: "why the bot would fail (action failed): the error it would get" }),
  })
  .openapi("BlastEntry");

/** One bot that takes a new secret version (a vault write or a connector rotation): the blast radius of the change. */
export const RolloutPlanEntrySchema = z
  .object({
    bot: z.string(),
    env: z.array(z.string()).openapi({ description: "the bot's env vars that take the new value" }),
    bound: z
      .boolean()
      .openapi({ description: "through a connector bound to the bot (false: its manifest or template references the secret)" }),
    method: z.enum(["restart", "next start"]).openapi({
      description: "a running bot restarts (OpenClaw reads env SecretRefs at start); a stopped one gets it when it starts",
    }),
  })
  .openapi("SecretRolloutPlanEntry");

/** The delivery of one secret version to one bot. */
export const SecretRolloutSchema = z
  .object({
    bot: z.string(),
    secret: z.string(),
    version: z.number(),
    state: z.enum(["pending", "delivered", "failed"]),
    method: z.string().nullable(),
    message: z.string(),
    updatedAt: z.number(),
  })
  .openapi("SecretRollout");
