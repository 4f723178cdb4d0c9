/** @jsxImportSource hono/jsx */
import { Hono } from "hono";
import { HTTPException } from "hono/http-exception";
import { ServiceError } from "../core/errors.ts";
import type { AppEnv } from "../server/deps.ts";
import { apiDocsPage } from "./api-docs/routes.tsx";
import { auditPages } from "./audit/routes.tsx";
import { authPages } from "./auth/routes.tsx";
import { botPages } from "./bots/routes.tsx";
import { connectorsPages } from "./connectors/routes.tsx";
import { dashboardPages } from "./dashboard/routes.tsx";
import { sentence } from "./forms.ts";
import { hostsPages } from "./hosts/routes.tsx";
import { layersPages } from "./layers/routes.tsx";
import { renderAuthPage, renderPage } from "./page-response.tsx";
import { policiesPages } from "./policies/routes.tsx";
import { secretsPages } from "./secrets/routes.tsx";
import { settingsPages } from "./settings/routes.tsx";
import { templatesPages } from "./templates/routes.tsx";
import { staticRoutes } from "./ui/assets.ts";
import { ErrorPage } from "./ui/error-page.tsx";

export { setOpenApiProvider } from "./api-docs/routes.tsx";

/**
 * The server-rendered UI, mounted at "/". Every page works without JavaScript (forms POST and
 * redirect); htmx and /static/app.js only add live refresh, confirmations and copy buttons.
 * Public: /login, /setup, /api/docs, /static/*. Everything else needs a signed-in browser session.
 */
export function webRoutes() {
  const app = new Hono<AppEnv>();
  staticRoutes(app);
  app.route("/", authPages());
  app.route("/", apiDocsPage());
  app.route("/", dashboardPages());
  app.route("/", auditPages());
  app.route("/", settingsPages());
  app.route("/", botPages());
  app.route("/", hostsPages());
  app.route("/", templatesPages());
  app.route("/", layersPages());
  app.route("/", policiesPages());
  app.route("/", connectorsPages());
  app.route("/", secretsPages());

  // A refused service call on a page is shown as a page, not as the API's JSON error.
  app.onError((err, c) => {
    if (err instanceof HTTPException) throw err;
    let status = 500;
    let message = `Something went wrong on our side; the log has details under request id ${c.get("requestId")}.`;
    if (err instanceof ServiceError) {
      if (err.status === 401) return c.redirect("/login", 302);
      if (err.retryAfterSeconds) c.header("retry-after", String(err.retryAfterSeconds));
      status = err.status;
      message = sentence(err.message);
    } else {
      c.get("deps").logger.error("unhandled error in a page", {
        requestId: c.get("requestId"),
        path: c.req.path,
        err: err instanceof Error ? { name: err.name, message: err.message, stack: err.stack } : String(err),
      });
    }
    const body = <ErrorPage status={status} message={message} requestId={status >= 500 ? c.get("requestId") : undefined} />;
    if (c.get("actor") && c.get("session") && c.get("authVia") === "cookie") {
      try {
        return renderPage(c, "Error", body, status);
      } catch {
        // the chrome itself failed (e.g. the store is gone): fall back to the bare page
      }
    }
    return renderAuthPage(c, "Error", body, { status });
  });

  return app;
}
