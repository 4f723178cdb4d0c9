import { stringify as toYaml } from "yaml";
import * as z from "zod";
import { DocumentError, type DocumentIssue, zodIssues } from "./documents.ts";
import { type Layer, validateLayer } from "./layers.ts";
import { getPath, NAME_RE, parseManifests, RESERVED_OPENCLAW_PATHS } from "./manifest.ts";
import { canonicalJson } from "./openclaw-config.ts";

/**
 * Profile and Overlay documents (YAML or JSON): the public contract for shared configuration layers.
 *
 *   apiVersion: molthub/v1
 *   kind: Profile | Overlay
 *   metadata: { name, description? }
 *   spec:
 *     priority: 10                       # higher applies later (wins), within its kind
 *     values: { …openclaw fragment… }    # may not set paths Molthub owns (gateway.port, gateway.bind, …)
 *     strategies: { path: override | merge | prepend | append }
 *     locked: [paths]                    # later layers (overlays, the bot) cannot change these
 *     selector: { bots, fleets, environments, labels }   # Overlay only; every given dimension must match
 *     window: { from, to }               # Overlay only; ISO times, `from` inclusive, `to` exclusive
 *     enabled: true
 *
 * Pure: no I/O.
 */

export type LayerDocKind = "Profile" | "Overlay";
export type StoredKind = "profile" | "overlay";

const KIND_OF_DOC: Record<LayerDocKind, StoredKind> = { Profile: "profile", Overlay: "overlay" };
export const DOC_OF_KIND: Record<StoredKind, LayerDocKind> = { profile: "Profile", overlay: "Overlay" };

/** The largest `values` object a layer may carry, as canonical JSON. */
const MAX_VALUES_CHARS = 256_000;

const name = z
  .string()
  .regex(NAME_RE, "lowercase letters, digits and dashes, 1–63 characters, starting and ending with a letter or digit");
const dotted = z
  .string()
  .max(300)
  .regex(/^[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*$/, "a dotted path like channels.telegram.dmPolicy");
const isoTime = z
  .string()
  .max(40)
  .refine((s) => !Number.isNaN(Date.parse(s)), "an ISO date-time like 2026-12-01T00:00:00Z");
const labelKey = z.string().regex(/^[a-z0-9]([a-z0-9._/-]{0,61}[a-z0-9])?$/i, "label keys: letters, digits, . _ / -");

const layerDocSchema = z.strictObject({
  apiVersion: z.literal("molthub/v1", { error: "must be molthub/v1" }),
  kind: z.enum(["Profile", "Overlay"], { error: "Profile or Overlay" }),
  metadata: z.strictObject({
    name,
    description: z.string().max(500).optional(),
  }),
  spec: z.strictObject({
    priority: z.number().int("a whole number").min(-1_000_000).max(1_000_000).default(0),
    values: z.record(z.string(), z.unknown()).default({}),
    strategies: z
      .record(dotted, z.enum(["override", "merge", "prepend", "append"], { error: "override, merge, prepend or append" }))
      .optional(),
    locked: z.array(dotted).max(200).optional(),
    selector: z
      .strictObject({
        bots: z.array(name).max(500).optional(),
        fleets: z.array(name).max(100).optional(),
        environments: z.array(name).max(100).optional(),
        labels: z.record(labelKey, z.string().max(63)).optional(),
      })
      .optional(),
    window: z.strictObject({ from: isoTime.optional(), to: isoTime.optional() }).optional(),
    enabled: z.boolean().default(true),
  }),
});

function isObj(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === "object" && !Array.isArray(v);
}

/**
 * Checks that span fields, run on the raw input so they are reported together with the schema's own
 * problems (zod skips refinements once a field is wrong).
 */
function crossIssues(raw: unknown): DocIssue[] {
  const out: DocIssue[] = [];
  if (!isObj(raw) || !isObj(raw.spec)) return out;
  const spec = raw.spec;
  if (raw.kind === "Profile") {
    if (spec.selector !== undefined)
      out.push({
        path: "spec.selector",
        message: "only overlays have a selector; a profile applies to the bots that list it in spec.profiles",
      });
    if (spec.window !== undefined) out.push({ path: "spec.window", message: "only overlays have a time window" });
  }
  const w = spec.window;
  if (isObj(w) && typeof w.from === "string" && typeof w.to === "string" && Date.parse(w.from) >= Date.parse(w.to))
    out.push({ path: "spec.window.to", message: "must be after window.from" });
  if (isObj(spec.values)) {
    for (const p of RESERVED_OPENCLAW_PATHS) {
      if (getPath(spec.values, p) !== undefined)
        out.push({
          path: `spec.values.${p}`,
          message: `${p} is managed by Molthub (loopback bind, allocated port, token auth, per-bot log file); remove it from the layer`,
        });
    }
    let size = 0;
    try {
      size = canonicalJson(spec.values).length;
    } catch {
      out.push({ path: "spec.values", message: "must be plain JSON data" });
    }
    if (size > MAX_VALUES_CHARS)
      out.push({ path: "spec.values", message: `larger than ${MAX_VALUES_CHARS} characters; split it into several layers` });
  }
  if (Array.isArray(spec.locked)) {
    for (const [i, p] of spec.locked.entries()) {
      if (
        typeof p === "string" &&
        RESERVED_OPENCLAW_PATHS.some((r) => p === r || p.startsWith(`${r}.`) || r.startsWith(`${p}.`))
      ) {
        out.push({ path: `spec.locked.${i}`, message: `${p} touches paths Molthub manages; it cannot be locked` });
      }
    }
  }
  return out;
}

export type LayerDoc = z.output<typeof layerDocSchema>;

type DocIssue = DocumentIssue;

export class LayerDocError extends DocumentError {
  override name = "LayerDocError";
}

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? "" : "s"}`;
}

/**
 * Validates one Profile/Overlay document; every wrong path is listed. `expect` pins the kind (the API route
 * or CLI group says which) and the name (the URL's).
 */
export function validateLayerDoc(input: unknown, expect: { kind?: StoredKind; name?: string } = {}): LayerDoc {
  const r = layerDocSchema.safeParse(input);
  const issues: DocIssue[] = [];
  if (!r.success) issues.push(...zodIssues(r.error));
  for (const i of crossIssues(input)) if (!issues.some((x) => x.path === i.path)) issues.push(i);
  const raw = input as { kind?: unknown; metadata?: { name?: unknown } } | null;
  if (
    expect.kind &&
    raw &&
    typeof raw === "object" &&
    (raw.kind === "Profile" || raw.kind === "Overlay") &&
    KIND_OF_DOC[raw.kind] !== expect.kind
  ) {
    issues.push({
      path: "kind",
      message: `this is the ${expect.kind}s endpoint; the document must have kind ${DOC_OF_KIND[expect.kind]}`,
    });
  }
  if (
    expect.name &&
    raw &&
    typeof raw === "object" &&
    typeof raw.metadata?.name === "string" &&
    raw.metadata.name !== expect.name
  ) {
    issues.push({
      path: "metadata.name",
      message: `must be ${expect.name}, the name in the address (renaming is not supported: create the new one, move the bots, delete the old one)`,
    });
  }
  if (issues.length)
    throw new LayerDocError(`the ${expect.kind ?? "layer"} document is invalid (${plural(issues.length, "problem")})`, issues);
  const doc = (r as { data: LayerDoc }).data;
  // the resolver's own check (a second line of defence; the document schema is stricter)
  try {
    validateLayer(toLayer(doc));
  } catch (e) {
    const le = e as { issues?: DocIssue[]; message: string };
    throw new LayerDocError(
      `the ${expect.kind ?? "layer"} document is invalid`,
      (le.issues ?? [{ path: "(document)", message: le.message }]).map((i) => ({ path: `spec.${i.path}`, message: i.message })),
    );
  }
  return doc;
}

/** Parses YAML or JSON text into documents (one or more, `---` separated). Throws LayerDocError on bad text. */
export function parseLayerDocs(text: string, source = "document"): unknown[] {
  try {
    return parseManifests(text, source);
  } catch (e) {
    const err = e as { message: string; issues?: DocIssue[] };
    throw new LayerDocError(err.message, err.issues ?? [{ path: "(document)", message: err.message }]);
  }
}

/** The layer id: kind and name (and, for a bot's profiles, its place in the bot's list). */
export function layerId(kind: StoredKind, name: string, position?: number): string {
  return position === undefined ? `${kind}:${name}` : `${kind}:${String(position).padStart(2, "0")}:${name}`;
}

/** The resolver's view of a document. */
export function toLayer(doc: LayerDoc, id = layerId(KIND_OF_DOC[doc.kind], doc.metadata.name)): Layer {
  const s = doc.spec;
  const layer: Layer = {
    kind: KIND_OF_DOC[doc.kind],
    id,
    name: doc.metadata.name,
    priority: s.priority,
    values: s.values,
    enabled: s.enabled,
  };
  if (s.strategies && Object.keys(s.strategies).length) layer.strategies = s.strategies;
  if (s.locked?.length) layer.locked = s.locked;
  if (s.selector) layer.selector = s.selector;
  if (s.window) layer.window = s.window;
  return layer;
}

/** What the `layers.spec` column holds: the document minus apiVersion, kind and name. */
export interface StoredSpec {
  description?: string;
  priority: number;
  values: Record<string, unknown>;
  strategies?: Record<string, "override" | "merge" | "prepend" | "append">;
  locked?: string[];
  selector?: LayerDoc["spec"]["selector"];
  window?: LayerDoc["spec"]["window"];
  enabled: boolean;
}

export function toStored(doc: LayerDoc): StoredSpec {
  const { description } = doc.metadata;
  return { ...(description !== undefined ? { description } : {}), ...doc.spec };
}

export function fromStored(kind: StoredKind, name: string, spec: StoredSpec): LayerDoc {
  const { description, ...rest } = spec;
  return {
    apiVersion: "molthub/v1",
    kind: DOC_OF_KIND[kind],
    metadata: description !== undefined ? { name, description } : { name },
    spec: { ...rest, priority: rest.priority ?? 0, values: rest.values ?? {}, enabled: rest.enabled ?? true },
  };
}

/** Two documents that store the same thing. */
export function sameDoc(a: LayerDoc, b: LayerDoc): boolean {
  return canonicalJson(a) === canonicalJson(b);
}

export function docYaml(doc: LayerDoc): string {
  return toYaml(doc, { lineWidth: 0 });
}

/** A starting point for the editor and the docs. */
export function exampleDoc(kind: StoredKind, name = kind === "profile" ? "team-defaults" : "prod-hardening"): string {
  if (kind === "profile") {
    return `apiVersion: molthub/v1
kind: Profile
metadata: { name: ${name}, description: shared model and update settings }
spec:
  priority: 10
  values:
    agents: { defaults: { model: anthropic/claude-sonnet-4-5 } }
    update: { checkOnStart: false }
  locked: [update.checkOnStart]
`;
  }
  return `apiVersion: molthub/v1
kind: Overlay
metadata: { name: ${name}, description: stricter direct messages in production }
spec:
  priority: 10
  selector: { environments: [prod] }
  values:
    channels: { telegram: { dmPolicy: allowlist } }
  enabled: true
`;
}
