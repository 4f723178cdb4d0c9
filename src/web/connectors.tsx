/** @jsxImportSource hono/jsx */
import { Hono } from "hono";
import type { AppEnv } from "../server/deps.ts";

/** UI pages for connectors (filled in by its module owner). */
export function connectorsPages() {
  return new Hono<AppEnv>();
}
