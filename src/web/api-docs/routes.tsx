/** @jsxImportSource hono/jsx */
import { Hono } from "hono";
import { html } from "hono/html";
import type { AppEnv } from "../../server/deps.ts";
import { assets, renderPage } from "../page-response.tsx";
import { PublicLayout } from "../ui/layout.tsx";
import { ApiDocsPage, type DocField, type DocModel, type DocOperation } from "./page.tsx";

type Json = Record<string, unknown>;
const METHODS = ["get", "post", "put", "patch", "delete"] as const;

let provider: (() => unknown) | null = null;
let cache: { from: () => unknown; model: DocModel } | null = null;

/**
 * Gives the UI the app's OpenAPI document without a network call: createApp passes
 * `() => app.getOpenAPI31Document({...})`. The document is built on first use and kept.
 */
export function setOpenApiProvider(fn: () => unknown): void {
  provider = fn;
  cache = null;
}

function obj(v: unknown): Json {
  return v && typeof v === "object" && !Array.isArray(v) ? (v as Json) : {};
}

function str(v: unknown): string {
  return typeof v === "string" ? v : "";
}

class Schemas {
  constructor(private readonly all: Json) {}

  refName(s: Json): string | undefined {
    const ref = str(s.$ref);
    return ref.startsWith("#/components/schemas/") ? ref.slice("#/components/schemas/".length) : undefined;
  }

  deref(s: unknown, depth = 0): Json {
    const o = obj(s);
    const name = this.refName(o);
    if (name && depth < 8) return this.deref(this.all[name], depth + 1);
    return o;
  }

  /** A short, readable type: `string`, `integer | null`, `"csv" | "jsonl"`, `ApiToken[]`, `Role`. */
  typeOf(s: unknown): { type: string; ref?: string } {
    const o = obj(s);
    const ref = this.refName(o);
    if (ref) return { type: ref, ref };
    for (const k of ["anyOf", "oneOf"] as const) {
      if (Array.isArray(o[k])) {
        const parts = (o[k] as unknown[]).map((x) => this.typeOf(x));
        return { type: parts.map((p) => p.type).join(" | "), ref: parts.find((p) => p.ref)?.ref };
      }
    }
    if (Array.isArray(o.allOf) && o.allOf.length === 1) return this.typeOf(o.allOf[0]);
    if ("const" in o) return { type: JSON.stringify(o.const) };
    if (Array.isArray(o.enum)) return { type: o.enum.map((e) => JSON.stringify(e)).join(" | ") };
    const types = Array.isArray(o.type) ? (o.type as string[]) : o.type ? [str(o.type)] : [];
    if (types.includes("array")) {
      const inner = this.typeOf(o.items);
      const t = `${inner.type.includes(" ") ? `(${inner.type})` : inner.type}[]`;
      return { type: types.length > 1 ? [t, ...types.filter((x) => x !== "array")].join(" | ") : t, ref: inner.ref };
    }
    if (types.length === 0) return { type: o.properties ? "object" : "any" };
    const fmt = str(o.format);
    return { type: types.map((t) => (t === "string" && fmt ? `string (${fmt})` : t)).join(" | ") };
  }

  notes(s: unknown, extra?: string): string {
    const o = obj(s);
    const out: string[] = [];
    if (extra) out.push(extra);
    if (str(o.description)) out.push(str(o.description));
    const range = (lo: unknown, hi: unknown, unit: string) => {
      if (typeof lo === "number" && typeof hi === "number") out.push(`${lo}–${hi}${unit}`);
      else if (typeof lo === "number") out.push(`at least ${lo}${unit}`);
      else if (typeof hi === "number") out.push(`at most ${hi}${unit}`);
    };
    range(o.minLength, o.maxLength, " characters");
    range(o.minimum, o.maximum, "");
    range(o.minItems, o.maxItems, " items");
    if (str(o.pattern)) out.push(`pattern ${str(o.pattern)}`);
    if ("default" in o) out.push(`default ${JSON.stringify(o.default)}`);
    if ("example" in o) out.push(`e.g. ${JSON.stringify(o.example)}`);
    return out.join("; ");
  }

  /** The fields of an object schema, nested objects flattened as `a.b` and arrays of objects as `a[].b`. */
  fields(s: unknown, prefix = "", depth = 0): DocField[] {
    const o = this.deref(s);
    const props = obj(o.properties);
    const required = new Set(Array.isArray(o.required) ? (o.required as string[]) : []);
    const out: DocField[] = [];
    for (const [name, raw] of Object.entries(props)) {
      const t = this.typeOf(raw);
      out.push({ name: prefix + name, type: t.type, ref: t.ref, required: required.has(name), notes: this.notes(raw) });
      const rawObj = obj(raw);
      if (depth >= 3 || this.refName(rawObj)) continue;
      if (rawObj.properties) out.push(...this.fields(rawObj, `${prefix}${name}.`, depth + 1));
      const items = obj(rawObj.items);
      if (items.properties && !this.refName(items)) out.push(...this.fields(items, `${prefix}${name}[].`, depth + 1));
    }
    return out;
  }
}

function slug(s: string): string {
  return s
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, "-")
    .replace(/^-|-$/g, "");
}

/** Turns an OpenAPI 3.1 document into what the reference page shows. */
function docModel(doc: unknown): DocModel {
  const d = obj(doc);
  const info = obj(d.info);
  const components = obj(d.components);
  const schemas = new Schemas(obj(components.schemas));
  const groups = new Map<string, DocOperation[]>();

  for (const [path, itemRaw] of Object.entries(obj(d.paths))) {
    const item = obj(itemRaw);
    for (const method of METHODS) {
      if (!item[method]) continue;
      const op = obj(item[method]);
      const params = [
        ...(Array.isArray(item.parameters) ? item.parameters : []),
        ...(Array.isArray(op.parameters) ? op.parameters : []),
      ].map((p) => {
        const po = obj(p);
        const t = schemas.typeOf(po.schema);
        return {
          name: str(po.name),
          in: str(po.in),
          type: t.type,
          ref: t.ref,
          required: po.required === true,
          notes: schemas.notes(
            po.schema,
            str(po.description) !== str(obj(po.schema).description) ? str(po.description) : undefined,
          ),
        };
      });
      let body: DocOperation["body"] = null;
      const content = obj(obj(op.requestBody).content);
      const contentType = Object.keys(content)[0];
      if (contentType) {
        const schema = obj(content[contentType]).schema;
        const resolved = schemas.deref(schema);
        const t = schemas.typeOf(schema);
        body = {
          contentType,
          fields: schemas.fields(schema),
          type: t.type,
          ref: t.ref,
          strict: resolved.additionalProperties === false,
        };
      }
      const responses = Object.entries(obj(op.responses)).map(([status, r]) => {
        const ro = obj(r);
        const rc = obj(ro.content);
        const ct = Object.keys(rc)[0];
        const schema = ct ? obj(rc[ct]).schema : undefined;
        const t = ct ? schemas.typeOf(schema) : { type: "" };
        const inline = obj(schema);
        const shape =
          !schemas.refName(inline) && inline.properties
            ? schemas.fields(inline).filter((f) => !f.name.includes(".") && !f.name.includes("[]"))
            : undefined;
        return {
          status,
          description: str(ro.description),
          type: ct && t.type === "any" ? ct : t.type,
          ref: (t as { ref?: string }).ref,
          shape,
        };
      });
      const tag = (Array.isArray(op.tags) && typeof op.tags[0] === "string" ? op.tags[0] : "other") as string;
      const entry: DocOperation = {
        id: `op-${method}-${slug(path)}`,
        method,
        path,
        summary: str(op.summary),
        description: str(op.description),
        access: str(op["x-molthub-access"]),
        params,
        body,
        responses,
      };
      groups.set(tag, [...(groups.get(tag) ?? []), entry]);
    }
  }

  const schemes = Object.entries(obj(components.securitySchemes)).map(([name, raw]) => {
    const s = obj(raw);
    const how =
      s.type === "http"
        ? `HTTP ${str(s.scheme)} (Authorization: Bearer …)`
        : s.type === "apiKey"
          ? `${str(s.in)} "${str(s.name)}"`
          : str(s.type);
    return { name, text: [how, str(s.description)].filter(Boolean).join(" — ") };
  });

  return {
    title: str(info.title) || "API",
    version: str(info.version),
    description: str(info.description),
    groups: [...groups].map(([tag, operations]) => ({ tag, id: `tag-${slug(tag)}`, operations })),
    schemes,
    schemas: Object.entries(obj(components.schemas)).map(([name, s]) => ({
      name,
      type: schemas.typeOf(obj(s)).type,
      fields: schemas.fields(s),
    })),
  };
}

function currentModel(): DocModel | null {
  if (!provider) return null;
  if (cache?.from !== provider) cache = { from: provider, model: docModel(provider()) };
  return cache.model;
}

/** GET /api/docs: public; shown in the app chrome for a signed-in user. */
export function apiDocsPage() {
  const app = new Hono<AppEnv>();
  app.get("/api/docs", (c) => {
    const body = <ApiDocsPage model={currentModel()} />;
    if (c.get("actor") && c.get("session") && c.get("authVia") === "cookie") return renderPage(c, "API reference", body);
    c.header("cache-control", "no-store");
    return c.html(
      html`<!doctype html>${(
        <PublicLayout title="API reference" assets={assets()}>
          {body}
        </PublicLayout>
      )}`,
    );
  });
  return app;
}
