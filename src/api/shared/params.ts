import { z } from "@hono/zod-openapi";

export const IdParam = z.object({
  id: z
    .string()
    .min(1)
    .max(100)
    .openapi({ param: { name: "id", in: "path" } }),
});
/** `{name}` in the path of a named resource (bot, host, secret, connector, template, pack). */
export const NameParam = z.object({
  name: z
    .string()
    .min(1)
    .max(63)
    .openapi({ param: { name: "name", in: "path" } }),
});
/** `?dryRun=true`: report what would change and store nothing. */
export const DryRunQuery = z.object({ dryRun: z.enum(["true", "false"]).optional() });
