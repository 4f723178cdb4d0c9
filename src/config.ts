import { existsSync, readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { parse as parseYaml } from "yaml";
import * as z from "zod";

/**
 * Settings, resolved as flags > env (MOLTHUB_*) > config file > defaults and validated once.
 * A bad value stops the start with a message naming the setting, where it came from and what is allowed.
 */
const settingsSchema = z.strictObject({
  dataDir: z.string().min(1),
  host: z.string().min(1),
  port: z.coerce.number().int().min(0).max(65535),
  publicUrl: z.url().optional(),
  tlsCert: z.string().optional(),
  tlsKey: z.string().optional(),
  trustProxy: z.boolean(),
  logLevel: z.enum(["debug", "info", "warn", "error"]),
  sessionTtlHours: z.coerce
    .number()
    .int()
    .min(1)
    .max(24 * 90),
  maxBodyBytes: z.coerce
    .number()
    .int()
    .min(1024)
    .max(64 * 1024 * 1024),
  /** an existing OpenClaw install for the local provider: the package dir holding openclaw.mjs */
  openclawDir: z.string().optional(),
  /** the Node binary (>= 24.16) that runs OpenClaw for the local provider */
  openclawNode: z.string().optional(),
  /** a command (run without a shell) whose stdout is the base64 master key, e.g. "pass show molthub/master-key" */
  masterKeyCommand: z.string().min(1).optional(),
  /** a resolv.conf bind-mounted for bots (e.g. a DNS sinkhole on offline hosts and in tests) */
  botResolvConf: z.string().optional(),
  /** Docker bots run a plain Node image with `openclawDir`'s install mounted read-only (offline setups, tests) */
  dockerMountOpenclaw: z.boolean(),
  healthIntervalSeconds: z.coerce.number().int().min(5).max(3600),
  driftIntervalSeconds: z.coerce.number().int().min(10).max(86400),
  reconciler: z.boolean(),
  /** reconcile jobs that run at once (default: sized for the machine, src/reconciler/slots.ts) */
  reconcileConcurrency: z.coerce.number().int().min(1).max(256).optional(),
  /** reconcile jobs that run at once on one target (an SSH host, a Docker engine, this machine) */
  targetConcurrency: z.coerce.number().int().min(1).max(64).optional(),
});
export type Settings = z.infer<typeof settingsSchema>;

export const defaults: Omit<Settings, "dataDir"> & { dataDir: string } = {
  dataDir: "./data",
  host: "127.0.0.1",
  port: 8080,
  trustProxy: false,
  logLevel: "info",
  sessionTtlHours: 24 * 7,
  maxBodyBytes: 1024 * 1024,
  healthIntervalSeconds: 30,
  driftIntervalSeconds: 300,
  reconciler: true,
  dockerMountOpenclaw: false,
};

const ENV: Record<keyof Settings, string> = {
  dataDir: "MOLTHUB_DATA_DIR",
  host: "MOLTHUB_HOST",
  port: "MOLTHUB_PORT",
  publicUrl: "MOLTHUB_PUBLIC_URL",
  tlsCert: "MOLTHUB_TLS_CERT",
  tlsKey: "MOLTHUB_TLS_KEY",
  trustProxy: "MOLTHUB_TRUST_PROXY",
  logLevel: "MOLTHUB_LOG_LEVEL",
  sessionTtlHours: "MOLTHUB_SESSION_TTL_HOURS",
  maxBodyBytes: "MOLTHUB_MAX_BODY_BYTES",
  openclawDir: "MOLTHUB_OPENCLAW_DIR",
  openclawNode: "MOLTHUB_OPENCLAW_NODE",
  masterKeyCommand: "MOLTHUB_MASTER_KEY_COMMAND",
  botResolvConf: "MOLTHUB_BOT_RESOLV_CONF",
  dockerMountOpenclaw: "MOLTHUB_DOCKER_MOUNT_OPENCLAW",
  healthIntervalSeconds: "MOLTHUB_HEALTH_INTERVAL_SECONDS",
  driftIntervalSeconds: "MOLTHUB_DRIFT_INTERVAL_SECONDS",
  reconciler: "MOLTHUB_RECONCILER",
  reconcileConcurrency: "MOLTHUB_RECONCILE_CONCURRENCY",
  targetConcurrency: "MOLTHUB_TARGET_CONCURRENCY",
};

export class SettingsError extends Error {
  override name = "SettingsError";
}

function parseBool(v: string, where: string): boolean {
  if (/^(1|true|yes|on)$/i.test(v)) return true;
  if (/^(0|false|no|off)$/i.test(v)) return false;
  throw new SettingsError(`${where}: "${v}" is not a boolean; use true or false`);
}

/**
 * @param flags values from the command line (already camelCased), highest precedence
 * @param env   the process environment
 */
export function resolveSettings(
  flags: Partial<Record<keyof Settings | "config", unknown>> = {},
  env: Record<string, string | undefined> = process.env,
): Settings {
  const sources: Record<string, string> = {};
  const merged: Record<string, unknown> = { ...defaults };
  for (const k of Object.keys(defaults)) sources[k] = "default";

  // Config file: --config, MOLTHUB_CONFIG, or <dataDir>/molthub.yaml when present.
  const dataDirHint = (flags.dataDir as string) ?? env.MOLTHUB_DATA_DIR ?? defaults.dataDir;
  const configPath =
    (flags.config as string) ??
    env.MOLTHUB_CONFIG ??
    (existsSync(join(dataDirHint, "molthub.yaml")) ? join(dataDirHint, "molthub.yaml") : undefined);
  if (configPath) {
    if (!existsSync(configPath))
      throw new SettingsError(`config file ${configPath} does not exist; create it or drop --config/MOLTHUB_CONFIG`);
    let parsed: unknown;
    try {
      parsed = parseYaml(readFileSync(configPath, "utf8"));
    } catch (e) {
      throw new SettingsError(`config file ${configPath} is not valid YAML/JSON: ${(e as Error).message}`);
    }
    if (parsed !== null && parsed !== undefined) {
      if (typeof parsed !== "object" || Array.isArray(parsed))
        throw new SettingsError(`config file ${configPath} must hold a mapping of settings`);
      for (const [k, v] of Object.entries(parsed as Record<string, unknown>)) {
        merged[k] = v;
        sources[k] = `config file ${configPath}`;
      }
    }
  }

  for (const [key, name] of Object.entries(ENV) as [keyof Settings, string][]) {
    const v = env[name];
    if (v === undefined || v === "") continue;
    merged[key] = key === "trustProxy" || key === "reconciler" || key === "dockerMountOpenclaw" ? parseBool(v, name) : v;
    sources[key] = `env ${name}`;
  }
  for (const [k, v] of Object.entries(flags)) {
    if (v === undefined || k === "config") continue;
    merged[k] = v;
    sources[k] = `flag --${k.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`;
  }

  const r = settingsSchema.safeParse(merged);
  if (!r.success) {
    const lines = r.error.issues.map((i) => {
      const key = i.code === "unrecognized_keys" ? (i as { keys: string[] }).keys[0]! : String(i.path[0] ?? "");
      const where = sources[key] ?? "settings";
      return `  ${i.code === "unrecognized_keys" ? (i as { keys: string[] }).keys.join(", ") : key} (${where}): ${i.message}`;
    });
    throw new SettingsError(
      `invalid settings:\n${lines.join("\n")}\nSee docs/operations.md#settings for every setting and its allowed values.`,
    );
  }
  const s = r.data;
  if (!!s.tlsCert !== !!s.tlsKey)
    throw new SettingsError("TLS needs both --tls-cert and --tls-key (MOLTHUB_TLS_CERT/MOLTHUB_TLS_KEY)");
  for (const f of [s.tlsCert, s.tlsKey]) if (f && !existsSync(f)) throw new SettingsError(`TLS file ${f} does not exist`);
  return { ...s, dataDir: resolve(s.dataDir) };
}
