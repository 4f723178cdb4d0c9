import { parseAllDocuments } from "yaml";
import type * as z from "zod";

/**
 * Shared plumbing for the public documents (manifests, templates, layers, policy packs) and API bodies:
 * zod errors as a list of dotted paths, and YAML/JSON text as document objects. Pure: no I/O.
 */

export interface DocumentIssue {
  path: string;
  message: string;
}

/**
 * The base of every domain error about a document or an input (manifest, layer, template, policy pack):
 * a message and each wrong path. The service layer turns any of them into one `invalid_request`.
 */
export class DocumentError extends Error {
  constructor(
    message: string,
    readonly issues: DocumentIssue[],
  ) {
    super(message);
  }
}

/**
 * Every zod issue as a dotted path and a message; an unknown key is listed at its own path.
 * `prefix` is put before each path, `root` names an issue on the whole value, `unknown` is the unknown-key message.
 */
export function zodIssues(
  err: z.ZodError,
  opts: { prefix?: (string | number)[]; root?: string; unknown?: string } = {},
): DocumentIssue[] {
  const { prefix = [], root = "(document)", unknown = "unknown field; remove it or check its spelling" } = opts;
  return err.issues.flatMap((i): DocumentIssue[] => {
    if (i.code === "unrecognized_keys")
      return i.keys.map((k) => ({ path: [...prefix, ...i.path, k].join("."), message: unknown }));
    return [{ path: [...prefix, ...i.path].join(".") || root, message: i.message }];
  });
}

/**
 * Parses YAML (one or more documents, `---` separated) or JSON text (an object or an array of them) into
 * objects, not yet validated; empty documents are skipped. Bad text is thrown as `fail(message, issues)`.
 */
export function parseDocuments(
  text: string,
  source: string,
  fail: (message: string, issues: DocumentIssue[]) => Error,
): unknown[] {
  const trimmed = text.trim();
  if (trimmed.startsWith("{") || trimmed.startsWith("[")) {
    try {
      const v = JSON.parse(trimmed);
      return Array.isArray(v) ? v : [v];
    } catch (e) {
      throw fail(`${source}: not valid JSON: ${(e as Error).message}`, [{ path: "(document)", message: (e as Error).message }]);
    }
  }
  const docs = parseAllDocuments(trimmed);
  const out: unknown[] = [];
  for (const d of Array.isArray(docs) ? docs : [docs]) {
    if (d.errors.length)
      throw fail(
        `${source}: not valid YAML: ${d.errors[0]!.message}`,
        d.errors.map((e) => ({ path: "(document)", message: e.message })),
      );
    const v = d.toJS();
    if (v !== null && v !== undefined) out.push(v);
  }
  return out;
}
