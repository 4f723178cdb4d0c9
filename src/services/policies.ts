import { randomUUID } from "node:crypto";
import { and, desc, eq } from "drizzle-orm";
import { stringify as toYaml } from "yaml";
import { recordAudit } from "../core/audit.ts";
import { authorize, type ServiceContext } from "../core/context.ts";
import { ServiceError } from "../core/errors.ts";
import { inTransaction } from "../core/transaction.ts";
import type { Tx } from "../db/client.ts";
import { bots, policyExceptions, policyPacks } from "../db/schema.ts";
import { NAME_RE, targetHost } from "../domain/manifest.ts";
import { canonicalJson } from "../domain/openclaw-config.ts";
import {
  type EvaluationResult,
  type ExceptedViolation,
  PolicyError,
  type PolicyPack,
  parsePack,
  type Rule,
  type Violation,
  validatePack,
} from "../domain/policy.ts";
import { builtinPack } from "../domain/policy-packs/index.ts";
import {
  type BotFindings,
  evaluateBotPolicy,
  fleetFindings,
  type PackState,
  packStates,
  knownRuleIds as ruleIds,
} from "../fleet/policy.ts";
import { renderBot } from "../fleet/render.ts";
import { allocateBotPort, manifestInput } from "../fleet/revisions.ts";
import { desiredRevision, findBot } from "../fleet/store.ts";

export type { BotFindings } from "../fleet/policy.ts";

/**
 * Policy packs of a workspace: the built-in packs (on and enforcing unless a row says otherwise), the
 * workspace's custom packs (stored as validated data), and time-boxed exceptions. The evaluation itself lives in
 * fleet/policy.ts (every write path and the reconciler use it); these verbs manage the packs and exceptions and
 * report, after each change, which bots now violate.
 */

/** Longest an exception may last. */
const MAX_EXCEPTION_DAYS = 366;
const DAY = 86_400_000;

// ---------- views ----------

export interface PackView {
  id: string;
  name: string;
  description: string;
  builtin: boolean;
  enabled: boolean;
  /** the mode in force */
  mode: "enforce" | "advisory";
  /** the pack's own mode (before a workspace override) */
  defaultMode: "enforce" | "advisory";
  scope: NonNullable<PolicyPack["scope"]> | null;
  ruleCount: number;
  updatedAt: number | null;
}

function packView(s: PackState): PackView {
  return {
    id: s.pack.id,
    name: s.pack.name,
    description: s.pack.description,
    builtin: s.builtin,
    enabled: s.enabled,
    mode: s.mode,
    defaultMode: s.pack.mode,
    scope: s.pack.scope ?? null,
    ruleCount: s.pack.rules.length,
    updatedAt: s.updatedAt,
  };
}

function findState(tx: Tx, ws: string, id: string): PackState {
  const s = packStates(tx, ws).find((p) => p.pack.id === id);
  if (!s) throw new ServiceError("not_found", `no policy pack ${id}; \`molthub policy list\` shows the packs`);
  return s;
}

// ---------- packs ----------

export function listPacks(ctx: ServiceContext): { items: (PackView & { violating: string[]; blocking: string[] })[] } {
  const ws = authorize(ctx, "viewer");
  const findings = fleetFindings(ctx.db, ws, ctx.now());
  return {
    items: packStates(ctx.db, ws).map((s) => {
      const mine = findings.filter((f) => f.violations.some((v) => v.packId === s.pack.id));
      const blocking = mine.filter((f) =>
        f.violations.some((v) => v.packId === s.pack.id && v.mode === "enforce" && v.severity === "error"),
      );
      return { ...packView(s), violating: mine.map((f) => f.bot), blocking: blocking.map((f) => f.bot) };
    }),
  };
}

export interface PackDetail extends PackView {
  rules: Rule[];
  /** the pack as YAML (what `policy apply -f` takes) */
  yaml: string;
  /** current findings of this pack, per bot */
  findings: { bot: string; violations: Violation[]; excepted: ExceptedViolation[] }[];
}

function packAsInput(p: PolicyPack): Record<string, unknown> {
  return {
    id: p.id,
    name: p.name,
    ...(p.description ? { description: p.description } : {}),
    ...(p.scope ? { scope: p.scope } : {}),
    mode: p.mode,
    rules: p.rules,
  };
}

export function getPack(ctx: ServiceContext, id: string): PackDetail {
  const ws = authorize(ctx, "viewer");
  const s = findState(ctx.db, ws, id);
  const findings = fleetFindings(ctx.db, ws, ctx.now())
    .map((f) => ({
      bot: f.bot,
      violations: f.violations.filter((v) => v.packId === id),
      excepted: f.excepted.filter((v) => v.packId === id),
    }))
    .filter((f) => f.violations.length || f.excepted.length);
  return { ...packView(s), rules: s.pack.rules, yaml: toYaml(packAsInput(s.pack), { lineWidth: 0 }), findings };
}

export interface PackChange {
  pack: PackView | null;
  action: "created" | "updated" | "unchanged" | "enabled" | "disabled" | "deleted";
  /** true when nothing was saved (dryRun) */
  dryRun: boolean;
  /** bots with findings after the change (report only: stored revisions are not re-checked here; the reconciler refuses blocked ones) */
  violating: BotFindings[];
}

function invalidPack(e: PolicyError): ServiceError {
  const first = e.issues
    .slice(0, 3)
    .map((i) => `${i.path}: ${i.message}`)
    .join("; ");
  return new ServiceError(
    "invalid_request",
    `${e.message}: ${first}${e.issues.length > 3 ? "; …" : ""}. Fix the pack and send it again; nothing was saved`,
    e.issues,
  );
}

/**
 * Creates or replaces a custom pack from YAML/JSON text or an object. Every wrong path is reported and
 * nothing is saved; a pack id may not be a built-in one. `expectId` (from the URL) must match the pack's id.
 */
export function putPack(ctx: ServiceContext, input: unknown, opts: { expectId?: string; dryRun?: boolean } = {}): PackChange {
  const ws = authorize(ctx, "admin");
  let pack: PolicyPack;
  try {
    pack = typeof input === "string" ? parsePack(input, "policy pack") : validatePack(input, "policy pack");
  } catch (e) {
    if (e instanceof PolicyError) throw invalidPack(e);
    throw e;
  }
  if (opts.expectId !== undefined && pack.id !== opts.expectId) {
    throw new ServiceError(
      "invalid_request",
      `the pack's id is ${pack.id} but the address names ${opts.expectId}; make them match`,
      [{ path: "id", message: `expected ${opts.expectId}` }],
    );
  }
  if (builtinPack(pack.id)) {
    throw new ServiceError(
      "invalid_request",
      `${pack.id} is a built-in pack; give your pack another id (built-ins can only be enabled, disabled or switched to advisory)`,
      [{ path: "id", message: "taken by a built-in pack" }],
    );
  }
  return inTransaction(ctx, !!opts.dryRun, (tx) => {
    const now = ctx.now();
    const existing = tx
      .select()
      .from(policyPacks)
      .where(and(eq(policyPacks.workspaceId, ws), eq(policyPacks.packId, pack.id)))
      .get();
    const spec = JSON.stringify(pack);
    let action: PackChange["action"];
    if (!existing) {
      tx.insert(policyPacks)
        .values({
          id: randomUUID(),
          workspaceId: ws,
          packId: pack.id,
          builtin: false,
          spec,
          enabled: true,
          mode: null,
          createdAt: now,
          updatedAt: now,
        })
        .run();
      action = "created";
    } else if (existing.spec && canonicalJson(JSON.parse(existing.spec)) === canonicalJson(pack) && existing.mode === null) {
      action = "unchanged";
    } else {
      // the pack's own mode is authoritative again once it is replaced
      tx.update(policyPacks).set({ spec, mode: null, updatedAt: now }).where(eq(policyPacks.id, existing.id)).run();
      action = "updated";
    }
    if (action !== "unchanged") {
      recordAudit(tx, ctx, {
        action: `policy.pack.${action === "created" ? "create" : "update"}`,
        resourceType: "policy_pack",
        resourceId: pack.id,
        summary: { name: pack.name, mode: pack.mode, rules: pack.rules.length, scope: pack.scope ?? null },
      });
    }
    return { pack: packView(findState(tx, ws, pack.id)), action, dryRun: !!opts.dryRun, violating: fleetFindings(tx, ws, now) };
  });
}

/** Turns a pack (built-in or custom) on or off, and optionally sets the mode it runs in. */
export function setPackState(
  ctx: ServiceContext,
  id: string,
  change: { enabled: boolean; mode?: "enforce" | "advisory" },
): PackChange {
  const ws = authorize(ctx, "admin");
  if (change.mode !== undefined && change.mode !== "enforce" && change.mode !== "advisory") {
    throw new ServiceError("invalid_request", "mode is enforce or advisory", [{ path: "mode", message: "enforce or advisory" }]);
  }
  return inTransaction(ctx, false, (tx) => {
    const now = ctx.now();
    const state = findState(tx, ws, id);
    const row = tx
      .select()
      .from(policyPacks)
      .where(and(eq(policyPacks.workspaceId, ws), eq(policyPacks.packId, id)))
      .get();
    const mode = change.mode === undefined ? (row?.mode ?? null) : change.mode === state.pack.mode ? null : change.mode;
    if (row)
      tx.update(policyPacks).set({ enabled: change.enabled, mode, updatedAt: now }).where(eq(policyPacks.id, row.id)).run();
    else
      tx.insert(policyPacks)
        .values({
          id: randomUUID(),
          workspaceId: ws,
          packId: id,
          builtin: true,
          spec: null,
          enabled: change.enabled,
          mode,
          createdAt: now,
          updatedAt: now,
        })
        .run();
    const after = findState(tx, ws, id);
    recordAudit(tx, ctx, {
      action: `policy.pack.${change.enabled ? "enable" : "disable"}`,
      resourceType: "policy_pack",
      resourceId: id,
      summary: {
        builtin: state.builtin,
        enabled: change.enabled,
        mode: after.mode,
        was: { enabled: state.enabled, mode: state.mode },
      },
    });
    return {
      pack: packView(after),
      action: change.enabled ? "enabled" : "disabled",
      dryRun: false,
      violating: fleetFindings(tx, ws, now),
    };
  });
}

export function deletePack(ctx: ServiceContext, id: string): PackChange {
  const ws = authorize(ctx, "admin");
  return inTransaction(ctx, false, (tx) => {
    const state = findState(tx, ws, id);
    if (state.builtin)
      throw new ServiceError(
        "invalid_request",
        `${id} is a built-in pack and cannot be deleted; disable it instead (molthub policy disable ${id})`,
        [{ path: "id", message: "built-in" }],
      );
    tx.delete(policyPacks)
      .where(and(eq(policyPacks.workspaceId, ws), eq(policyPacks.packId, id)))
      .run();
    recordAudit(tx, ctx, {
      action: "policy.pack.delete",
      resourceType: "policy_pack",
      resourceId: id,
      summary: { name: state.pack.name, rules: state.pack.rules.length },
    });
    return { pack: null, action: "deleted", dryRun: false, violating: fleetFindings(tx, ws, ctx.now()) };
  });
}

// ---------- exceptions ----------

export interface ExceptionView {
  id: string;
  ruleId: string;
  botName: string | null;
  reason: string;
  expiresAt: number;
  createdBy: string;
  createdAt: number;
  revokedAt: number | null;
  state: "active" | "expired" | "revoked";
}

function exceptionView(r: typeof policyExceptions.$inferSelect, now: number): ExceptionView {
  return {
    id: r.id,
    ruleId: r.ruleId,
    botName: r.botName,
    reason: r.reason,
    expiresAt: r.expiresAt,
    createdBy: r.createdBy,
    createdAt: r.createdAt,
    revokedAt: r.revokedAt,
    state: r.revokedAt !== null ? "revoked" : r.expiresAt > now ? "active" : "expired",
  };
}

/** A date (YYYY-MM-DD, meaning the end of that day, UTC), an ISO timestamp, or epoch ms. */
function parseExpiry(v: unknown): number | undefined {
  if (typeof v === "number" && Number.isFinite(v)) return v;
  if (typeof v !== "string" || !v.trim()) return undefined;
  const s = v.trim();
  if (/^\d{4}-\d{2}-\d{2}$/.test(s)) {
    const t = Date.parse(`${s}T00:00:00Z`);
    return Number.isNaN(t) ? undefined : t + DAY;
  }
  if (!/^\d{4}-\d{2}-\d{2}T/.test(s)) return undefined;
  const t = Date.parse(s);
  return Number.isNaN(t) ? undefined : t;
}

export interface ExceptionInput {
  ruleId?: unknown;
  botName?: unknown;
  reason?: unknown;
  expiresAt?: unknown;
}

export function createException(
  ctx: ServiceContext,
  input: ExceptionInput,
): { exception: ExceptionView; violating: BotFindings[] } {
  const ws = authorize(ctx, "admin");
  const now = ctx.now();
  const issues: { path: string; message: string }[] = [];
  const known = ruleIds(ctx.db, ws);
  const ruleId = typeof input.ruleId === "string" ? input.ruleId.trim() : "";
  if (!ruleId)
    issues.push({ path: "ruleId", message: "name the rule to waive (a rule id such as gateway-bind-loopback, or allowLanBind)" });
  else if (!known.includes(ruleId))
    issues.push({
      path: "ruleId",
      message: `no rule ${ruleId.slice(0, 100)} in this workspace's packs; known: ${known.join(", ")}`,
    });
  const botName = input.botName === undefined || input.botName === null || input.botName === "" ? null : input.botName;
  if (botName !== null && (typeof botName !== "string" || !NAME_RE.test(botName)))
    issues.push({ path: "botName", message: "a bot name (lowercase letters, digits and dashes), or leave it out for every bot" });
  const reason = typeof input.reason === "string" ? input.reason.trim() : "";
  if (!reason) issues.push({ path: "reason", message: "say why the rule is waived; the reason is kept in the audit log" });
  else if (reason.length > 500) issues.push({ path: "reason", message: "at most 500 characters" });
  const expiresAt = parseExpiry(input.expiresAt);
  if (input.expiresAt === undefined || input.expiresAt === null || input.expiresAt === "")
    issues.push({
      path: "expiresAt",
      message: `give an expiry (a date like 2026-12-31, at most ${MAX_EXCEPTION_DAYS} days ahead); exceptions never last forever`,
    });
  else if (expiresAt === undefined)
    issues.push({ path: "expiresAt", message: "a date (YYYY-MM-DD), an ISO timestamp or epoch milliseconds" });
  else if (expiresAt <= now) issues.push({ path: "expiresAt", message: "must be in the future" });
  else if (expiresAt > now + MAX_EXCEPTION_DAYS * DAY)
    issues.push({ path: "expiresAt", message: `at most ${MAX_EXCEPTION_DAYS} days ahead; renew it when it runs out` });
  if (issues.length)
    throw new ServiceError(
      "invalid_request",
      `the exception is not valid: ${issues.map((i) => `${i.path}: ${i.message}`).join("; ")}`,
      issues,
    );
  return ctx.db.transaction(
    (tx) => {
      const id = randomUUID();
      tx.insert(policyExceptions)
        .values({
          id,
          workspaceId: ws,
          ruleId,
          botName: botName as string | null,
          reason,
          expiresAt: expiresAt!,
          createdBy: ctx.actor.label,
          createdAt: now,
        })
        .run();
      recordAudit(tx, ctx, {
        action: "policy.exception.create",
        resourceType: "policy_exception",
        resourceId: id,
        summary: { ruleId, botName, reason, expiresAt: new Date(expiresAt!).toISOString() },
      });
      const row = tx.select().from(policyExceptions).where(eq(policyExceptions.id, id)).get()!;
      return { exception: exceptionView(row, now), violating: fleetFindings(tx, ws, now) };
    },
    { behavior: "immediate" },
  );
}

export function listExceptions(
  ctx: ServiceContext,
  opts: { state?: "active" | "expired" | "revoked" } = {},
): { items: ExceptionView[] } {
  const ws = authorize(ctx, "viewer");
  const now = ctx.now();
  const items = ctx.db
    .select()
    .from(policyExceptions)
    .where(eq(policyExceptions.workspaceId, ws))
    .orderBy(desc(policyExceptions.createdAt))
    .all()
    .map((r) => exceptionView(r, now));
  return { items: opts.state ? items.filter((e) => e.state === opts.state) : items };
}

export function revokeException(ctx: ServiceContext, id: string): { exception: ExceptionView; violating: BotFindings[] } {
  const ws = authorize(ctx, "admin");
  return ctx.db.transaction(
    (tx) => {
      const now = ctx.now();
      const row = tx
        .select()
        .from(policyExceptions)
        .where(and(eq(policyExceptions.workspaceId, ws), eq(policyExceptions.id, id)))
        .get();
      if (!row) throw new ServiceError("not_found", `no policy exception ${id.slice(0, 100)}`);
      if (row.revokedAt !== null) throw new ServiceError("conflict", `the exception for ${row.ruleId} was already revoked`);
      tx.update(policyExceptions).set({ revokedAt: now }).where(eq(policyExceptions.id, id)).run();
      recordAudit(tx, ctx, {
        action: "policy.exception.revoke",
        resourceType: "policy_exception",
        resourceId: id,
        summary: { ruleId: row.ruleId, botName: row.botName },
      });
      return { exception: exceptionView({ ...row, revokedAt: now }, now), violating: fleetFindings(tx, ws, now) };
    },
    { behavior: "immediate" },
  );
}

// ---------- dry run and per-bot findings ----------

export interface PolicyCheck extends EvaluationResult {
  name: string;
  /** create: no bot of that name yet; update: it exists */
  action: "create" | "update";
}

/**
 * Dry run: renders the manifest through its layers (template, connectors, profiles, overlays) and evaluates
 * the workspace's packs, saving nothing. Bad manifests and layer conflicts are refused as on apply.
 */
export function checkManifest(ctx: ServiceContext, input: unknown): PolicyCheck {
  const ws = authorize(ctx, "operator");
  const m = manifestInput(input);
  const existing = ctx.db
    .select()
    .from(bots)
    .where(and(eq(bots.workspaceId, ws), eq(bots.name, m.metadata.name), eq(bots.deleting, false)))
    .get();
  const host = existing?.host ?? targetHost(m);
  const port = existing?.port ?? allocateBotPort(ctx.db, ws, host);
  // the same pipeline as an apply (layers, secrets, policy), reporting the findings instead of refusing
  const r = renderBot(ctx.db, ws, m, { port, host, botId: existing?.id, now: ctx.now() }, { enforce: false });
  return { name: m.metadata.name, action: existing ? "update" : "create", ...r.policy };
}

/** A bot's current findings at its desired revision. */
export function botPolicy(ctx: ServiceContext, name: string): EvaluationResult & { name: string; revision: number } {
  const ws = authorize(ctx, "viewer");
  const b = findBot(ctx.db, ws, name);
  const r = desiredRevision(ctx.db, b);
  const result = evaluateBotPolicy(ctx.db, ws, {
    manifest: r.effective,
    config: r.config,
    botId: b.id,
    port: b.port,
    host: b.host,
    now: ctx.now(),
  });
  return { name, revision: r.revision, ...result };
}

/** Rule ids an exception can name: every rule of a built-in or custom pack, and the check aliases. */
export function knownRuleIds(ctx: ServiceContext): string[] {
  return ruleIds(ctx.db, authorize(ctx, "viewer"));
}
