import { and, asc, desc, eq, inArray, lte, ne } from "drizzle-orm";
import type { ServiceContext } from "../core/context.ts";
import type { Tx } from "../db/client.ts";
import { botEvents, bots, secretRollouts } from "../db/schema.ts";
import { parseConditions, withCondition } from "../domain/conditions.ts";
import { enqueue } from "./queue.ts";
import { outdatedSecrets, parseAppliedSecrets, secretUsers, secretVersions } from "./secrets.ts";
import { type BotRow, liveBots, type SecretRefs } from "./store.ts";

/**
 * Rolling a new secret version out to the bots that use it — whether it came from a connector rotation or a
 * plain vault write: one `secret_rollouts` row per bot and secret version, a timeline event and a reconcile job,
 * written with the new version. The reconciler settles each row once the gateway runs with the new value
 * (OpenClaw reads env SecretRefs when it starts, so delivery is a restart: stop, then start).
 */

export interface RolloutPlanEntry {
  bot: string;
  /** the env vars of the bot that take the new value */
  env: string[];
  /** the value reaches the bot through a connector bound to it (false: its manifest or template references the secret) */
  bound: boolean;
  /** how the value reaches it: the gateway reads env SecretRefs at start, so a running bot restarts */
  method: "restart" | "next start";
}

/** What made the new version: a connector's rotation, or a write to the vault (API, CLI, page). */
export type RolloutSource = { kind: "connector"; name: string } | { kind: "vault" };

/**
 * Plans (and unless `dryRun`, queues) the rollout of new versions of `secrets` to every live bot whose desired
 * revision references one of them: the blast radius of a secret change, and then the change itself.
 */
export function rollOutSecrets(
  tx: Tx,
  ctx: Pick<ServiceContext, "actor" | "requestId" | "now">,
  ws: string,
  opts: { source: RolloutSource; secrets: { secret: string; version: number }[]; dryRun: boolean },
): RolloutPlanEntry[] {
  const now = ctx.now();
  const names = opts.secrets.map((s) => s.secret);
  // connectors that keep one of these secrets: a bot bound to one of them gets the value through it
  const users = secretUsers(tx, ws);
  const carriers = new Set(names.flatMap((n) => users.get(n)?.connectors ?? []));
  const what =
    opts.source.kind === "connector"
      ? `connector ${opts.source.name} rotated`
      : `secret ${opts.secrets.map((s) => `${s.secret} v${s.version}`).join(", ")} stored`;
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
      bound: !!rev.manifest.spec.connectors?.some((c) => carriers.has(c)),
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
        message: `${what} by ${ctx.actor.label}: ${env.join(", ")} ${entry.method === "restart" ? "will be delivered with a restart" : "is delivered when the bot starts"}`,
        data: JSON.stringify({
          source: opts.source,
          secrets: opts.secrets.filter((w) => env.some((k) => rev.secretRefs[k]?.secret === w.secret)),
        }),
      })
      .run();
    if (entry.method === "restart") {
      enqueue(tx, b.id, "reconcile", { now, requestId: ctx.requestId });
      // marked at once, in the same transaction: the reconciler sets it True again when a restart delivered it
      if (b.appliedRevision !== null) markOutdated(tx, b, opts.secrets, rev.secretRefs, now);
    }
  }
  return plan;
}

/** Sets the bot's SecretsCurrent condition False: "secret outdated: NAME (running vN, current vM)". */
function markOutdated(tx: Tx, b: BotRow, written: { secret: string; version: number }[], refs: SecretRefs, now: number): void {
  const applied = parseAppliedSecrets(b.appliedSecrets);
  const used = new Set(Object.values(refs).map((r) => r.secret));
  const message = written
    .filter((w) => used.has(w.secret))
    .map((w) => outdatedMessage(w.secret, applied[w.secret] ?? null, w.version))
    .join("; ");
  const conditions = withCondition(
    parseConditions(b.conditions),
    "SecretsCurrent",
    { status: "False", reason: "SecretOutdated", message: `${message}; a restart delivers it` },
    now,
  );
  tx.update(bots)
    .set({ conditions: JSON.stringify(conditions) })
    .where(eq(bots.id, b.id))
    .run();
}

/**
 * The SecretsCurrent condition of a bot after a reconcile pass that left its gateway running with the env built
 * from `refs` when the vault held `applied` (what the pass stores as `bots.applied_secrets`): True when those are
 * still the vault's versions, False naming each secret written since (during the pass), which the queued job delivers.
 *
 * @example secretsCurrent(db, ws, { "anthropic-key": 2 }, refs) // { status: "True", reason: "Delivered", … }
 */
export function secretsCurrent(
  db: Tx,
  workspaceId: string,
  applied: Record<string, number>,
  refs: SecretRefs,
): { status: "True" | "False"; reason: string; message: string } {
  const current = secretVersions(db, workspaceId, refs);
  const stale = outdatedSecrets(applied, current);
  if (stale.length)
    return {
      status: "False",
      reason: "SecretOutdated",
      message: `${stale.map((o) => outdatedMessage(o.secret, o.running, o.current)).join("; ")}; a restart delivers it`,
    };
  const names = Object.keys(current).sort();
  return {
    status: "True",
    reason: "Delivered",
    message: names.length
      ? `the gateway runs the current secret versions (${names.map((n) => `${n} v${current[n]}`).join(", ")})`
      : "the bot uses no secret from the vault",
  };
}

function outdatedMessage(secret: string, running: number | null, current: number): string {
  return `secret outdated: ${secret} (running ${running !== null ? `v${running}` : "an earlier version"}, current v${current})`;
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

export interface RolloutView {
  bot: string;
  secret: string;
  version: number;
  state: "pending" | "delivered" | "failed";
  method: string | null;
  message: string;
  updatedAt: number;
}

/** Per-bot delivery of new versions of `names` (a connector's secrets, or one vault secret), newest first. */
export function listRollouts(db: Tx, ws: string, names: string[]): RolloutView[] {
  if (!names.length) return [];
  return db
    .select({
      bot: bots.name,
      secret: secretRollouts.secretName,
      version: secretRollouts.version,
      state: secretRollouts.state,
      method: secretRollouts.method,
      message: secretRollouts.message,
      updatedAt: secretRollouts.updatedAt,
    })
    .from(secretRollouts)
    .innerJoin(bots, eq(bots.id, secretRollouts.botId))
    .where(and(eq(secretRollouts.workspaceId, ws), inArray(secretRollouts.secretName, names)))
    .orderBy(desc(secretRollouts.version), asc(bots.name), asc(secretRollouts.secretName))
    .limit(500)
    .all();
}

/** One secret a bot uses, with the version its gateway runs and the vault's current one. */
export interface BotSecretView {
  secret: string;
  /** the bot's env vars that carry it */
  env: string[];
  /** the vault's version now (null: the secret is missing; the next reconcile says so) */
  current: number | null;
  /** the version the running gateway was started with; null when nothing runs or it was not recorded */
  running: number | null;
  /** the gateway runs an older value than the vault holds, until a restart delivers it */
  outdated: boolean;
  /** "secret outdated: NAME (running vN, current vM)" while outdated */
  message: string | null;
  /** the newest rollout of this secret to the bot, if any */
  rollout: { version: number; state: RolloutView["state"]; message: string; updatedAt: number } | null;
}

/**
 * Which secret versions a bot runs and which are outdated (`refs`: its desired revision's references). A stopped
 * bot runs nothing, so nothing is outdated: it starts with the current values. When the running version was not
 * recorded (a gateway started before versions were kept), an undelivered rollout row is what says it is outdated.
 */
export function botSecrets(db: Tx, bot: BotRow, refs: SecretRefs): BotSecretView[] {
  const envBySecret = new Map<string, string[]>();
  for (const [k, r] of Object.entries(refs).sort(([a], [b]) => a.localeCompare(b)))
    envBySecret.set(r.secret, [...(envBySecret.get(r.secret) ?? []), k]);
  if (!envBySecret.size) return [];
  const current = secretVersions(db, bot.workspaceId, refs);
  const runs = bot.desiredState !== "stopped" && bot.status !== "stopped" && bot.appliedRevision !== null;
  const applied = runs ? parseAppliedSecrets(bot.appliedSecrets) : {};
  const stale = new Set(outdatedSecrets(applied, current).map((o) => o.secret));
  const rows = db
    .select()
    .from(secretRollouts)
    .where(and(eq(secretRollouts.botId, bot.id), inArray(secretRollouts.secretName, [...envBySecret.keys()])))
    .orderBy(desc(secretRollouts.id))
    .all();
  return [...envBySecret.entries()]
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([secret, env]) => {
      const last = rows.find((r) => r.secretName === secret);
      const cur = current[secret] ?? null;
      const running = applied[secret] ?? null;
      const outdated =
        runs &&
        cur !== null &&
        (running !== null ? stale.has(secret) : !!last && last.state !== "delivered" && last.version <= cur);
      return {
        secret,
        env,
        current: cur,
        running,
        outdated,
        message: outdated ? outdatedMessage(secret, running, cur!) : null,
        rollout: last ? { version: last.version, state: last.state, message: last.message, updatedAt: last.updatedAt } : null,
      };
    });
}
