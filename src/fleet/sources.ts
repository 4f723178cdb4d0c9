import { and, eq, inArray } from "drizzle-orm";
import { ServiceError } from "../core/errors.ts";
import type { Tx } from "../db/client.ts";
import { connectors, layers as layersTable, templates } from "../db/schema.ts";
import {
  CONNECTOR_TYPE_DEFS,
  type ConnectorSettings,
  type ConnectorType,
  connectorEnv,
  isConnectorType,
} from "../domain/connectors.ts";
import {
  fromStored,
  type LayerDoc,
  LayerDocError,
  layerId,
  type StoredKind,
  type StoredSpec,
  toLayer,
  validateLayerDoc,
} from "../domain/layer-docs.ts";
import { applicableOverlays, type BotIdentity, type Layer } from "../domain/layers.ts";
import type { Manifest } from "../domain/manifest.ts";
import { builtinTemplate, renderTemplate, type Template, TemplateError, validateTemplate } from "../domain/templates/index.ts";
import type { SecretRefs } from "./store.ts";

/**
 * Where a bot's configuration layers come from: its template, the connectors bound to it, its profiles and the
 * overlays that select it, then its own `spec.openclaw`. `gatherLayers` is the one reader, used by the render
 * pipeline and by the resolved view, so both always see the same layers.
 */

/** What a template, a connector binding or the bot's profiles/overlays add to a bot. */
export interface Contribution {
  layers: Layer[];
  /** env var → vault secret */
  secrets: SecretRefs;
  /** references that could not be resolved (a missing template, profile, connector or required input) */
  problems: { path: string; message: string }[];
}

// ---------- templates ----------

type TemplateRow = typeof templates.$inferSelect;

export interface FoundTemplate {
  template: Template;
  builtin: boolean;
  version: number;
  updatedAt: number | null;
}

export function loadTemplate(row: TemplateRow): Template {
  // stored specs were validated on save; validate again so a hand-edited row fails loudly, not half-way
  return validateTemplate(JSON.parse(row.spec), `template ${row.name}`);
}

/** The template named `name` in the workspace (built-in or user), or undefined. */
export function findTemplate(tx: Tx, ws: string, name: string): FoundTemplate | undefined {
  const b = builtinTemplate(name);
  if (b) return { template: b, builtin: true, version: 1, updatedAt: null };
  const row = tx
    .select()
    .from(templates)
    .where(and(eq(templates.workspaceId, ws), eq(templates.name, name)))
    .get();
  if (!row) return undefined;
  return { template: loadTemplate(row), builtin: false, version: row.version, updatedAt: row.updatedAt };
}

/**
 * The bot's template as the lowest layer (kind "template"), with the secrets it declares. A missing template,
 * a missing required input or a wrong one is a problem naming its path (e.g. `spec.template.inputs.botTokenSecret`).
 */
function templateContribution(tx: Tx, ws: string, m: Manifest): Contribution {
  const ref = m.spec.template;
  if (!ref) return { layers: [], secrets: {}, problems: [] };
  let found: FoundTemplate | undefined;
  try {
    found = findTemplate(tx, ws, ref.name);
  } catch (e) {
    if (!(e instanceof TemplateError)) throw e;
    const issues = e.issues.map((i) => `${i.path}: ${i.message}`).join("; ");
    return {
      layers: [],
      secrets: {},
      problems: [{ path: "spec.template.name", message: `the stored template ${ref.name} is invalid: ${issues}` }],
    };
  }
  if (!found) {
    const message = `template ${ref.name} does not exist; see \`molthub template list\` or the Templates page`;
    return { layers: [], secrets: {}, problems: [{ path: "spec.template.name", message }] };
  }
  const r = renderTemplate(found.template, ref.inputs);
  if (r.issues.length) {
    const problems = r.issues.map((i) => ({ path: `spec.template.${i.path}`, message: `template ${ref.name}: ${i.message}` }));
    return { layers: [], secrets: {}, problems };
  }
  return {
    layers: [{ kind: "template", id: `template:${ref.name}`, name: ref.name, priority: 0, values: r.openclaw }],
    secrets: r.secrets,
    problems: [],
  };
}

// ---------- connectors ----------

export type ConnectorRow = typeof connectors.$inferSelect;

export function connectorSettings(r: ConnectorRow): ConnectorSettings {
  return JSON.parse(r.settings) as ConnectorSettings;
}

export function connectorType(r: ConnectorRow): ConnectorType {
  if (!isConnectorType(r.type)) throw new ServiceError("internal", `connector ${r.name} has an unknown type ${r.type}`);
  return r.type;
}

/**
 * Env vars and config fragments of the connectors bound to the bot: one layer of kind "connector" per
 * connector and its env var → secret references. A missing connector, or two connectors delivering one env
 * var, is a problem naming them.
 */
function connectorContribution(tx: Tx, ws: string, m: Manifest): Contribution {
  const names = m.spec.connectors ?? [];
  const out: Contribution = { layers: [], secrets: {}, problems: [] };
  if (!names.length) return out;
  const rows = new Map(
    tx
      .select()
      .from(connectors)
      .where(and(eq(connectors.workspaceId, ws), inArray(connectors.name, names)))
      .all()
      .map((r) => [r.name, r]),
  );
  const deliveredBy = new Map<string, string>();
  names.forEach((name, i) => {
    const r = rows.get(name);
    if (!r || !isConnectorType(r.type)) {
      const message = `connector ${name} does not exist; create it first (molthub connector add ${name} --type TYPE) or remove it from the bot`;
      out.problems.push({ path: `spec.connectors.${i}`, message });
      return;
    }
    const def = CONNECTOR_TYPE_DEFS[r.type];
    const settings = connectorSettings(r);
    for (const [env, ref] of Object.entries(connectorEnv(def, r.secretName, settings))) {
      const other = deliveredBy.get(env);
      if (other) {
        out.problems.push({
          path: `spec.connectors.${i}`,
          message: `connectors ${other} and ${name} both deliver ${env}; bind only one of them`,
        });
        continue;
      }
      deliveredBy.set(env, name);
      out.secrets[env] = ref;
    }
    out.layers.push({ kind: "connector", id: `connector:${name}`, name, priority: 0, values: def.fragment(settings) });
  });
  return out;
}

// ---------- profiles and overlays ----------

export type LayerRow = typeof layersTable.$inferSelect;

export function identityOf(m: Manifest): BotIdentity {
  return { name: m.metadata.name, fleet: m.metadata.fleet, environment: m.metadata.environment, labels: m.metadata.labels };
}

export function layerRowDoc(row: LayerRow): LayerDoc {
  return fromStored(row.kind, row.name, JSON.parse(row.spec) as StoredSpec);
}

export function findLayerRow(tx: Tx, ws: string, kind: StoredKind, name: string): LayerRow | undefined {
  return tx
    .select()
    .from(layersTable)
    .where(and(eq(layersTable.workspaceId, ws), eq(layersTable.kind, kind), eq(layersTable.name, name)))
    .get();
}

/** A stored row as a resolver layer; a row that no longer validates is reported, not used. */
function rowLayer(row: LayerRow, id?: string): { layer?: Layer; problem?: string } {
  try {
    const doc = validateLayerDoc(layerRowDoc(row), { kind: row.kind });
    return { layer: toLayer(doc, id ?? layerId(row.kind, row.name)) };
  } catch (e) {
    const issues = e instanceof LayerDocError ? e.issues.map((i) => `${i.path}: ${i.message}`).join("; ") : (e as Error).message;
    return { problem: `${row.kind} ${row.name} is stored in a form that is no longer valid (${issues}); apply it again` };
  }
}

/**
 * The bot's profiles (in the order it lists them: priority decides, and among equal priorities the one
 * listed later wins) and the overlays whose selector and window match it at `now`.
 */
function layerContribution(tx: Tx, ws: string, m: Manifest, now: Date): Contribution {
  const problems: Contribution["problems"] = [];
  const layers: Layer[] = [];
  for (const [i, name] of (m.spec.profiles ?? []).entries()) {
    const row = findLayerRow(tx, ws, "profile", name);
    if (!row) {
      problems.push({ path: "spec.profiles", message: `profile ${name} does not exist` });
      continue;
    }
    const r = rowLayer(row, layerId("profile", name, i));
    if (r.problem) problems.push({ path: "spec.profiles", message: r.problem });
    else layers.push(r.layer!);
  }
  const overlays: Layer[] = [];
  const overlayRows = tx
    .select()
    .from(layersTable)
    .where(and(eq(layersTable.workspaceId, ws), eq(layersTable.kind, "overlay")))
    .all();
  for (const row of overlayRows) {
    const r = rowLayer(row);
    if (r.problem) problems.push({ path: "(overlays)", message: r.problem });
    else overlays.push(r.layer!);
  }
  layers.push(...applicableOverlays(overlays, identityOf(m), now));
  return { layers, secrets: {}, problems };
}

// ---------- all of them ----------

/**
 * Every layer of a bot in the order it applies — template → connectors → profiles → overlays → the bot's own
 * `spec.openclaw` — with the secret references they add and the references that could not be resolved.
 */
export function gatherLayers(tx: Tx, ws: string, m: Manifest, now: Date): Contribution {
  const parts = [templateContribution(tx, ws, m), connectorContribution(tx, ws, m), layerContribution(tx, ws, m, now)];
  const botLayer: Layer = {
    kind: "bot",
    id: `bot:${m.metadata.name}`,
    name: m.metadata.name,
    priority: 0,
    values: m.spec.openclaw,
  };
  const secrets: SecretRefs = {};
  for (const p of parts) Object.assign(secrets, p.secrets);
  return {
    layers: [...parts.flatMap((p) => p.layers), botLayer],
    secrets,
    problems: parts.flatMap((p) => p.problems),
  };
}
