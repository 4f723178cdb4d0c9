import * as z from "zod";
import { type Issue, ServiceError } from "../core/errors.ts";
import { DocumentError } from "../domain/documents.ts";
import { NAME_RE } from "../domain/manifest.ts";
import type { EvaluationResult } from "../domain/policy.ts";
import type { WebContext } from "./page-response.tsx";
import type { FormState } from "./ui/components.tsx";

/** The body of a button-only form (delete, revoke, …): any field in it means a stale or forged page. */
export const EmptyForm = z.strictObject({});

/** What a page says when a button-only form does not parse. */
export const STALE_REQUEST = "That request could not be used; reload the page and try again.";

/** A name from the URL (`:name`); anything that cannot be one is simply not found. */
export function nameParam(c: WebContext, kind: string, valid: (name: string) => boolean = (n) => NAME_RE.test(n)): string {
  const name = c.req.param("name") ?? "";
  if (!valid(name)) throw new ServiceError("not_found", `no ${kind} named ${name.slice(0, 80)}`);
  return name;
}

/** Field names whose values are never sent back to the browser. */
const SECRET_FIELDS = /password|secret|token|code/i;

/** The submitted fields as strings; files and repeated fields are not part of any form here. */
export async function readForm(c: WebContext): Promise<Record<string, string>> {
  const body = await c.req.parseBody();
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(body)) {
    // no form here uploads files; a file where text belongs counts as empty
    out[k] = typeof v === "string" ? v : "";
  }
  return out;
}

/** What the user typed, minus anything secret, for showing the form again. */
export function keepValues(values: Record<string, string>, keep: string[] = []): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(values)) {
    if (!SECRET_FIELDS.test(k) || keep.includes(k)) out[k] = v;
  }
  return out;
}

export type Parsed<T> = { ok: true; data: T } | { ok: false; form: FormState };

/**
 * Validates a form body with a zod schema. Empty optional fields count as absent; unknown fields are
 * refused by strict schemas and reported on the form instead of being ignored.
 */
export function parseForm<S extends z.ZodType>(
  schema: S,
  values: Record<string, string>,
  opts: { keep?: string[] } = {},
): Parsed<z.output<S>> {
  const input: Record<string, string> = {};
  for (const [k, v] of Object.entries(values)) if (v !== "") input[k] = v;
  const r = schema.safeParse(input);
  if (r.success) return { ok: true, data: r.data };
  const errors: Record<string, string> = {};
  for (const issue of r.error.issues) {
    if (issue.code === "unrecognized_keys") {
      errors["(form)"] =
        `unexpected field${issue.keys.length > 1 ? "s" : ""} ${issue.keys.join(", ")}; reload the page and try again`;
      continue;
    }
    const key = issue.path.length ? String(issue.path[0]) : "(form)";
    errors[key] ??= issue.message;
  }
  return { ok: false, form: { values: keepValues(values, opts.keep), errors, message: "Some fields need attention." } };
}

/**
 * The per-path problems of a refused call. A policy refusal's findings are shown in the policy panel beside the
 * form, not as field problems, so they are left out here.
 */
export function fieldIssues(err: ServiceError | DocumentError): Issue[] {
  if (err instanceof DocumentError) return err.issues;
  return err.policy ? [] : err.issues;
}

/** The findings a `policy_blocked` refusal carries (for showing them on the form that was refused). */
export function blockedPolicy(err: ServiceError): EvaluationResult | undefined {
  if (err.code !== "policy_blocked") return undefined;
  return err.policy;
}

/** Turns a refused service call into the form state: its message, and its per-field details. */
export function formFromError(err: ServiceError, values: Record<string, string>, opts: { keep?: string[] } = {}): FormState {
  const errors: Record<string, string> = {};
  for (const d of fieldIssues(err)) errors[d.path] ??= d.message;
  return { values: keepValues(values, opts.keep), errors, message: sentence(err.message) };
}

/** Service messages are lower-case clauses; on a page they start a sentence. */
export function sentence(message: string): string {
  const s = message.charAt(0).toUpperCase() + message.slice(1);
  return /[.!?]$/.test(s) ? s : `${s}.`;
}

/** Runs a service call; a ServiceError comes back as a value so the handler can render the form again. */
export async function attempt<T>(fn: () => T | Promise<T>): Promise<{ ok: true; value: T } | { ok: false; error: ServiceError }> {
  try {
    return { ok: true, value: await fn() };
  } catch (e) {
    if (e instanceof ServiceError) return { ok: false, error: e };
    throw e;
  }
}
