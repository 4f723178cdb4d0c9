import { eq } from "drizzle-orm";
import { ServiceError } from "../core/errors.ts";
import type { Tx } from "../db/client.ts";
import { policyExceptions, policyPacks, workspaces } from "../db/schema.ts";
import type { Manifest } from "../domain/manifest.ts";
import {
  BUILTIN_CHECKS,
  CREDENTIAL_KEY_RE,
  type EvaluationResult,
  type ExceptedViolation,
  evaluate,
  type FleetPeer,
  getAtPath,
  looksLikeSecret,
  type PolicyException,
  type PolicyPack,
  type PolicySubject,
  type Violation,
} from "../domain/policy.ts";
import { BUILTIN_PACKS } from "../domain/policy-packs/index.ts";
import { redactString } from "../secrets/redact.ts";
import { liveBots } from "./store.ts";

/**
 * Policy as the desired-state machinery applies it: the workspace's packs (built-in ones on and enforcing unless
 * a row says otherwise, custom ones stored as validated data), its active exceptions, and the evaluation of one
 * bot with the rest of the fleet as peers. Every write path and the reconciler evaluate through here.
 */

export interface BotPolicyInput {
  manifest: Manifest;
  config: Record<string, unknown>;
  /** absent for a bot not created yet */
  botId?: string;
  port: number;
  host: string;
  /** ms; the clock exceptions expire against (the service context's clock). Default: now */
  now?: number;
}

/** Exception ids that waive a built-in check besides the rule's own id (e.g. allowLanBind). */
const EXCEPTION_ALIASES: string[] = Object.values(BUILTIN_CHECKS).flatMap((c) => (c.exceptionAlias ? [c.exceptionAlias] : []));

// ---------- loading ----------

export interface PackState {
  pack: PolicyPack;
  builtin: boolean;
  enabled: boolean;
  /** the mode in force: the row's override, else the pack's own */
  mode: "enforce" | "advisory";
  updatedAt: number | null;
}

export function packStates(tx: Tx, ws: string): PackState[] {
  const rows = tx.select().from(policyPacks).where(eq(policyPacks.workspaceId, ws)).all();
  const byId = new Map(rows.map((r) => [r.packId, r]));
  const out: PackState[] = BUILTIN_PACKS.map((p) => {
    const r = byId.get(p.id);
    return { pack: p, builtin: true, enabled: r?.enabled ?? true, mode: r?.mode ?? p.mode, updatedAt: r?.updatedAt ?? null };
  });
  for (const r of rows.filter((x) => !x.builtin && x.spec).sort((a, b) => (a.packId < b.packId ? -1 : 1))) {
    const pack = JSON.parse(r.spec!) as PolicyPack;
    out.push({ pack, builtin: false, enabled: r.enabled, mode: r.mode ?? pack.mode, updatedAt: r.updatedAt });
  }
  return out;
}

function activePacks(tx: Tx, ws: string): PolicyPack[] {
  return packStates(tx, ws)
    .filter((s) => s.enabled)
    .map((s) => ({ ...s.pack, mode: s.mode }));
}

function activeExceptions(tx: Tx, ws: string, now: number): PolicyException[] {
  return tx
    .select()
    .from(policyExceptions)
    .where(eq(policyExceptions.workspaceId, ws))
    .orderBy(policyExceptions.createdAt)
    .all()
    .filter((e) => e.revokedAt === null && e.expiresAt > now)
    .map((e) => ({
      ruleId: e.ruleId,
      ...(e.botName ? { botName: e.botName } : {}),
      reason: e.reason,
      expiresAt: new Date(e.expiresAt).toISOString(),
    }));
}

function workspaceSlug(tx: Tx, ws: string): string | undefined {
  return tx.select({ slug: workspaces.slug }).from(workspaces).where(eq(workspaces.id, ws)).get()?.slug;
}

interface FleetBot {
  id: string;
  name: string;
  revision: number;
  host: string;
  port: number;
  manifest: Manifest;
  config: Record<string, unknown>;
  secrets: Record<string, { secret: string }>;
}

/** The workspace's bots (not being deleted) at their desired revision. */
function loadFleet(tx: Tx, ws: string): FleetBot[] {
  return liveBots(tx, ws).map(({ row: b, rev }) => {
    const r = rev();
    return {
      id: b.id,
      name: b.name,
      revision: r.revision,
      host: b.host,
      port: b.port,
      manifest: r.effective,
      config: r.config,
      secrets: r.secretRefs,
    };
  });
}

function peerOf(b: FleetBot): FleetPeer {
  return { name: b.name, config: b.config, port: b.port, host: b.host, secrets: b.secrets };
}

function subjectOf(
  manifest: Manifest,
  config: Record<string, unknown>,
  slug: string | undefined,
  peers: FleetPeer[],
): PolicySubject {
  const md = manifest.metadata;
  return {
    manifest,
    config,
    bot: {
      name: md.name,
      ...(md.fleet ? { fleet: md.fleet } : {}),
      ...(md.environment ? { environment: md.environment } : {}),
      labels: md.labels ?? {},
    },
    workspace: slug,
    fleetPeers: peers,
  };
}

/** Messages quote values; a value that is (or looks like) a credential is never quoted back. */
function scrub<V extends Violation>(v: V, config: Record<string, unknown>): V {
  let message = v.message;
  const value = v.path.startsWith("manifest:") ? undefined : getAtPath(config, v.path);
  const key = v.path.split(".").pop() ?? "";
  if (typeof value === "string" && value !== "" && (CREDENTIAL_KEY_RE.test(key) || looksLikeSecret(value))) {
    const s = JSON.stringify(value);
    for (const shown of [s, s.length > 80 ? `${s.slice(0, 77)}...` : s]) message = message.split(shown).join('"[redacted]"');
  }
  return { ...v, message: redactString(message) };
}

function scrubResult(r: EvaluationResult, config: Record<string, unknown>): EvaluationResult {
  return {
    blocked: r.blocked,
    violations: r.violations.map((v) => scrub(v, config)),
    excepted: r.excepted.map((v) => scrub(v, config)),
  };
}

/**
 * Evaluates the workspace's enabled packs (built-in + custom) and active exceptions on one bot's resolved
 * config, with the workspace's other bots as fleet peers (unique channel tokens, port spacing).
 */
export function evaluateBotPolicy(tx: Tx, ws: string, input: BotPolicyInput): EvaluationResult {
  const now = input.now ?? Date.now();
  const peers = loadFleet(tx, ws)
    .filter((b) => b.id !== input.botId && b.name !== input.manifest.metadata.name)
    .map(peerOf);
  const subject = subjectOf(input.manifest, input.config, workspaceSlug(tx, ws), peers);
  return scrubResult(evaluate(activePacks(tx, ws), subject, activeExceptions(tx, ws, now), new Date(now)), input.config);
}

export interface BotFindings {
  bot: string;
  revision: number;
  blocked: boolean;
  violations: Violation[];
  excepted: ExceptedViolation[];
}

/** Every bot's findings at its desired revision (bots without findings are left out). A report: nothing is blocked. */
export function fleetFindings(tx: Tx, ws: string, now: number): BotFindings[] {
  const fleet = loadFleet(tx, ws);
  const packs = activePacks(tx, ws);
  const exceptions = activeExceptions(tx, ws, now);
  const slug = workspaceSlug(tx, ws);
  const out: BotFindings[] = [];
  for (const b of fleet) {
    const r = scrubResult(
      evaluate(
        packs,
        subjectOf(b.manifest, b.config, slug, fleet.filter((x) => x.id !== b.id).map(peerOf)),
        exceptions,
        new Date(now),
      ),
      b.config,
    );
    if (r.violations.length || r.excepted.length) out.push({ bot: b.name, revision: b.revision, ...r });
  }
  return out;
}

/** Rule ids an exception can name: every rule of a built-in or custom pack, and the check aliases. */
export function knownRuleIds(tx: Tx, ws: string): string[] {
  const ids = new Set<string>(EXCEPTION_ALIASES);
  for (const s of packStates(tx, ws)) for (const r of s.pack.rules) ids.add(r.id);
  return [...ids].sort();
}

/** Only enforced errors block. */
function blocking(v: Violation): boolean {
  return v.mode === "enforce" && v.severity === "error";
}

/** The refusal of a bot that an enforced rule blocks, carrying the whole evaluation (each violation with its fix). */
export function policyRefusal(botName: string, result: EvaluationResult): ServiceError {
  const errs = result.violations.filter(blocking);
  const what = errs.map((v) => `${v.packId}/${v.ruleId}${v.path ? ` at ${v.path}` : ""}: ${v.message}`).join("; ");
  return new ServiceError("policy_blocked", `bot ${botName}: blocked by policy — ${what}`, {
    issues: errs.map((v) => ({ path: v.path, message: `${v.packId}/${v.ruleId}: ${v.message}` })),
    policy: result,
  });
}
