import { randomUUID } from "node:crypto";
import { and, asc, eq } from "drizzle-orm";
import * as z from "zod";
import { recordAudit } from "../core/audit.ts";
import { authorize, type ServiceContext } from "../core/context.ts";
import { ServiceError } from "../core/errors.ts";
import { inTransaction } from "../core/transaction.ts";
import type { Tx } from "../db/client.ts";
import { connectors, secrets } from "../db/schema.ts";
import {
  CONNECTOR_NAME_MAX,
  CONNECTOR_TYPE_DEFS,
  CONNECTOR_TYPES,
  type ConnectorSettings,
  type ConnectorType,
  connectorEnv,
  interpretStatus,
  isConnectorName,
  isConnectorType,
  ownedSecretName,
  type TestCredentials,
  type TestResult,
  validateSettings,
} from "../domain/connectors.ts";
import { zodIssues } from "../domain/documents.ts";
import { type ApplyResult, applyRevision, type BlastEntry, manifestInput, rerenderBots } from "../fleet/revisions.ts";
import { type RolloutPlanEntry, type RolloutView, rollOutSecrets, listRollouts as rolloutRows } from "../fleet/rollouts.ts";
import {
  secretValueProblem as deliveryProblem,
  missingSecrets,
  removeSecret,
  resolveSecretValues,
  writeSecret,
} from "../fleet/secrets.ts";
import { type ConnectorRow as Row, connectorSettings as settingsOf, connectorType as typeOf } from "../fleet/sources.ts";
import { desiredRevision, findBot, liveBots as workspaceBots } from "../fleet/store.ts";
import { REDACTED, registerSecret } from "../secrets/redact.ts";

export type { RolloutPlanEntry, RolloutView } from "../fleet/rollouts.ts";

/**
 * Connectors: shared credentials (LLM providers, chat channels) kept in the vault and bound to bots by name.
 * A value given to a connector is stored as the vault secret `connector-<name>` (write-only); the bot gets it
 * as an env var and its config refers to it by an env SecretRef. Rotation stores a new secret version and
 * rolls it out to every bot that uses the secret, tracked per bot in `secret_rollouts`.
 */

type Issue = { path: string; message: string };

const TEST_TIMEOUT_MS = 10_000;

export interface ConnectorView {
  name: string;
  type: ConnectorType;
  label: string;
  category: "llm" | "channel";
  /** the vault secret holding the credential (names only; values never leave the vault this way) */
  secret: string | null;
  settings: ConnectorSettings;
  /** the base URL in effect (the type's default when none is set) */
  baseUrl: string;
  /** env vars the connector delivers to a bound bot */
  env: string[];
  boundBots: string[];
  lastTest: { at: number; ok: boolean; message: string } | null;
  createdAt: number;
  updatedAt: number;
}

/** The secrets a connector reads: its credential and (slack) the app token. */
function secretsOf(r: Row): string[] {
  const s = settingsOf(r);
  return [r.secretName, s.appTokenSecret].filter((x): x is string => !!x);
}

function view(r: Row, bound: string[]): ConnectorView {
  const type = typeOf(r);
  const def = CONNECTOR_TYPE_DEFS[type];
  const settings = settingsOf(r);
  return {
    name: r.name,
    type,
    label: def.label,
    category: def.category,
    secret: r.secretName,
    settings,
    baseUrl: settings.baseUrl ?? def.defaultBaseUrl,
    env: Object.keys(connectorEnv(def, r.secretName, settings)),
    boundBots: bound,
    lastTest: r.lastTestAt !== null ? { at: r.lastTestAt, ok: !!r.lastTestOk, message: r.lastTestMessage ?? "" } : null,
    createdAt: r.createdAt,
    updatedAt: r.updatedAt,
  };
}

/** The workspace's live bots with their desired revision (manifest and delivered secret references). */
function liveBots(tx: Tx, ws: string) {
  return workspaceBots(tx, ws).map(({ row, rev }) => ({ row, rev: rev() }));
}

/** connector name → the bots whose manifest binds it */
function bindings(tx: Tx, ws: string): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const { row, rev } of liveBots(tx, ws)) {
    for (const c of rev.manifest.spec.connectors ?? []) out.set(c, [...(out.get(c) ?? []), row.name]);
  }
  return out;
}

function findRow(tx: Tx, ws: string, name: string): Row {
  const r = isConnectorName(name)
    ? tx
        .select()
        .from(connectors)
        .where(and(eq(connectors.workspaceId, ws), eq(connectors.name, name)))
        .get()
    : undefined;
  if (!r)
    throw new ServiceError("not_found", `no connector named ${name.slice(0, 80)}; list them with \`molthub connector list\``);
  return r;
}

function secretValueProblem(v: string): string | undefined {
  if (!v) return "required";
  if (v.length > 65536) return "at most 65536 characters";
  const delivery = deliveryProblem(v);
  if (delivery) return delivery;
  if (v !== v.trim()) return "has leading or trailing spaces; paste the value alone";
  return undefined;
}

// ---------- read ----------

export function listConnectors(ctx: ServiceContext): ConnectorView[] {
  const ws = authorize(ctx, "viewer");
  const bound = bindings(ctx.db, ws);
  return ctx.db
    .select()
    .from(connectors)
    .where(eq(connectors.workspaceId, ws))
    .orderBy(asc(connectors.name))
    .all()
    .map((r) => view(r, bound.get(r.name) ?? []));
}

export function getConnector(ctx: ServiceContext, name: string): ConnectorView {
  const ws = authorize(ctx, "viewer");
  const r = findRow(ctx.db, ws, name);
  return view(r, bindings(ctx.db, ws).get(r.name) ?? []);
}

// ---------- create ----------

const CreateInput = z.strictObject({
  name: z.string(),
  type: z.string(),
  /** the credential (stored as the vault secret connector-<name>) */
  value: z.string().optional(),
  /** slack: the app-level token (stored as connector-<name>-app) */
  appToken: z.string().optional(),
  /** an existing vault secret to use instead of a value */
  secret: z.string().optional(),
  settings: z.record(z.string(), z.unknown()).optional(),
});

function parseInput<S extends z.ZodType>(schema: S, input: unknown): z.output<S> {
  const r = schema.safeParse(input ?? {});
  if (r.success) return r.data;
  const issues = zodIssues(r.error, { root: "(body)", unknown: "unknown field; remove it" });
  throw new ServiceError(
    "invalid_request",
    `the connector request has ${issues.length} problem${issues.length > 1 ? "s" : ""}; see details`,
    issues,
  );
}

export function createConnector(ctx: ServiceContext, input: unknown): ConnectorView {
  const ws = authorize(ctx, "admin");
  const inp = parseInput(CreateInput, input);
  const issues: Issue[] = [];
  if (!isConnectorName(inp.name))
    issues.push({
      path: "name",
      message: `lowercase letters, digits and dashes, 1–${CONNECTOR_NAME_MAX} characters, starting and ending with a letter or digit`,
    });
  if (!isConnectorType(inp.type)) issues.push({ path: "type", message: `one of ${CONNECTOR_TYPES.join(", ")}` });
  for (const k of ["value", "appToken"] as const) if (inp[k] !== undefined) registerSecret(inp[k]);
  if (issues.some((i) => i.path === "type"))
    throw new ServiceError("invalid_request", "the connector is invalid; see details", issues);
  const type = inp.type as ConnectorType;
  const def = CONNECTOR_TYPE_DEFS[type];
  const { settings, issues: settingIssues } = validateSettings(type, inp.settings);
  issues.push(...settingIssues);
  if (!def.credential) {
    if (inp.value !== undefined || inp.secret !== undefined)
      issues.push({
        path: inp.value !== undefined ? "value" : "secret",
        message: `${def.label} connectors have no credential; give only the base URL`,
      });
  } else if (inp.value !== undefined && inp.secret !== undefined) {
    issues.push({ path: "secret", message: "give either a value or an existing secret, not both" });
  } else if (inp.value === undefined && inp.secret === undefined) {
    issues.push({ path: "value", message: `the ${def.credential.label} is required (or name an existing secret)` });
  } else if (inp.value !== undefined) {
    const p = secretValueProblem(inp.value);
    if (p) issues.push({ path: "value", message: p });
  }
  if (def.second) {
    if (inp.appToken !== undefined && settings.appTokenSecret)
      issues.push({ path: "appToken", message: "give either an app token or settings.appTokenSecret, not both" });
    else if (inp.appToken === undefined && !settings.appTokenSecret)
      issues.push({
        path: "appToken",
        message: `the ${def.second.label} is required for socket mode (or name an existing secret in settings.appTokenSecret)`,
      });
    else if (inp.appToken !== undefined) {
      const p = secretValueProblem(inp.appToken);
      if (p) issues.push({ path: "appToken", message: p });
    }
  } else if (inp.appToken !== undefined) {
    issues.push({ path: "appToken", message: "only Slack connectors take an app token" });
  }
  const existing = [inp.secret, settings.appTokenSecret].filter((s): s is string => !!s);
  for (const m of missingSecrets(ctx.db, ws, existing))
    issues.push({
      path: m === inp.secret ? "secret" : "settings.appTokenSecret",
      message: `secret ${m} does not exist; store it first or give the value instead`,
    });
  if (issues.length)
    throw new ServiceError(
      "invalid_request",
      `the connector is invalid (${issues.length} problem${issues.length > 1 ? "s" : ""}); see details`,
      issues,
    );

  return ctx.db.transaction(
    (tx) => {
      if (
        tx
          .select({ id: connectors.id })
          .from(connectors)
          .where(and(eq(connectors.workspaceId, ws), eq(connectors.name, inp.name)))
          .get()
      ) {
        throw new ServiceError(
          "conflict",
          `a connector named ${inp.name} already exists; pick another name, or rotate its credential`,
          [{ path: "name", message: "taken" }],
        );
      }
      let secretName: string | null = inp.secret ?? null;
      if (inp.value !== undefined)
        secretName = writeSecret(tx, ctx, ws, { name: ownedSecretName(inp.name), value: inp.value }).name;
      if (inp.appToken !== undefined)
        settings.appTokenSecret = writeSecret(tx, ctx, ws, {
          name: ownedSecretName(inp.name, "appToken"),
          value: inp.appToken,
        }).name;
      const now = ctx.now();
      tx.insert(connectors)
        .values({
          id: randomUUID(),
          workspaceId: ws,
          name: inp.name,
          type,
          secretName,
          settings: JSON.stringify(settings),
          createdAt: now,
          updatedAt: now,
        })
        .run();
      recordAudit(tx, ctx, {
        action: "connector.create",
        resourceType: "connector",
        resourceId: inp.name,
        summary: {
          name: inp.name,
          type,
          vault: [secretName, settings.appTokenSecret].filter(Boolean),
          baseUrl: settings.baseUrl ?? null,
        },
      });
      return view(findRow(tx, ws, inp.name), []);
    },
    { behavior: "immediate" },
  );
}

// ---------- update settings ----------

export interface ChangeResult {
  connector: ConnectorView;
  /** the bound bots and what the change does to each */
  bots: BlastEntry[];
  dryRun: boolean;
}

const UpdateInput = z.strictObject({ settings: z.record(z.string(), z.unknown()).optional() });

/**
 * Changes a connector's settings (base URL; Slack's app-token secret). Every bound bot is re-rendered in the
 * same transaction: with a real change each gets a new revision and a reconcile; when any bound bot would
 * fail (policy, conflict, missing secret) nothing is saved.
 */
export function updateConnector(
  ctx: ServiceContext,
  name: string,
  input: unknown,
  opts: { dryRun?: boolean } = {},
): ChangeResult {
  const ws = authorize(ctx, "admin");
  const row = findRow(ctx.db, ws, name);
  const inp = parseInput(UpdateInput, input);
  const type = typeOf(row);
  // null or "" clears a setting (back to the default)
  const merged: Record<string, unknown> = { ...settingsOf(row) };
  for (const [k, v] of Object.entries(inp.settings ?? {})) {
    if (v === null || v === "") delete merged[k];
    else merged[k] = v;
  }
  const { settings, issues } = validateSettings(type, merged);
  const def = CONNECTOR_TYPE_DEFS[type];
  if (def.second && !settings.appTokenSecret)
    issues.push({ path: "settings.appTokenSecret", message: "Slack socket mode needs the app token; name its secret" });
  for (const m of missingSecrets(ctx.db, ws, settings.appTokenSecret ? [settings.appTokenSecret] : []))
    issues.push({ path: "settings.appTokenSecret", message: `secret ${m} does not exist; store it first` });
  if (issues.length)
    throw new ServiceError(
      "invalid_request",
      `the settings are invalid (${issues.length} problem${issues.length > 1 ? "s" : ""}); see details`,
      issues,
    );
  return inTransaction(ctx, !!opts.dryRun, (tx) => {
    const now = ctx.now();
    tx.update(connectors)
      .set({ settings: JSON.stringify(settings), updatedAt: now })
      .where(eq(connectors.id, row.id))
      .run();
    const blast = rerenderBots(tx, ctx, ws, {
      write: !opts.dryRun,
      reason: `connector ${name} changed`,
      only: (m) => !!m.spec.connectors?.includes(name),
    });
    const failed = blast.filter((b) => b.action === "failed");
    if (failed.length && !opts.dryRun) {
      throw new ServiceError(
        "conflict",
        `the change would break ${failed.map((f) => f.bot).join(", ")}: ${failed.map((f) => f.error?.message).join("; ")}. Nothing was saved`,
        failed.flatMap((f) =>
          (f.error?.issues.length ? f.error.issues : [{ path: "(bot)", message: f.error?.message ?? "failed" }]).map((i) => ({
            path: `${f.bot}: ${i.path}`,
            message: i.message,
          })),
        ),
      );
    }
    if (!opts.dryRun)
      recordAudit(tx, ctx, {
        action: "connector.update",
        resourceType: "connector",
        resourceId: name,
        summary: {
          name,
          baseUrl: settings.baseUrl ?? null,
          vault: settings.appTokenSecret ? [settings.appTokenSecret] : [],
          bots: blast.filter((b) => b.action === "updated").map((b) => b.bot),
        },
      });
    return { connector: view(findRow(tx, ws, name), bindings(tx, ws).get(name) ?? []), bots: blast, dryRun: !!opts.dryRun };
  });
}

// ---------- connection test ----------

export interface TestOptions {
  timeoutMs?: number;
}

/** What a failed fetch means, without its message (which may carry the URL, and Telegram's URL the token). */
function networkFailure(e: unknown, base: string, timeoutMs: number): TestResult {
  const err = e as { name?: string; code?: string; cause?: { code?: string } };
  const code = String(err.code ?? err.cause?.code ?? "");
  if (err.name === "TimeoutError" || err.name === "AbortError") {
    return {
      ok: false,
      message: `no answer from ${base} within ${Math.round(timeoutMs / 100) / 10} s: check the base URL and that this machine can reach it`,
      details: { error: "timeout" },
    };
  }
  if (/refused/i.test(code))
    return {
      ok: false,
      message: `nothing answers at ${base} (connection refused): check the base URL and that the service is running`,
      details: { error: "connection_refused" },
    };
  if (/ENOTFOUND|EAI_AGAIN|DNS|resolve/i.test(code))
    return {
      ok: false,
      message: `cannot resolve the host of ${base}: check the base URL and this machine's DNS`,
      details: { error: "dns" },
    };
  if (/CERT|TLS|SSL|SELF_SIGNED|VERIFY/i.test(code))
    return {
      ok: false,
      message: `the TLS handshake with ${base} failed (${code}): check the certificate, or the base URL`,
      details: { error: "tls" },
    };
  return {
    ok: false,
    message: `cannot reach ${base}${code ? ` (${code.replace(/[^A-Za-z0-9_]/g, "").slice(0, 40)})` : ""}: check the base URL and this machine's network access`,
    details: { error: "unreachable" },
  };
}

/**
 * One real call to the provider's API with a deadline. The credential goes only into the request; every
 * message is composed here (never a fetch error's text, which can hold the URL) and scrubbed once more.
 */
export async function runConnectionTest(
  type: ConnectorType,
  baseUrl: string,
  creds: TestCredentials,
  opts: TestOptions = {},
): Promise<TestResult> {
  const def = CONNECTOR_TYPE_DEFS[type];
  const timeoutMs = opts.timeoutMs ?? TEST_TIMEOUT_MS;
  const base = baseUrl.replace(/\/+$/, "");
  const req = def.testRequest(creds);
  const scrub = (r: TestResult): TestResult => {
    const hide = (s: string): string => {
      let out = s;
      for (const c of [creds.credential, creds.appToken]) if (c) out = out.split(c).join(REDACTED);
      return out;
    };
    return {
      ok: r.ok,
      message: hide(r.message),
      details: Object.fromEntries(Object.entries(r.details).map(([k, v]) => [k, typeof v === "string" ? hide(v) : v])),
    };
  };
  if (def.credential && !creds.credential)
    return { ok: false, message: `the connector has no ${def.credential.label}; rotate it to set one`, details: {} };
  let res: Response;
  try {
    res = await fetch(base + req.path, {
      method: req.method,
      headers: { accept: "application/json", ...req.headers },
      body: req.body,
      redirect: "manual",
      signal: AbortSignal.timeout(timeoutMs),
    });
  } catch (e) {
    return scrub(networkFailure(e, base, timeoutMs));
  }
  let body: unknown;
  try {
    const text = (await res.text()).slice(0, 1_000_000);
    body = text ? JSON.parse(text) : {};
  } catch {
    body = undefined;
  }
  if (res.status < 200 || res.status >= 300) return scrub(interpretStatus(def, res.status));
  if (body === undefined)
    return {
      ok: false,
      message: `${base} answered ${res.status} with something that is not JSON: check that the base URL is the ${def.label} API root`,
      details: { status: res.status },
    };
  return scrub(def.readOk(body));
}

/** Tests a stored connector against its API and records the result on it (audited; no credential anywhere). */
export async function testConnector(
  ctx: ServiceContext,
  name: string,
  opts: TestOptions = {},
): Promise<TestResult & { at: number }> {
  const ws = authorize(ctx, "operator");
  const row = findRow(ctx.db, ws, name);
  const type = typeOf(row);
  const def = CONNECTOR_TYPE_DEFS[type];
  const settings = settingsOf(row);
  let result: TestResult;
  let creds: TestCredentials = {};
  try {
    const refs: Record<string, { secret: string }> = {};
    if (row.secretName) refs.CREDENTIAL = { secret: row.secretName };
    if (settings.appTokenSecret) refs.APP_TOKEN = { secret: settings.appTokenSecret };
    const values = resolveSecretValues(ctx.db, ctx.keyring, ws, refs);
    creds = { credential: values.CREDENTIAL, appToken: values.APP_TOKEN };
    result = await runConnectionTest(type, settings.baseUrl ?? def.defaultBaseUrl, creds, opts);
  } catch (e) {
    if (!(e instanceof ServiceError)) throw e;
    result = { ok: false, message: `the connector's secret cannot be read: ${e.message}`, details: {} };
  }
  const at = ctx.now();
  ctx.db.transaction(
    (tx) => {
      tx.update(connectors)
        .set({ lastTestAt: at, lastTestOk: result.ok, lastTestMessage: result.message })
        .where(eq(connectors.id, row.id))
        .run();
      recordAudit(tx, ctx, {
        action: "connector.test",
        resourceType: "connector",
        resourceId: name,
        summary: { name, ok: result.ok },
      });
    },
    { behavior: "immediate" },
  );
  return { ...result, at };
}

// ---------- rotation ----------

export interface RotateResult {
  connector: string;
  dryRun: boolean;
  /** the secrets written (or that would be), with their new version */
  secrets: { secret: string; version: number }[];
  bots: RolloutPlanEntry[];
}

const RotateInput = z.strictObject({ value: z.string().optional(), appToken: z.string().optional() });

/**
 * Rotates a connector's credential: stores a new version of its secret(s), then rolls it out to every bot whose
 * desired revision uses them — a pending `secret_rollouts` row and a queued reconcile per bot, all in one
 * transaction. The reconciler sees the changed env file, restarts the gateway (OpenClaw resolves env SecretRefs
 * when it starts; `secrets.reload` re-reads file/exec providers, not a running process's environment) and
 * marks each row delivered or failed. With `dryRun` only the blast radius is returned.
 */
export function rotateConnector(
  ctx: ServiceContext,
  name: string,
  input: unknown,
  opts: { dryRun?: boolean } = {},
): RotateResult {
  const ws = authorize(ctx, "admin");
  const row = findRow(ctx.db, ws, name);
  const def = CONNECTOR_TYPE_DEFS[typeOf(row)];
  const inp = parseInput(RotateInput, input);
  for (const v of [inp.value, inp.appToken]) if (v !== undefined) registerSecret(v);
  const settings = settingsOf(row);
  if (!def.credential)
    throw new ServiceError(
      "invalid_request",
      `${def.label} connectors have no credential to rotate; change the base URL instead`,
    );
  const writes: { secret: string; value: string | undefined; path: string }[] = [];
  if (row.secretName) writes.push({ secret: row.secretName, value: inp.value, path: "value" });
  if (def.second && settings.appTokenSecret)
    writes.push({ secret: settings.appTokenSecret, value: inp.appToken, path: "appToken" });
  if (!def.second && inp.appToken !== undefined)
    throw new ServiceError("invalid_request", "only Slack connectors take an app token", [
      { path: "appToken", message: "unknown for this type" },
    ]);
  const given = writes.filter((w) => w.value !== undefined);
  if (!opts.dryRun) {
    if (!given.length)
      throw new ServiceError(
        "invalid_request",
        `give the new ${def.credential.label}${def.second ? ` and/or the new ${def.second.label}` : ""}`,
        [{ path: "value", message: "required" }],
      );
    const issues = given.flatMap((w) => {
      const p = secretValueProblem(w.value!);
      return p ? [{ path: w.path, message: p }] : [];
    });
    if (issues.length) throw new ServiceError("invalid_request", "the new value is invalid; see details", issues);
  }
  // a dry run without values previews every secret of the connector
  const targets = given.length ? given : writes;
  const run = (tx: Tx): RotateResult => {
    const now = ctx.now();
    const written = targets.map((t) => {
      if (opts.dryRun || t.value === undefined) {
        const cur = tx
          .select({ version: secrets.version })
          .from(secrets)
          .where(and(eq(secrets.workspaceId, ws), eq(secrets.name, t.secret)))
          .get();
        return { secret: t.secret, version: (cur?.version ?? 0) + 1 };
      }
      return { secret: t.secret, version: writeSecret(tx, ctx, ws, { name: t.secret, value: t.value }).version };
    });
    const plan = rollOutSecrets(tx, ctx, ws, {
      source: { kind: "connector", name },
      secrets: written,
      dryRun: !!opts.dryRun,
    });
    if (!opts.dryRun) {
      tx.update(connectors).set({ updatedAt: now }).where(eq(connectors.id, row.id)).run();
      recordAudit(tx, ctx, {
        action: "connector.rotate",
        resourceType: "connector",
        resourceId: name,
        summary: { name, versions: written.map((w) => `${w.secret} v${w.version}`), bots: plan.map((p) => p.bot) },
      });
    }
    return { connector: name, dryRun: !!opts.dryRun, secrets: written, bots: plan };
  };
  return inTransaction(ctx, !!opts.dryRun, run);
}

/** Per-bot delivery of the connector's rotated secret versions, newest first. */
export function listRollouts(ctx: ServiceContext, name: string): RolloutView[] {
  const ws = authorize(ctx, "viewer");
  const row = findRow(ctx.db, ws, name);
  return rolloutRows(ctx.db, ws, secretsOf(row));
}

// ---------- delete ----------

export function deleteConnector(
  ctx: ServiceContext,
  name: string,
): { deleted: string; secretsDeleted: string[]; secretsKept: string[] } {
  const ws = authorize(ctx, "admin");
  return ctx.db.transaction(
    (tx) => {
      const row = findRow(tx, ws, name);
      const bound = bindings(tx, ws).get(name) ?? [];
      if (bound.length) {
        throw new ServiceError(
          "conflict",
          `connector ${name} is bound to ${bound.join(", ")}; unbind it from ${bound.length > 1 ? "them" : "it"} first (molthub connector unbind ${name} --bot BOT)`,
          bound.map((b) => ({ path: "boundBots", message: b })),
        );
      }
      // the secrets the connector made for itself go with it, unless a bot still references them directly
      const owned = secretsOf(row).filter((s) => s === ownedSecretName(name) || s === ownedSecretName(name, "appToken"));
      const used = new Set(liveBots(tx, ws).flatMap(({ rev }) => Object.values(rev.secretRefs).map((r) => r.secret)));
      const secretsDeleted = owned.filter((s) => !used.has(s));
      // the row first: the vault refuses to delete a secret a connector still keeps its credential in
      tx.delete(connectors).where(eq(connectors.id, row.id)).run();
      for (const s of secretsDeleted) removeSecret(tx, ctx, ws, s);
      recordAudit(tx, ctx, {
        action: "connector.delete",
        resourceType: "connector",
        resourceId: name,
        summary: { name, vaultRemoved: secretsDeleted },
      });
      return { deleted: name, secretsDeleted, secretsKept: secretsOf(row).filter((s) => !secretsDeleted.includes(s)) };
    },
    { behavior: "immediate" },
  );
}

// ---------- bindings ----------

function liveBot(tx: Tx, ws: string, bot: string) {
  const row = findBot(tx, ws, bot);
  return { row, manifest: desiredRevision(tx, row).manifest };
}

/**
 * Binds or unbinds a connector: applies the bot's current manifest with `spec.connectors` changed, so the
 * change is an ordinary audited revision (policy, secrets and layers checked as for any apply).
 */
export function setBinding(ctx: ServiceContext, bot: string, connector: string, bind: boolean): ApplyResult {
  const ws = authorize(ctx, "operator");
  return ctx.db.transaction(
    (tx) => {
      const { manifest } = liveBot(tx, ws, bot);
      const current = manifest.spec.connectors ?? [];
      if (bind && !connector)
        throw new ServiceError("invalid_request", "name the connector to bind", [{ path: "connector", message: "required" }]);
      if (bind) findRow(tx, ws, connector);
      else if (!current.includes(connector))
        throw new ServiceError("not_found", `bot ${bot} is not bound to connector ${connector.slice(0, 80)}`);
      const next = bind
        ? current.includes(connector)
          ? current
          : [...current, connector]
        : current.filter((c) => c !== connector);
      const spec: Record<string, unknown> = { ...manifest.spec, connectors: next };
      if (!next.length) delete spec.connectors;
      const r = applyRevision(tx, ctx, ws, manifestInput({ ...manifest, spec }), { source: "apply" });
      if (r.action !== "unchanged") {
        recordAudit(tx, ctx, {
          action: bind ? "connector.bind" : "connector.unbind",
          resourceType: "connector",
          resourceId: connector,
          summary: { connector, bot, revision: r.revision },
        });
      }
      return r;
    },
    { behavior: "immediate" },
  );
}
