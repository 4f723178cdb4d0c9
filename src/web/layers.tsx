/** @jsxImportSource hono/jsx */
import { Hono } from "hono";
import type { AppEnv } from "../server/deps.ts";

/** UI pages for layers (filled in by its module owner). */
export function layersPages() {
  return new Hono<AppEnv>();
}
