import { OpenAPIHono } from "@hono/zod-openapi";
import type { Context } from "hono";
import { hostAccessFor } from "../../hosts/directory.ts";
import type { AppEnv } from "../../server/deps.ts";
import { ctxOf } from "../../server/deps.ts";
import {
  addHost,
  deleteHost,
  doctorHost,
  getHost,
  hostEventsList,
  installOpenClaw,
  listHosts,
  probeHost,
  trustHost,
} from "../../services/hosts.ts";
import { body, json, reply } from "../shared/content.ts";
import { errorResponse, errorResponses } from "../shared/errors.ts";
import { NameParam } from "../shared/params.ts";
import { apiRoute } from "../shared/route.ts";
import {
  AddBody,
  AddResultSchema,
  DeleteResultSchema,
  EventsQuery,
  HostDetailSchema,
  HostEventListSchema,
  HostListSchema,
  HostSchema,
  InstallBody,
  InstallOutcomeSchema,
  TrustBody,
} from "./schema.ts";

const accessOf = (c: Context<AppEnv, string, object>) => hostAccessFor(c.get("deps"));

/** The JSON body, or {} when there is none (validation happens in the service, listing every wrong field). */
async function bodyOf(c: Context<AppEnv, string, object>): Promise<Record<string, unknown>> {
  try {
    const b = await c.req.json();
    return b && typeof b === "object" && !Array.isArray(b) ? (b as Record<string, unknown>) : {};
  } catch {
    return {};
  }
}

export function hostsRoutes() {
  const app = new OpenAPIHono<AppEnv>();

  app.openapi(
    apiRoute("viewer", {
      method: "get",
      path: "/api/v1/hosts",
      tags: ["hosts"],
      summary: "SSH hosts of this workspace: status, pinned fingerprint, last seen, bots on each",
      responses: { 200: json(HostListSchema), ...errorResponses },
    }),
    (c) => reply(c, HostListSchema, { items: listHosts(ctxOf(c)) }, 200),
  );

  app.openapi(
    apiRoute("admin", {
      method: "post",
      path: "/api/v1/hosts",
      tags: ["hosts"],
      summary:
        "Register a host (generated ed25519 key unless privateKey is given), then probe its host key. Confirm the returned seenFingerprint with POST …/trust",
      request: body(AddBody),
      responses: { 201: json(AddResultSchema, "Added"), ...errorResponses, 409: errorResponse("The name is taken") },
    }),
    async (c) => {
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
      return reply(c, AddResultSchema, { host, publicKey: r.publicKey, probeError }, 201);
    },
  );

  app.openapi(
    apiRoute("viewer", {
      method: "get",
      path: "/api/v1/hosts/{name}",
      tags: ["hosts"],
      summary: "A host: status, fingerprint, doctor findings, bots on it, recent events",
      request: { params: NameParam },
      responses: { 200: json(HostDetailSchema), ...errorResponses },
    }),
    (c) => reply(c, HostDetailSchema, getHost(ctxOf(c), c.req.valid("param").name), 200),
  );

  app.openapi(
    apiRoute("admin", {
      method: "delete",
      path: "/api/v1/hosts/{name}",
      tags: ["hosts"],
      summary: "Delete a host (refused while bots use it); its key is deleted with it",
      request: { params: NameParam },
      responses: { 200: json(DeleteResultSchema), ...errorResponses, 409: errorResponse("Bots still use the host") },
    }),
    (c) => {
      deleteHost(ctxOf(c), accessOf(c), c.req.valid("param").name);
      return reply(c, DeleteResultSchema, { ok: true }, 200);
    },
  );

  app.openapi(
    apiRoute("operator", {
      method: "post",
      path: "/api/v1/hosts/{name}/probe",
      tags: ["hosts"],
      summary: "Read the key the host presents now (no authentication) into seenFingerprint",
      request: { params: NameParam },
      responses: { 200: json(HostSchema), ...errorResponses, 409: errorResponse("The host could not be reached") },
    }),
    async (c) => reply(c, HostSchema, await probeHost(ctxOf(c), accessOf(c), c.req.valid("param").name), 200),
  );

  app.openapi(
    apiRoute("admin", {
      method: "post",
      path: "/api/v1/hosts/{name}/trust",
      tags: ["hosts"],
      summary:
        "Pin the SHA256 fingerprint you confirmed on the host; it must equal what the host presents now. Also the explicit, audited re-trust after a key change",
      request: { params: NameParam, ...body(TrustBody) },
      responses: {
        200: json(HostSchema),
        ...errorResponses,
        409: errorResponse("The host presents another key, or cannot be reached"),
      },
    }),
    async (c) =>
      reply(c, HostSchema, await trustHost(ctxOf(c), accessOf(c), c.req.valid("param").name, (await bodyOf(c)).fingerprint), 200),
  );

  app.openapi(
    apiRoute("operator", {
      method: "post",
      path: "/api/v1/hosts/{name}/doctor",
      tags: ["hosts"],
      summary: "Check OS, init system, lingering, Node, OpenClaw, ports, disk and memory; each finding says what to do",
      request: { params: NameParam },
      responses: { 200: json(HostSchema), ...errorResponses },
    }),
    async (c) => reply(c, HostSchema, await doctorHost(ctxOf(c), accessOf(c), c.req.valid("param").name), 200),
  );

  app.openapi(
    apiRoute("operator", {
      method: "post",
      path: "/api/v1/hosts/{name}/install",
      tags: ["hosts"],
      summary:
        "Install OpenClaw VERSION with a suitable Node into a versioned dir on the host (npm on the host); an existing install is detected and kept",
      request: { params: NameParam, ...body(InstallBody) },
      responses: {
        200: json(InstallOutcomeSchema),
        ...errorResponses,
        409: errorResponse("The host's key is not confirmed or changed"),
      },
    }),
    async (c) =>
      reply(
        c,
        InstallOutcomeSchema,
        await installOpenClaw(ctxOf(c), accessOf(c), c.req.valid("param").name, (await bodyOf(c)).version),
        200,
      ),
  );

  app.openapi(
    apiRoute("viewer", {
      method: "get",
      path: "/api/v1/hosts/{name}/events",
      tags: ["hosts"],
      summary: "The host's events (newest first): trust, key-change alerts, status changes, doctor runs, installs",
      request: { params: NameParam, query: EventsQuery },
      responses: { 200: json(HostEventListSchema), ...errorResponses },
    }),
    (c) =>
      reply(
        c,
        HostEventListSchema,
        { items: hostEventsList(ctxOf(c), c.req.valid("param").name, c.req.valid("query").after ?? 0) },
        200,
      ),
  );

  return app;
}
