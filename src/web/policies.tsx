/** @jsxImportSource hono/jsx */
import { Hono } from "hono";
import type { AppEnv } from "../server/deps.ts";

/** UI pages for policies (filled in by its module owner). */
export function policiesPages() {
  return new Hono<AppEnv>();
}
