import { and, desc, eq } from "drizzle-orm";
import { ServiceError } from "../core/errors.ts";
import type { Tx } from "../db/client.ts";
import { botRevisions, bots } from "../db/schema.ts";
import { CONDITION_TYPES, type Condition, type ConditionType, parseConditions } from "../domain/conditions.ts";
import type { Provenance } from "../domain/layers.ts";
import type { Manifest } from "../domain/manifest.ts";

/**
 * Bots and their revisions as stored: rows read and their JSON parsed in one place, so every caller sees the
 * same shape (the effective manifest with every layer applied and every secret reference).
 */

export type BotRow = typeof bots.$inferSelect;
type RevisionRow = typeof botRevisions.$inferSelect;
export type SecretRefs = Record<string, { secret: string }>;

/** One condition of a bot as shown: its type with the stored value. */
interface BotCondition extends Condition {
  type: ConditionType;
}

export interface BotView {
  id: string;
  name: string;
  fleet: string | null;
  environment: string | null;
  labels: Record<string, string>;
  provider: string;
  host: string;
  port: number;
  status: BotRow["status"];
  statusReason: string;
  desiredState: BotRow["desiredState"];
  desiredRevision: number;
  appliedRevision: number | null;
  drift: Manifest["spec"]["drift"];
  /** the conditions the status derives from, in CONDITION_TYPES order; a type not observed yet is left out */
  conditions: BotCondition[];
  createdAt: number;
  updatedAt: number;
}

export function botView(b: BotRow, manifest?: Manifest): BotView {
  return {
    id: b.id,
    name: b.name,
    fleet: b.fleet,
    environment: b.environment,
    labels: JSON.parse(b.labels),
    provider: b.provider,
    host: b.host,
    port: b.port,
    status: b.status,
    statusReason: b.statusReason,
    desiredState: b.desiredState,
    desiredRevision: b.desiredRevision,
    appliedRevision: b.appliedRevision,
    drift: manifest?.spec.drift ?? "revert",
    conditions: conditionList(b.conditions),
    createdAt: b.createdAt,
    updatedAt: b.updatedAt,
  };
}

/** The stored conditions as a list in display order (the same order in the API, the CLI and the pages). */
function conditionList(json: string | null | undefined): BotCondition[] {
  const cs = parseConditions(json);
  return CONDITION_TYPES.flatMap((type) => {
    const c = cs[type];
    return c ? [{ type, status: c.status, reason: c.reason, message: c.message, since: c.since }] : [];
  });
}

/** A bot of the workspace that is not being deleted; not_found otherwise. */
export function findBot(tx: Tx, ws: string, name: string): BotRow {
  const b = tx
    .select()
    .from(bots)
    .where(and(eq(bots.workspaceId, ws), eq(bots.name, name), eq(bots.deleting, false)))
    .get();
  if (!b) throw new ServiceError("not_found", `no bot named ${name.slice(0, 80)}`);
  return b;
}

/** A bot of the workspace, also while it is being deleted (its page and log stay readable until it is gone). */
export function findAnyBot(tx: Tx, ws: string, name: string): BotRow {
  const b = tx
    .select()
    .from(bots)
    .where(and(eq(bots.workspaceId, ws), eq(bots.name, name)))
    .get();
  if (!b) throw new ServiceError("not_found", `no bot named ${name.slice(0, 80)}`);
  return b;
}

export function botById(tx: Tx, id: string): BotRow {
  return tx.select().from(bots).where(eq(bots.id, id)).get()!;
}

export interface StoredRevision extends Omit<RevisionRow, "manifest" | "config" | "secretRefs" | "provenance"> {
  /** the bot's own manifest, as applied */
  manifest: Manifest;
  config: Record<string, unknown>;
  /** every secret reference delivered: the manifest's own and those of its template and connectors */
  secretRefs: SecretRefs;
  provenance: Record<string, Provenance>;
  /** the manifest with every layer applied and every secret reference: what the reconciler delivers */
  effective: Manifest;
}

function parseRevision(r: RevisionRow): StoredRevision {
  const manifest = JSON.parse(r.manifest) as Manifest;
  const layerRefs = JSON.parse(r.secretRefs) as SecretRefs;
  const openclaw = r.resolved ? (JSON.parse(r.resolved) as Record<string, unknown>) : manifest.spec.openclaw;
  return {
    ...r,
    manifest,
    config: JSON.parse(r.config) as Record<string, unknown>,
    secretRefs: { ...manifest.spec.secrets, ...layerRefs },
    provenance: JSON.parse(r.provenance) as Record<string, Provenance>,
    effective: { ...manifest, spec: { ...manifest.spec, openclaw, secrets: { ...manifest.spec.secrets, ...layerRefs } } },
  };
}

/** A bot's revision `revision`, or its newest one. */
export function latestRevision(tx: Tx, botId: string, revision?: number): StoredRevision {
  const r =
    revision === undefined
      ? tx.select().from(botRevisions).where(eq(botRevisions.botId, botId)).orderBy(desc(botRevisions.revision)).limit(1).get()
      : tx
          .select()
          .from(botRevisions)
          .where(and(eq(botRevisions.botId, botId), eq(botRevisions.revision, revision)))
          .get();
  if (!r) throw new ServiceError("not_found", `revision ${revision} not found`);
  return parseRevision(r);
}

/** The desired revision of a bot. */
export function desiredRevision(tx: Tx, bot: BotRow): StoredRevision {
  return latestRevision(tx, bot.id, bot.desiredRevision);
}

export interface LiveBot {
  row: BotRow;
  /** read on first use: many callers only need the row */
  rev(): StoredRevision;
}

/** The workspace's bots that are not being deleted, by name. */
export function liveBots(tx: Tx, ws: string): LiveBot[] {
  return tx
    .select()
    .from(bots)
    .where(and(eq(bots.workspaceId, ws), eq(bots.deleting, false)))
    .orderBy(bots.name)
    .all()
    .map((row) => {
      let rev: StoredRevision | undefined;
      return { row, rev: () => (rev ??= desiredRevision(tx, row)) };
    });
}
