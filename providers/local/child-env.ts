/**
 * What an OpenClaw child process gets to see: its environment and its argv.
 *
 * The environment is built from an allowlist, never inherited: the appliance's own env carries its secrets,
 * and OpenClaw changes behaviour when it sees test variables (VITEST*, TEST, NODE_ENV). Secrets reach the
 * gateway only through the bot's 0600 env file, which is read back (providers/env-file.ts) and merged in at spawn time; argv holds
 * paths, the subcommand and the port — never a value from the env file.
 */

/** Inherited from the appliance when set; everything else is dropped. */
const CHILD_ENV_ALLOWLIST = ["PATH", "LANG", "LC_ALL", "LC_CTYPE", "TZ", "USER", "LOGNAME"] as const;

/** npm additionally needs its cache/config location and the proxy settings of the host. */
const NPM_ENV_ALLOWLIST = ["HOME", "HTTP_PROXY", "HTTPS_PROXY", "NO_PROXY", "http_proxy", "https_proxy", "no_proxy"] as const;

/** Never passed to a gateway, whatever their source (OpenClaw silences its own output under VITEST). */
function isForbidden(key: string): boolean {
  return key === "TEST" || key === "NODE_ENV" || key.startsWith("VITEST");
}

/** The allowlisted part of `base`, overlaid with `extra` (the bot's env file and provider-set paths). */
export function childEnv(extra: Record<string, string>, base: NodeJS.ProcessEnv = process.env): Record<string, string> {
  const env: Record<string, string> = {};
  for (const key of CHILD_ENV_ALLOWLIST) {
    const v = base[key];
    if (v !== undefined) env[key] = v;
  }
  if (!env.PATH) env.PATH = "/usr/local/bin:/usr/bin:/bin";
  for (const [k, v] of Object.entries(extra)) if (!isForbidden(k)) env[k] = v;
  return env;
}

/** The env for `npm install`: the child allowlist plus HOME, proxies and `npm_config_*` settings. */
export function npmEnv(base: NodeJS.ProcessEnv = process.env): Record<string, string> {
  const env = childEnv({}, base);
  for (const key of NPM_ENV_ALLOWLIST) {
    const v = base[key];
    if (v !== undefined) env[key] = v;
  }
  for (const [k, v] of Object.entries(base)) {
    if (v !== undefined && /^npm_config_/i.test(k)) env[k] = v;
  }
  return env;
}

/**
 * Wraps an argv so the command runs in a private mount namespace with `resolvConf` bind-mounted over
 * /etc/resolv.conf (a DNS sinkhole for offline hosts and tests; needs root and util-linux `unshare`).
 * Every value travels as a positional parameter of a constant script, so nothing is parsed by a shell.
 * `unshare` and `sh` both exec, so the returned PID is the command's own.
 */
export function withResolvConf(argv: string[], resolvConf: string | undefined): string[] {
  if (!resolvConf) return argv;
  return ["unshare", "--mount", "sh", "-c", 'mount --bind "$0" /etc/resolv.conf && exec "$@"', resolvConf, ...argv];
}

/** argv of a gateway: `node <openclawDir>/openclaw.mjs gateway run --port <port>`, optionally DNS-sinkholed. */
export function gatewayArgv(opts: { nodeBin: string; openclawDir: string; port: number; resolvConf?: string }): string[] {
  if (!Number.isInteger(opts.port) || opts.port <= 0 || opts.port > 65535) throw new Error(`invalid gateway port ${opts.port}`);
  return withResolvConf(
    [opts.nodeBin, `${opts.openclawDir}/openclaw.mjs`, "gateway", "run", "--port", String(opts.port)],
    opts.resolvConf,
  );
}
