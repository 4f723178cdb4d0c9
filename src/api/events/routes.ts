import { OpenAPIHono } from "@hono/zod-openapi";
import { streamSSE } from "hono/streaming";
import { authorize } from "../../core/context.ts";
import type { AppEnv } from "../../server/deps.ts";
import { ctxOf } from "../../server/deps.ts";
import { errorResponses } from "../shared/errors.ts";
import { apiRoute } from "../shared/route.ts";
import { EventsQuery } from "./schema.ts";

/** Live updates for the current workspace as server-sent events; authorized before the stream opens. */
export function eventRoutes() {
  const app = new OpenAPIHono<AppEnv>();
  app.openapi(
    apiRoute("viewer", {
      method: "get",
      path: "/api/v1/events",
      tags: ["events"],
      summary: "Server-sent events for the current workspace (changes, later bot status)",
      request: { query: EventsQuery },
      responses: { 200: { description: "text/event-stream" }, ...errorResponses },
    }),
    (c) => {
      const ctx = ctxOf(c);
      const ws = authorize(ctx, "viewer");
      const bus = c.get("deps").events;
      return streamSSE(c, async (s) => {
        let id = 0;
        const queue: { type: string; data: unknown }[] = [];
        let wake: (() => void) | null = null;
        const unsubscribe = bus.subscribe(ws, (e) => {
          queue.push({ type: e.type, data: e.data });
          wake?.();
        });
        s.onAbort(() => {
          unsubscribe();
          wake?.();
        });
        await s.writeSSE({ event: "ready", data: JSON.stringify({ workspaceId: ws }), id: String(id++) });
        while (!s.aborted && !s.closed) {
          if (queue.length === 0) {
            await new Promise<void>((r) => {
              wake = r;
              setTimeout(r, 25_000);
            });
            wake = null;
            if (queue.length === 0 && !s.aborted) await s.writeSSE({ event: "ping", data: "{}" });
          }
          while (queue.length) {
            const e = queue.shift()!;
            await s.writeSSE({ event: e.type, data: JSON.stringify(e.data), id: String(id++) });
          }
        }
        unsubscribe();
      });
    },
  );
  return app;
}
