import { type ManifestInput, NAME_RE } from "../manifest.ts";
import { type InputValue, PLACEHOLDER_ANY_RE, PLACEHOLDER_BODY_RE, type Template, type TemplateIssue } from "./schema.ts";

/**
 * Rendering a template with a bot's inputs. Pure.
 *
 * - A string that is exactly one placeholder takes the input's typed value (a number stays a number, a boolean
 *   a boolean); with `| list` a string input becomes a list (split on commas, spaces and newlines).
 * - Placeholders inside longer strings, and in object keys, are interpolated as text.
 * - An optional input with no value and no default: a whole-value placeholder drops its key (or list item);
 *   inside a longer string it reads as "". An object key that renders empty drops its entry.
 * - An unknown placeholder, an unknown input, a missing required input or a value of the wrong type is an
 *   issue naming the path (`inputs.NAME` or `openclaw.<path>`); nothing is rendered then.
 */

export const DEFAULT_OPENCLAW_VERSION = "2026.9.6";

const DROP = Symbol("drop");

function isObject(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === "object" && !Array.isArray(v);
}

function typeName(v: unknown): string {
  return Array.isArray(v) ? "a list" : v === null ? "null" : typeof v === "object" ? "an object" : `a ${typeof v}`;
}

/**
 * Checks the given inputs against the template's declarations and returns their typed values (defaults
 * filled in). Strings are accepted for number and boolean inputs (forms and the CLI send text).
 */
export function checkInputs(
  t: Template,
  given: Record<string, unknown>,
): { values: Record<string, InputValue | undefined>; issues: TemplateIssue[] } {
  const issues: TemplateIssue[] = [];
  const values: Record<string, InputValue | undefined> = {};
  const declared = new Set(t.spec.inputs.map((i) => i.name));
  for (const k of Object.keys(given).sort()) {
    if (!declared.has(k))
      issues.push({
        path: `inputs.${k}`,
        message: `the template ${t.metadata.name} has no input ${k}${declared.size ? `; its inputs are ${[...declared].join(", ")}` : ""}`,
      });
  }
  for (const i of t.spec.inputs) {
    const path = `inputs.${i.name}`;
    let v = given[i.name];
    if (v === "" || v === null) v = undefined;
    if (v === undefined) v = i.default;
    if (v === undefined) {
      if (i.required)
        issues.push({
          path,
          message: `${i.label} (${i.name}) is required${i.type === "secret" ? "; name a stored secret" : ""}`,
        });
      values[i.name] = undefined;
      continue;
    }
    switch (i.type) {
      case "number": {
        const n = typeof v === "number" ? v : typeof v === "string" && /^-?\d+(\.\d+)?$/.test(v.trim()) ? Number(v) : NaN;
        if (!Number.isFinite(n))
          issues.push({
            path,
            message: `${i.name} is a number; got ${typeof v === "string" ? JSON.stringify(v.slice(0, 40)) : typeName(v)}`,
          });
        else values[i.name] = n;
        break;
      }
      case "boolean": {
        const b = typeof v === "boolean" ? v : v === "true" ? true : v === "false" ? false : undefined;
        if (b === undefined)
          issues.push({
            path,
            message: `${i.name} is true or false; got ${typeof v === "string" ? JSON.stringify(v.slice(0, 40)) : typeName(v)}`,
          });
        else values[i.name] = b;
        break;
      }
      case "enum": {
        if (typeof v !== "string" || !(i.options ?? []).includes(v))
          issues.push({
            path,
            message: `${i.name} is one of ${(i.options ?? []).join(", ")}; got ${typeof v === "string" ? JSON.stringify(v.slice(0, 40)) : typeName(v)}`,
          });
        else values[i.name] = v;
        break;
      }
      case "secret":
      case "string": {
        if (typeof v !== "string") {
          issues.push({
            path,
            message: `${i.name} is ${i.type === "secret" ? "the name of a stored secret" : "text"}; got ${typeName(v)}`,
          });
          break;
        }
        if (v.length > 10_000) {
          issues.push({ path, message: `${i.name} is longer than 10000 characters` });
          break;
        }
        if (i.type === "secret" && !NAME_RE.test(v)) {
          // never echo the value: a secret's value may have been typed here by mistake
          issues.push({
            path,
            message: `${i.name} names a stored secret (lowercase letters, digits and dashes); store the value under Secrets first and give its name here`,
          });
          break;
        }
        if (i.pattern !== undefined && !new RegExp(`^(?:${i.pattern})$`).test(v)) {
          issues.push({
            path,
            message:
              i.type === "secret"
                ? `${i.name} does not match the pattern ${i.pattern}`
                : `${i.name} ${JSON.stringify(v.slice(0, 40))} does not match the pattern ${i.pattern}`,
          });
          break;
        }
        values[i.name] = v;
        break;
      }
    }
  }
  return { values, issues };
}

function listOf(v: InputValue): string[] {
  return String(v)
    .split(/[\s,]+/)
    .filter(Boolean);
}

function interpolate(s: string, values: Record<string, InputValue | undefined>, path: string, issues: TemplateIssue[]): string {
  return s.replace(PLACEHOLDER_ANY_RE, (raw, body: string) => {
    const m = PLACEHOLDER_BODY_RE.exec(body);
    if (!m) {
      issues.push({ path, message: `unknown placeholder ${raw}; placeholders look like {{ inputs.NAME }}` });
      return "";
    }
    if (!(m[1]! in values)) {
      issues.push({ path, message: `the placeholder ${raw} names no input of the template` });
      return "";
    }
    const v = values[m[1]!];
    return v === undefined ? "" : String(v);
  });
}

function renderValue(v: unknown, values: Record<string, InputValue | undefined>, path: string, issues: TemplateIssue[]): unknown {
  if (typeof v === "string") {
    const whole = /^\{\{([^{}]*)\}\}$/.exec(v.trim());
    const m = whole ? PLACEHOLDER_BODY_RE.exec(whole[1]!) : null;
    if (whole && m) {
      if (!(m[1]! in values)) {
        issues.push({ path, message: `the placeholder ${v.trim()} names no input of the template` });
        return DROP;
      }
      const x = values[m[1]!];
      if (x === undefined) return DROP;
      return m[2] === "list" ? listOf(x) : x;
    }
    return interpolate(v, values, path, issues);
  }
  if (Array.isArray(v)) {
    return v.map((x, i) => renderValue(x, values, `${path}.${i}`, issues)).filter((x) => x !== DROP);
  }
  if (isObject(v)) {
    const out: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v)) {
      const key = k.includes("{{") ? interpolate(k, values, `${path}.${k}`, issues) : k;
      if (key === "") continue;
      const r = renderValue(x, values, `${path}.${key}`, issues);
      if (r !== DROP) out[key] = r;
    }
    return out;
  }
  return v;
}

export interface RenderedTemplate {
  openclaw: Record<string, unknown>;
  /** env var → stored secret name */
  secrets: Record<string, { secret: string }>;
  /** the typed input values used (defaults filled in) */
  inputs: Record<string, InputValue>;
  issues: TemplateIssue[];
}

/** Renders a (validated) template with the given inputs. Issues name `inputs.X`, `openclaw.<path>` or `secrets.<ENV>`. */
export function renderTemplate(t: Template, given: Record<string, unknown>): RenderedTemplate {
  const { values, issues } = checkInputs(t, given);
  const inputs = Object.fromEntries(Object.entries(values).filter(([, v]) => v !== undefined)) as Record<string, InputValue>;
  if (issues.length) return { openclaw: {}, secrets: {}, inputs, issues };
  const openclaw = renderValue(t.spec.openclaw, values, "openclaw", issues) as Record<string, unknown>;
  const secrets: Record<string, { secret: string }> = {};
  for (const [env, ref] of Object.entries(t.spec.secrets)) {
    const r = renderValue(ref.secret, values, `secrets.${env}.secret`, issues);
    if (r === DROP) continue;
    if (typeof r !== "string" || !NAME_RE.test(r)) {
      issues.push({ path: `secrets.${env}.secret`, message: "does not render to the name of a stored secret" });
      continue;
    }
    secrets[env] = { secret: r };
  }
  return { openclaw, secrets, inputs, issues };
}

export interface FromTemplateOptions {
  name: string;
  inputs?: Record<string, unknown>;
  /** the whole target, or fields that refine the template's default target */
  target?: Record<string, unknown>;
  fleet?: string;
  environment?: string;
  labels?: Record<string, string>;
  description?: string;
  profiles?: string[];
}

/** The target a bot made from the template gets: the given one, merged onto the template's default when the provider matches. */
export function targetFor(t: Template, given?: Record<string, unknown>): Record<string, unknown> {
  const d = t.spec.target ?? {};
  const base: Record<string, unknown> =
    d.provider === "docker"
      ? {
          provider: "docker",
          image: d.image ?? `ghcr.io/openclaw/openclaw:${DEFAULT_OPENCLAW_VERSION}`,
          ...(d.network ? { network: d.network } : {}),
        }
      : { provider: "local", version: d.version ?? DEFAULT_OPENCLAW_VERSION };
  if (!given || Object.keys(given).length === 0) return base;
  if (given.provider === undefined || given.provider === base.provider) return { ...base, ...given, provider: base.provider };
  const fresh: Record<string, unknown> =
    given.provider === "docker"
      ? { image: `ghcr.io/openclaw/openclaw:${DEFAULT_OPENCLAW_VERSION}` }
      : given.provider === "local"
        ? { version: DEFAULT_OPENCLAW_VERSION }
        : {};
  return { ...fresh, ...given };
}

/**
 * A Bot manifest that refers to the template (`spec.template`), so later template edits reach the bot;
 * the template's values are not copied in. Inputs are kept as given (typed by the template on render).
 */
export function manifestFromTemplate(t: Template, opts: FromTemplateOptions): ManifestInput {
  const metadata: Record<string, unknown> = { name: opts.name };
  if (opts.fleet) metadata.fleet = opts.fleet;
  if (opts.environment) metadata.environment = opts.environment;
  if (opts.labels && Object.keys(opts.labels).length) metadata.labels = opts.labels;
  if (opts.description) metadata.description = opts.description;
  const { values } = checkInputs(t, opts.inputs ?? {});
  // store the typed values the bot was made with; unknown or ill-typed ones are kept so validation names them
  const inputs: Record<string, string | number | boolean> = {};
  for (const [k, v] of Object.entries(opts.inputs ?? {})) {
    if (v === undefined || v === null || v === "") continue;
    const typed = values[k];
    inputs[k] = typed !== undefined ? typed : (v as string | number | boolean);
  }
  const spec: Record<string, unknown> = { target: targetFor(t, opts.target), template: { name: t.metadata.name, inputs } };
  if (opts.profiles?.length) spec.profiles = opts.profiles;
  return { apiVersion: "molthub/v1", kind: "Bot", metadata, spec } as unknown as ManifestInput;
}
