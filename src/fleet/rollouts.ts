import { and, desc, eq, lte, ne } from "drizzle-orm";
import type { ServiceContext } from "../core/context.ts";
import type { Tx } from "../db/client.ts";
import { botEvents, secretRollouts } from "../db/schema.ts";
import { enqueue } from "./queue.ts";
import { liveBots } from "./store.ts";

/**
 * Rolling a rotated secret out to the bots that use it: one `secret_rollouts` row per bot and secret version,
 * a timeline event and a reconcile job, written with the rotation; the reconciler settles each row once the
 * gateway runs with the new value (OpenClaw reads env SecretRefs when it starts, so delivery is a restart).
 */

export interface RolloutPlanEntry {
  bot: string;
  /** the env vars of the bot that take the new value */
  env: string[];
  /** bound through this connector (false: the bot's manifest references the secret itself) */
  bound: boolean;
  /** how the value reaches it: the gateway reads env SecretRefs at start, so a running bot restarts */
  method: "restart" | "next start";
}

/**
 * Plans (and unless `dryRun`, queues) the rollout of new versions of `secrets` to every live bot whose desired
 * revision references one of them. `connector` names the connector rotated (for the timeline and `bound`).
 */
export function rollOutSecrets(
  tx: Tx,
  ctx: Pick<ServiceContext, "actor" | "requestId" | "now">,
  ws: string,
  opts: { connector: string; secrets: { secret: string; version: number }[]; dryRun: boolean },
): RolloutPlanEntry[] {
  const now = ctx.now();
  const names = opts.secrets.map((s) => s.secret);
  const plan: RolloutPlanEntry[] = [];
  for (const { row: b, rev: desired } of liveBots(tx, ws)) {
    const rev = desired();
    const env = Object.entries(rev.secretRefs)
      .filter(([, r]) => names.includes(r.secret))
      .map(([k]) => k)
      .sort();
    if (!env.length) continue;
    const entry: RolloutPlanEntry = {
      bot: b.name,
      env,
      bound: !!rev.manifest.spec.connectors?.includes(opts.connector),
      method: b.desiredState === "stopped" ? "next start" : "restart",
    };
    plan.push(entry);
    if (opts.dryRun) continue;
    for (const w of opts.secrets) {
      if (!env.some((k) => rev.secretRefs[k]?.secret === w.secret)) continue;
      tx.insert(secretRollouts)
        .values({
          workspaceId: ws,
          secretName: w.secret,
          version: w.version,
          botId: b.id,
          state: "pending",
          message:
            entry.method === "restart"
              ? "queued: the gateway restarts with the new value"
              : "the bot is stopped; it gets the new value when it starts",
          updatedAt: now,
        })
        .run();
    }
    tx.insert(botEvents)
      .values({
        botId: b.id,
        ts: now,
        level: "info",
        type: "secret.rotated",
        message: `connector ${opts.connector} rotated by ${ctx.actor.label}: ${env.join(", ")} ${entry.method === "restart" ? "will be delivered with a restart" : "is delivered when the bot starts"}`,
      })
      .run();
    if (entry.method === "restart") enqueue(tx, b.id, "reconcile", { now, requestId: ctx.requestId });
  }
  return plan;
}

/**
 * The newest rollout row of a bot; read before the reconciler builds the env file, so that only rows whose
 * secret version was already stored then are settled by that pass (a rotation during the pass stays pending).
 */
export function rolloutCutoff(db: Tx, botId: string): number {
  return (
    db
      .select({ id: secretRollouts.id })
      .from(secretRollouts)
      .where(eq(secretRollouts.botId, botId))
      .orderBy(desc(secretRollouts.id))
      .limit(1)
      .get()?.id ?? 0
  );
}

/** Marks a bot's open rollouts up to `cutoff` delivered (with the method used) or failed (with the reason). */
export function settleRollouts(
  db: Tx,
  botId: string,
  cutoff: number,
  outcome: { state: "delivered" | "failed"; method?: string; message: string; now: number },
): number {
  if (!cutoff) return 0;
  const open = and(
    eq(secretRollouts.botId, botId),
    lte(secretRollouts.id, cutoff),
    outcome.state === "delivered" ? ne(secretRollouts.state, "delivered") : eq(secretRollouts.state, "pending"),
  );
  return db
    .update(secretRollouts)
    .set({ state: outcome.state, method: outcome.method ?? null, message: outcome.message.slice(0, 500), updatedAt: outcome.now })
    .where(open)
    .returning({ id: secretRollouts.id })
    .all().length;
}
