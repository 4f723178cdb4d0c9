/**
 * The pure half of the systemd provider: unit names, the unit file and the systemctl/journalctl argv.
 * No I/O here, so every rule (and the injection table) is unit-tested without a host.
 *
 * The unit is shaped like the one `openclaw gateway install` writes (Restart=always, RestartSec=5,
 * RestartPreventExitStatus=78 so an invalid config is not restarted in a loop, TimeoutStopSec=330 because a
 * gateway can linger up to 325 s, KillMode=mixed), with the secrets in a 0600 EnvironmentFile, never in the unit.
 * Every value written into it has been checked by providers/checks.ts (safe absolute paths, plain names, numeric port), so
 * no systemd quoting, specifier (%) or variable ($) rule can apply to it; `renderUnit` re-checks.
 */
import { assertBotName, assertId, assertPort, assertSafePath, assertUserName } from "../checks.ts";

export type UnitScope = "user" | "system";

export interface UnitInput {
  scope: UnitScope;
  bot: { id: string; name: string; workspaceId: string; port: number };
  botDir: string;
  envFile: string;
  nodeBin: string;
  entry: string;
  /** system units: the account the gateway runs as */
  runAs?: string;
  /** default 330 s, like OpenClaw's own unit */
  timeoutStopSec?: number;
  /** Molthub's stand-in dir (npm that fails cleanly), searched LAST on the gateway's PATH — see providers/ssh/npm-fallback.ts */
  fallbackBinDir?: string;
}

export const SERVICE_USER = "molthub";

export function unitName(bot: string): string {
  assertBotName(bot);
  return `molthub-${bot}.service`;
}

/** Where the unit file goes: the login user's systemd user dir, or /etc/systemd/system as root. */
export function unitPath(scope: UnitScope, home: string, bot: string): string {
  return scope === "system" ? `/etc/systemd/system/${unitName(bot)}` : `${unitDir(scope, home)}/${unitName(bot)}`;
}

export function unitDir(scope: UnitScope, home: string): string {
  if (scope === "system") return "/etc/systemd/system";
  assertSafePath(home, "home directory");
  return `${home}/.config/systemd/user`;
}

/** The marker that says a unit file is Molthub's for this bot (checked before overwriting or removing it). */
export function ownerMarker(botId: string): string {
  assertId("bot id", botId);
  return `X-Molthub-Bot-Id=${botId}`;
}

/**
 * PATH for the gateway: the directory of its Node first, then the usual system dirs, then (when given) Molthub's
 * fallback dir, so a real `npm` of the host always wins over the stand-in.
 */
function gatewayPath(nodeBin: string, fallbackBinDir?: string): string {
  assertSafePath(nodeBin, "node binary");
  if (fallbackBinDir !== undefined) assertSafePath(fallbackBinDir, "fallback bin dir");
  const dirs = [
    nodeBin.slice(0, nodeBin.lastIndexOf("/")),
    "/usr/local/bin",
    "/usr/bin",
    "/bin",
    "/usr/local/sbin",
    "/usr/sbin",
    "/sbin",
  ];
  if (fallbackBinDir) dirs.push(fallbackBinDir);
  return dirs.join(":");
}

export function renderUnit(u: UnitInput): string {
  assertBotName(u.bot.name);
  assertId("bot id", u.bot.id);
  assertId("workspace id", u.bot.workspaceId);
  assertPort(u.bot.port);
  for (const [what, p] of [
    ["bot dir", u.botDir],
    ["env file", u.envFile],
    ["node binary", u.nodeBin],
    ["OpenClaw entry", u.entry],
  ] as const)
    assertSafePath(p, what);
  const stop = u.timeoutStopSec ?? 330;
  if (!Number.isInteger(stop) || stop <= 0) throw new Error(`invalid TimeoutStopSec ${stop}`);
  const lines = [
    `# Managed by Molthub: bot ${u.bot.name}. Changes are overwritten; change the bot's manifest instead.`,
    "[Unit]",
    `Description=Molthub bot ${u.bot.name} (OpenClaw gateway)`,
    "After=network-online.target",
    "Wants=network-online.target",
    ownerMarker(u.bot.id),
    `X-Molthub-Workspace=${u.bot.workspaceId}`,
    "",
    "[Service]",
    "Type=simple",
  ];
  if (u.scope === "system") {
    const user = u.runAs ?? SERVICE_USER;
    assertUserName(user, "service user");
    lines.push(`User=${user}`, `Group=${user}`, "NoNewPrivileges=yes");
  }
  lines.push(
    `WorkingDirectory=${u.botDir}`,
    `EnvironmentFile=${u.envFile}`,
    `Environment=HOME=${u.botDir}/home`,
    `Environment=TMPDIR=${u.botDir}/tmp`,
    // the version's own Node first: OpenClaw spawns `node` for some of its own steps (state migrations);
    // Molthub's npm stand-in last (OpenClaw's startup plugin repair must find *an* npm: see providers/ssh/npm-fallback.ts)
    `Environment=PATH=${gatewayPath(u.nodeBin, u.fallbackBinDir)}`,
    `ExecStart=${u.nodeBin} ${u.entry} gateway run --port ${u.bot.port}`,
    "Restart=always",
    "RestartSec=5",
    "RestartPreventExitStatus=78",
    `TimeoutStopSec=${stop}`,
    "KillMode=mixed",
    "UMask=0077",
    `SyslogIdentifier=molthub-${u.bot.name}`,
    "",
    "[Install]",
    `WantedBy=${u.scope === "system" ? "multi-user.target" : "default.target"}`,
    "",
  );
  return lines.join("\n");
}

/** `systemctl` with `--user` for user units. */
export function systemctl(scope: UnitScope, ...args: string[]): string[] {
  return scope === "user" ? ["systemctl", "--user", ...args] : ["systemctl", ...args];
}

const SHOW_PROPS = "LoadState,ActiveState,SubState,MainPID,ExecMainCode,ExecMainStatus,UnitFileState,NRestarts";

export function showArgv(scope: UnitScope, bot: string): string[] {
  return systemctl(scope, "show", "-p", SHOW_PROPS, "--", unitName(bot));
}

/** journalctl for the bot's unit: `-u` (system) or `--user-unit` (user), message text only. */
export function journalArgv(scope: UnitScope, bot: string, opts: { follow: boolean; tail: number }): string[] {
  const unit = unitName(bot);
  const argv = [
    "journalctl",
    scope === "user" ? `--user-unit=${unit}` : `--unit=${unit}`,
    "-o",
    "cat",
    "--no-pager",
    "-n",
    String(Math.max(0, Math.floor(opts.tail))),
  ];
  if (opts.follow) argv.push("-f");
  return argv;
}

export interface UnitState {
  loaded: boolean;
  active: string;
  sub: string;
  pid: number;
  /** exit status of the main process when it exited normally (ExecMainCode=1) */
  exitStatus?: number;
  enabled: string;
  restarts: number;
}

/** Parses `systemctl show -p …` (KEY=value lines). */
export function parseShow(text: string): UnitState {
  const kv: Record<string, string> = {};
  for (const line of text.split("\n")) {
    const eq = line.indexOf("=");
    if (eq > 0) kv[line.slice(0, eq).trim()] = line.slice(eq + 1).trim();
  }
  const code = Number(kv.ExecMainCode ?? "0");
  const status = Number(kv.ExecMainStatus ?? "0");
  return {
    loaded: kv.LoadState === "loaded",
    active: kv.ActiveState ?? "unknown",
    sub: kv.SubState ?? "unknown",
    pid: Number(kv.MainPID ?? "0") || 0,
    exitStatus: code === 1 && Number.isFinite(status) ? status : undefined,
    enabled: kv.UnitFileState ?? "",
    restarts: Number(kv.NRestarts ?? "0") || 0,
  };
}
