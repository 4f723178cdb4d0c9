/** @jsxImportSource hono/jsx */
import { Hono } from "hono";
import type { AppEnv } from "../server/deps.ts";

/** UI pages for hosts (filled in by its module owner). */
export function hostsPages() {
  return new Hono<AppEnv>();
}
