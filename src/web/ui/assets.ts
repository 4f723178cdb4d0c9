import { createHash } from "node:crypto";
import type { Hono } from "hono";
import htmxJs from "htmx.org/dist/htmx.min.js" with { type: "text" };
import type { AppEnv } from "../../server/deps.ts";
// Imported as text so `bun build --compile` embeds them in the binary; tests load them through the
// text-asset plugin in vitest.config.ts. These four specifiers are the only ones that need it.
import appCss from "./static/app.css" with { type: "text" };
import appJs from "./static/app.js" with { type: "text" };
import favicon from "./static/favicon.svg" with { type: "text" };

interface Asset {
  body: string;
  type: string;
  hash: string;
}

function asset(body: string, type: string): Asset {
  return { body, type, hash: createHash("sha256").update(body).digest("hex").slice(0, 16) };
}

const assets: Record<string, Asset> = {
  "app.css": asset(appCss, "text/css; charset=utf-8"),
  "app.js": asset(appJs, "text/javascript; charset=utf-8"),
  "htmx.min.js": asset(htmxJs, "text/javascript; charset=utf-8"),
  "favicon.svg": asset(favicon, "image/svg+xml"),
};

export type AssetName = "app.css" | "app.js" | "htmx.min.js" | "favicon.svg";

/** The URL a page links to: the content hash in the query makes a year-long cache safe. */
export function assetUrl(name: AssetName): string {
  return `/static/${name}?v=${assets[name]!.hash}`;
}

/**
 * Serves the embedded assets. A request carrying the current hash is cached for a year (immutable);
 * any other gets an ETag and must revalidate, so a stale link never pins old content.
 */
export function staticRoutes(app: Hono<AppEnv>): void {
  app.get("/static/:name", (c) => {
    const a = Object.hasOwn(assets, c.req.param("name")) ? assets[c.req.param("name")] : undefined;
    if (!a) return c.text("not found", 404);
    const etag = `"${a.hash}"`;
    c.header("etag", etag);
    c.header("x-content-type-options", "nosniff");
    c.header(
      "cache-control",
      c.req.query("v") === a.hash ? "public, max-age=31536000, immutable" : "public, max-age=0, must-revalidate",
    );
    const inm = c.req.header("if-none-match");
    if (inm?.split(",").some((t) => t.trim().replace(/^W\//, "") === etag)) return c.body(null, 304);
    c.header("content-type", a.type);
    return c.body(a.body);
  });
}
