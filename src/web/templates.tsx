/** @jsxImportSource hono/jsx */
import { Hono } from "hono";
import type { AppEnv } from "../server/deps.ts";

/** UI pages for templates (filled in by its module owner). */
export function templatesPages() {
  return new Hono<AppEnv>();
}
