import * as z from "zod";
import { NAME_RE } from "./manifest.ts";

/**
 * Connectors: shared credentials for LLM providers and chat channels, bound to bots by name
 * (`spec.connectors`). Pure: the types, what each type delivers to a bot (env vars and the OpenClaw config
 * fragment that refers to them), and how its connection test is asked and read. The HTTP call itself lives
 * in services/connectors.ts.
 *
 * Credentials reach a bot only as env vars from its 0600 env file; the config fragment holds SecretRefs
 * `{ source: "env", provider: "default", id: ENV }` at OpenClaw's own paths (checked against the
 * `openclaw config schema` of 2026.9.6: `models.providers.<p>.{apiKey,baseUrl,api}`,
 * `channels.telegram.{botToken,apiRoot}`, `channels.discord.token`, `channels.slack.{mode,botToken,appToken}`).
 */

export const CONNECTOR_TYPES = ["anthropic", "openai", "openrouter", "ollama", "telegram", "discord", "slack"] as const;
export type ConnectorType = (typeof CONNECTOR_TYPES)[number];

/** Connector names become part of secret names (`connector-<name>-app`), so they are shorter than other names. */
export const CONNECTOR_NAME_MAX = 40;

export function isConnectorName(s: string): boolean {
  return s.length <= CONNECTOR_NAME_MAX && NAME_RE.test(s);
}

/** The vault secrets a connector creates for values given to it (it may also use an existing secret). */
export function ownedSecretName(connector: string, which: "credential" | "appToken" = "credential"): string {
  return which === "credential" ? `connector-${connector}` : `connector-${connector}-app`;
}

type SecretRef = { source: "env"; provider: "default"; id: string };
const envRef = (id: string): SecretRef => ({ source: "env", provider: "default", id });

export interface ConnectorSettings {
  /** the API root (scheme, host, optional port and path prefix); the type's default when absent */
  baseUrl?: string;
  /** slack: the vault secret holding the app-level token (xapp-…) for socket mode */
  appTokenSecret?: string;
}

/** The credentials a connection test sends; never logged, never part of a result. */
export interface TestCredentials {
  credential?: string;
  appToken?: string;
}

interface TestRequest {
  method: "GET" | "POST";
  /** appended to the base URL */
  path: string;
  headers: Record<string, string>;
  body?: string;
}

export interface TestResult {
  ok: boolean;
  /** one sentence that says what happened and what to do; never holds a credential */
  message: string;
  details: Record<string, string | number | boolean>;
}

export interface ConnectorTypeDef {
  type: ConnectorType;
  label: string;
  category: "llm" | "channel";
  /** the main credential and the env var it is delivered as; null for credential-less types (ollama) */
  credential: { env: string; label: string } | null;
  /** a second credential kept in another secret, named by a setting (slack's app token) */
  second?: { env: string; label: string; setting: "appTokenSecret" };
  defaultBaseUrl: string;
  /** the OpenClaw config this connector contributes to a bound bot */
  fragment(settings: ConnectorSettings): Record<string, unknown>;
  /** the connection test: one real call to the provider's API */
  testRequest(creds: TestCredentials): TestRequest;
  /** reads a 2xx answer (non-2xx answers are read by `interpretStatus`) */
  readOk(body: unknown): TestResult;
}

function obj(v: unknown): Record<string, unknown> {
  return v !== null && typeof v === "object" && !Array.isArray(v) ? (v as Record<string, unknown>) : {};
}

function listCount(body: unknown, key = "data"): number {
  const v = obj(body)[key];
  return Array.isArray(v) ? v.length : 0;
}

/** The base URL with a path suffix, unless it already ends with it. */
function withSuffix(base: string, suffix: string): string {
  const b = base.replace(/\/+$/, "");
  return b.endsWith(suffix) ? b : b + suffix;
}

/** Only a non-default base URL goes into the config: the provider's built-in default stays authoritative. */
function customBase(def: { defaultBaseUrl: string }, s: ConnectorSettings): string | undefined {
  const b = s.baseUrl?.replace(/\/+$/, "");
  return b && b !== def.defaultBaseUrl ? b : undefined;
}

function llm(
  type: "anthropic" | "openai" | "openrouter",
  label: string,
  env: string,
  defaultBaseUrl: string,
  configSuffix: string,
  testRequest: (c: TestCredentials) => TestRequest,
  readOk: (b: unknown) => TestResult,
): ConnectorTypeDef {
  const def: ConnectorTypeDef = {
    type,
    label,
    category: "llm",
    credential: { env, label: `${label} API key` },
    defaultBaseUrl,
    fragment(s) {
      const base = customBase(def, s);
      return {
        models: { providers: { [type]: { apiKey: envRef(env), ...(base ? { baseUrl: withSuffix(base, configSuffix) } : {}) } } },
      };
    },
    testRequest,
    readOk,
  };
  return def;
}

export const CONNECTOR_TYPE_DEFS: Record<ConnectorType, ConnectorTypeDef> = {
  anthropic: llm(
    "anthropic",
    "Anthropic",
    "ANTHROPIC_API_KEY",
    "https://api.anthropic.com",
    "",
    (c) => ({
      method: "GET",
      path: "/v1/models",
      headers: { "x-api-key": c.credential ?? "", "anthropic-version": "2023-06-01" },
    }),
    (b) => ({ ok: true, message: `the key works; ${listCount(b)} models available`, details: { models: listCount(b) } }),
  ),
  openai: llm(
    "openai",
    "OpenAI",
    "OPENAI_API_KEY",
    "https://api.openai.com",
    "/v1",
    (c) => ({ method: "GET", path: "/v1/models", headers: { authorization: `Bearer ${c.credential ?? ""}` } }),
    (b) => ({ ok: true, message: `the key works; ${listCount(b)} models available`, details: { models: listCount(b) } }),
  ),
  openrouter: llm(
    "openrouter",
    "OpenRouter",
    "OPENROUTER_API_KEY",
    "https://openrouter.ai",
    "/api/v1",
    (c) => ({ method: "GET", path: "/api/v1/key", headers: { authorization: `Bearer ${c.credential ?? ""}` } }),
    (b) => {
      const d = obj(obj(b).data);
      const details: TestResult["details"] = {};
      if (typeof d.label === "string") details.label = d.label.slice(0, 100);
      if (typeof d.usage === "number") details.usage = d.usage;
      if (typeof d.limit === "number") details.limit = d.limit;
      return { ok: true, message: `the key works${details.label ? ` (key ${details.label})` : ""}`, details };
    },
  ),
  ollama: {
    type: "ollama",
    label: "Ollama",
    category: "llm",
    credential: null,
    defaultBaseUrl: "http://127.0.0.1:11434",
    // always explicit: the native API (no /v1), per OpenClaw's Ollama configuration page
    fragment: (s) => ({
      models: { providers: { ollama: { baseUrl: (s.baseUrl ?? "http://127.0.0.1:11434").replace(/\/+$/, ""), api: "ollama" } } },
    }),
    testRequest: () => ({ method: "GET", path: "/api/tags", headers: {} }),
    readOk: (b) => ({
      ok: true,
      message: `Ollama answers; ${listCount(b, "models")} models installed`,
      details: { models: listCount(b, "models") },
    }),
  },
  telegram: {
    type: "telegram",
    label: "Telegram",
    category: "channel",
    credential: { env: "TELEGRAM_BOT_TOKEN", label: "Telegram bot token" },
    defaultBaseUrl: "https://api.telegram.org",
    fragment(s) {
      const base = customBase(CONNECTOR_TYPE_DEFS.telegram, s);
      return { channels: { telegram: { botToken: envRef("TELEGRAM_BOT_TOKEN"), ...(base ? { apiRoot: base } : {}) } } };
    },
    // the token is part of the path: the caller must never print this request's URL
    testRequest: (c) => ({ method: "GET", path: `/bot${c.credential ?? ""}/getMe`, headers: {} }),
    readOk(b): TestResult {
      const r = obj(obj(b).result);
      if (obj(b).ok !== true)
        return { ok: false, message: "Telegram answered without ok=true; check the base URL points at the Bot API", details: {} };
      const username = typeof r.username === "string" ? r.username.slice(0, 64) : "";
      return {
        ok: true,
        message: `the token works; the bot is @${username || "unknown"}`,
        details: { username, id: typeof r.id === "number" ? r.id : 0 },
      };
    },
  },
  discord: {
    type: "discord",
    label: "Discord",
    category: "channel",
    credential: { env: "DISCORD_BOT_TOKEN", label: "Discord bot token" },
    defaultBaseUrl: "https://discord.com",
    fragment: () => ({ channels: { discord: { token: envRef("DISCORD_BOT_TOKEN") } } }),
    testRequest: (c) => ({ method: "GET", path: "/api/v10/users/@me", headers: { authorization: `Bot ${c.credential ?? ""}` } }),
    readOk(b) {
      const r = obj(b);
      const username = typeof r.username === "string" ? r.username.slice(0, 64) : "";
      return {
        ok: true,
        message: `the token works; the bot is ${username || "unknown"}`,
        details: { username, bot: r.bot === true },
      };
    },
  },
  slack: {
    type: "slack",
    label: "Slack",
    category: "channel",
    credential: { env: "SLACK_BOT_TOKEN", label: "Slack bot token (xoxb-…)" },
    second: { env: "SLACK_APP_TOKEN", label: "Slack app-level token (xapp-…)", setting: "appTokenSecret" },
    defaultBaseUrl: "https://slack.com",
    fragment: () => ({
      channels: { slack: { mode: "socket", botToken: envRef("SLACK_BOT_TOKEN"), appToken: envRef("SLACK_APP_TOKEN") } },
    }),
    testRequest: (c) => ({
      method: "POST",
      path: "/api/auth.test",
      headers: { authorization: `Bearer ${c.credential ?? ""}`, "content-type": "application/x-www-form-urlencoded" },
      body: "",
    }),
    readOk(b) {
      const r = obj(b);
      // Slack answers 200 with ok:false for a bad token
      if (r.ok !== true) {
        const err = typeof r.error === "string" ? r.error.replace(/[^a-z_]/g, "").slice(0, 60) : "unknown_error";
        const refused = ["invalid_auth", "not_authed", "token_revoked", "account_inactive", "token_expired"].includes(err);
        return {
          ok: false,
          message: refused
            ? `Slack refused the bot token (${err}): rotate it with a valid xoxb- token`
            : `Slack answered ${err}; check the token's scopes and the workspace`,
          details: { error: err },
        };
      }
      const details: TestResult["details"] = {};
      for (const k of ["team", "user", "bot_id"]) if (typeof r[k] === "string") details[k] = (r[k] as string).slice(0, 64);
      return {
        ok: true,
        message: `the token works; the bot is ${details.user ?? "unknown"} in ${details.team ?? "its workspace"}`,
        details,
      };
    },
  },
};

/** Reads a non-2xx answer: what it means and what to do. */
export function interpretStatus(def: ConnectorTypeDef, status: number): TestResult {
  const what = def.credential
    ? def.type === "telegram" || def.type === "discord" || def.type === "slack"
      ? "token"
      : "key"
    : "request";
  if (status === 401 || status === 403) {
    return {
      ok: false,
      message: `the ${what} was refused (${status}): rotate it with a valid ${def.credential?.label ?? "credential"}`,
      details: { status },
    };
  }
  // Telegram answers 404 for an unknown token
  if (status === 404 && def.type === "telegram")
    return {
      ok: false,
      message: "the token was refused (404 from the Bot API): rotate it with a valid Telegram bot token",
      details: { status },
    };
  if (status === 404)
    return {
      ok: false,
      message: `the API answered 404: check that the base URL is the ${def.label} API root`,
      details: { status },
    };
  if (status === 429)
    return { ok: false, message: "the API is rate-limiting us (429): try the test again in a minute", details: { status } };
  if (status >= 500)
    return { ok: false, message: `the ${def.label} API failed (${status}): try again later`, details: { status } };
  if (status >= 300 && status < 400)
    return {
      ok: false,
      message: `the API redirected (${status}): set the base URL to the address it redirects to`,
      details: { status },
    };
  return { ok: false, message: `the API answered ${status}: check the base URL and the credential`, details: { status } };
}

// ---------- settings validation ----------

const LOOPBACK_HOST = /^(localhost|127(\.\d{1,3}){3}|\[::1\])$/i;

/**
 * A base URL must be http(s) without credentials, query or fragment. Credentials travel in its requests,
 * so plain http is refused except on loopback and for Ollama (usually on the LAN and without a key).
 */
function baseUrlProblem(type: ConnectorType, raw: string): string | undefined {
  let u: URL;
  try {
    u = new URL(raw);
  } catch {
    return "not a URL; use e.g. https://api.example.com";
  }
  if (u.protocol !== "https:" && u.protocol !== "http:") return "use an http:// or https:// URL";
  if (u.username || u.password)
    return "remove the user name and password from the URL; the credential goes into the connector's secret";
  if (u.search || u.hash) return "remove the query and fragment; give only the API root";
  if (u.protocol === "http:" && type !== "ollama" && !LOOPBACK_HOST.test(u.hostname))
    return "use https:// — the credential would travel in clear text (http is allowed on loopback only)";
  if (type === "ollama" && /\/v1\/?$/.test(u.pathname))
    return "use Ollama's native URL without /v1 (e.g. http://127.0.0.1:11434)";
  if (type === "telegram" && /\/bot[^/]*$/.test(u.pathname)) return "give the Bot API root only, without /bot<token>";
  return undefined;
}

const settingsSchema = z.strictObject({
  baseUrl: z.string().max(500).optional(),
  appTokenSecret: z.string().regex(NAME_RE, "a secret name: lowercase letters, digits and dashes").optional(),
});

/** Validates settings for a type; every wrong path is listed. */
export function validateSettings(
  type: ConnectorType,
  input: unknown,
): { settings: ConnectorSettings; issues: { path: string; message: string }[] } {
  const r = settingsSchema.safeParse(input ?? {});
  if (!r.success) {
    return {
      settings: {},
      issues: r.error.issues.flatMap((i) =>
        i.code === "unrecognized_keys"
          ? (i as unknown as { keys: string[] }).keys.map((k) => ({
              path: `settings.${k}`,
              message: "unknown setting; remove it",
            }))
          : [{ path: ["settings", ...i.path].join("."), message: i.message }],
      ),
    };
  }
  const issues: { path: string; message: string }[] = [];
  const settings: ConnectorSettings = {};
  if (r.data.baseUrl !== undefined && r.data.baseUrl !== "") {
    const p = baseUrlProblem(type, r.data.baseUrl);
    if (p) issues.push({ path: "settings.baseUrl", message: p });
    else settings.baseUrl = r.data.baseUrl.replace(/\/+$/, "");
  }
  if (r.data.appTokenSecret !== undefined) {
    if (type !== "slack") issues.push({ path: "settings.appTokenSecret", message: "only Slack connectors have an app token" });
    else settings.appTokenSecret = r.data.appTokenSecret;
  }
  return { settings, issues };
}

/** The env vars a connector delivers, with the secret behind each. */
export function connectorEnv(
  def: ConnectorTypeDef,
  secretName: string | null,
  settings: ConnectorSettings,
): Record<string, { secret: string }> {
  const out: Record<string, { secret: string }> = {};
  if (def.credential && secretName) out[def.credential.env] = { secret: secretName };
  if (def.second && settings[def.second.setting]) out[def.second.env] = { secret: settings[def.second.setting]! };
  return out;
}

export function isConnectorType(s: string): s is ConnectorType {
  return (CONNECTOR_TYPES as readonly string[]).includes(s);
}
