import * as z from "zod";
import { DocumentError, zodIssues } from "./documents.ts";
import { canonicalJson } from "./openclaw-config.ts";

/**
 * Layered resolution of a bot's `openclaw` object: template → profiles → overlays → bot.
 * Pure: the same layers (in any order) and the same `now` give the same value, provenance and conflicts.
 *
 * Rules:
 * - Layers apply in order of kind (template, connector, profile, overlay, bot), then priority ascending, then id.
 *   A layer applied later wins, except on paths an earlier layer locked.
 * - Per-path strategy (`strategies[path]`): "merge" (default for objects: deep merge), "override" (default for
 *   scalars and arrays: replace), "prepend" / "append" (arrays: concatenate before / after what is there).
 * - `locked` paths: once a layer has been applied, later layers may not set those paths (or anything under
 *   them, or replace an ancestor wholesale). Such an attempt is a conflict and the locked value stays.
 * - Two overlays with equal priority setting one leaf to different values is a conflict (the one with the
 *   greater id still wins, so the result stays deterministic).
 * - Disabled layers and layers outside their time window are skipped.
 */

export type LayerKind = "template" | "connector" | "profile" | "overlay" | "bot";
type MergeStrategy = "override" | "merge" | "prepend" | "append";

export interface LayerSelector {
  bots?: string[];
  fleets?: string[];
  environments?: string[];
  labels?: Record<string, string>;
}

export interface Layer {
  kind: LayerKind;
  id: string;
  name: string;
  priority: number;
  values: Record<string, unknown>;
  strategies?: Record<string, MergeStrategy>;
  /** Paths that layers applied after this one cannot change. */
  locked?: string[];
  /** Overlays only: which bots the overlay applies to (every given dimension must match). */
  selector?: LayerSelector;
  /** ISO times; `from` inclusive, `to` exclusive. */
  window?: { from?: string; to?: string };
  enabled?: boolean;
}

export interface LayerRef {
  kind: LayerKind;
  id: string;
  name: string;
}

export interface BotIdentity {
  name: string;
  fleet?: string;
  environment?: string;
  labels?: Record<string, string>;
}

export interface Provenance {
  layer: LayerRef;
  /** Earlier layers whose value at this path was replaced (or extended, for prepend/append), oldest first. */
  overrode?: { layer: LayerRef; value: unknown }[];
}

export interface LayerConflict {
  path: string;
  message: string;
  layers: LayerRef[];
}

export interface Resolution {
  value: Record<string, unknown>;
  provenance: Record<string, Provenance>;
  conflicts: LayerConflict[];
}

const KIND_RANK: Record<LayerKind, number> = { template: 0, connector: 1, profile: 2, overlay: 3, bot: 4 };

function isObject(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === "object" && !Array.isArray(v);
}

function ref(l: Layer): LayerRef {
  return { kind: l.kind, id: l.id, name: l.name };
}

function join(prefix: string, key: string): string {
  return prefix ? `${prefix}.${key}` : key;
}

/** `path` is `lock` or below it. */
function within(path: string, lock: string): boolean {
  return path === lock || path.startsWith(`${lock}.`);
}

export function isActive(layer: Layer, now: Date): boolean {
  if (layer.enabled === false) return false;
  const t = now.getTime();
  if (layer.window?.from !== undefined) {
    const from = Date.parse(layer.window.from);
    if (Number.isNaN(from) || t < from) return false;
  }
  if (layer.window?.to !== undefined) {
    const to = Date.parse(layer.window.to);
    if (Number.isNaN(to) || t >= to) return false;
  }
  return true;
}

export function selectorMatches(selector: LayerSelector | undefined, bot: BotIdentity): boolean {
  if (!selector) return true;
  if (selector.bots && !selector.bots.includes(bot.name)) return false;
  if (selector.fleets && (bot.fleet === undefined || !selector.fleets.includes(bot.fleet))) return false;
  if (selector.environments && (bot.environment === undefined || !selector.environments.includes(bot.environment))) return false;
  for (const [k, v] of Object.entries(selector.labels ?? {})) {
    if (bot.labels?.[k] !== v) return false;
  }
  return true;
}

/** The overlays that apply to `bot` at `now` (enabled, inside their window, selector matching), in resolution order. */
export function applicableOverlays(overlays: Layer[], bot: BotIdentity, now: Date): Layer[] {
  return sortLayers(overlays.filter((o) => isActive(o, now) && selectorMatches(o.selector, bot)));
}

function compareLayers(a: Layer, b: Layer): number {
  return (
    KIND_RANK[a.kind] - KIND_RANK[b.kind] ||
    a.priority - b.priority ||
    (a.id < b.id ? -1 : a.id > b.id ? 1 : 0) ||
    (a.name < b.name ? -1 : a.name > b.name ? 1 : 0) ||
    cmpStr(canonicalJson(a), canonicalJson(b))
  );
}

function cmpStr(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

export function sortLayers(layers: Layer[]): Layer[] {
  return [...layers].sort(compareLayers);
}

/** Leaf paths of a value: scalars, arrays and empty objects are leaves. */
export function leafPaths(v: unknown, prefix = ""): string[] {
  if (isObject(v) && Object.keys(v).length > 0)
    return Object.keys(v)
      .sort()
      .flatMap((k) => leafPaths(v[k], join(prefix, k)));
  return prefix ? [prefix] : [];
}

function getAt(obj: unknown, path: string): unknown {
  let cur = obj;
  for (const k of path.split(".")) {
    if (!isObject(cur)) return undefined;
    cur = cur[k];
  }
  return cur;
}

function setAt(obj: Record<string, unknown>, path: string, value: unknown): void {
  const keys = path.split(".");
  let cur = obj;
  for (const k of keys.slice(0, -1)) {
    if (!isObject(cur[k])) cur[k] = {};
    cur = cur[k] as Record<string, unknown>;
  }
  cur[keys[keys.length - 1]!] = value;
}

function clone<T>(v: T): T {
  return v === undefined ? v : (structuredClone(v) as T);
}

/** Resolves layers into one `openclaw` object. Overlays should already be filtered with applicableOverlays. */
export function resolveLayers(layers: Layer[], now: Date = new Date()): Resolution {
  const ordered = sortLayers(layers.filter((l) => isActive(l, now)));
  const value: Record<string, unknown> = {};
  const provenance: Record<string, Provenance> = {};
  const conflicts: LayerConflict[] = [];
  const locks: { path: string; layer: LayerRef }[] = [];
  // leaves set by overlays, for equal-priority conflicts
  const overlaySets: { path: string; layer: Layer; value: unknown }[] = [];
  const reported = new Set<string>();

  const lockFor = (path: string) => locks.find((l) => within(path, l.path));
  const locksBelow = (path: string) => locks.filter((l) => l.path.startsWith(`${path}.`));

  const dropProvenanceUnder = (path: string) => {
    for (const p of Object.keys(provenance)) if (within(p, path)) delete provenance[p];
  };

  const record = (path: string, layer: Layer, previous: unknown) => {
    const prev = provenance[path];
    const entry: Provenance = { layer: ref(layer) };
    if (prev && previous !== undefined)
      entry.overrode = [...(prev.overrode ?? []), { layer: prev.layer, value: clone(previous) }];
    provenance[path] = entry;
  };

  const checkOverlayTie = (path: string, layer: Layer, v: unknown) => {
    if (layer.kind !== "overlay") return;
    // every earlier overlay of equal priority that set this leaf differently, or a path above or below it (shape clash)
    for (const before of overlaySets) {
      if (before.layer === layer || before.layer.priority !== layer.priority) continue;
      if (!(within(before.path, path) || within(path, before.path))) continue;
      if (before.path === path && canonicalJson(before.value) === canonicalJson(v)) continue;
      const key = `${path}\u0000${before.layer.id}\u0000${layer.id}`;
      if (reported.has(key)) continue;
      reported.add(key);
      conflicts.push({
        path,
        message: `overlays "${before.layer.name}" and "${layer.name}" both have priority ${layer.priority} and set ${before.path === path ? path : `${before.path} and ${path}`} differently; give one a higher priority`,
        layers: [ref(before.layer), ref(layer)],
      });
    }
    overlaySets.push({ path, layer, value: clone(v) });
  };

  /** Sets a whole subtree at `path` (replacing what is there), with provenance for each of its leaves. */
  const place = (target: Record<string, unknown>, key: string, path: string, v: unknown, layer: Layer) => {
    const old = target[key];
    const oldLeaves = new Map(leafPaths(old, path).map((p) => [p, provenance[p]] as const));
    const oldValues = new Map(leafPaths(old, path).map((p) => [p, getAt({ [key]: old }, key + p.slice(path.length))] as const));
    dropProvenanceUnder(path);
    target[key] = clone(v);
    for (const leaf of leafPaths(v, path)) {
      const prev = oldLeaves.get(leaf);
      const entry: Provenance = { layer: ref(layer) };
      if (prev) entry.overrode = [...(prev.overrode ?? []), { layer: prev.layer, value: clone(oldValues.get(leaf)) }];
      provenance[leaf] = entry;
      checkOverlayTie(leaf, layer, getAt({ [key]: v }, key + leaf.slice(path.length)));
    }
  };

  const apply = (target: Record<string, unknown>, src: Record<string, unknown>, prefix: string, layer: Layer) => {
    for (const key of Object.keys(src).sort()) {
      const path = join(prefix, key);
      const v = src[key];
      if (v === undefined) continue;
      const lock = lockFor(path);
      if (lock) {
        conflicts.push({
          path,
          message: `${path} is locked by ${lock.layer.kind} "${lock.layer.name}"; ${layer.kind} "${layer.name}" cannot change it`,
          layers: [lock.layer, ref(layer)],
        });
        continue;
      }
      const strategy: MergeStrategy = layer.strategies?.[path] ?? (isObject(v) ? "merge" : "override");
      const cur = target[key];
      if (isObject(v) && isObject(cur) && strategy === "merge") {
        apply(cur, v, path, layer);
        continue;
      }
      if (isObject(v) && cur === undefined && strategy === "merge") {
        target[key] = {};
        apply(target[key] as Record<string, unknown>, v, path, layer);
        // an object left empty (empty in the layer, or every key refused) is a leaf this layer created
        if (Object.keys(target[key] as object).length === 0) record(path, layer, undefined);
        continue;
      }
      if ((strategy === "prepend" || strategy === "append") && Array.isArray(v)) {
        if (cur !== undefined && !Array.isArray(cur)) {
          conflicts.push({
            path,
            message: `${layer.kind} "${layer.name}" wants to ${strategy} to ${path}, which is not a list; replacing it instead`,
            layers: [ref(layer)],
          });
        } else if (cur !== undefined) {
          const next = strategy === "prepend" ? [...clone(v), ...cur] : [...cur, ...clone(v)];
          record(path, layer, cur);
          target[key] = next;
          continue;
        }
      } else if (strategy === "prepend" || strategy === "append") {
        conflicts.push({
          path,
          message: `${layer.kind} "${layer.name}" uses ${strategy} on ${path}, but its value is not a list; replacing instead`,
          layers: [ref(layer)],
        });
      }
      // override (or a merge that cannot merge): replace the subtree, keeping locked values below it
      const below = locksBelow(path);
      const kept = below.map((l) => ({
        lock: l,
        value: getAt(value, l.path),
        prov: Object.entries(provenance).filter(([p]) => within(p, l.path)),
      }));
      place(target, key, path, v, layer);
      for (const k of kept) {
        conflicts.push({
          path: k.lock.path,
          message: `${k.lock.path} is locked by ${k.lock.layer.kind} "${k.lock.layer.name}"; ${layer.kind} "${layer.name}" replaces ${path} but the locked value is kept`,
          layers: [k.lock.layer, ref(layer)],
        });
        dropProvenanceUnder(k.lock.path);
        if (k.value === undefined) {
          const parent = k.lock.path.split(".").slice(0, -1).join(".");
          const p = parent ? getAt(value, parent) : value;
          if (isObject(p)) delete p[k.lock.path.split(".").pop()!];
        } else {
          setAt(value, k.lock.path, clone(k.value));
          for (const [p, e] of k.prov) provenance[p] = e;
        }
      }
      if (kept.length) {
        // keep provenance in step with the leaves under `path` (removing a locked-absent key can leave an empty object)
        const leaves = new Set(leafPaths(getAt(value, path), path));
        for (const p of Object.keys(provenance)) if (within(p, path) && !leaves.has(p)) delete provenance[p];
        for (const p of leaves) provenance[p] ??= { layer: ref(layer) };
      }
    }
  };

  for (const layer of ordered) {
    apply(value, layer.values ?? {}, "", layer);
    for (const p of layer.locked ?? []) if (!lockFor(p)) locks.push({ path: p, layer: ref(layer) });
  }
  // provenance only for leaves that exist
  const leaves = new Set(leafPaths(value));
  for (const p of Object.keys(provenance)) if (!leaves.has(p)) delete provenance[p];
  return {
    value,
    provenance: Object.fromEntries(
      Object.keys(provenance)
        .sort()
        .map((k) => [k, provenance[k]!]),
    ),
    conflicts,
  };
}

// ---------- validation of layers stored as data (YAML/JSON) ----------

const isoTime = z.string().refine((s) => !Number.isNaN(Date.parse(s)), "an ISO date-time like 2026-12-01T00:00:00Z");
const dotted = z.string().regex(/^[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*$/, "a dotted path like channels.telegram.dmPolicy");

const layerSchema = z
  .strictObject({
    kind: z.enum(["template", "connector", "profile", "overlay", "bot"]),
    id: z.string().min(1).max(100),
    name: z.string().min(1).max(100),
    priority: z.number().int().min(-1000000).max(1000000).default(0),
    values: z.record(z.string(), z.unknown()).default({}),
    strategies: z.record(dotted, z.enum(["override", "merge", "prepend", "append"])).optional(),
    locked: z.array(dotted).optional(),
    selector: z
      .strictObject({
        bots: z.array(z.string().min(1)).optional(),
        fleets: z.array(z.string().min(1)).optional(),
        environments: z.array(z.string().min(1)).optional(),
        labels: z.record(z.string(), z.string()).optional(),
      })
      .optional(),
    window: z.strictObject({ from: isoTime.optional(), to: isoTime.optional() }).optional(),
    enabled: z.boolean().optional(),
  })
  .superRefine((l, ctx) => {
    if (l.selector && l.kind !== "overlay")
      ctx.addIssue({ code: "custom", path: ["selector"], message: "only overlays have a selector" });
    if (l.window?.from && l.window.to && Date.parse(l.window.from) >= Date.parse(l.window.to))
      ctx.addIssue({ code: "custom", path: ["window", "to"], message: "must be after window.from" });
  });

export class LayerError extends DocumentError {
  override name = "LayerError";
}

/** Validates a layer read from storage or an API body; every wrong path is listed. */
export function validateLayer(input: unknown): Layer {
  const r = layerSchema.safeParse(input);
  if (r.success) return r.data as Layer;
  const issues = zodIssues(r.error, { root: "(layer)" });
  throw new LayerError(`the layer is invalid (${issues.length} problem${issues.length === 1 ? "" : "s"})`, issues);
}
