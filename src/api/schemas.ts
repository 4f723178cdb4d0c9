import { z } from "@hono/zod-openapi";
import { ROLES } from "../core/context.ts";

export const RoleSchema = z.enum(ROLES).openapi("Role");

export const ErrorSchema = z.object({
  error: z.object({
    code: z.string().openapi({ example: "invalid_request" }),
    message: z.string(),
    details: z.unknown().optional(),
  }),
}).openapi("Error");

export const errorResponses = {
  400: { description: "Invalid input; details lists each bad field", content: { "application/json": { schema: ErrorSchema } } },
  401: { description: "Not signed in", content: { "application/json": { schema: ErrorSchema } } },
  403: { description: "Role too low", content: { "application/json": { schema: ErrorSchema } } },
  404: { description: "Not found (also for another workspace's ids)", content: { "application/json": { schema: ErrorSchema } } },
};

export const IdParam = z.object({ id: z.string().min(1).max(100).openapi({ param: { name: "id", in: "path" } }) });
/** `{name}` in the path of a named resource (bot, host, secret, connector, template, pack). */
export const NameParam = z.object({ name: z.string().min(1).max(63).openapi({ param: { name: "name", in: "path" } }) });
/** `?dryRun=true`: report what would change and store nothing. */
export const DryRunQuery = z.object({ dryRun: z.enum(["true", "false"]).optional() });

export const OkSchema = z.object({ ok: z.literal(true) }).openapi("Ok");

export function json<T extends z.ZodType>(schema: T, description = "OK") {
  return { description, content: { "application/json": { schema } } };
}

/** A JSON request body; `required: false` lets a call send none. */
export function body<T extends z.ZodType>(schema: T, opts: { required?: boolean } = {}) {
  return { body: { content: { "application/json": { schema } }, required: opts.required ?? true } };
}

/** One bot in the blast radius of a shared-configuration change (templates, profiles, overlays, connectors). */
export const BlastEntrySchema = z.object({
  bot: z.string(), action: z.enum(["updated", "unchanged", "failed"]), revision: z.number(),
  changes: z.array(z.object({ path: z.string(), from: z.unknown(), to: z.unknown() })),
  error: z.object({ code: z.string(), message: z.string(), issues: z.array(z.object({ path: z.string(), message: z.string() })) }).optional(),
}).openapi("BlastEntry");
