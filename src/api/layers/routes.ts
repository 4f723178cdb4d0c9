import { OpenAPIHono } from "@hono/zod-openapi";
import type { AppEnv } from "../../server/deps.ts";
import { ctxOf } from "../../server/deps.ts";
import {
  applyLayer,
  attachProfile,
  deleteLayer,
  detachProfile,
  getLayer,
  type LayerChangeResult,
  listLayers,
  resolvedConfig,
  type StoredKind,
  setOverlayEnabled,
} from "../../services/layers.ts";
import { body, json, reply } from "../shared/content.ts";
import { errorResponse, errorResponses } from "../shared/errors.ts";
import { apiRoute } from "../shared/route.ts";
import {
  ApplyResultSchema,
  AttachBody,
  ChangeResultSchema,
  DryRun,
  LayerDetailSchema,
  LayerListSchema,
  layerBody,
  NameParam,
  ProfileParams,
  ResolvedSchema,
} from "./schema.ts";

const conflict = {
  409: errorResponse("Refused: the layer is in use, or would break bots (details name each bot and path)"),
  422: errorResponse("Blocked by policy for at least one bot"),
};

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
    app.openapi(
      apiRoute("viewer", {
        method: "get",
        path: `/api/v1/${plural}`,
        tags,
        summary: `The workspace's ${plural}, with the bots each reaches now`,
        responses: { 200: json(LayerListSchema), ...errorResponses },
      }),
      (c) => reply(c, LayerListSchema, { items: listLayers(ctxOf(c), kind) }, 200),
    );

    app.openapi(
      apiRoute("viewer", {
        method: "get",
        path: `/api/v1/${plural}/{name}`,
        tags,
        summary: `One ${kind}: its document, version and the bots it reaches`,
        request: { params: NameParam },
        responses: { 200: json(LayerDetailSchema), ...errorResponses },
      }),
      (c) => reply(c, LayerDetailSchema, getLayer(ctxOf(c), kind, c.req.valid("param").name), 200),
    );

    app.openapi(
      apiRoute("operator", {
        method: "put",
        path: `/api/v1/${plural}/{name}`,
        tags,
        summary: `Create or update a ${kind} from a molthub/v1 ${doc} document. The bots it reaches get new revisions in the same transaction; if any would break, nothing is saved. dryRun=true previews the blast radius`,
        request: { params: NameParam, query: DryRun, ...body(layerBody(doc), { required: false }) },
        responses: { 200: json(ChangeResultSchema), ...errorResponses, ...conflict },
      }),
      async (c) => {
        const body = await c.req.json().catch(() => undefined);
        const r = applyLayer(ctxOf(c), kind, body, {
          name: c.req.valid("param").name,
          dryRun: c.req.valid("query").dryRun === "true",
        });
        poke(c, r);
        return reply(c, ChangeResultSchema, r, 200);
      },
    );

    app.openapi(
      apiRoute("operator", {
        method: "delete",
        path: `/api/v1/${plural}/{name}`,
        tags,
        summary:
          kind === "profile"
            ? "Delete a profile; refused while bots list it"
            : "Delete an overlay; the bots it reached get new revisions (dryRun=true previews)",
        request: { params: NameParam, query: DryRun },
        responses: { 200: json(ChangeResultSchema), ...errorResponses, ...conflict },
      }),
      (c) => {
        const r = deleteLayer(ctxOf(c), kind, c.req.valid("param").name, { dryRun: c.req.valid("query").dryRun === "true" });
        poke(c, r);
        return reply(c, ChangeResultSchema, r, 200);
      },
    );
  }

  for (const verb of ["enable", "disable"] as const) {
    app.openapi(
      apiRoute("operator", {
        method: "post",
        path: `/api/v1/overlays/{name}/${verb}`,
        tags: ["overlays"],
        summary: `${verb === "enable" ? "Enable" : "Disable"} an overlay, with its blast radius (dryRun=true previews)`,
        request: { params: NameParam, query: DryRun },
        responses: { 200: json(ChangeResultSchema), ...errorResponses, ...conflict },
      }),
      (c) => {
        const r = setOverlayEnabled(ctxOf(c), c.req.valid("param").name, verb === "enable", {
          dryRun: c.req.valid("query").dryRun === "true",
        });
        poke(c, r);
        return reply(c, ChangeResultSchema, r, 200);
      },
    );
  }

  app.openapi(
    apiRoute("operator", {
      method: "post",
      path: "/api/v1/bots/{name}/profiles",
      tags: ["profiles"],
      summary: "Attach a profile to a bot (a new revision of the bot; dryRun=true previews)",
      request: { params: NameParam, query: DryRun, ...body(AttachBody, { required: false }) },
      responses: { 200: json(ApplyResultSchema), ...errorResponses, ...conflict },
    }),
    async (c) => {
      const body = (await c.req.json().catch(() => undefined)) as { profile?: unknown } | undefined;
      const r = attachProfile(ctxOf(c), c.req.valid("param").name, body?.profile, {
        dryRun: c.req.valid("query").dryRun === "true",
      });
      if (r.action !== "unchanged" && c.req.valid("query").dryRun !== "true") c.get("deps").runtime?.reconciler.poke();
      return reply(c, ApplyResultSchema, r, 200);
    },
  );

  app.openapi(
    apiRoute("operator", {
      method: "delete",
      path: "/api/v1/bots/{name}/profiles/{profile}",
      tags: ["profiles"],
      summary: "Detach a profile from a bot (a new revision of the bot; dryRun=true previews)",
      request: { params: ProfileParams, query: DryRun },
      responses: { 200: json(ApplyResultSchema), ...errorResponses, ...conflict },
    }),
    (c) => {
      const p = c.req.valid("param");
      const r = detachProfile(ctxOf(c), p.name, p.profile, { dryRun: c.req.valid("query").dryRun === "true" });
      if (r.action !== "unchanged" && c.req.valid("query").dryRun !== "true") c.get("deps").runtime?.reconciler.poke();
      return reply(c, ApplyResultSchema, r, 200);
    },
  );

  app.openapi(
    apiRoute("viewer", {
      method: "get",
      path: "/api/v1/bots/{name}/resolved",
      tags: ["profiles"],
      summary:
        "The bot's configuration resolved now from its layers (template → connectors → profiles → overlays → bot): each path's value, the layer that set it and what it overrode; secrets only as references",
      request: { params: NameParam },
      responses: { 200: json(ResolvedSchema), ...errorResponses },
    }),
    (c) => reply(c, ResolvedSchema, resolvedConfig(ctxOf(c), c.req.valid("param").name), 200),
  );

  return app;
}
