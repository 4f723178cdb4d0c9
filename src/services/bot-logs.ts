import { and, eq } from "drizzle-orm";
import type { BotRef, Provider } from "../../providers/provider.ts";
import { authorize, type ServiceContext } from "../core/context.ts";
import { ServiceError } from "../core/errors.ts";
import { bots } from "../db/schema.ts";
import { redactString } from "../secrets/redact.ts";

/** What reading a bot's log needs from the running appliance: its provider reference and the providers. */
export interface LogRuntime {
  reconciler: { ref(bot: typeof bots.$inferSelect): BotRef };
  providers: Partial<Record<string, Provider>>;
}

export interface BotLogs {
  /** The log lines, redacted, and only those that contain `filter` (case-insensitive) when one is given. */
  lines(opts: { follow: boolean; tail: number; filter?: string }, signal: AbortSignal): AsyncIterable<string>;
}

/**
 * Opens a bot's gateway log. Every refusal (role, unknown bot, no provider) is raised here, before a line is read,
 * so a streaming caller can still answer with a plain error.
 */
export function openBotLogs(ctx: ServiceContext, runtime: LogRuntime | undefined, name: string): BotLogs {
  const ws = authorize(ctx, "viewer");
  const row = ctx.db
    .select()
    .from(bots)
    .where(and(eq(bots.workspaceId, ws), eq(bots.name, name)))
    .get();
  if (!row) throw new ServiceError("not_found", `no bot named ${name}`);
  const provider = runtime?.providers[row.provider];
  if (!runtime || !provider) throw new ServiceError("conflict", `no ${row.provider} provider is configured on this appliance`);
  const ref = runtime.reconciler.ref(row);
  return {
    async *lines(opts, signal) {
      // the filter sees the redacted line, so it cannot be used to confirm a guessed secret
      const needle = opts.filter?.toLowerCase();
      for await (const l of provider.logs(ref, { follow: opts.follow, tail: opts.tail }, signal)) {
        const line = redactString(l);
        if (!needle || line.toLowerCase().includes(needle)) yield line;
      }
    },
  };
}
