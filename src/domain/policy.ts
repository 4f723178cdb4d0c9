import { parse as parseYaml } from "yaml";
import * as z from "zod";
import { DocumentError, type DocumentIssue, zodIssues } from "./documents.ts";
import { type Manifest, targetHost } from "./manifest.ts";
import { allocatePort, canonicalJson, PORT_SPACING } from "./openclaw-config.ts";

/**
 * Policy engine over a bot's resolved OpenClaw config and its manifest. Pure: no I/O, `now` is passed in.
 *
 * A pack holds rules; a rule is data (validated here) of one of these types:
 *   required {path} · forbidden {path} · allowedValues {path, values} · pattern {path, regex}
 *   · range {path, min?, max?} · jsonSchema {path, schema} · builtin {check}
 * Paths are dotted; a `*` segment matches every key present (e.g. `channels.*.dmPolicy`); "" is the whole config.
 * `fix` is an RFC 7396 merge patch on the config that makes the rule pass.
 */

// ---------- types ----------

type Severity = "error" | "warning";

interface BotRef {
  name: string;
  fleet?: string;
  environment?: string;
  labels?: Record<string, string>;
}

export interface FleetPeer {
  name: string;
  config: Record<string, unknown>;
  port: number;
  /** Host the peer runs on; undefined / "local" = this machine. */
  host?: string;
  /** The peer's manifest `spec.secrets` (env var → stored secret), so references to one stored secret compare equal. */
  secrets?: Record<string, { secret: string }>;
}

export interface PolicySubject {
  manifest: Manifest;
  config: Record<string, unknown>;
  bot: BotRef;
  workspace?: string;
  fleetPeers?: FleetPeer[];
}

export interface PolicyException {
  ruleId: string;
  botName?: string;
  reason: string;
  expiresAt: string;
}

export interface Violation {
  packId: string;
  ruleId: string;
  /** "warning" for every finding of an advisory pack. */
  severity: Severity;
  mode: "enforce" | "advisory";
  path: string;
  message: string;
  fix?: Record<string, unknown>;
}

export interface ExceptedViolation extends Violation {
  exception: PolicyException;
}

export interface EvaluationResult {
  blocked: boolean;
  violations: Violation[];
  excepted: ExceptedViolation[];
}

// ---------- helpers ----------

function isObject(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === "object" && !Array.isArray(v);
}

function splitPath(path: string): string[] {
  return path === "" ? [] : path.split(".");
}

export function getAtPath(obj: unknown, path: string): unknown {
  let cur = obj;
  for (const k of splitPath(path)) {
    if (!isObject(cur)) return undefined;
    cur = cur[k];
  }
  return cur;
}

/** Concrete paths for a path with `*` segments, expanded over the keys present. */
function expandPath(obj: unknown, path: string): string[] {
  const segs = splitPath(path);
  let acc: { path: string[]; node: unknown }[] = [{ path: [], node: obj }];
  for (const s of segs) {
    const next: typeof acc = [];
    for (const a of acc) {
      if (s === "*") {
        if (isObject(a.node)) for (const k of Object.keys(a.node).sort()) next.push({ path: [...a.path, k], node: a.node[k] });
      } else next.push({ path: [...a.path, s], node: isObject(a.node) ? a.node[s] : undefined });
    }
    acc = next;
  }
  return acc.map((a) => a.path.join("."));
}

/** A merge patch that sets `path` to `value` (null deletes). */
function patchAt(path: string, value: unknown): Record<string, unknown> {
  const segs = splitPath(path);
  if (segs.length === 0) return isObject(value) ? value : {};
  let out: unknown = value;
  for (const k of [...segs].reverse()) out = { [k]: out };
  return out as Record<string, unknown>;
}

/** RFC 7396. */
export function applyMergePatch(target: unknown, patch: unknown): unknown {
  if (!isObject(patch)) return structuredClone(patch);
  const out: Record<string, unknown> = isObject(target) ? { ...target } : {};
  for (const [k, v] of Object.entries(patch)) {
    if (v === null) delete out[k];
    else out[k] = applyMergePatch(out[k], v);
  }
  return out;
}

// ---------- JSON Schema subset ----------

const SCHEMA_KEYWORDS = new Set([
  "type",
  "enum",
  "const",
  "pattern",
  "minimum",
  "maximum",
  "minLength",
  "maxLength",
  "required",
  "properties",
  "items",
  "additionalProperties",
  "description",
  "title",
  "$comment",
]);
const SCHEMA_TYPES = ["string", "number", "integer", "boolean", "object", "array", "null"];

/** Problems with a schema fragment (unsupported keywords, wrong shapes); empty when usable. */
function checkSchema(schema: unknown, path = ""): { path: string; message: string }[] {
  const at = (k: string) => (path ? `${path}.${k}` : k);
  if (typeof schema === "boolean") return [];
  if (!isObject(schema)) return [{ path: path || "(schema)", message: "a schema must be an object" }];
  const issues: { path: string; message: string }[] = [];
  for (const [k, v] of Object.entries(schema)) {
    if (!SCHEMA_KEYWORDS.has(k)) {
      issues.push({
        path: at(k),
        message: `unsupported JSON Schema keyword "${k}"; supported: ${[...SCHEMA_KEYWORDS].join(", ")}`,
      });
      continue;
    }
    if (k === "type") {
      const ts = Array.isArray(v) ? v : [v];
      if (!ts.every((t) => typeof t === "string" && SCHEMA_TYPES.includes(t)))
        issues.push({ path: at(k), message: `type must be one of ${SCHEMA_TYPES.join(", ")} (or a list of them)` });
    } else if (k === "enum" && !Array.isArray(v)) issues.push({ path: at(k), message: "enum must be a list" });
    else if (k === "pattern") {
      if (typeof v !== "string") issues.push({ path: at(k), message: "pattern must be a string" });
      else {
        try {
          new RegExp(v, "u");
        } catch (e) {
          issues.push({ path: at(k), message: `invalid regular expression: ${(e as Error).message}` });
        }
      }
    } else if (["minimum", "maximum", "minLength", "maxLength"].includes(k) && typeof v !== "number")
      issues.push({ path: at(k), message: `${k} must be a number` });
    else if (k === "required" && !(Array.isArray(v) && v.every((x) => typeof x === "string")))
      issues.push({ path: at(k), message: "required must be a list of property names" });
    else if (k === "properties") {
      if (!isObject(v)) issues.push({ path: at(k), message: "properties must be an object" });
      else for (const [p, s] of Object.entries(v)) issues.push(...checkSchema(s, at(`${k}.${p}`)));
    } else if (k === "items" || k === "additionalProperties") issues.push(...checkSchema(v, at(k)));
  }
  return issues;
}

function typeOf(v: unknown): string {
  if (v === null) return "null";
  if (Array.isArray(v)) return "array";
  if (typeof v === "number") return Number.isInteger(v) ? "integer" : "number";
  return typeof v;
}

/** Validates `value` against a schema fragment checked with checkSchema; returns "path: message" errors. */
function validateSchema(schema: unknown, value: unknown, path = ""): { path: string; message: string }[] {
  if (schema === true) return [];
  if (schema === false) return [{ path, message: "no value is allowed here" }];
  if (!isObject(schema)) return [];
  const out: { path: string; message: string }[] = [];
  const at = (k: string) => (path ? `${path}.${k}` : k);
  if (schema.type !== undefined) {
    const ts = (Array.isArray(schema.type) ? schema.type : [schema.type]) as string[];
    const t = typeOf(value);
    if (!ts.some((x) => x === t || (x === "number" && t === "integer")))
      return [{ path, message: `expected ${ts.join(" or ")}, got ${t}` }];
  }
  if (Array.isArray(schema.enum) && !schema.enum.some((e) => canonicalJson(e) === canonicalJson(value)))
    out.push({ path, message: `must be one of ${schema.enum.map((e) => JSON.stringify(e)).join(", ")}` });
  if ("const" in schema && canonicalJson(schema.const) !== canonicalJson(value))
    out.push({ path, message: `must be ${JSON.stringify(schema.const)}` });
  if (typeof value === "string") {
    if (typeof schema.pattern === "string" && !new RegExp(schema.pattern, "u").test(value))
      out.push({ path, message: `must match /${schema.pattern}/` });
    if (typeof schema.minLength === "number" && [...value].length < schema.minLength)
      out.push({ path, message: `must be at least ${schema.minLength} characters` });
    if (typeof schema.maxLength === "number" && [...value].length > schema.maxLength)
      out.push({ path, message: `must be at most ${schema.maxLength} characters` });
  }
  if (typeof value === "number") {
    if (typeof schema.minimum === "number" && value < schema.minimum) out.push({ path, message: `must be >= ${schema.minimum}` });
    if (typeof schema.maximum === "number" && value > schema.maximum) out.push({ path, message: `must be <= ${schema.maximum}` });
  }
  if (isObject(value)) {
    for (const r of (schema.required as string[] | undefined) ?? [])
      if (!(r in value)) out.push({ path: at(r), message: "is required" });
    const props = isObject(schema.properties) ? schema.properties : {};
    for (const [k, v] of Object.entries(value)) {
      if (k in props) out.push(...validateSchema(props[k], v, at(k)));
      else if (schema.additionalProperties !== undefined) out.push(...validateSchema(schema.additionalProperties, v, at(k)));
    }
  }
  if (Array.isArray(value) && schema.items !== undefined) {
    for (const [i, v] of value.entries()) out.push(...validateSchema(schema.items, v, at(String(i))));
  }
  return out;
}

// ---------- rule and pack schemas ----------

const fixSchema = z.record(z.string(), z.unknown()).describe("a merge patch on the config");
const base = {
  id: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$/, "letters, digits, . _ -"),
  description: z.string().max(500).default(""),
  severity: z.enum(["error", "warning"]).default("error"),
  fix: fixSchema.optional(),
};
const rulePath = z.string().max(500);

export const BUILTIN_CHECK_NAMES = [
  "gateway-auth",
  "gateway-bind-loopback",
  "dm-policy-not-open",
  "group-policy-not-open",
  "sandbox-for-groups",
  "no-elevated-tools",
  "pinned-version",
  "no-plaintext-secrets",
  "unique-channel-tokens",
  "port-spacing",
] as const;
export type BuiltinCheckName = (typeof BUILTIN_CHECK_NAMES)[number];

const ruleSchemas = {
  required: z.strictObject({ ...base, type: z.literal("required"), path: rulePath }),
  forbidden: z.strictObject({ ...base, type: z.literal("forbidden"), path: rulePath }),
  allowedValues: z.strictObject({
    ...base,
    type: z.literal("allowedValues"),
    path: rulePath,
    values: z.array(z.unknown()).min(1),
  }),
  pattern: z.strictObject({ ...base, type: z.literal("pattern"), path: rulePath, regex: z.string() }).superRefine((r, ctx) => {
    try {
      new RegExp(r.regex, "u");
    } catch (e) {
      ctx.addIssue({
        code: "custom",
        path: ["regex"],
        message: `rule "${r.id}": invalid regular expression /${r.regex}/: ${(e as Error).message}`,
      });
    }
  }),
  range: z
    .strictObject({ ...base, type: z.literal("range"), path: rulePath, min: z.number().optional(), max: z.number().optional() })
    .refine((r) => r.min !== undefined || r.max !== undefined, "give min, max or both")
    .refine((r) => r.min === undefined || r.max === undefined || r.min <= r.max, "min must not exceed max"),
  jsonSchema: z
    .strictObject({
      ...base,
      type: z.literal("jsonSchema"),
      path: rulePath,
      schema: z.union([z.record(z.string(), z.unknown()), z.boolean()]),
    })
    .superRefine((r, ctx) => {
      for (const i of checkSchema(r.schema))
        ctx.addIssue({
          code: "custom",
          path: ["schema", ...splitPath(i.path === "(schema)" ? "" : i.path)],
          message: `rule "${r.id}": ${i.message}`,
        });
    }),
  builtin: z.strictObject({ ...base, type: z.literal("builtin"), check: z.enum(BUILTIN_CHECK_NAMES) }),
};
type RuleType = keyof typeof ruleSchemas;
const RULE_TYPES = Object.keys(ruleSchemas) as RuleType[];
export type Rule = { [K in RuleType]: z.output<(typeof ruleSchemas)[K]> }[RuleType];
export type RuleInput = { [K in RuleType]: z.input<(typeof ruleSchemas)[K]> }[RuleType];

const nameList = z.array(z.string().min(1)).min(1);
const packSchema = z.strictObject({
  id: z.string().regex(/^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/, "lowercase letters, digits and dashes"),
  name: z.string().min(1).max(100),
  description: z.string().max(1000).default(""),
  scope: z
    .strictObject({
      workspace: z.string().min(1).optional(),
      fleets: nameList.optional(),
      environments: nameList.optional(),
      labels: z.record(z.string(), z.string()).optional(),
    })
    .optional(),
  mode: z.enum(["enforce", "advisory"]).default("enforce"),
  rules: z.array(z.unknown()),
});

export interface PolicyPack {
  id: string;
  name: string;
  description: string;
  scope?: { workspace?: string; fleets?: string[]; environments?: string[]; labels?: Record<string, string> };
  mode: "enforce" | "advisory";
  rules: Rule[];
}
export type PolicyPackInput = Omit<z.input<typeof packSchema>, "rules"> & { rules: RuleInput[] };

type PolicyIssue = DocumentIssue;

export class PolicyError extends DocumentError {
  override name = "PolicyError";
  constructor(
    message: string,
    issues: DocumentIssue[],
    readonly source?: string,
  ) {
    super(message, issues);
  }
}

/** Validates one pack object; every wrong path is listed in the PolicyError. */
export function validatePack(input: unknown, source?: string): PolicyPack {
  const issues: PolicyIssue[] = [];
  const r = packSchema.safeParse(input);
  if (!r.success) issues.push(...zodIssues(r.error));
  const rawRules = isObject(input) && Array.isArray(input.rules) ? input.rules : [];
  const rules: Rule[] = [];
  const seen = new Set<string>();
  rawRules.forEach((raw, i) => {
    if (!isObject(raw)) {
      issues.push({ path: `rules.${i}`, message: "a rule must be an object" });
      return;
    }
    const type = raw.type;
    if (typeof type !== "string" || !(RULE_TYPES as string[]).includes(type)) {
      issues.push({
        path: `rules.${i}.type`,
        message: `unknown rule type ${JSON.stringify(type)}; expected one of ${RULE_TYPES.join(", ")}`,
      });
      return;
    }
    const pr = ruleSchemas[type as RuleType].safeParse(raw);
    if (!pr.success) {
      issues.push(...zodIssues(pr.error, { prefix: ["rules", i] }));
      return;
    }
    if (seen.has(pr.data.id)) issues.push({ path: `rules.${i}.id`, message: `duplicate rule id "${pr.data.id}"` });
    seen.add(pr.data.id);
    rules.push(pr.data as Rule);
  });
  if (issues.length || !r.success) {
    throw new PolicyError(
      `${source ? `${source}: ` : ""}the policy pack is invalid (${issues.length} problem${issues.length === 1 ? "" : "s"})`,
      issues,
      source,
    );
  }
  return { ...r.data, rules } as PolicyPack;
}

/** Parses a pack from YAML or JSON text. */
export function parsePack(text: string, source = "policy pack"): PolicyPack {
  let doc: unknown;
  try {
    doc = text.trim().startsWith("{") ? JSON.parse(text) : parseYaml(text);
  } catch (e) {
    throw new PolicyError(
      `${source}: not valid YAML or JSON: ${(e as Error).message}`,
      [{ path: "(document)", message: (e as Error).message }],
      source,
    );
  }
  return validatePack(doc, source);
}

// ---------- evaluation of data rules ----------

interface Finding {
  path: string;
  message: string;
  fix?: Record<string, unknown>;
}

function show(v: unknown): string {
  const s = JSON.stringify(v);
  return s === undefined ? "undefined" : s.length > 80 ? `${s.slice(0, 77)}...` : s;
}

function evaluateDataRule(rule: Exclude<Rule, { type: "builtin" }>, config: Record<string, unknown>): Finding[] {
  const out: Finding[] = [];
  for (const path of expandPath(config, rule.path)) {
    const v = getAtPath(config, path);
    const where = path || "(config)";
    const f = (message: string, fix?: Record<string, unknown>) => out.push({ path: where, message, fix: rule.fix ?? fix });
    switch (rule.type) {
      case "required":
        if (v === undefined) f(`${where} is required`);
        break;
      case "forbidden":
        if (v !== undefined) f(`${where} must not be set`, patchAt(path, null));
        break;
      case "allowedValues":
        if (v !== undefined && !rule.values.some((a) => canonicalJson(a) === canonicalJson(v)))
          f(`${where} is ${show(v)}; allowed: ${rule.values.map(show).join(", ")}`);
        break;
      case "pattern":
        if (v !== undefined && (typeof v !== "string" || !new RegExp(rule.regex, "u").test(v)))
          f(`${where} is ${show(v)}; it must match /${rule.regex}/`);
        break;
      case "range":
        if (v === undefined) break;
        if (typeof v !== "number") f(`${where} is ${show(v)}; expected a number`);
        else if ((rule.min !== undefined && v < rule.min) || (rule.max !== undefined && v > rule.max))
          f(`${where} is ${v}; expected ${rule.min ?? "-∞"}..${rule.max ?? "∞"}`);
        break;
      case "jsonSchema":
        if (v === undefined) break;
        for (const e of validateSchema(rule.schema, v, path))
          out.push({ path: e.path || "(config)", message: `${e.path || "(config)"} ${e.message}`, fix: rule.fix });
        break;
    }
  }
  return out;
}

// ---------- built-in OpenClaw checks ----------

interface CheckContext {
  config: Record<string, unknown>;
  manifest: Manifest;
  bot: BotRef;
  fleet?: FleetPeer[];
}

export interface BuiltinCheck {
  description: string;
  /** Another exception id that also waives this check (e.g. "allowLanBind"). */
  exceptionAlias?: string;
  run(ctx: CheckContext): Finding[];
}

function channels(config: Record<string, unknown>): [string, Record<string, unknown>][] {
  const c = config.channels;
  if (!isObject(c)) return [];
  return Object.keys(c)
    .sort()
    .filter((k) => isObject(c[k]) && (c[k] as Record<string, unknown>).enabled !== false)
    .map((k) => [k, c[k] as Record<string, unknown>]);
}

/**
 * Whether a channel takes part in group chats: groupPolicy "open" or "allowlist" (set explicitly), or unset
 * (OpenClaw's default, an allowlist) with something allowlisted (`groups` or `groupAllowFrom`). An unset
 * groupPolicy with nothing allowlisted drops every group message.
 */
function acceptsGroups(ch: Record<string, unknown>): boolean {
  const gp = ch.groupPolicy;
  if (gp === "disabled") return false;
  if (gp !== undefined) return true;
  const groups = ch.groups;
  const gaf = ch.groupAllowFrom;
  return (isObject(groups) && Object.keys(groups).length > 0) || (Array.isArray(gaf) && gaf.length > 0);
}

const ENV_REF_RE = /^\$\{([A-Z][A-Z0-9_]{0,127})\}$/;

function isSecretRef(v: unknown): v is { source: "env" | "file" | "exec"; provider?: string; id: string } {
  return isObject(v) && (v.source === "env" || v.source === "file" || v.source === "exec") && typeof v.id === "string";
}

const SECRET_PATTERNS: [RegExp, string][] = [
  [/sk-(ant-|proj-)?[A-Za-z0-9_-]{16,}/, "an API key (sk-…)"],
  [/xox[abposr]-[A-Za-z0-9-]{10,}/, "a Slack token (xox…-)"],
  [/xapp-[A-Za-z0-9-]{10,}/, "a Slack app token (xapp-)"],
  [/\b\d{6,12}:[A-Za-z0-9_-]{35}\b/, "a Telegram bot token"],
  [/\bgh[pousr]_[A-Za-z0-9]{30,}/, "a GitHub token"],
  [/\bAKIA[0-9A-Z]{16}\b/, "an AWS access key id"],
  [/\bAIza[0-9A-Za-z_-]{35}\b/, "a Google API key"],
  [/-----BEGIN [A-Z ]*PRIVATE KEY-----/, "a private key"],
  [/\b[MN][A-Za-z\d_-]{23,25}\.[A-Za-z\d_-]{6}\.[A-Za-z\d_-]{27,}/, "a Discord bot token"],
  [/:\/\/[^/\s:@]+:[^/\s@]+@/, "a URL with a password"],
];

function entropy(s: string): number {
  const counts = new Map<string, number>();
  for (const ch of s) counts.set(ch, (counts.get(ch) ?? 0) + 1);
  let h = 0;
  for (const c of counts.values()) {
    const p = c / s.length;
    h -= p * Math.log2(p);
  }
  return h;
}

/** Share of adjacent letters/digits (symbols skipped) that switch between lower case, upper case and digit. */
function classSwitches(s: string): number {
  const alnum = s.replace(/[^A-Za-z0-9]/g, "");
  if (alnum.length < 2) return 0;
  const cls = (c: string) => (/[a-z]/.test(c) ? 0 : /[A-Z]/.test(c) ? 1 : 2);
  let n = 0;
  for (let i = 1; i < alnum.length; i++) if (cls(alnum[i]!) !== cls(alnum[i - 1]!)) n++;
  return n / (alnum.length - 1);
}

/** Why a string looks like a secret, or undefined. */
export function looksLikeSecret(s: string): string | undefined {
  if (s === "__OPENCLAW_REDACTED__" || ENV_REF_RE.test(s)) return undefined;
  for (const [re, what] of SECRET_PATTERNS) if (re.test(s)) return what;
  // long opaque high-entropy strings; paths, URLs, names and sentences are left alone
  if (s.length >= 24 && !/\s/.test(s) && !/^[./~]/.test(s) && !s.includes("://")) {
    const classes = [/[a-z]/, /[A-Z]/, /[0-9]/].filter((r) => r.test(s)).length;
    // random tokens switch between lower, upper, digit and symbol often; words, names and versions don't
    if (classes >= 2 && entropy(s) >= 4 && classSwitches(s) >= 0.45) return "a long high-entropy string";
  }
  return undefined;
}

function envNameFor(path: string): string {
  const name = path
    .replace(/^(channels|models\.providers)\./, "")
    .replace(/([a-z0-9])([A-Z])/g, "$1_$2")
    .replace(/[^A-Za-z0-9]+/g, "_")
    .toUpperCase()
    .replace(/^_+|_+$/g, "");
  return /^[A-Z]/.test(name) ? name.slice(0, 128) : `SECRET_${name}`.slice(0, 128);
}

/** Keys whose string value is a credential whatever it looks like. */
export const CREDENTIAL_KEY_RE =
  /^(token|botToken|appToken|accessToken|refreshToken|apiKey|password|secret|signingSecret|clientSecret|privateKey|webhookSecret)$/i;

function walkStrings(v: unknown, path: string, visit: (s: string, path: string) => void): void {
  if (typeof v === "string") visit(v, path);
  else if (Array.isArray(v)) {
    for (const [i, x] of v.entries()) walkStrings(x, path ? `${path}.${i}` : String(i), visit);
  } else if (isObject(v)) {
    if (isSecretRef(v)) return;
    for (const k of Object.keys(v).sort()) walkStrings(v[k], path ? `${path}.${k}` : k, visit);
  }
}

/** Channel credential paths whose value must be unique across the fleet. */
const CHANNEL_TOKEN_KEYS = ["botToken", "token", "appToken", "signingSecret", "accessToken"];

function channelTokenPaths(config: Record<string, unknown>): string[] {
  const out: string[] = [];
  for (const [name, ch] of channels(config)) {
    for (const k of CHANNEL_TOKEN_KEYS) if (ch[k] !== undefined) out.push(`channels.${name}.${k}`);
    if (isObject(ch.accounts)) {
      for (const [acc, a] of Object.entries(ch.accounts)) {
        if (isObject(a))
          for (const k of CHANNEL_TOKEN_KEYS) if (a[k] !== undefined) out.push(`channels.${name}.accounts.${acc}.${k}`);
      }
    }
  }
  return out;
}

/** What a credential value refers to: two equal identities are the same token. */
function tokenIdentity(v: unknown, secrets: Record<string, { secret: string }> | undefined): string | undefined {
  let envName: string | undefined;
  if (typeof v === "string") {
    const m = ENV_REF_RE.exec(v);
    if (!m) return v === "" || v === "__OPENCLAW_REDACTED__" ? undefined : `literal:${v}`;
    envName = m[1];
  } else if (isSecretRef(v)) {
    if (v.source !== "env") return `ref:${v.source}:${v.provider ?? "default"}:${v.id}`;
    envName = v.id;
  } else return undefined;
  const stored = secrets?.[envName!]?.secret;
  return stored ? `secret:${stored}` : `env:${envName}`;
}

function describeIdentity(id: string): string {
  if (id.startsWith("literal:")) return "the same literal token";
  if (id.startsWith("secret:")) return `the same stored secret "${id.slice(7)}"`;
  if (id.startsWith("env:")) return `the same env reference ${id.slice(4)} (with no stored secret behind it to tell them apart)`;
  return `the same secret reference (${id.slice(4)})`;
}

export const BUILTIN_CHECKS: Record<BuiltinCheckName, BuiltinCheck> = {
  "gateway-auth": {
    description: "The gateway requires authentication (token or password)",
    run({ config }) {
      const mode = getAtPath(config, "gateway.auth.mode");
      if (mode === "token" || mode === "password") return [];
      return [
        {
          path: "gateway.auth.mode",
          message: `gateway.auth.mode is ${show(mode)}; use "token" or "password"`,
          fix: { gateway: { auth: { mode: "token" } } },
        },
      ];
    },
  },
  "gateway-bind-loopback": {
    description: "The gateway listens on loopback only",
    exceptionAlias: "allowLanBind",
    run({ config }) {
      const bind = getAtPath(config, "gateway.bind");
      if (bind === "loopback") return [];
      return [
        {
          path: "gateway.bind",
          message: `gateway.bind is ${show(bind)}; bind to "loopback" (an allowLanBind exception permits otherwise)`,
          fix: { gateway: { bind: "loopback" } },
        },
      ];
    },
  },
  "dm-policy-not-open": {
    description: "No channel accepts direct messages from anyone",
    exceptionAlias: "allowOpenDm",
    run({ config }) {
      return channels(config)
        .filter(([, ch]) => ch.dmPolicy === "open")
        .map(([name]) => ({
          path: `channels.${name}.dmPolicy`,
          message: `channels.${name}.dmPolicy is "open": anyone can message the bot; use "pairing" or "allowlist"`,
          fix: patchAt(`channels.${name}.dmPolicy`, "pairing"),
        }));
    },
  },
  "group-policy-not-open": {
    description: "No channel answers in every group",
    exceptionAlias: "allowOpenGroups",
    run({ config }) {
      return channels(config)
        .filter(([, ch]) => ch.groupPolicy === "open")
        .map(([name]) => ({
          path: `channels.${name}.groupPolicy`,
          message: `channels.${name}.groupPolicy is "open"; use "allowlist" or "disabled"`,
          fix: patchAt(`channels.${name}.groupPolicy`, "allowlist"),
        }));
    },
  },
  "sandbox-for-groups": {
    description: "Tools run sandboxed when the bot takes part in group chats",
    run({ config }) {
      const grouped = channels(config).filter(([, ch]) => acceptsGroups(ch));
      if (grouped.length === 0) return [];
      const mode = getAtPath(config, "agents.defaults.sandbox.mode");
      if (mode === "non-main" || mode === "all") return [];
      return [
        {
          path: "agents.defaults.sandbox.mode",
          message: `agents.defaults.sandbox.mode is ${show(mode ?? "off")} while ${grouped.map(([n]) => n).join(", ")} accept${grouped.length === 1 ? "s" : ""} group chats; use "non-main" or "all" (or set groupPolicy "disabled")`,
          fix: { agents: { defaults: { sandbox: { mode: "non-main" } } } },
        },
      ];
    },
  },
  "no-elevated-tools": {
    description: "No elevated exec escape hatch and no unrestricted host exec",
    run({ config }) {
      const out: Finding[] = [];
      const scopes: string[] = ["tools"];
      const entries = getAtPath(config, "agents.entries");
      if (isObject(entries)) for (const k of Object.keys(entries).sort()) scopes.push(`agents.entries.${k}.tools`);
      for (const s of scopes) {
        if (getAtPath(config, `${s}.elevated.enabled`) === true)
          out.push({
            path: `${s}.elevated.enabled`,
            message: `${s}.elevated.enabled lets exec run outside the sandbox; turn it off`,
            fix: patchAt(`${s}.elevated.enabled`, false),
          });
        const allow = getAtPath(config, `${s}.elevated.allowFrom`);
        if (isObject(allow)) {
          for (const p of Object.keys(allow).sort()) {
            const list = allow[p];
            if (Array.isArray(list) && list.includes("*")) {
              out.push({
                path: `${s}.elevated.allowFrom.${p}`,
                message: `${s}.elevated.allowFrom.${p} includes "*", approving every sender for elevated exec`,
                fix: patchAt(
                  `${s}.elevated.allowFrom.${p}`,
                  list.filter((x) => x !== "*"),
                ),
              });
            }
          }
        }
        if (getAtPath(config, `${s}.exec.security`) === "full")
          out.push({
            path: `${s}.exec.security`,
            message: `${s}.exec.security is "full": host exec without approval; use "allowlist"`,
            fix: patchAt(`${s}.exec.security`, "allowlist"),
          });
        if (getAtPath(config, `${s}.exec.mode`) === "full")
          out.push({
            path: `${s}.exec.mode`,
            message: `${s}.exec.mode is "full": host exec without approval; use "ask" or remove it`,
            fix: patchAt(`${s}.exec.mode`, "ask"),
          });
      }
      return out;
    },
  },
  "pinned-version": {
    description: "The bot runs a pinned OpenClaw image tag or version (never latest)",
    run({ manifest }) {
      const t = manifest.spec.target;
      if (t.provider === "docker") {
        const img = t.image;
        if (/@sha256:[0-9a-f]{64}$/.test(img)) return [];
        const lastSlash = img.lastIndexOf("/");
        const colon = img.lastIndexOf(":");
        const tag = colon > lastSlash ? img.slice(colon + 1) : undefined;
        const floating = ["latest", "main", "stable", "extended-stable", "beta", "nightly", "edge", "dev"];
        if (!tag || floating.includes(tag.replace(/-(slim|browser)$/, "")) || !/\d/.test(tag)) {
          return [
            {
              path: "manifest:spec.target.image",
              message: `the image "${img}" is not pinned${tag ? ` (tag "${tag}" moves)` : " (no tag means latest)"}; use a version tag like :2026.9.6 or a @sha256 digest`,
            },
          ];
        }
        return [];
      }
      const version = (t as { version: string }).version;
      if (!version || /latest/i.test(version))
        return [{ path: "manifest:spec.target.version", message: `the OpenClaw version ${show(version)} is not pinned` }];
      return [];
    },
  },
  "no-plaintext-secrets": {
    description: 'No token or key is written into the config in plain text (use a SecretRef or "${VAR}")',
    run({ config }) {
      const out: Finding[] = [];
      walkStrings(config, "", (s, path) => {
        const key = path.split(".").pop()!;
        const what =
          looksLikeSecret(s) ??
          (s !== "" && s !== "__OPENCLAW_REDACTED__" && !ENV_REF_RE.test(s) && CREDENTIAL_KEY_RE.test(key)
            ? `a credential (${key})`
            : undefined);
        if (what)
          out.push({
            path,
            message: `${path} holds what looks like ${what} in plain text; store it as a secret and refer to it as "\${${envNameFor(path)}}" or a SecretRef`,
            fix: patchAt(path, `\${${envNameFor(path)}}`),
          });
      });
      return out;
    },
  },
  "unique-channel-tokens": {
    description: "No two bots in the fleet use the same channel token",
    run({ config, manifest, fleet }) {
      const out: Finding[] = [];
      if (!fleet?.length) return out;
      for (const path of channelTokenPaths(config)) {
        const mine = tokenIdentity(getAtPath(config, path), manifest.spec.secrets);
        if (!mine) continue;
        const clashes = fleet
          .filter((peer) =>
            channelTokenPaths(peer.config).some((pp) => tokenIdentity(getAtPath(peer.config, pp), peer.secrets) === mine),
          )
          .map((p) => p.name);
        if (clashes.length)
          out.push({
            path,
            message: `${path} uses ${describeIdentity(mine)} as ${clashes.sort().join(", ")}; one token can serve one running bot only (Telegram answers a second poller with 409 Conflict)`,
          });
      }
      return out;
    },
  },
  "port-spacing": {
    description: `Gateway base ports on one host are at least ${PORT_SPACING} apart`,
    run({ config, manifest, fleet }) {
      const port = getAtPath(config, "gateway.port");
      if (typeof port !== "number" || !fleet?.length) return [];
      const host = targetHost(manifest);
      const sameHost = fleet.filter((p) => (p.host ?? "local") === host);
      const close = sameHost.filter((p) => Math.abs(p.port - port) < PORT_SPACING);
      if (!close.length) return [];
      let fix: Record<string, unknown> | undefined;
      try {
        fix = { gateway: { port: allocatePort(sameHost.map((p) => p.port)) } };
      } catch {
        fix = undefined;
      }
      return [
        {
          path: "gateway.port",
          message: `gateway.port ${port} is less than ${PORT_SPACING} from ${close.map((p) => `${p.name} (${p.port})`).join(", ")} on host ${host}; OpenClaw uses ports up to base+110`,
          fix,
        },
      ];
    },
  },
};

// ---------- packs and evaluation ----------

function packApplies(pack: PolicyPack, subject: Pick<PolicySubject, "bot" | "workspace">): boolean {
  const s = pack.scope;
  if (!s) return true;
  if (s.workspace !== undefined && s.workspace !== subject.workspace) return false;
  if (s.fleets && (subject.bot.fleet === undefined || !s.fleets.includes(subject.bot.fleet))) return false;
  if (s.environments && (subject.bot.environment === undefined || !s.environments.includes(subject.bot.environment)))
    return false;
  for (const [k, v] of Object.entries(s.labels ?? {})) if (subject.bot.labels?.[k] !== v) return false;
  return true;
}

function exceptionActive(e: PolicyException, now: Date): boolean {
  const t = Date.parse(e.expiresAt);
  return !Number.isNaN(t) && t > now.getTime();
}

/** Findings of one rule against a subject (no pack, exception or mode logic). */
export function runRule(rule: Rule, subject: PolicySubject): Finding[] {
  if (rule.type === "builtin") {
    const check = BUILTIN_CHECKS[rule.check];
    return check
      .run({ config: subject.config, manifest: subject.manifest, bot: subject.bot, fleet: subject.fleetPeers })
      .map((f) => (rule.fix ? { ...f, fix: rule.fix } : f));
  }
  return evaluateDataRule(rule, subject.config);
}

export function evaluate(
  packs: PolicyPack[],
  subject: PolicySubject,
  exceptions: PolicyException[] = [],
  now: Date = new Date(),
): EvaluationResult {
  const violations: Violation[] = [];
  const excepted: ExceptedViolation[] = [];
  const sorted = [...packs].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  for (const pack of sorted) {
    if (!packApplies(pack, subject)) continue;
    for (const rule of pack.rules) {
      const alias = rule.type === "builtin" ? BUILTIN_CHECKS[rule.check].exceptionAlias : undefined;
      const exception = exceptions.find(
        (e) =>
          (e.ruleId === rule.id || (alias !== undefined && e.ruleId === alias)) &&
          (e.botName === undefined || e.botName === subject.bot.name) &&
          exceptionActive(e, now),
      );
      for (const f of runRule(rule, subject)) {
        const v: Violation = {
          packId: pack.id,
          ruleId: rule.id,
          severity: pack.mode === "advisory" ? "warning" : rule.severity,
          mode: pack.mode,
          path: f.path,
          message: f.message,
          ...(f.fix ? { fix: f.fix } : {}),
        };
        if (exception) excepted.push({ ...v, exception });
        else violations.push(v);
      }
    }
  }
  return { blocked: violations.some((v) => v.mode === "enforce" && v.severity === "error"), violations, excepted };
}
