import { OpenAPIHono, z } from "@hono/zod-openapi";
import type { AppEnv } from "../server/deps.ts";
import { ctxOf } from "../server/deps.ts";
import { apiRoute } from "./route.ts";
import { body, errorResponses, json, NameParam } from "./schemas.ts";
import { hostAccessFor } from "../hosts/directory.ts";
import { addHost, deleteHost, doctorHost, getHost, hostEventsList, installOpenClaw, listHosts, probeHost, trustHost } from "../services/hosts.ts";
import type { Context } from "hono";

const FindingSchema = z.object({ id: z.string(), level: z.enum(["ok", "warn", "error"]), message: z.string(), fix: z.string() }).openapi("HostFinding");
const HostSchema = z.object({
  id: z.string(), name: z.string(), address: z.string(), port: z.number(), username: z.string(), authKind: z.enum(["generated", "uploaded"]),
  publicKey: z.string().openapi({ description: "the line to add to ~/.ssh/authorized_keys on the host (the private key is never returned)" }),
  fingerprint: z.string().nullable().openapi({ description: "pinned SHA256 host key fingerprint; null until confirmed" }),
  seenFingerprint: z.string().nullable().openapi({ description: "what the host presented last: awaiting confirmation, or the new key of a mismatch" }),
  status: z.enum(["untrusted", "ok", "unreachable", "auth_failed", "key_mismatch", "degraded"]), statusReason: z.string(),
  os: z.string().nullable(), init: z.string().nullable(),
  doctor: z.object({ ts: z.number(), findings: z.array(FindingSchema), facts: z.unknown() }).nullable(),
  lastSeenAt: z.number().nullable(), createdAt: z.number(), updatedAt: z.number(), bots: z.number(),
}).openapi("Host");
const EventSchema = z.object({ id: z.number(), ts: z.number(), level: z.enum(["info", "warn", "error"]), type: z.string(), message: z.string(), data: z.record(z.string(), z.unknown()) }).openapi("HostEvent");
const AddSchema = z.object({
  name: z.string().openapi({ example: "nas" }),
  address: z.string().openapi({ example: "nas.lan" }),
  port: z.number().int().optional().openapi({ example: 22 }),
  username: z.string().openapi({ example: "molt" }),
  privateKey: z.string().optional().openapi({ description: "an unencrypted OpenSSH/PEM private key; omit to let the appliance generate an ed25519 key" }),
}).openapi("AddHost");

/**
 * Bodies are checked by the service (every wrong field listed, with what to do); the documented shape is the
 * schema's, the validator only requires a JSON object.
 */
function looseBody(documented: z.ZodObject) {
  return z.record(z.string(), z.unknown()).openapi({ description: `fields: ${Object.keys(documented.shape).join(", ")}` });
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
const accessOf = (c: Context<AppEnv, any, any>) => hostAccessFor(c.get("deps"));

/** The JSON body, or {} when there is none (validation happens in the service, listing every wrong field). */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
async function bodyOf(c: Context<AppEnv, any, any>): Promise<Record<string, unknown>> {
  try {
    const b = await c.req.json();
    return b && typeof b === "object" && !Array.isArray(b) ? (b as Record<string, unknown>) : {};
  } catch {
    return {};
  }
}

export function hostsRoutes() {
  const app = new OpenAPIHono<AppEnv>();

  app.openapi(apiRoute("viewer", {
    method: "get", path: "/api/v1/hosts", tags: ["hosts"], summary: "SSH hosts of this workspace: status, pinned fingerprint, last seen, bots on each",
    responses: { 200: json(z.object({ items: z.array(HostSchema) })), ...errorResponses },
  }), (c) => c.json({ items: listHosts(ctxOf(c)) }, 200));

  app.openapi(apiRoute("admin", {
    method: "post", path: "/api/v1/hosts", tags: ["hosts"],
    summary: "Register a host (generated ed25519 key unless privateKey is given), then probe its host key. Confirm the returned seenFingerprint with POST …/trust",
    request: body(looseBody(AddSchema)),
    responses: { 201: json(z.object({ host: HostSchema, publicKey: z.string(), probeError: z.string().nullable() }), "Added"), ...errorResponses, 409: json(z.any(), "The name is taken") },
  }), async (c) => {
    const ctx = ctxOf(c);
    const r = addHost(ctx, await bodyOf(c));
    let host = r.host;
    let probeError: string | null = null;
    try {
      host = await probeHost(ctx, accessOf(c), host.name);
    } catch (e) {
      probeError = (e as Error).message;
      host = getHost(ctx, host.name).host;
    }
    return c.json({ host, publicKey: r.publicKey, probeError }, 201);
  });

  app.openapi(apiRoute("viewer", {
    method: "get", path: "/api/v1/hosts/{name}", tags: ["hosts"], summary: "A host: status, fingerprint, doctor findings, bots on it, recent events",
    request: { params: NameParam },
    responses: { 200: json(z.object({ host: HostSchema, bots: z.array(z.object({ name: z.string(), provider: z.string(), status: z.string() })), events: z.array(EventSchema) })), ...errorResponses },
  }), (c) => c.json(getHost(ctxOf(c), c.req.valid("param").name), 200));

  app.openapi(apiRoute("admin", {
    method: "delete", path: "/api/v1/hosts/{name}", tags: ["hosts"], summary: "Delete a host (refused while bots use it); its key is deleted with it",
    request: { params: NameParam },
    responses: { 200: json(z.object({ ok: z.literal(true) })), ...errorResponses, 409: json(z.any(), "Bots still use the host") },
  }), (c) => {
    deleteHost(ctxOf(c), accessOf(c), c.req.valid("param").name);
    return c.json({ ok: true as const }, 200);
  });

  app.openapi(apiRoute("operator", {
    method: "post", path: "/api/v1/hosts/{name}/probe", tags: ["hosts"], summary: "Read the key the host presents now (no authentication) into seenFingerprint",
    request: { params: NameParam },
    responses: { 200: json(HostSchema), ...errorResponses, 409: json(z.any(), "The host could not be reached") },
  }), async (c) => c.json(await probeHost(ctxOf(c), accessOf(c), c.req.valid("param").name), 200));

  app.openapi(apiRoute("admin", {
    method: "post", path: "/api/v1/hosts/{name}/trust", tags: ["hosts"],
    summary: "Pin the SHA256 fingerprint you confirmed on the host; it must equal what the host presents now. Also the explicit, audited re-trust after a key change",
    request: { params: NameParam, ...body(looseBody(z.object({ fingerprint: z.string().openapi({ example: "SHA256:…" }) }))) },
    responses: { 200: json(HostSchema), ...errorResponses, 409: json(z.any(), "The host presents another key, or cannot be reached") },
  }), async (c) => c.json(await trustHost(ctxOf(c), accessOf(c), c.req.valid("param").name, (await bodyOf(c)).fingerprint), 200));

  app.openapi(apiRoute("operator", {
    method: "post", path: "/api/v1/hosts/{name}/doctor", tags: ["hosts"], summary: "Check OS, init system, lingering, Node, OpenClaw, ports, disk and memory; each finding says what to do",
    request: { params: NameParam },
    responses: { 200: json(HostSchema), ...errorResponses },
  }), async (c) => c.json(await doctorHost(ctxOf(c), accessOf(c), c.req.valid("param").name), 200));

  app.openapi(apiRoute("operator", {
    method: "post", path: "/api/v1/hosts/{name}/install", tags: ["hosts"],
    summary: "Install OpenClaw VERSION with a suitable Node into a versioned dir on the host (npm on the host); an existing install is detected and kept",
    request: { params: NameParam, ...body(looseBody(z.object({ version: z.string().openapi({ example: "2026.9.6" }) }))) },
    responses: { 200: json(z.object({ host: HostSchema, result: z.unknown().nullable(), finding: FindingSchema.nullable() })), ...errorResponses, 409: json(z.any(), "The host's key is not confirmed or changed") },
  }), async (c) => c.json(await installOpenClaw(ctxOf(c), accessOf(c), c.req.valid("param").name, (await bodyOf(c)).version), 200));

  app.openapi(apiRoute("viewer", {
    method: "get", path: "/api/v1/hosts/{name}/events", tags: ["hosts"], summary: "The host's events (newest first): trust, key-change alerts, status changes, doctor runs, installs",
    request: { params: NameParam, query: z.object({ after: z.coerce.number().int().min(0).optional() }) },
    responses: { 200: json(z.object({ items: z.array(EventSchema) })), ...errorResponses },
  }), (c) => c.json({ items: hostEventsList(ctxOf(c), c.req.valid("param").name, c.req.valid("query").after ?? 0) }, 200));

  return app;
}
