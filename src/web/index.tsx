import { Hono } from "hono";
import type { AppEnv } from "../server/deps.ts";

/** Placeholder: replaced by the server-rendered UI. */
export function webRoutes() {
  const app = new Hono<AppEnv>();
  app.get("/", (c) => c.html("<!doctype html><title>Molthub</title><h1>Molthub</h1>"));
  return app;
}
