import * as z from "zod";

/**
 * The shapes of the names and OpenClaw versions every document shares (bots, hosts, secrets, templates, …).
 * Their own module so the providers' target schemas (providers/<kind>/index.ts) use the same rules as the manifest
 * without importing it: the manifest builds its target union from those schemas.
 */
export const NAME_RE = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/;
export const VERSION_RE = /^\d{4}\.\d{1,2}\.\d{1,2}(-[0-9A-Za-z.]+)?$/;

export const nameSchema = z
  .string()
  .regex(NAME_RE, "lowercase letters, digits and dashes, 1–63 characters, starting and ending with a letter or digit");

export const versionSchema = z.string().regex(VERSION_RE, "an OpenClaw version like 2026.9.6");
