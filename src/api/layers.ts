import { OpenAPIHono, z } from "@hono/zod-openapi";
import type { AppEnv } from "../server/deps.ts";
import { ctxOf } from "../server/deps.ts";
import { apiRoute } from "./route.ts";
import { body, errorResponses, json, BlastEntrySchema } from "./schemas.ts";
import {
  applyLayer,
  attachProfile,
  deleteLayer,
  detachProfile,
  getLayer,
  listLayers,
  resolvedConfig,
  setOverlayEnabled,
  type LayerChangeResult,
  type StoredKind,
} from "../services/layers.ts";

// names are checked by the services (after the bot or layer is looked up), so a bad one answers 404, not 400
const NameParam = z.object({ name: z.string().min(1).max(100).openapi({ param: { name: "name", in: "path" } }) });
const DryRun = z.object({ dryRun: z.enum(["true", "false"]).optional().openapi({ description: "true: compute the blast radius and store nothing" }) });

const ChangeSchema = z.object({ path: z.string(), from: z.unknown(), to: z.unknown() });

const ChangeResultSchema = z.object({
  kind: z.enum(["profile", "overlay"]), name: z.string(), action: z.enum(["created", "updated", "unchanged", "deleted"]), version: z.number(), dryRun: z.boolean(),
  bots: z.array(BlastEntrySchema).openapi({ description: "the blast radius: each bot whose config changes, its diff and its new revision" }),
  unchanged: z.array(z.string()).openapi({ description: "bots the layer reaches whose config stays the same" }),
}).openapi("LayerChange");
const LayerSummarySchema = z.object({
  kind: z.enum(["profile", "overlay"]), name: z.string(), description: z.string().optional(), priority: z.number(), version: z.number(), enabled: z.boolean(), active: z.boolean(),
  locked: z.array(z.string()), selector: z.unknown().optional(), window: z.unknown().optional(), bots: z.array(z.string()), createdAt: z.number(), updatedAt: z.number(),
}).openapi("LayerSummary");
const LayerDetailSchema = LayerSummarySchema.extend({ document: z.record(z.string(), z.unknown()), matched: z.array(z.string()) }).openapi("LayerDetail");
const ApplyResultSchema = z.object({ bot: z.object({ name: z.string() }).passthrough(), action: z.string(), revision: z.number(), changes: z.array(ChangeSchema) }).passthrough();
const ResolvedSchema = z.object({
  bot: z.string(), revision: z.number(), value: z.record(z.string(), z.unknown()), provenance: z.record(z.string(), z.unknown()), conflicts: z.array(z.unknown()),
  problems: z.array(z.object({ path: z.string(), message: z.string() })), layers: z.array(z.object({ kind: z.string(), id: z.string(), name: z.string(), priority: z.number() })),
  stored: z.object({ revision: z.number(), provenance: z.record(z.string(), z.unknown()), upToDate: z.boolean() }),
}).openapi("ResolvedConfig");
const conflict = { 409: json(z.any(), "Refused: the layer is in use, or would break bots (details name each bot and path)"), 422: json(z.any(), "Blocked by policy for at least one bot") };

const KINDS: { kind: StoredKind; plural: string; doc: string }[] = [
  { kind: "profile", plural: "profiles", doc: "Profile" },
  { kind: "overlay", plural: "overlays", doc: "Overlay" },
];

export function layersRoutes() {
  const app = new OpenAPIHono<AppEnv>();
  const poke = (c: { get: (k: "deps") => AppEnv["Variables"]["deps"] }, r: LayerChangeResult) => {
    if (!r.dryRun && r.bots.length) c.get("deps").runtime?.reconciler.poke();
  };

  for (const { kind, plural, doc } of KINDS) {
    const tags = [plural];
    app.openapi(apiRoute("viewer", {
      method: "get", path: `/api/v1/${plural}`, tags, summary: `The workspace's ${plural}, with the bots each reaches now`,
      responses: { 200: json(z.object({ items: z.array(LayerSummarySchema) })), ...errorResponses },
    }), (c) => c.json({ items: listLayers(ctxOf(c), kind) }, 200));

    app.openapi(apiRoute("viewer", {
      method: "get", path: `/api/v1/${plural}/{name}`, tags, summary: `One ${kind}: its document, version and the bots it reaches`,
      request: { params: NameParam },
      responses: { 200: json(LayerDetailSchema), ...errorResponses },
    }), (c) => c.json(getLayer(ctxOf(c), kind, c.req.valid("param").name), 200));

    app.openapi(apiRoute("operator", {
      method: "put", path: `/api/v1/${plural}/{name}`, tags,
      summary: `Create or update a ${kind} from a molthub/v1 ${doc} document. The bots it reaches get new revisions in the same transaction; if any would break, nothing is saved. dryRun=true previews the blast radius`,
      request: { params: NameParam, query: DryRun, ...body(z.record(z.string(), z.unknown()).openapi({ description: `a molthub/v1 ${doc} document` }), { required: false }) },
      responses: { 200: json(ChangeResultSchema), ...errorResponses, ...conflict },
    }), async (c) => {
      const body = await c.req.json().catch(() => undefined);
      const r = applyLayer(ctxOf(c), kind, body, { name: c.req.valid("param").name, dryRun: c.req.valid("query").dryRun === "true" });
      poke(c, r);
      return c.json(r, 200);
    });

    app.openapi(apiRoute("operator", {
      method: "delete", path: `/api/v1/${plural}/{name}`, tags,
      summary: kind === "profile" ? "Delete a profile; refused while bots list it" : "Delete an overlay; the bots it reached get new revisions (dryRun=true previews)",
      request: { params: NameParam, query: DryRun },
      responses: { 200: json(ChangeResultSchema), ...errorResponses, ...conflict },
    }), (c) => {
      const r = deleteLayer(ctxOf(c), kind, c.req.valid("param").name, { dryRun: c.req.valid("query").dryRun === "true" });
      poke(c, r);
      return c.json(r, 200);
    });
  }

  for (const verb of ["enable", "disable"] as const) {
    app.openapi(apiRoute("operator", {
      method: "post", path: `/api/v1/overlays/{name}/${verb}`, tags: ["overlays"], summary: `${verb === "enable" ? "Enable" : "Disable"} an overlay, with its blast radius (dryRun=true previews)`,
      request: { params: NameParam, query: DryRun },
      responses: { 200: json(ChangeResultSchema), ...errorResponses, ...conflict },
    }), (c) => {
      const r = setOverlayEnabled(ctxOf(c), c.req.valid("param").name, verb === "enable", { dryRun: c.req.valid("query").dryRun === "true" });
      poke(c, r);
      return c.json(r, 200);
    });
  }

  app.openapi(apiRoute("operator", {
    method: "post", path: "/api/v1/bots/{name}/profiles", tags: ["profiles"], summary: "Attach a profile to a bot (a new revision of the bot; dryRun=true previews)",
    request: {
      params: NameParam, query: DryRun,
      ...body(z.object({ profile: z.string() }).openapi({ description: "{ profile: NAME }" }), { required: false }),
    },
    responses: { 200: json(ApplyResultSchema), ...errorResponses, ...conflict },
  }), async (c) => {
    const body = (await c.req.json().catch(() => undefined)) as { profile?: unknown } | undefined;
    const r = attachProfile(ctxOf(c), c.req.valid("param").name, body?.profile, { dryRun: c.req.valid("query").dryRun === "true" });
    if (r.action !== "unchanged" && c.req.valid("query").dryRun !== "true") c.get("deps").runtime?.reconciler.poke();
    return c.json(r, 200);
  });

  app.openapi(apiRoute("operator", {
    method: "delete", path: "/api/v1/bots/{name}/profiles/{profile}", tags: ["profiles"], summary: "Detach a profile from a bot (a new revision of the bot; dryRun=true previews)",
    request: { params: NameParam.extend({ profile: z.string().min(1).max(100).openapi({ param: { name: "profile", in: "path" } }) }), query: DryRun },
    responses: { 200: json(ApplyResultSchema), ...errorResponses, ...conflict },
  }), (c) => {
    const p = c.req.valid("param");
    const r = detachProfile(ctxOf(c), p.name, p.profile, { dryRun: c.req.valid("query").dryRun === "true" });
    if (r.action !== "unchanged" && c.req.valid("query").dryRun !== "true") c.get("deps").runtime?.reconciler.poke();
    return c.json(r, 200);
  });

  app.openapi(apiRoute("viewer", {
    method: "get", path: "/api/v1/bots/{name}/resolved", tags: ["profiles"],
    summary: "The bot's configuration resolved now from its layers (template → connectors → profiles → overlays → bot): each path's value, the layer that set it and what it overrode; secrets only as references",
    request: { params: NameParam },
    responses: { 200: json(ResolvedSchema), ...errorResponses },
  }), (c) => c.json(resolvedConfig(ctxOf(c), c.req.valid("param").name), 200));

  return app;
}
