import { OpenAPIHono } from "@hono/zod-openapi";
import type { Context } from "hono";
import { bodyLimit } from "hono/body-limit";
import { getConnInfo } from "hono/bun";
import { getCookie } from "hono/cookie";
import { csrf } from "hono/csrf";
import { HTTPException } from "hono/http-exception";
import { secureHeaders } from "hono/secure-headers";
import type { ZodError } from "zod";
import { auditRoutes } from "../api/audit/routes.ts";
import { authRoutes } from "../api/auth/routes.ts";
import { botRoutes } from "../api/bots/routes.ts";
import { connectorsRoutes } from "../api/connectors/routes.ts";
import { eventRoutes } from "../api/events/routes.ts";
import { hostsRoutes } from "../api/hosts/routes.ts";
import { layersRoutes } from "../api/layers/routes.ts";
import { policiesRoutes } from "../api/policies/routes.ts";
import { secretsRoutes } from "../api/secrets/routes.ts";
import type { ErrorDetails } from "../api/shared/errors.ts";
import { templatesRoutes } from "../api/templates/routes.ts";
import { tokenRoutes } from "../api/tokens/routes.ts";
import { workspaceRoutes } from "../api/workspaces/routes.ts";
import { ServiceError } from "../core/errors.ts";
import { isBusyError } from "../db/client.ts";
import { zodIssues } from "../domain/documents.ts";
import { redactString } from "../secrets/redact.ts";
import { resolveApiToken, resolveSession, SESSION_COOKIE } from "../services/auth.ts";
import { setOpenApiProvider, webRoutes } from "../web/index.tsx";
import type { AppDeps, AppEnv } from "./deps.ts";

function zodDetails(err: ZodError): ErrorDetails {
  return zodIssues(err, { root: "(body)", unknown: "unknown field; remove it" });
}

/** The error shape of every response; `details` is typed as the OpenAPI document's ErrorDetails says. */
function errorBody(code: string, message: string, details?: ErrorDetails) {
  return { error: { code, message: redactString(message), ...(details === undefined ? {} : { details }) } };
}

function wantsHtml(c: Context): boolean {
  return !c.req.path.startsWith("/api/") && (c.req.header("accept") ?? "").includes("text/html");
}

function sameOrigin(c: Context<AppEnv>, origin: string): boolean {
  const trust = c.get("deps").settings.trustProxy;
  const host = (trust && c.req.header("x-forwarded-host")) || c.req.header("host") || new URL(c.req.url).host;
  try {
    return !!host && new URL(origin).host === host;
  } catch {
    return false;
  }
}

/**
 * Builds the whole HTTP surface. Tests call `app.request()` on it; `serve` hands it to Bun.serve.
 */
export function createApp(deps: AppDeps) {
  const app = new OpenAPIHono<AppEnv>({
    defaultHook: (result, c) => {
      if (!result.success) {
        return c.json(
          errorBody("invalid_request", "the request has invalid fields; see details", zodDetails(result.error as ZodError)),
          400,
        );
      }
    },
  });

  // 1. request id, deps, client address and scheme
  app.use("*", async (c, next) => {
    const incoming = c.req.header("x-request-id");
    const requestId = incoming && /^[A-Za-z0-9._-]{1,64}$/.test(incoming) ? incoming : crypto.randomUUID();
    c.set("requestId", requestId);
    c.set("deps", deps);
    const trust = deps.settings.trustProxy;
    let ip = "unknown";
    if (trust && c.req.header("x-forwarded-for")) ip = c.req.header("x-forwarded-for")!.split(",")[0]!.trim();
    else {
      try {
        ip = getConnInfo(c).remote.address ?? "unknown";
      } catch {
        // app.request() in tests has no socket
      }
    }
    c.set("clientIp", ip);
    c.set("secure", !!deps.settings.tlsCert || (trust && c.req.header("x-forwarded-proto") === "https"));
    c.header("x-request-id", requestId);
    const started = performance.now();
    await next();
    const ms = Math.round((performance.now() - started) * 10) / 10;
    if (c.req.path !== "/healthz" && c.req.path !== "/readyz") {
      deps.logger.info("request", {
        requestId,
        method: c.req.method,
        path: c.req.path,
        status: c.res.status,
        ms,
        actor: c.get("actor")?.label ?? null,
        ip,
      });
    }
  });

  // 2. security headers; htmx is served from our own origin, so scripts are 'self' only
  app.use(
    "*",
    secureHeaders({
      contentSecurityPolicy: {
        defaultSrc: ["'self'"],
        scriptSrc: ["'self'"],
        styleSrc: ["'self'"],
        imgSrc: ["'self'", "data:"],
        connectSrc: ["'self'"],
        frameAncestors: ["'none'"],
        formAction: ["'self'"],
        baseUri: ["'none'"],
        objectSrc: ["'none'"],
      },
      strictTransportSecurity: deps.settings.tlsCert ? "max-age=31536000" : false,
      referrerPolicy: "same-origin",
    }),
  );

  // 3. body size limit for everything
  app.use(
    "*",
    bodyLimit({
      maxSize: deps.settings.maxBodyBytes,
      onError: (c) =>
        c.json(
          errorBody(
            "payload_too_large",
            `the request body is larger than ${deps.settings.maxBodyBytes} bytes; send less or raise maxBodyBytes`,
          ),
          413,
        ),
    }),
  );

  // 4. who is calling: a bearer token or the session cookie
  app.use("*", async (c, next) => {
    c.set("actor", null);
    c.set("session", null);
    c.set("authVia", null);
    const now = deps.now();
    const authz = c.req.header("authorization");
    if (authz?.toLowerCase().startsWith("bearer ")) {
      const actor = resolveApiToken(deps.store.db, authz.slice(7).trim(), now);
      if (!actor)
        return c.json(
          errorBody("unauthorized", "the API token is invalid, expired or revoked; create a new one under Settings → API tokens"),
          401,
        );
      c.set("actor", actor);
      c.set("authVia", "bearer");
    } else {
      const token = getCookie(c, SESSION_COOKIE);
      const s = token ? resolveSession(deps.store.db, token, now) : null;
      if (s) {
        c.set("session", { id: s.actor.sessionId!, mfaPending: s.mfaPending, user: s.user });
        if (!s.mfaPending) {
          c.set("actor", s.actor);
          c.set("authVia", "cookie");
        }
      }
    }
    return next();
  });

  // 5. CSRF: same-origin forms only; cookie-authenticated JSON writes need a same-origin Origin too
  // (a bearer token is never sent by a browser on its own, so those requests cannot be forged)
  const formCsrf = csrf({
    origin: (origin, c) => sameOrigin(c as Context<AppEnv>, origin),
    secFetchSite: (v) => v === "same-origin" || v === "none",
  });
  app.use("*", (c, next) => (c.get("authVia") === "bearer" ? next() : formCsrf(c, next)));
  app.use("*", async (c, next) => {
    if (c.get("authVia") === "cookie" && !/^(GET|HEAD|OPTIONS)$/.test(c.req.method)) {
      const origin = c.req.header("origin");
      if ((origin && !sameOrigin(c, origin)) || c.req.header("sec-fetch-site") === "cross-site") {
        return c.json(errorBody("forbidden", "cross-site request refused"), 403);
      }
    }
    return next();
  });

  // 6. live updates: every successful write tells the workspace's open pages to refresh
  app.use("*", async (c, next) => {
    await next();
    const actor = c.get("actor");
    if (actor?.workspaceId && !/^(GET|HEAD|OPTIONS)$/.test(c.req.method) && c.res.status < 400) {
      deps.events.publish({
        workspaceId: actor.workspaceId,
        type: "changed",
        data: { path: c.req.path, requestId: c.get("requestId") },
      });
    }
  });

  // public probes
  app.get("/healthz", (c) => c.json({ ok: true, status: "live", version: deps.version }));
  app.get("/readyz", (c) => {
    try {
      deps.store.sqlite.query("SELECT 1").get();
      return c.json({ ready: true });
    } catch (e) {
      return c.json({ ready: false, failing: ["store"], message: redactString((e as Error).message) }, 503);
    }
  });

  app.route("/", authRoutes());
  app.route("/", workspaceRoutes());
  app.route("/", tokenRoutes());
  app.route("/", auditRoutes());
  app.route("/", eventRoutes());
  app.route("/", botRoutes());
  app.route("/", hostsRoutes());
  app.route("/", templatesRoutes());
  app.route("/", layersRoutes());
  app.route("/", policiesRoutes());
  app.route("/", connectorsRoutes());
  app.route("/", secretsRoutes());

  app.openAPIRegistry.registerComponent("securitySchemes", "bearerAuth", {
    type: "http",
    scheme: "bearer",
    description: "API token (mht_…) from Settings → API tokens or `molthub token create`",
  });
  app.openAPIRegistry.registerComponent("securitySchemes", "cookieAuth", { type: "apiKey", in: "cookie", name: SESSION_COOKIE });
  const docConfig = {
    openapi: "3.1.0",
    info: {
      title: "Molthub API",
      version: deps.version,
      description: 'Control plane for OpenClaw gateways. Errors have the shape {"error":{"code","message","details"?}}.',
    },
  };
  app.doc31("/api/v1/openapi.json", docConfig);
  setOpenApiProvider(() => app.getOpenAPI31Document(docConfig));

  app.route("/", webRoutes());

  app.notFound((c) => {
    if (wantsHtml(c))
      return c.html('<!doctype html><title>Not found</title><h1>Not found</h1><p><a href="/">Back to the dashboard</a></p>', 404);
    return c.json(errorBody("not_found", `no route for ${c.req.method} ${c.req.path}; see /api/v1/openapi.json`), 404);
  });

  app.onError((err, c) => {
    const requestId = c.get("requestId");
    if (err instanceof ServiceError) {
      if (err.retryAfterSeconds) c.header("retry-after", String(err.retryAfterSeconds));
      if (err.status === 401 && wantsHtml(c)) return c.redirect("/login");
      return c.json(errorBody(err.code, err.message, err.details), err.status as 400);
    }
    if (isBusyError(err)) {
      c.header("retry-after", "1");
      return c.json(errorBody("busy", "the store is busy; retry in a moment"), 503);
    }
    if (err instanceof HTTPException) {
      const status = err.status;
      const code =
        status === 413 ? "payload_too_large" : status === 403 ? "forbidden" : status === 401 ? "unauthorized" : "invalid_request";
      const message = /JSON/i.test(err.message)
        ? "the body is not valid JSON; send a JSON object with Content-Type: application/json"
        : err.message || "bad request";
      return c.json(errorBody(code, message), status as 400);
    }
    deps.logger.error("unhandled error", {
      requestId,
      err: err instanceof Error ? { name: err.name, message: err.message, stack: err.stack } : String(err),
    });
    return c.json(
      errorBody("internal", `something went wrong on our side; the log has details under request id ${requestId}`),
      500,
    );
  });

  return app;
}
