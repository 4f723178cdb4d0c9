import { and, eq } from "drizzle-orm";
import { recordAudit } from "../core/audit.ts";
import { authorize, type ServiceContext } from "../core/context.ts";
import { ServiceError } from "../core/errors.ts";
import { inTransaction } from "../core/transaction.ts";
import type { Tx } from "../db/client.ts";
import { secrets } from "../db/schema.ts";
import { listRollouts, type RolloutPlanEntry, type RolloutView, rollOutSecrets } from "../fleet/rollouts.ts";
import {
  checkSecretInput,
  removeSecret,
  type SecretInput,
  type SecretUsers,
  secretUsers,
  writeSecret,
} from "../fleet/secrets.ts";
import { registerSecret } from "../secrets/redact.ts";

export type { RolloutPlanEntry, RolloutView } from "../fleet/rollouts.ts";
export { MAX_DESCRIPTION, MAX_SECRET_BYTES } from "../fleet/secrets.ts";

/**
 * The secrets vault's service verbs. Values are envelope-encrypted (src/secrets/vault.ts) and write-only:
 * no verb returns a value; only the reconciler decrypts them (fleet/secrets.ts) to deliver them to a bot.
 */
export interface SecretView {
  name: string;
  version: number;
  description: string;
  createdAt: number;
  updatedAt: number;
  /** label of who stored the current version */
  updatedBy: string | null;
  usedBy: SecretUsers;
}

function view(r: typeof secrets.$inferSelect, users: Map<string, SecretUsers>): SecretView {
  return {
    name: r.name,
    version: r.version,
    description: r.description,
    createdAt: r.createdAt,
    updatedAt: r.updatedAt,
    updatedBy: r.updatedBy,
    usedBy: users.get(r.name) ?? { bots: [], connectors: [] },
  };
}

/** A stored (or, in a dry run, previewed) secret version and who takes it. */
export interface SecretChange extends SecretView {
  /** nothing was stored: the version and the bots are what storing a value would give */
  dryRun: boolean;
  /** the blast radius: every bot whose desired revision references the secret, with its env vars and how it gets the value */
  rollout: RolloutPlanEntry[];
}

/**
 * Creates a secret or replaces its value (a new version, sealed with a new data key), then rolls the new version
 * out: each running bot that references it gets a pending rollout row and a reconcile job (the reconciler restarts
 * its gateway, stop before start, because OpenClaw reads env SecretRefs when it starts); a stopped bot gets it
 * when it starts. With `dryRun` nothing is stored and the value may be left out: the answer is the blast radius
 * (the version it would get and the bots that would restart), the same list the real write then uses.
 * The value is registered for redaction before anything else happens. `description` is kept when omitted.
 */
export function putSecret(
  ctx: ServiceContext,
  input: Omit<SecretInput, "value"> & { value?: string },
  opts: { dryRun?: boolean } = {},
): SecretChange {
  const ws = authorize(ctx, "operator");
  const dryRun = !!opts.dryRun;
  // a preview without a value is the usual case (the blast radius before typing the new value)
  if (dryRun) {
    registerSecret(input.value);
    checkSecretInput({ ...input, value: input.value ?? "(not given)" });
  }
  return inTransaction(ctx, dryRun, (tx) => {
    const row = dryRun ? previewRow(tx, ctx, ws, input) : writeSecret(tx, ctx, ws, { ...input, value: input.value as string });
    const rollout = rollOutSecrets(tx, ctx, ws, {
      source: { kind: "vault" },
      secrets: [{ secret: row.name, version: row.version }],
      dryRun,
    });
    if (!dryRun && rollout.length)
      recordAudit(tx, ctx, {
        action: "secret.rollout",
        resourceType: "secret",
        resourceId: row.name,
        summary: {
          version: row.version,
          restart: rollout.filter((p) => p.method === "restart").map((p) => p.bot),
          nextStart: rollout.filter((p) => p.method === "next start").map((p) => p.bot),
        },
      });
    return { ...view(row, secretUsers(tx, ws)), dryRun, rollout };
  });
}

/** What the secret's row would look like after a write (dry run): the next version, by this actor, now. */
function previewRow(
  tx: Tx,
  ctx: ServiceContext,
  ws: string,
  input: { name: string; description?: string },
): typeof secrets.$inferSelect {
  const now = ctx.now();
  const existing = tx
    .select()
    .from(secrets)
    .where(and(eq(secrets.workspaceId, ws), eq(secrets.name, input.name)))
    .get();
  const description = input.description?.trim();
  if (existing)
    return {
      ...existing,
      version: existing.version + 1,
      description: description ?? existing.description,
      updatedAt: now,
      updatedBy: ctx.actor.label,
    };
  return {
    id: "",
    workspaceId: ws,
    name: input.name,
    valueEnc: "",
    dataKeyEnc: null,
    masterKeyId: null,
    description: description ?? "",
    version: 1,
    createdAt: now,
    updatedAt: now,
    updatedBy: ctx.actor.label,
  };
}

/** Per-bot delivery of the secret's new versions (pending, delivered, failed), newest first. */
export function secretRollouts(ctx: ServiceContext, name: string): RolloutView[] {
  const ws = authorize(ctx, "viewer");
  const r = ctx.db
    .select({ name: secrets.name })
    .from(secrets)
    .where(and(eq(secrets.workspaceId, ws), eq(secrets.name, name)))
    .get();
  if (!r) throw new ServiceError("not_found", `no secret named ${name.slice(0, 80)}`);
  return listRollouts(ctx.db, ws, [name]);
}

/** Names, versions, descriptions and users; never values. */
export function listSecrets(ctx: ServiceContext): SecretView[] {
  const ws = authorize(ctx, "viewer");
  const users = secretUsers(ctx.db, ws);
  return ctx.db
    .select()
    .from(secrets)
    .where(eq(secrets.workspaceId, ws))
    .orderBy(secrets.name)
    .all()
    .map((r) => view(r, users));
}

export function getSecret(ctx: ServiceContext, name: string): SecretView {
  const ws = authorize(ctx, "viewer");
  const r = ctx.db
    .select()
    .from(secrets)
    .where(and(eq(secrets.workspaceId, ws), eq(secrets.name, name)))
    .get();
  if (!r) throw new ServiceError("not_found", `no secret named ${name.slice(0, 80)}`);
  return view(r, secretUsers(ctx.db, ws));
}

/** Deletes a secret; refused while a bot or connector uses it (naming them). */
export function deleteSecret(ctx: ServiceContext, name: string): void {
  const ws = authorize(ctx, "admin");
  ctx.db.transaction((tx) => removeSecret(tx, ctx, ws, name), { behavior: "immediate" });
}
