import { createHash } from "node:crypto";
import type { Manifest } from "./manifest.ts";

/** Where a bot's files live on its target. Providers decide the root; the shape is the same everywhere. */
export interface BotLayout {
  stateDir: string;
  configPath: string;
  envFile: string;
  logFile: string;
}

export function layoutFor(root: string): BotLayout {
  return {
    stateDir: root,
    configPath: `${root}/openclaw.json`,
    envFile: `${root}/molthub.env`,
    logFile: `${root}/logs/gateway.log`,
  };
}

export const GATEWAY_TOKEN_ENV = "OPENCLAW_GATEWAY_TOKEN";
export const PORT_BASE = 18800;
export const PORT_SPACING = 120;
const PORT_MAX = 60000;

/**
 * The first free base port on a host, spaced >= 120 from every other bot's (OpenClaw uses base+2 for
 * browser control and up to base+110 for CDP).
 */
export function allocatePort(taken: number[], isFree: (port: number) => boolean = () => true): number {
  for (let p = PORT_BASE; p <= PORT_MAX; p += PORT_SPACING) {
    if (taken.some((t) => Math.abs(t - p) < PORT_SPACING)) continue;
    if (isFree(p)) return p;
  }
  throw new Error(`no free gateway port between ${PORT_BASE} and ${PORT_MAX} with ${PORT_SPACING} spacing; remove unused bots`);
}

function isObject(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === "object" && !Array.isArray(v);
}

/** Deep merge where `over` wins; arrays are replaced, not concatenated. */
function deepMerge(base: Record<string, unknown>, over: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = { ...base };
  for (const [k, v] of Object.entries(over)) {
    out[k] = isObject(v) && isObject(out[k]) ? deepMerge(out[k] as Record<string, unknown>, v) : v;
  }
  return out;
}

/** JSON with keys sorted at every level, so equal configs have equal text and hash. */
export function canonicalJson(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonicalJson).join(",")}]`;
  if (isObject(v))
    return `{${Object.keys(v)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${canonicalJson(v[k])}`)
      .join(",")}}`;
  return JSON.stringify(v);
}

export function configHash(config: unknown): string {
  return createHash("sha256").update(canonicalJson(config)).digest("hex");
}

/**
 * Generates a bot's openclaw.json. Pure: same manifest and layout → same config.
 * Molthub owns: gateway.mode/bind/port/auth (loopback, token from an env SecretRef) and logging.file.
 * Secrets never appear here: the manifest names env vars that the 0600 env file provides, and
 * `spec.openclaw` refers to them as SecretRefs or "${VAR}".
 */
export function generateConfig(m: Manifest, opts: { port: number; layout: BotLayout }): Record<string, unknown> {
  const managed = {
    gateway: {
      mode: "local",
      bind: "loopback",
      port: opts.port,
      auth: { mode: "token", token: { source: "env", provider: "default", id: GATEWAY_TOKEN_ENV } },
    },
    logging: { file: opts.layout.logFile },
  };
  return deepMerge(m.spec.openclaw as Record<string, unknown>, managed);
}

/** The environment a bot runs with; written to a 0600 env file, never passed in argv. */
export function botEnvironment(opts: {
  layout: BotLayout;
  port: number;
  gatewayToken: string;
  secrets: Record<string, string>;
}): Record<string, string> {
  for (const [k, v] of Object.entries(opts.secrets)) {
    if (/[\r\n\0]/.test(v))
      throw new Error(`the secret for ${k} contains a line break or NUL, which an env file cannot carry; store it without them`);
  }
  return {
    ...opts.secrets,
    [GATEWAY_TOKEN_ENV]: opts.gatewayToken,
    OPENCLAW_STATE_DIR: opts.layout.stateDir,
    OPENCLAW_CONFIG_PATH: opts.layout.configPath,
    OPENCLAW_GATEWAY_PORT: String(opts.port),
    OPENCLAW_NO_RESPAWN: "1",
    OPENCLAW_NO_AUTO_UPDATE: "1",
    OPENCLAW_DISABLE_BONJOUR: "1",
  };
}

/**
 * KEY=value lines. Docker's --env-file takes the value literally to the end of the line, and systemd's
 * EnvironmentFile does too for unquoted values without backslashes or quotes at the start — so values are
 * written unquoted and refused when they contain a line break (checked in botEnvironment).
 */
export function renderEnvFile(env: Record<string, string>): string {
  return `${Object.keys(env)
    .sort()
    .map((k) => `${k}=${env[k]}`)
    .join("\n")}\n`;
}

export interface PathChange {
  path: string;
  from: unknown;
  to: unknown;
}

const REDACTED_MARKER = "__OPENCLAW_REDACTED__";

/** Per-path differences between two configs (leaves only); values the gateway redacts compare equal. */
export function diffConfig(a: unknown, b: unknown, prefix = ""): PathChange[] {
  if (a === REDACTED_MARKER || b === REDACTED_MARKER) return [];
  if (isObject(a) && isObject(b)) {
    const keys = [...new Set([...Object.keys(a), ...Object.keys(b)])].sort();
    return keys.flatMap((k) => diffConfig(a[k], b[k], prefix ? `${prefix}.${k}` : k));
  }
  if (canonicalJson(a) === canonicalJson(b)) return [];
  return [{ path: prefix || "(root)", from: a, to: b }];
}

/**
 * Paths the gateway writes into its own config file (bookkeeping and defaults it fills in on its first write).
 * They are not drift and never patched away, unless the manifest sets them itself.
 */
const GATEWAY_OWNED_PATHS = ["meta", "wizard", "agents.entries.main"];

export function withoutGatewayOwned(
  config: Record<string, unknown> | null | undefined,
  desired: Record<string, unknown> = {},
): Record<string, unknown> {
  const out = structuredClone(config ?? {}) as Record<string, unknown>;
  for (const path of GATEWAY_OWNED_PATHS) {
    const keys = path.split(".");
    if (getIn(desired, keys) !== undefined) continue;
    let cur: unknown = out;
    const parents: Record<string, unknown>[] = [];
    for (const k of keys.slice(0, -1)) {
      if (!isObject(cur)) break;
      parents.push(cur);
      cur = cur[k];
    }
    if (!isObject(cur) || parents.length !== keys.length - 1) continue;
    delete cur[keys[keys.length - 1]!];
    // drop parents the removal left empty (e.g. agents.entries)
    for (let i = keys.length - 2; i >= 0; i--) {
      const parent = i === 0 ? out : (getIn(out, keys.slice(0, i)) as Record<string, unknown>);
      const child = parent?.[keys[i]!];
      if (isObject(child) && Object.keys(child).length === 0 && getIn(desired, keys.slice(0, i + 1)) === undefined)
        delete parent[keys[i]!];
      else break;
    }
  }
  return out;
}

function getIn(obj: unknown, keys: string[]): unknown {
  let cur = obj;
  for (const k of keys) {
    if (!isObject(cur)) return undefined;
    cur = cur[k];
  }
  return cur;
}

/**
 * An RFC 7396 merge patch that turns `live` into `desired`, plus the array paths it replaces (the gateway
 * needs those listed to remove entries). Values the gateway redacts are left alone.
 */
export function mergePatch(
  live: unknown,
  desired: unknown,
  prefix = "",
): { patch: unknown; replacePaths: string[]; empty: boolean } {
  if (live === REDACTED_MARKER) return { patch: undefined, replacePaths: [], empty: true };
  if (isObject(live) && isObject(desired)) {
    const patch: Record<string, unknown> = {};
    const replacePaths: string[] = [];
    for (const k of new Set([...Object.keys(live), ...Object.keys(desired)])) {
      const path = prefix ? `${prefix}.${k}` : k;
      if (!(k in desired)) {
        patch[k] = null;
        continue;
      }
      const sub = mergePatch(live[k], desired[k], path);
      if (!sub.empty) {
        patch[k] = sub.patch;
        replacePaths.push(...sub.replacePaths);
      }
    }
    return { patch, replacePaths, empty: Object.keys(patch).length === 0 };
  }
  if (canonicalJson(live) === canonicalJson(desired)) return { patch: undefined, replacePaths: [], empty: true };
  return { patch: desired, replacePaths: Array.isArray(desired) && Array.isArray(live) ? [prefix] : [], empty: false };
}

/** Puts back values the gateway redacted (SecretRef ids, tokens) from the config Molthub wrote. */
export function unredact(live: unknown, desired: unknown): unknown {
  if (live === REDACTED_MARKER) return desired;
  if (isObject(live)) {
    const d = isObject(desired) ? desired : {};
    return Object.fromEntries(Object.entries(live).map(([k, v]) => [k, unredact(v, d[k])]));
  }
  if (Array.isArray(live)) return live.map((v, i) => unredact(v, Array.isArray(desired) ? desired[i] : undefined));
  return live;
}
