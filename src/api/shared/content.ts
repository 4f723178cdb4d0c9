import type { z } from "@hono/zod-openapi";
import type { Context, Env } from "hono";
import type { ContentfulStatusCode } from "hono/utils/http-status";

/** A documented JSON response. */
export function json<T extends z.ZodType>(schema: T, description = "OK") {
  return { description, content: { "application/json": { schema } } };
}

/** A JSON request body; `required: false` lets a call send none. */
export function body<T extends z.ZodType>(schema: T, opts: { required?: boolean } = {}) {
  return { body: { content: { "application/json": { schema } }, required: opts.required ?? true } };
}

/**
 * What a handler may hand to `reply` for a schema: its documented fields, type-checked at compile time. Open
 * records (`z.record`, `.passthrough()`) lose their index signature here, because the service results are
 * interfaces and TypeScript never lets an interface stand for an index signature.
 */
type Documented<T> = T extends readonly (infer E)[]
  ? Documented<E>[]
  : T extends object
    ? { [K in keyof T as string extends K ? never : K]: Documented<T[K]> }
    : T;

/**
 * Answers with `value` parsed through the response's documented schema, so the OpenAPI document is what is
 * sent: a field the schema does not describe is dropped, a wrong type is a 500 rather than a silent drift.
 *
 * @example
 * app.openapi(getSecretRoute, (c) => reply(c, SecretSchema, getSecret(ctxOf(c), c.req.valid("param").name), 200));
 */
export function reply<E extends Env, S extends z.ZodType, Status extends ContentfulStatusCode>(
  c: Context<E, string, object>,
  schema: S,
  value: Documented<z.input<S>>,
  status: Status,
) {
  return c.json(schema.parse(value) as z.output<S>, status);
}
