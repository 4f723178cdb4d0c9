import type { Tx } from "../db/client.ts";
import { RESERVED_OPENCLAW_PATHS, getPath, type Manifest } from "../domain/manifest.ts";
import { resolveLayers, type Layer, type Resolution } from "../domain/layers.ts";
import { configHash, generateConfig, layoutFor } from "../domain/openclaw-config.ts";
import type { EvaluationResult } from "../domain/policy.ts";
import { ServiceError } from "../core/errors.ts";
import { templateContribution } from "./templates.ts";
import { layerContribution } from "./layers.ts";
import { connectorContribution } from "./connectors.ts";
import { evaluateBotPolicy } from "./policies.ts";

/** The root the reconciler maps to a provider's layout; stored configs use it so hashes are stable. */
export const LAYOUT_ROOT = "$BOT_STATE_DIR";

/** What a template, a connector binding or the bot's profiles/overlays add to a bot. */
export interface Contribution {
  layers: Layer[];
  /** env var → vault secret */
  secrets: Record<string, { secret: string }>;
  /** references that could not be resolved (a missing template, profile, connector or required input) */
  problems: { path: string; message: string }[];
}

export interface RenderedBot {
  /** the manifest with the resolved `openclaw` and every secret reference (template, connectors, own) */
  effective: Manifest;
  config: Record<string, unknown>;
  hash: string;
  resolution: Resolution;
  secretRefs: Record<string, { secret: string }>;
}

/**
 * Resolves a bot's configuration: template → connectors → profiles → overlays → the bot's own `openclaw`,
 * then generates the OpenClaw config. Deterministic for the same stored layers and `now`. Throws a
 * ServiceError naming every path when a reference is missing, layers conflict, or a layer sets a path
 * Molthub owns.
 */
export function renderBot(tx: Tx, ws: string, m: Manifest, opts: { port: number; now: Date }): RenderedBot {
  const parts = [templateContribution(tx, ws, m), connectorContribution(tx, ws, m), layerContribution(tx, ws, m, opts.now)];
  const problems = parts.flatMap((p) => p.problems);
  if (problems.length) throw new ServiceError("invalid_request", `bot ${m.metadata.name}: ${problems.map((p) => p.message).join("; ")}`, problems);
  const botLayer: Layer = { kind: "bot", id: `bot:${m.metadata.name}`, name: m.metadata.name, priority: 0, values: m.spec.openclaw };
  const resolution = resolveLayers([...parts.flatMap((p) => p.layers), botLayer], opts.now);
  if (resolution.conflicts.length) {
    throw new ServiceError("invalid_request", `bot ${m.metadata.name}: the configuration layers conflict (${resolution.conflicts.length}): ${resolution.conflicts.map((c) => `${c.path}: ${c.message}`).join("; ")}`,
      resolution.conflicts.map((c) => ({ path: `openclaw.${c.path}`, message: `${c.message} (layers: ${c.layers.map((l) => `${l.kind} ${l.name}`).join(", ")})` })));
  }
  const reserved = RESERVED_OPENCLAW_PATHS.filter((p) => getPath(resolution.value, p) !== undefined);
  if (reserved.length) {
    throw new ServiceError("invalid_request", `bot ${m.metadata.name}: a layer sets ${reserved.join(", ")}, which Molthub manages; remove it from the layer`,
      reserved.map((p) => ({ path: `openclaw.${p}`, message: `set by ${resolution.provenance[Object.keys(resolution.provenance).find((k) => k === p || k.startsWith(p + ".")) ?? ""]?.layer.name ?? "a layer"}; managed by Molthub` })));
  }
  const secretRefs: Record<string, { secret: string }> = {};
  for (const p of parts) Object.assign(secretRefs, p.secrets);
  Object.assign(secretRefs, m.spec.secrets);
  const effective: Manifest = { ...m, spec: { ...m.spec, openclaw: resolution.value, secrets: secretRefs } };
  const config = generateConfig(effective, { port: opts.port, layout: layoutFor(LAYOUT_ROOT) });
  return { effective, config, hash: configHash(config), resolution, secretRefs };
}

/** Runs the workspace's policy packs on a rendered bot; throws `policy_blocked` when an enforced rule fails. */
export function enforcePolicy(tx: Tx, ws: string, r: RenderedBot, bot: { id?: string; port: number; host: string; now?: number }): EvaluationResult {
  const result = evaluateBotPolicy(tx, ws, { manifest: r.effective, config: r.config, botId: bot.id, port: bot.port, host: bot.host, now: bot.now });
  if (result.blocked) {
    const errs = result.violations.filter((v) => v.mode === "enforce" && v.severity === "error");
    throw new ServiceError("policy_blocked", `bot ${r.effective.metadata.name}: blocked by policy — ${errs.map((v) => `${v.ruleId}${v.path ? ` at ${v.path}` : ""}: ${v.message}`).join("; ")}`,
      { issues: errs.map((v) => ({ path: v.path, message: `${v.packId}/${v.ruleId}: ${v.message}` })), policy: result });
  }
  return result;
}
