import { randomUUID } from "node:crypto";
import { and, eq } from "drizzle-orm";
import { recordAudit } from "../core/audit.ts";
import { authorize, type ServiceContext } from "../core/context.ts";
import { ServiceError } from "../core/errors.ts";
import { inTransaction } from "../core/transaction.ts";
import type { Tx } from "../db/client.ts";
import { layers as layersTable } from "../db/schema.ts";
import {
  DOC_OF_KIND,
  type LayerDoc,
  LayerDocError,
  type StoredKind,
  sameDoc,
  toLayer,
  toStored,
  validateLayerDoc,
} from "../domain/layer-docs.ts";
import {
  type BotIdentity,
  isActive,
  type LayerConflict,
  type LayerKind,
  type Provenance,
  resolveLayers,
  selectorMatches,
  sortLayers,
} from "../domain/layers.ts";
import { type Manifest, NAME_RE } from "../domain/manifest.ts";
import { canonicalJson } from "../domain/openclaw-config.ts";
import { type ApplyResult, applyRevision, type BlastEntry, manifestInput, rerenderBots } from "../fleet/revisions.ts";
import {
  findLayerRow as findRow,
  gatherLayers,
  identityOf,
  type LayerRow as Row,
  layerRowDoc as rowDoc,
} from "../fleet/sources.ts";
import { desiredRevision, findAnyBot, findBot, liveBots } from "../fleet/store.ts";
import { isSecretKey, REDACTED, redactString } from "../secrets/redact.ts";

/**
 * Profiles (shared defaults a bot opts into by name) and overlays (targeted by a selector and an optional
 * time window). Saving either re-renders the bots it reaches inside the same transaction: the result is its
 * blast radius, and a change that would break any bot (a conflict, a locked field, a policy block, a
 * missing secret) is refused with nothing saved.
 */

export type { StoredKind } from "../domain/layer-docs.ts";

function mustFind(tx: Tx, ws: string, kind: StoredKind, name: string): Row {
  const row = NAME_RE.test(name) ? findRow(tx, ws, kind, name) : undefined;
  if (!row) throw new ServiceError("not_found", `no ${kind} named ${name.slice(0, 80)}`);
  return row;
}

// ---------- reading ----------

export interface LayerSummary {
  kind: StoredKind;
  name: string;
  description?: string;
  priority: number;
  version: number;
  enabled: boolean;
  /** enabled and inside its window now */
  active: boolean;
  locked: string[];
  selector?: LayerDoc["spec"]["selector"];
  window?: LayerDoc["spec"]["window"];
  /** profiles: the bots that list it; overlays: the bots it applies to now */
  bots: string[];
  createdAt: number;
  updatedAt: number;
}

export interface LayerDetail extends LayerSummary {
  document: LayerDoc;
  /** overlays: bots the selector matches whether or not the overlay is active now */
  matched: string[];
}

interface BotInfo {
  name: string;
  identity: BotIdentity;
  manifest: () => Manifest;
}

function workspaceBots(tx: Tx, ws: string): BotInfo[] {
  return liveBots(tx, ws).map(({ row: b, rev }) => {
    const manifest = () => rev().manifest;
    return {
      name: b.name,
      identity: {
        name: b.name,
        fleet: b.fleet ?? undefined,
        environment: b.environment ?? undefined,
        labels: JSON.parse(b.labels) as Record<string, string>,
      },
      manifest,
    };
  });
}

/** Every string with the known secret values taken out (a layer should hold none; if one slipped in, it is not echoed). */
function scrub<T>(v: T, depth = 0): T {
  if (typeof v === "string") return redactString(v) as T;
  if (depth > 40 || v === null || typeof v !== "object") return v;
  if (Array.isArray(v)) return v.map((x) => scrub(x, depth + 1)) as T;
  return Object.fromEntries(Object.entries(v as Record<string, unknown>).map(([k, x]) => [k, scrub(x, depth + 1)])) as T;
}

function summarize(row: Row, doc: LayerDoc, all: BotInfo[], now: Date): LayerDetail {
  const layer = toLayer(doc);
  const matched =
    row.kind === "overlay" ? all.filter((b) => selectorMatches(doc.spec.selector, b.identity)).map((b) => b.name) : [];
  const active = isActive(layer, now);
  const used =
    row.kind === "profile"
      ? all.filter((b) => (b.manifest().spec.profiles ?? []).includes(row.name)).map((b) => b.name)
      : active
        ? matched
        : [];
  return {
    kind: row.kind,
    name: row.name,
    description: doc.metadata.description,
    priority: doc.spec.priority,
    version: row.version,
    enabled: doc.spec.enabled,
    active,
    locked: doc.spec.locked ?? [],
    selector: doc.spec.selector,
    window: doc.spec.window,
    bots: used,
    createdAt: row.createdAt,
    updatedAt: row.updatedAt,
    document: scrub(doc),
    matched,
  };
}

export function listLayers(ctx: ServiceContext, kind: StoredKind): LayerSummary[] {
  const ws = authorize(ctx, "viewer");
  const now = new Date(ctx.now());
  const all = workspaceBots(ctx.db, ws);
  return ctx.db
    .select()
    .from(layersTable)
    .where(and(eq(layersTable.workspaceId, ws), eq(layersTable.kind, kind)))
    .orderBy(layersTable.name)
    .all()
    .map((row) => {
      const { document: _d, matched: _m, ...s } = summarize(row, rowDoc(row), all, now);
      return s;
    });
}

export function getLayer(ctx: ServiceContext, kind: StoredKind, name: string): LayerDetail {
  const ws = authorize(ctx, "viewer");
  const row = mustFind(ctx.db, ws, kind, name);
  return summarize(row, rowDoc(row), workspaceBots(ctx.db, ws), new Date(ctx.now()));
}

// ---------- changing ----------

export interface LayerChangeResult {
  kind: StoredKind;
  name: string;
  action: "created" | "updated" | "unchanged" | "deleted";
  /** the stored version after the change (for a delete: the version deleted) */
  version: number;
  dryRun: boolean;
  /** the blast radius: every bot whose config changes, with its diff and its new revision */
  bots: BlastEntry[];
  /** bots the layer reaches whose config stays the same */
  unchanged: string[];
}

/** A refusal that names every bot that would break and each of its paths. */
function refusal(kind: StoredKind, name: string, verb: string, failed: BlastEntry[]): ServiceError {
  const allPolicy = failed.every((f) => f.error?.code === "policy_blocked");
  const details = failed.flatMap((f) => {
    const issues = f.error?.issues?.length
      ? f.error.issues
      : [{ path: "(bot)", message: f.error?.message ?? "could not be rendered" }];
    return issues.map((i) => ({ bot: f.bot, path: i.path, message: `bot ${f.bot}: ${i.message}` }));
  });
  const what = failed.map((f) => f.error?.message ?? `bot ${f.bot} could not be rendered`).join("; ");
  return new ServiceError(
    allPolicy ? "policy_blocked" : "invalid_request",
    `${verb} ${kind} ${name} would break ${failed.length} bot${failed.length === 1 ? "" : "s"} (${failed.map((f) => f.bot).join(", ")}); nothing was saved. ${what}`,
    details,
  );
}

function docError(e: unknown): never {
  if (e instanceof LayerDocError) throw new ServiceError("invalid_request", e.message, e.issues);
  throw e;
}

/** The bots a change to this layer can reach, before and after it. */
function reach(kind: StoredKind, name: string, before: LayerDoc | null, after: LayerDoc | null): (m: Manifest) => boolean {
  if (kind === "profile") return (m) => (m.spec.profiles ?? []).includes(name);
  const docs = [before, after].filter((d): d is LayerDoc => d !== null);
  return (m) => docs.some((d) => selectorMatches(d.spec.selector, identityOf(m)));
}

/**
 * Stores (or removes, with `next` null) one layer and re-renders the bots it reaches, in one immediate
 * transaction. Any bot that would fail refuses the whole change. A dry run does the same and rolls back.
 */
function change(
  ctx: ServiceContext,
  ws: string,
  kind: StoredKind,
  name: string,
  next: LayerDoc | null,
  opts: { dryRun?: boolean; audit?: string },
): LayerChangeResult {
  const dryRun = !!opts.dryRun;
  const run = (tx: Tx): LayerChangeResult => {
    const now = ctx.now();
    const row = findRow(tx, ws, kind, name);
    const before = row ? rowDoc(row) : null;
    let action: LayerChangeResult["action"];
    let version: number;
    let id: string;
    if (next === null) {
      if (!row) throw new ServiceError("not_found", `no ${kind} named ${name}`);
      if (kind === "profile") {
        const users = workspaceBots(tx, ws)
          .filter((b) => (b.manifest().spec.profiles ?? []).includes(name))
          .map((b) => b.name);
        if (users.length) {
          throw new ServiceError(
            "conflict",
            `profile ${name} is used by ${users.join(", ")}; detach it from ${users.length === 1 ? "that bot" : "those bots"} first`,
            users.map((b) => ({ bot: b, path: "spec.profiles", message: `bot ${b} lists profile ${name}` })),
          );
        }
      }
      tx.delete(layersTable).where(eq(layersTable.id, row.id)).run();
      action = "deleted";
      version = row.version;
      id = row.id;
    } else if (row && before && sameDoc(before, next)) {
      return { kind, name, action: "unchanged", version: row.version, dryRun, bots: [], unchanged: [] };
    } else if (row) {
      version = row.version + 1;
      id = row.id;
      tx.update(layersTable)
        .set({ spec: JSON.stringify(toStored(next)), version, updatedAt: now })
        .where(eq(layersTable.id, row.id))
        .run();
      action = "updated";
    } else {
      version = 1;
      id = randomUUID();
      tx.insert(layersTable)
        .values({
          id,
          workspaceId: ws,
          kind,
          name,
          spec: JSON.stringify(toStored(next)),
          version,
          createdAt: now,
          updatedAt: now,
        })
        .run();
      action = "created";
    }
    const reason = next === null ? `${kind} ${name} deleted` : `${kind} ${name} v${version}`;
    const blast = rerenderBots(tx, ctx, ws, { write: !dryRun, reason, only: reach(kind, name, before, next) });
    const failed = blast.filter((b) => b.action === "failed");
    if (failed.length) throw refusal(kind, name, next === null ? "deleting" : "saving", failed);
    const result: LayerChangeResult = {
      kind,
      name,
      action,
      version,
      dryRun,
      bots: blast.filter((b) => b.action === "updated"),
      unchanged: blast.filter((b) => b.action === "unchanged").map((b) => b.bot),
    };
    if (dryRun) return result;
    recordAudit(tx, ctx, {
      action: opts.audit ?? `${kind}.${action === "created" ? "create" : action === "deleted" ? "delete" : "update"}`,
      resourceType: kind,
      resourceId: id,
      summary: {
        name,
        version,
        bots: result.bots.map((b) => ({ name: b.bot, revision: b.revision, paths: b.changes.map((c) => c.path) })),
      },
    });
    return result;
  };
  return inTransaction(ctx, dryRun, run);
}

/**
 * Creates or updates a profile or overlay from its document. `name` (from the address) must match
 * `metadata.name`; it fills it in when the document leaves it out.
 */
export function applyLayer(
  ctx: ServiceContext,
  kind: StoredKind,
  input: unknown,
  opts: { name?: string; dryRun?: boolean } = {},
): LayerChangeResult {
  const ws = authorize(ctx, "operator");
  if (
    opts.name !== undefined &&
    (input === undefined || input === null || (typeof input === "object" && Object.keys(input).length === 0))
  ) {
    // nothing to store: say whether there is anything at that name
    if (!NAME_RE.test(opts.name) || !findRow(ctx.db, ws, kind, opts.name)) {
      throw new ServiceError(
        "not_found",
        `no ${kind} named ${opts.name.slice(0, 80)}; send a ${DOC_OF_KIND[kind]} document to create it`,
      );
    }
    throw new ServiceError("invalid_request", `send the whole ${DOC_OF_KIND[kind]} document (apiVersion, kind, metadata, spec)`, [
      { path: "(body)", message: "empty" },
    ]);
  }
  let doc: LayerDoc;
  try {
    const body =
      opts.name !== undefined && input && typeof input === "object" && !Array.isArray(input)
        ? withName(input as Record<string, unknown>, opts.name)
        : input;
    doc = validateLayerDoc(body, { kind, name: opts.name });
  } catch (e) {
    docError(e);
  }
  return change(ctx, ws, kind, doc.metadata.name, doc, { dryRun: opts.dryRun });
}

function withName(input: Record<string, unknown>, name: string): Record<string, unknown> {
  const md = input.metadata;
  if (md === undefined) return { ...input, metadata: { name } };
  if (md && typeof md === "object" && !Array.isArray(md) && (md as Record<string, unknown>).name === undefined)
    return { ...input, metadata: { ...md, name } };
  return input;
}

/** Deletes a layer. A profile that bots list is refused (naming them); an overlay shows its blast radius. */
export function deleteLayer(
  ctx: ServiceContext,
  kind: StoredKind,
  name: string,
  opts: { dryRun?: boolean } = {},
): LayerChangeResult {
  const ws = authorize(ctx, "operator");
  mustFind(ctx.db, ws, kind, name);
  return change(ctx, ws, kind, name, null, { dryRun: opts.dryRun });
}

/** Turns an overlay on or off (a new version), with its blast radius. */
export function setOverlayEnabled(
  ctx: ServiceContext,
  name: string,
  enabled: boolean,
  opts: { dryRun?: boolean } = {},
): LayerChangeResult {
  const ws = authorize(ctx, "operator");
  const row = mustFind(ctx.db, ws, "overlay", name);
  const doc = rowDoc(row);
  return change(
    ctx,
    ws,
    "overlay",
    name,
    { ...doc, spec: { ...doc.spec, enabled } },
    { dryRun: opts.dryRun, audit: enabled ? "overlay.enable" : "overlay.disable" },
  );
}

// ---------- attaching profiles to bots ----------

function desiredManifest(tx: Tx, ws: string, botName: string): Manifest {
  if (!NAME_RE.test(botName)) throw new ServiceError("not_found", `no bot named ${botName.slice(0, 80)}`);
  return desiredRevision(tx, findBot(tx, ws, botName)).manifest;
}

function withProfiles(m: Manifest, profiles: string[]): Manifest {
  const spec = { ...m.spec };
  if (profiles.length) spec.profiles = profiles;
  else delete spec.profiles;
  return { ...m, spec };
}

/**
 * Adds a profile to a bot's `spec.profiles` (last, so it wins over the others of equal priority) and applies
 * the bot's manifest: a normal revision, refused like any apply when it would break the bot.
 */
export function attachProfile(
  ctx: ServiceContext,
  botName: string,
  profile: unknown,
  opts: { dryRun?: boolean; source?: "apply" | "ui" } = {},
): ApplyResult {
  const ws = authorize(ctx, "operator");
  return inTransaction(ctx, !!opts.dryRun, (tx) => {
    const m = desiredManifest(tx, ws, botName);
    if (typeof profile !== "string" || !profile)
      throw new ServiceError("invalid_request", "name the profile to attach", [{ path: "profile", message: "required" }]);
    mustFind(tx, ws, "profile", profile);
    const list = m.spec.profiles ?? [];
    if (list.includes(profile))
      throw new ServiceError("conflict", `bot ${botName} already uses profile ${profile}`, [
        { path: "profile", message: "already attached" },
      ]);
    if (list.length >= 20)
      throw new ServiceError(
        "invalid_request",
        `bot ${botName} already has 20 profiles, the most it can have; detach one first`,
        [{ path: "profile", message: "too many profiles" }],
      );
    return applyRevision(tx, ctx, ws, manifestInput(withProfiles(m, [...list, profile])), { source: opts.source ?? "apply" });
  });
}

/** Removes a profile from a bot's `spec.profiles` and applies the bot's manifest. */
export function detachProfile(
  ctx: ServiceContext,
  botName: string,
  profile: string,
  opts: { dryRun?: boolean; source?: "apply" | "ui" } = {},
): ApplyResult {
  const ws = authorize(ctx, "operator");
  return inTransaction(ctx, !!opts.dryRun, (tx) => {
    const m = desiredManifest(tx, ws, botName);
    const list = m.spec.profiles ?? [];
    if (!list.includes(profile))
      throw new ServiceError("not_found", `bot ${botName} does not use profile ${profile.slice(0, 80)}`);
    return applyRevision(
      tx,
      ctx,
      ws,
      manifestInput(
        withProfiles(
          m,
          list.filter((p) => p !== profile),
        ),
      ),
      { source: opts.source ?? "apply" },
    );
  });
}

// ---------- the resolved view ----------

interface ResolvedLayer {
  kind: LayerKind;
  id: string;
  name: string;
  priority: number;
}

export interface ResolvedConfig {
  bot: string;
  /** the desired revision the bot's own layer comes from */
  revision: number;
  value: Record<string, unknown>;
  provenance: Record<string, Provenance>;
  conflicts: LayerConflict[];
  /** references that cannot be resolved (a missing profile, template or connector) */
  problems: { path: string; message: string }[];
  /** the layers that apply now, in the order they apply */
  layers: ResolvedLayer[];
  /** what the desired revision stored when it was made */
  stored: { revision: number; provenance: Record<string, Provenance>; upToDate: boolean };
}

const ENV_REF = /^\$\{[A-Z][A-Z0-9_]*\}$/;

/** Values under secret-looking keys are shown only when they are references (SecretRef objects or `${VAR}`). */
function redactValues<T>(v: T, key = "", depth = 0): T {
  if (depth > 40) return REDACTED as T;
  if (typeof v === "string") return (isSecretKey(key) && !ENV_REF.test(v) ? REDACTED : redactString(v)) as T;
  if (Array.isArray(v)) return v.map((x) => redactValues(x, key, depth + 1)) as T;
  if (v && typeof v === "object") {
    const out: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v as Record<string, unknown>)) out[k] = redactValues(x, k, depth + 1);
    return out as T;
  }
  return v;
}

function redactProvenance(p: Record<string, Provenance>): Record<string, Provenance> {
  const out: Record<string, Provenance> = {};
  for (const [path, e] of Object.entries(p)) {
    const key = path.split(".").pop() ?? "";
    out[path] = e.overrode
      ? { layer: e.layer, overrode: e.overrode.map((o) => ({ layer: o.layer, value: redactValues(o.value, key) })) }
      : { layer: e.layer };
  }
  return out;
}

/**
 * The bot's configuration as it resolves now from the stored layers, with the layer that set each path and
 * what it overrode. Secret values never appear: only references.
 */
export function resolvedConfig(ctx: ServiceContext, botName: string): ResolvedConfig {
  const ws = authorize(ctx, "viewer");
  if (!NAME_RE.test(botName)) throw new ServiceError("not_found", `no bot named ${botName.slice(0, 80)}`);
  const b = findAnyBot(ctx.db, ws, botName);
  const rev = desiredRevision(ctx.db, b);
  const m = rev.manifest;
  const now = new Date(ctx.now());
  const gathered = gatherLayers(ctx.db, ws, m, now);
  const all = gathered.layers;
  const resolution = resolveLayers(all, now);
  const storedValue = rev.resolved ? (JSON.parse(rev.resolved) as unknown) : m.spec.openclaw;
  return {
    bot: b.name,
    revision: rev.revision,
    value: redactValues(resolution.value),
    provenance: redactProvenance(resolution.provenance),
    conflicts: resolution.conflicts.map((c) => ({ ...c, message: redactString(c.message) })),
    problems: gathered.problems,
    layers: sortLayers(all.filter((l) => isActive(l, now))).map((l) => ({
      kind: l.kind,
      id: l.id,
      name: l.name,
      priority: l.priority,
    })),
    stored: {
      revision: rev.revision,
      provenance: redactProvenance(rev.provenance),
      upToDate: canonicalJson(storedValue) === canonicalJson(resolution.value),
    },
  };
}
