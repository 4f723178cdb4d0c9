import { randomUUID } from "node:crypto";
import { and, eq, inArray } from "drizzle-orm";
import { recordAudit } from "../core/audit.ts";
import type { ServiceContext } from "../core/context.ts";
import { ServiceError } from "../core/errors.ts";
import type { Tx } from "../db/client.ts";
import { botRevisions, bots, connectors, secrets } from "../db/schema.ts";
import { NAME_RE } from "../domain/manifest.ts";
import type { Keyring } from "../secrets/keyring.ts";
import { registerSecret } from "../secrets/redact.ts";
import { openSecretValue, sealSecretValue } from "../secrets/vault.ts";

/**
 * The vault as the desired-state machinery uses it: who uses which secret, which references are missing, writing a
 * new version (for the vault verbs and connectors alike), and — for the reconciler only — the values themselves.
 * No authorization here: the verbs that call these check the actor first.
 */

export type SecretRow = typeof secrets.$inferSelect;

export interface SecretUsers {
  /** bots whose desired revision references the secret (manifest, template or connector reference) */
  bots: string[];
  /** connectors that keep their credential in the secret */
  connectors: string[];
}

export const MAX_SECRET_BYTES = 65536;
export const MAX_DESCRIPTION = 500;

/** Who uses each secret of the workspace: bots (their desired revision's references) and connectors. */
export function secretUsers(tx: Tx, workspaceId: string): Map<string, SecretUsers> {
  const out = new Map<string, SecretUsers>();
  const entry = (name: string) => {
    let e = out.get(name);
    if (!e) {
      e = { bots: [], connectors: [] };
      out.set(name, e);
    }
    return e;
  };
  const rows = tx
    .select({ name: bots.name, manifest: botRevisions.manifest, refs: botRevisions.secretRefs })
    .from(bots)
    .innerJoin(botRevisions, and(eq(botRevisions.botId, bots.id), eq(botRevisions.revision, bots.desiredRevision)))
    .where(and(eq(bots.workspaceId, workspaceId), eq(bots.deleting, false)))
    .orderBy(bots.name)
    .all();
  for (const r of rows) {
    const manifestRefs =
      (JSON.parse(r.manifest) as { spec?: { secrets?: Record<string, { secret?: unknown }> } }).spec?.secrets ?? {};
    const refs = { ...manifestRefs, ...(JSON.parse(r.refs) as Record<string, { secret?: unknown }>) };
    const names = new Set(
      Object.values(refs)
        .map((x) => x?.secret)
        .filter((x): x is string => typeof x === "string"),
    );
    for (const n of names) entry(n).bots.push(r.name);
  }
  for (const c of tx
    .select({ name: connectors.name, secretName: connectors.secretName, settings: connectors.settings })
    .from(connectors)
    .where(eq(connectors.workspaceId, workspaceId))
    .orderBy(connectors.name)
    .all()) {
    const names = new Set<string>();
    if (c.secretName) names.add(c.secretName);
    // a second credential (e.g. Slack's app token) is kept as settings.<something>Secret
    try {
      for (const [k, v] of Object.entries(JSON.parse(c.settings) as Record<string, unknown>))
        if (/secret$/i.test(k) && typeof v === "string") names.add(v);
    } catch {
      // settings are validated JSON; nothing to add otherwise
    }
    for (const n of names) entry(n).connectors.push(c.name);
  }
  return out;
}

/**
 * Why `value` cannot be delivered to a bot, or undefined when it can. Every secret reaches its bot as one
 * `KEY=value` line of a 0600 env file (literal to the end of the line, no quoting), so a line break or a NUL
 * would cut the value or forge another variable; it is refused where the value enters, not at the next
 * reconcile.
 */
export function secretValueProblem(value: string): string | undefined {
  if (/[\r\n]/.test(value))
    return "contains a line break; a secret reaches the bot as one line of its env file — store it on one line (join the lines, or base64-encode a multi-line value such as a PEM key)";
  if (value.includes("\0")) return "contains a NUL byte, which an env file cannot carry; store the value without it";
  return undefined;
}

/** Refuses a name, value or description the vault cannot store, naming each wrong field (invalid_request). */
export function checkSecretInput(input: { name: string; value: string; description?: string }): void {
  const details: { path: string; message: string }[] = [];
  if (!NAME_RE.test(input.name)) details.push({ path: "name", message: "lowercase letters, digits and dashes, 1–63 characters" });
  if (typeof input.value !== "string" || !input.value) details.push({ path: "value", message: "required" });
  else if (Buffer.byteLength(input.value) > MAX_SECRET_BYTES)
    details.push({ path: "value", message: `at most ${MAX_SECRET_BYTES} bytes` });
  else {
    const problem = secretValueProblem(input.value);
    if (problem) details.push({ path: "value", message: problem });
  }
  if (input.description !== undefined && (typeof input.description !== "string" || input.description.length > MAX_DESCRIPTION))
    details.push({ path: "description", message: `at most ${MAX_DESCRIPTION} characters` });
  if (details.length) {
    throw new ServiceError(
      "invalid_request",
      `the secret cannot be stored: ${details.map((d) => `${d.path} — ${d.message}`).join("; ")}`,
      details,
    );
  }
}

export interface SecretInput {
  name: string;
  value: string;
  description?: string;
}

/**
 * Creates a secret or stores a new version of its value (sealed with a new data key), with its audit entry, in
 * the caller's transaction. The value is registered for redaction before anything else happens.
 */
export function writeSecret(
  tx: Tx,
  ctx: Pick<ServiceContext, "keyring" | "actor" | "requestId" | "now">,
  ws: string,
  input: SecretInput,
): SecretRow {
  if (typeof input.value === "string") registerSecret(input.value);
  checkSecretInput(input);
  const description = input.description?.trim();
  const now = ctx.now();
  const existing = tx
    .select()
    .from(secrets)
    .where(and(eq(secrets.workspaceId, ws), eq(secrets.name, input.name)))
    .get();
  if (existing) {
    const version = existing.version + 1;
    const sealed = sealSecretValue(ctx.keyring, { id: existing.id, workspaceId: ws, name: input.name, version }, input.value);
    tx.update(secrets)
      .set({ ...sealed, version, description: description ?? existing.description, updatedAt: now, updatedBy: ctx.actor.label })
      .where(eq(secrets.id, existing.id))
      .run();
    recordAudit(tx, ctx, {
      action: "secret.update",
      resourceType: "secret",
      resourceId: input.name,
      summary: { version, ...(description !== undefined && description !== existing.description ? { description } : {}) },
    });
  } else {
    const id = randomUUID();
    const sealed = sealSecretValue(ctx.keyring, { id, workspaceId: ws, name: input.name, version: 1 }, input.value);
    tx.insert(secrets)
      .values({
        id,
        workspaceId: ws,
        name: input.name,
        ...sealed,
        description: description ?? "",
        updatedBy: ctx.actor.label,
        version: 1,
        createdAt: now,
        updatedAt: now,
      })
      .run();
    recordAudit(tx, ctx, {
      action: "secret.create",
      resourceType: "secret",
      resourceId: input.name,
      summary: { version: 1, ...(description ? { description } : {}) },
    });
  }
  return tx
    .select()
    .from(secrets)
    .where(and(eq(secrets.workspaceId, ws), eq(secrets.name, input.name)))
    .get()!;
}

/** Deletes a secret in the caller's transaction; refused while a bot or connector uses it (naming them). */
export function removeSecret(tx: Tx, ctx: Pick<ServiceContext, "actor" | "requestId" | "now">, ws: string, name: string): void {
  const row = tx
    .select({ id: secrets.id })
    .from(secrets)
    .where(and(eq(secrets.workspaceId, ws), eq(secrets.name, name)))
    .get();
  if (!row) throw new ServiceError("not_found", `no secret named ${name.slice(0, 80)}`);
  const u = secretUsers(tx, ws).get(name);
  if (u && (u.bots.length || u.connectors.length)) {
    const who = [
      u.bots.length ? `bot${u.bots.length > 1 ? "s" : ""} ${u.bots.join(", ")}` : "",
      u.connectors.length ? `connector${u.connectors.length > 1 ? "s" : ""} ${u.connectors.join(", ")}` : "",
    ]
      .filter(Boolean)
      .join(" and ");
    throw new ServiceError(
      "conflict",
      `the secret ${name} is in use by ${who}; remove those references first (or delete the bots/connectors), then delete it`,
      [
        ...u.bots.map((b) => ({ path: `bots.${b}`, message: `references secret ${name}` })),
        ...u.connectors.map((c) => ({ path: `connectors.${c}`, message: `keeps its credential in secret ${name}` })),
      ],
    );
  }
  tx.delete(secrets).where(eq(secrets.id, row.id)).run();
  recordAudit(tx, ctx, { action: "secret.delete", resourceType: "secret", resourceId: name });
}

/** Names among `names` that do not exist in the workspace. */
export function missingSecrets(db: Tx, workspaceId: string, names: string[]): string[] {
  if (!names.length) return [];
  const have = new Set(
    db
      .select({ name: secrets.name })
      .from(secrets)
      .where(and(eq(secrets.workspaceId, workspaceId), inArray(secrets.name, names)))
      .all()
      .map((r) => r.name),
  );
  return names.filter((n) => !have.has(n));
}

/** Decrypts the named secrets for delivery to a bot (env file). Only the reconciler calls this. */
export function resolveSecretValues(
  db: Tx,
  keyring: Keyring,
  workspaceId: string,
  refs: Record<string, { secret: string }>,
): Record<string, string> {
  const out: Record<string, string> = {};
  const missing: string[] = [];
  for (const [envKey, ref] of Object.entries(refs)) {
    const row = db
      .select()
      .from(secrets)
      .where(and(eq(secrets.workspaceId, workspaceId), eq(secrets.name, ref.secret)))
      .get();
    if (!row) {
      missing.push(ref.secret);
      continue;
    }
    const v = openSecretValue(keyring, row);
    registerSecret(v);
    // stored before values were checked at input: say which secret and how to fix it, before any file is written
    const problem = secretValueProblem(v);
    if (problem)
      throw new ServiceError(
        "invalid_request",
        `secret ${ref.secret} (version ${row.version}, delivered as ${envKey}) ${problem}; store it again: molthub vault set ${ref.secret}`,
        [{ path: `spec.secrets.${envKey}`, message: `secret ${ref.secret} ${problem}` }],
      );
    out[envKey] = v;
  }
  if (missing.length)
    throw new ServiceError(
      "invalid_request",
      `missing secret${missing.length > 1 ? "s" : ""}: ${missing.join(", ")}; create ${missing.length > 1 ? "them" : "it"} first (molthub vault set NAME)`,
      missing.map((m) => ({ path: `spec.secrets → ${m}`, message: "no such secret" })),
    );
  return out;
}

/** Refuses a bot whose secret references (its own, its template's and its connectors') name a missing secret. */
export function assertSecretsExist(tx: Tx, ws: string, botName: string, refs: Record<string, { secret: string }>): void {
  const missing = missingSecrets(tx, ws, [...new Set(Object.values(refs).map((s) => s.secret))]);
  if (!missing.length) return;
  const many = missing.length > 1;
  throw new ServiceError(
    "invalid_request",
    // said the same way by an apply, a dry run and `policy check`, which all reach this through the render pipeline
    `bot ${botName} references ${many ? "missing secrets" : "a missing secret"} ${missing.join(", ")}; store ${many ? "them" : "it"} first (molthub vault set NAME, or the Secrets page)`,
    missing.map((s) => ({ path: "spec.secrets", message: `secret ${s} does not exist` })),
  );
}

/**
 * The current version of each secret the references name, by secret name (a missing secret is left out). The
 * reconciler stores this as `bots.applied_secrets` when a start or restart delivered the env built from the same
 * references, so every bot can say which versions it runs.
 *
 * @example secretVersions(db, ws, { ANTHROPIC_API_KEY: { secret: "anthropic-key" } }) // { "anthropic-key": 3 }
 */
export function secretVersions(db: Tx, workspaceId: string, refs: Record<string, { secret: string }>): Record<string, number> {
  const names = [...new Set(Object.values(refs).map((r) => r.secret))];
  if (!names.length) return {};
  const out: Record<string, number> = {};
  for (const r of db
    .select({ name: secrets.name, version: secrets.version })
    .from(secrets)
    .where(and(eq(secrets.workspaceId, workspaceId), inArray(secrets.name, names)))
    .orderBy(secrets.name)
    .all())
    out[r.name] = r.version;
  return out;
}

/** The applied-secrets JSON of a bot row (`{[secret name]: version}`); anything unreadable is "not recorded". */
export function parseAppliedSecrets(json: string | null | undefined): Record<string, number> {
  if (!json) return {};
  try {
    const v = JSON.parse(json) as unknown;
    if (!v || typeof v !== "object" || Array.isArray(v)) return {};
    return Object.fromEntries(
      Object.entries(v as Record<string, unknown>).filter((e): e is [string, number] => Number.isInteger(e[1])),
    );
  } catch {
    return {};
  }
}

export interface OutdatedSecret {
  secret: string;
  /** the version the running gateway was started with */
  running: number;
  /** the version in the vault now */
  current: number;
}

/**
 * Which of a running bot's secrets are older than the vault's: `applied` is what it was started with
 * (`bots.applied_secrets`), `current` the vault's versions of the secrets its desired revision references
 * (`secretVersions`). A secret with no recorded version is not called outdated here: nothing is known about it
 * (bots started before versions were recorded); `botSecrets` in fleet/rollouts.ts falls back on the rollout rows.
 *
 * @example outdatedSecrets({ "anthropic-key": 1 }, { "anthropic-key": 2 }) // [{ secret: "anthropic-key", running: 1, current: 2 }]
 */
export function outdatedSecrets(applied: Record<string, number>, current: Record<string, number>): OutdatedSecret[] {
  return Object.keys(current)
    .sort()
    .flatMap((secret) => {
      const running = applied[secret];
      return running !== undefined && running < current[secret]! ? [{ secret, running, current: current[secret]! }] : [];
    });
}
