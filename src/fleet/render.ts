import { ServiceError } from "../core/errors.ts";
import type { Tx } from "../db/client.ts";
import { type Resolution, resolveLayers } from "../domain/layers.ts";
import { getPath, type Manifest, RESERVED_OPENCLAW_PATHS } from "../domain/manifest.ts";
import { configHash, generateConfig, layoutFor } from "../domain/openclaw-config.ts";
import type { EvaluationResult } from "../domain/policy.ts";
import { evaluateBotPolicy, policyRefusal } from "./policy.ts";
import { assertSecretsExist } from "./secrets.ts";
import { gatherLayers } from "./sources.ts";
import type { SecretRefs } from "./store.ts";

/** The root the reconciler maps to a provider's layout; stored configs use it so hashes are stable. */
const LAYOUT_ROOT = "$BOT_STATE_DIR";

export interface RenderedBot {
  /** the manifest with the resolved `openclaw` and every secret reference (template, connectors, own) */
  effective: Manifest;
  config: Record<string, unknown>;
  hash: string;
  resolution: Resolution;
  secretRefs: SecretRefs;
  /** the policy findings; with `enforce` (the default) a blocked bot never gets here */
  policy: EvaluationResult;
}

/** Where the bot runs (or would): policy checks port spacing and unique tokens against its peers. */
export interface RenderTarget {
  port: number;
  host: string;
  /** absent for a bot not created yet */
  botId?: string;
  now: number;
}

/**
 * The one render pipeline, used by every write (apply, dry runs, template/layer/connector changes, drift
 * adoption) and by `policy check`, so they cannot disagree:
 * 1. layers: template → connectors → profiles → overlays → the bot's own `openclaw`, resolved with provenance;
 *    a missing reference, a conflict or a layer setting a path Molthub owns is refused, naming each path;
 * 2. secrets: every secret the bot references must exist;
 * 3. policy: the workspace's packs and exceptions; an enforced error refuses the bot (`policy_blocked`) unless
 *    `enforce` is false (a report such as `policy check` wants the findings, not the refusal).
 * Deterministic for the same stored layers and `now`.
 */
export function renderBot(tx: Tx, ws: string, m: Manifest, target: RenderTarget, opts: { enforce?: boolean } = {}): RenderedBot {
  const name = m.metadata.name;
  const now = new Date(target.now);
  const gathered = gatherLayers(tx, ws, m, now);
  if (gathered.problems.length) {
    throw new ServiceError(
      "invalid_request",
      `bot ${name}: ${gathered.problems.map((p) => p.message).join("; ")}`,
      gathered.problems,
    );
  }
  const resolution = resolveLayers(gathered.layers, now);
  if (resolution.conflicts.length) {
    const list = resolution.conflicts.map((c) => `${c.path}: ${c.message}`).join("; ");
    throw new ServiceError(
      "invalid_request",
      `bot ${name}: the configuration layers conflict (${resolution.conflicts.length}): ${list}`,
      resolution.conflicts.map((c) => ({
        path: `openclaw.${c.path}`,
        message: `${c.message} (layers: ${c.layers.map((l) => `${l.kind} ${l.name}`).join(", ")})`,
      })),
    );
  }
  const reserved = RESERVED_OPENCLAW_PATHS.filter((p) => getPath(resolution.value, p) !== undefined);
  if (reserved.length) {
    const setBy = (p: string) => {
      const key = Object.keys(resolution.provenance).find((k) => k === p || k.startsWith(`${p}.`)) ?? "";
      return resolution.provenance[key]?.layer.name ?? "a layer";
    };
    throw new ServiceError(
      "invalid_request",
      `bot ${name}: a layer sets ${reserved.join(", ")}, which Molthub manages; remove it from the layer`,
      reserved.map((p) => ({ path: `openclaw.${p}`, message: `set by ${setBy(p)}; managed by Molthub` })),
    );
  }
  const secretRefs: SecretRefs = { ...gathered.secrets, ...m.spec.secrets };
  const effective: Manifest = { ...m, spec: { ...m.spec, openclaw: resolution.value, secrets: secretRefs } };
  const config = generateConfig(effective, { port: target.port, layout: layoutFor(LAYOUT_ROOT) });
  assertSecretsExist(tx, ws, name, secretRefs);
  const policy = evaluateBotPolicy(tx, ws, {
    manifest: effective,
    config,
    botId: target.botId,
    port: target.port,
    host: target.host,
    now: target.now,
  });
  if (policy.blocked && opts.enforce !== false) throw policyRefusal(name, policy);
  return { effective, config, hash: configHash(config), resolution, secretRefs, policy };
}
