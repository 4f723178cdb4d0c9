import { and, eq } from "drizzle-orm";
import { authorize, type ServiceContext } from "../core/context.ts";
import { ServiceError } from "../core/errors.ts";
import { secrets } from "../db/schema.ts";
import { removeSecret, type SecretInput, type SecretUsers, secretUsers, writeSecret } from "../fleet/secrets.ts";

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

/**
 * Creates a secret or replaces its value (a new version, sealed with a new data key). The value is registered
 * for redaction before anything else happens. `description` is kept when omitted.
 */
export function putSecret(ctx: ServiceContext, input: SecretInput): SecretView {
  const ws = authorize(ctx, "operator");
  return ctx.db.transaction((tx) => view(writeSecret(tx, ctx, ws, input), secretUsers(tx, ws)), { behavior: "immediate" });
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
