import { randomUUID } from "node:crypto";
import { and, eq, inArray } from "drizzle-orm";
import { secrets } from "../db/schema.ts";
import type { Tx } from "../db/client.ts";
import type { Keyring } from "../secrets/keyring.ts";
import { registerSecret } from "../secrets/redact.ts";
import { recordAudit } from "./audit.ts";
import { authorize, ServiceError, type ServiceContext } from "./context.ts";
import { NAME_RE } from "../domain/manifest.ts";

/**
 * A minimal encrypted secret table: values are sealed with the appliance key (AES-256-GCM, bound to
 * workspace and name) and are write-only through the API. The full vault replaces it later.
 */
export interface SecretView {
  name: string;
  version: number;
  updatedAt: number;
}

export function putSecret(ctx: ServiceContext, input: { name: string; value: string }): SecretView {
  const ws = authorize(ctx, "operator");
  if (!NAME_RE.test(input.name)) throw new ServiceError("invalid_request", "secret names use lowercase letters, digits and dashes", [{ path: "name", message: "invalid name" }]);
  if (!input.value) throw new ServiceError("invalid_request", "the secret value is empty", [{ path: "value", message: "required" }]);
  registerSecret(input.value);
  return ctx.db.transaction((tx) => {
    const now = ctx.now();
    const existing = tx.select().from(secrets).where(and(eq(secrets.workspaceId, ws), eq(secrets.name, input.name))).get();
    const valueEnc = ctx.keyring.seal("secret", input.value, `${ws}/${input.name}`);
    if (existing) {
      tx.update(secrets).set({ valueEnc, version: existing.version + 1, updatedAt: now }).where(eq(secrets.id, existing.id)).run();
      recordAudit(tx, ctx, { action: "secret.update", resourceType: "secret", resourceId: input.name, summary: { version: existing.version + 1 } });
      return { name: input.name, version: existing.version + 1, updatedAt: now };
    }
    tx.insert(secrets).values({ id: randomUUID(), workspaceId: ws, name: input.name, valueEnc, version: 1, createdAt: now, updatedAt: now }).run();
    recordAudit(tx, ctx, { action: "secret.create", resourceType: "secret", resourceId: input.name, summary: { version: 1 } });
    return { name: input.name, version: 1, updatedAt: now };
  }, { behavior: "immediate" });
}

export function listSecrets(ctx: ServiceContext): SecretView[] {
  const ws = authorize(ctx, "viewer");
  return ctx.db.select({ name: secrets.name, version: secrets.version, updatedAt: secrets.updatedAt }).from(secrets).where(eq(secrets.workspaceId, ws)).orderBy(secrets.name).all();
}

export function deleteSecret(ctx: ServiceContext, name: string): void {
  const ws = authorize(ctx, "admin");
  ctx.db.transaction((tx) => {
    const r = tx.delete(secrets).where(and(eq(secrets.workspaceId, ws), eq(secrets.name, name))).returning({ id: secrets.id }).all();
    if (!r.length) throw new ServiceError("not_found", `no secret named ${name}`);
    recordAudit(tx, ctx, { action: "secret.delete", resourceType: "secret", resourceId: name });
  }, { behavior: "immediate" });
}

/** Names among `names` that do not exist in the workspace. */
export function missingSecrets(db: Tx, workspaceId: string, names: string[]): string[] {
  if (!names.length) return [];
  const have = new Set(db.select({ name: secrets.name }).from(secrets).where(and(eq(secrets.workspaceId, workspaceId), inArray(secrets.name, names))).all().map((r) => r.name));
  return names.filter((n) => !have.has(n));
}

/** Decrypts the named secrets for delivery to a bot (env file). Only the reconciler calls this. */
export function resolveSecretValues(db: Tx, keyring: Keyring, workspaceId: string, refs: Record<string, { secret: string }>): Record<string, string> {
  const out: Record<string, string> = {};
  const missing: string[] = [];
  for (const [envKey, ref] of Object.entries(refs)) {
    const row = db.select().from(secrets).where(and(eq(secrets.workspaceId, workspaceId), eq(secrets.name, ref.secret))).get();
    if (!row) {
      missing.push(ref.secret);
      continue;
    }
    const v = keyring.open("secret", row.valueEnc, `${workspaceId}/${ref.secret}`).toString();
    registerSecret(v);
    out[envKey] = v;
  }
  if (missing.length) throw new ServiceError("invalid_request", `missing secret${missing.length > 1 ? "s" : ""}: ${missing.join(", ")}; create ${missing.length > 1 ? "them" : "it"} first (molthub secret set NAME)`, missing.map((m) => ({ path: `spec.secrets → ${m}`, message: "no such secret" })));
  return out;
}
