import * as z from "zod";
import { DocumentError, type DocumentIssue, parseDocuments, zodIssues } from "../documents.ts";
import { ENV_KEY_RE, getPath, NAME_RE, RESERVED_OPENCLAW_PATHS, VERSION_RE } from "../manifest.ts";

/**
 * The Template definition (YAML or JSON), a public contract like the Bot manifest:
 *
 *   apiVersion: molthub/v1
 *   kind: Template
 *   metadata: { name, title, description, tags? }
 *   spec:
 *     inputs: [{ name, label, description?, type: string|number|boolean|enum|secret, required?, default?, options?, pattern? }]
 *     openclaw: { …OpenClaw config with "{{ inputs.NAME }}" placeholders… }
 *     secrets: { ENV_VAR: { secret: "{{ inputs.someSecretInput }}" } }
 *     target: { provider?, version?, image?, network? }      # defaults for bots made from it
 *
 * Placeholder rules are in render.ts. Validation lists every wrong path.
 */

const INPUT_NAME_RE = /^[A-Za-z][A-Za-z0-9_]{0,63}$/;
const INPUT_TYPES = ["string", "number", "boolean", "enum", "secret"] as const;

/** `{{ … }}` anywhere in a string; what is inside is checked against PLACEHOLDER_BODY_RE. */
export const PLACEHOLDER_ANY_RE = /\{\{([^{}]*)\}\}/g;
/** `inputs.NAME`, optionally followed by the `list` filter (whole-value placeholders only). */
export const PLACEHOLDER_BODY_RE = /^\s*inputs\.([A-Za-z][A-Za-z0-9_]{0,63})\s*(?:\|\s*(list)\s*)?$/;

const name = z
  .string()
  .regex(NAME_RE, "lowercase letters, digits and dashes, 1–63 characters, starting and ending with a letter or digit");
const templateName = name.refine((n) => n !== "new", '"new" is reserved; pick another name');
const scalar = z.union([z.string().max(10_000), z.number(), z.boolean()]);

const inputSchema = z.strictObject({
  name: z.string().regex(INPUT_NAME_RE, "input names: a letter, then letters, digits and _ (up to 64)"),
  label: z.string().min(1).max(100),
  description: z.string().max(1000).optional(),
  type: z.enum(INPUT_TYPES),
  required: z.boolean().default(false),
  default: scalar.optional(),
  options: z.array(z.string().min(1).max(200)).min(1).max(100).optional(),
  pattern: z.string().min(1).max(500).optional(),
});

const templateTargetSchema = z.strictObject({
  provider: z.enum(["local", "docker"]).optional(),
  version: z.string().regex(VERSION_RE, "an OpenClaw version like 2026.9.6").optional(),
  image: z
    .string()
    .min(1)
    .max(300)
    .regex(/^[^\s]+$/, "no spaces")
    .optional(),
  network: z.enum(["host", "bridge"]).optional(),
});

const templateSchema = z.strictObject({
  apiVersion: z.literal("molthub/v1"),
  kind: z.literal("Template"),
  metadata: z.strictObject({
    name: templateName,
    title: z.string().min(1).max(100),
    description: z.string().max(2000).default(""),
    tags: z
      .array(z.string().regex(/^[a-z0-9][a-z0-9-]{0,30}$/, "tags: lowercase letters, digits and dashes"))
      .max(20)
      .optional(),
  }),
  spec: z.strictObject({
    inputs: z.array(inputSchema).max(50).default([]),
    openclaw: z.record(z.string(), z.unknown()).default({}),
    secrets: z
      .record(
        z.string().regex(ENV_KEY_RE, "an env var name like TELEGRAM_BOT_TOKEN"),
        z.strictObject({ secret: z.string().min(1).max(200) }),
      )
      .default({}),
    target: templateTargetSchema.optional(),
  }),
});

export type Template = z.output<typeof templateSchema>;
type TemplateInput = Template["spec"]["inputs"][number];
export type InputValue = string | number | boolean;

export type TemplateIssue = DocumentIssue;

export class TemplateError extends DocumentError {
  override name = "TemplateError";
}

function isObject(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === "object" && !Array.isArray(v);
}

/** Every string in a value with its dotted path (object keys count as strings at their own path). */
function walkStrings(v: unknown, path: string, visit: (s: string, path: string, isKey: boolean) => void): void {
  if (typeof v === "string") visit(v, path, false);
  else if (Array.isArray(v)) {
    for (const [i, x] of v.entries()) walkStrings(x, `${path}.${i}`, visit);
  } else if (isObject(v)) {
    for (const k of Object.keys(v)) {
      const p = `${path}.${k}`;
      if (k.includes("{{")) visit(k, p, true);
      walkStrings(v[k], p, visit);
    }
  }
}

/** The placeholders in one string: each `{{ … }}` with the input it names, or an error. */
function placeholdersIn(s: string): { raw: string; input?: string; filter?: string; error?: string }[] {
  const out: { raw: string; input?: string; filter?: string; error?: string }[] = [];
  for (const m of s.matchAll(PLACEHOLDER_ANY_RE)) {
    const body = PLACEHOLDER_BODY_RE.exec(m[1]!);
    if (!body) out.push({ raw: m[0], error: `unknown placeholder ${m[0]}; placeholders look like {{ inputs.NAME }}` });
    else out.push({ raw: m[0], input: body[1]!, filter: body[2] });
  }
  return out;
}

function inputIssues(i: TemplateInput, at: string): TemplateIssue[] {
  const out: TemplateIssue[] = [];
  if (i.type === "enum" && !i.options) out.push({ path: `${at}.options`, message: "an enum input needs its options" });
  if (i.type !== "enum" && i.options) out.push({ path: `${at}.options`, message: "only enum inputs have options" });
  if (i.pattern !== undefined) {
    if (i.type !== "string" && i.type !== "secret")
      out.push({ path: `${at}.pattern`, message: "only string and secret inputs have a pattern" });
    try {
      new RegExp(i.pattern);
    } catch (e) {
      out.push({ path: `${at}.pattern`, message: `not a valid regular expression: ${(e as Error).message}` });
    }
  }
  if (i.default !== undefined) {
    const d = i.default;
    const ok =
      i.type === "number"
        ? typeof d === "number"
        : i.type === "boolean"
          ? typeof d === "boolean"
          : i.type === "enum"
            ? typeof d === "string" && (i.options ?? []).includes(d)
            : typeof d === "string";
    if (!ok)
      out.push({
        path: `${at}.default`,
        message:
          i.type === "enum"
            ? `the default must be one of the options`
            : `the default must be a ${i.type === "secret" ? "secret name" : i.type}`,
      });
    if (i.type === "secret" && typeof d === "string" && !NAME_RE.test(d))
      out.push({
        path: `${at}.default`,
        message: "a secret input's default names a stored secret (lowercase letters, digits and dashes)",
      });
  }
  return out;
}

/** Checks the parts zod cannot: inputs, placeholders and paths Molthub manages. */
function semanticIssues(t: Template): TemplateIssue[] {
  const out: TemplateIssue[] = [];
  const byName = new Map<string, TemplateInput>();
  t.spec.inputs.forEach((i, n) => {
    const at = `spec.inputs.${n}`;
    if (byName.has(i.name)) out.push({ path: `${at}.name`, message: `a second input named ${i.name}; input names are unique` });
    byName.set(i.name, i);
    out.push(...inputIssues(i, at));
  });
  walkStrings(t.spec.openclaw, "spec.openclaw", (s, path, isKey) => {
    const phs = placeholdersIn(s);
    for (const p of phs) {
      if (p.error) out.push({ path, message: p.error });
      else if (!byName.has(p.input!))
        out.push({ path, message: `the placeholder ${p.raw} names no input; declare an input "${p.input}" or fix the name` });
      else if (byName.get(p.input!)!.type === "secret")
        out.push({
          path,
          message: `${p.raw} is a secret input: reference it under spec.secrets and use a SecretRef {source: env, provider: default, id: ENV} here`,
        });
      else if (p.filter && (isKey || phs.length > 1 || s.trim() !== p.raw))
        out.push({ path, message: `the "| ${p.filter}" filter only works when the placeholder is the whole value` });
    }
  });
  for (const [env, ref] of Object.entries(t.spec.secrets)) {
    const path = `spec.secrets.${env}.secret`;
    const phs = placeholdersIn(ref.secret);
    if (env === "OPENCLAW_GATEWAY_TOKEN")
      out.push({ path: `spec.secrets.${env}`, message: "the gateway token is generated and managed by Molthub; remove it" });
    if (phs.length === 0) {
      if (!NAME_RE.test(ref.secret))
        out.push({
          path,
          message: "a stored secret's name (lowercase letters, digits and dashes) or {{ inputs.NAME }} of a secret input",
        });
      continue;
    }
    const p = phs[0]!;
    if (phs.length > 1 || ref.secret.trim() !== p.raw || p.filter)
      out.push({ path, message: "use exactly one {{ inputs.NAME }} of a secret input as the whole value" });
    else if (p.error) out.push({ path, message: p.error });
    else if (!byName.has(p.input!))
      out.push({ path, message: `the placeholder ${p.raw} names no input; declare a secret input "${p.input}"` });
    else if (byName.get(p.input!)!.type !== "secret")
      out.push({ path, message: `${p.input} is a ${byName.get(p.input!)!.type} input; secrets are named by secret inputs` });
  }
  for (const r of RESERVED_OPENCLAW_PATHS) {
    if (getPath(t.spec.openclaw, r) !== undefined)
      out.push({
        path: `spec.openclaw.${r}`,
        message: `${r} is managed by Molthub (loopback bind, allocated port, token auth, per-bot log file); remove it`,
      });
  }
  if (t.spec.target?.provider === "local" && t.spec.target.image)
    out.push({ path: "spec.target.image", message: "an image is for the docker provider; remove it or set provider: docker" });
  if (t.spec.target?.provider === "docker" && t.spec.target.version)
    out.push({ path: "spec.target.version", message: "a version is for the local provider; the docker provider uses image" });
  return out;
}

/** Validates a template definition; every wrong path is listed. */
export function validateTemplate(input: unknown, source?: string): Template {
  const r = templateSchema.safeParse(input);
  const prefix = source ? `${source}: ` : "";
  if (!r.success) {
    const issues = zodIssues(r.error);
    throw new TemplateError(`${prefix}the template is invalid (${issues.length} problem${issues.length > 1 ? "s" : ""})`, issues);
  }
  const issues = semanticIssues(r.data);
  if (issues.length)
    throw new TemplateError(`${prefix}the template is invalid (${issues.length} problem${issues.length > 1 ? "s" : ""})`, issues);
  return r.data;
}

/** Parses YAML (`---` separated documents allowed) or JSON text into template objects (not yet validated). */
export function parseTemplates(text: string, source = "template"): unknown[] {
  return parseDocuments(text, source, (message, issues) => new TemplateError(message, issues));
}
