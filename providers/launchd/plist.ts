/**
 * The pure half of the launchd provider: labels, the LaunchAgent plist and the launchctl argv.
 * No macOS is available to this project's CI: these functions are what the unit tests pin down exactly.
 *
 * Secrets are NOT put into the plist (`EnvironmentVariables` would make them readable in a 0644 file and in
 * `launchctl print`). The program is a constant `/bin/sh -c` script that sources the bot's 0600 env file with
 * `set -a` (every assignment exported) and then `exec`s the gateway; the env file path and the gateway argv are
 * separate ProgramArguments (`$0`, `"$@"`), so no path or value is ever parsed as shell code. The env file itself
 * single-quotes every value (renderShellEnvFile in providers/ssh/env-file.ts).
 */
import { assertBotName, assertId, assertPort, assertSafePath } from "../checks.ts";

/** `set -a` exports what `.` reads; `exec` makes the gateway the job's own process (launchd signals it). */
export const WRAPPER_SCRIPT = 'set -a && . "$0" && set +a && exec "$@"';

export function launchdLabel(bot: string): string {
  assertBotName(bot);
  return `dev.molthub.${bot}`;
}

export function plistPath(home: string, bot: string): string {
  assertSafePath(home, "home directory");
  return `${home}/Library/LaunchAgents/${launchdLabel(bot)}.plist`;
}

/** Characters XML 1.0 cannot carry at all (even escaped). */
const XML_FORBIDDEN = /[\u0000-\u0008\u000B\u000C\u000E-\u001F\uFFFE\uFFFF]/;

/** Escape text for an XML element (a CR as &#13;, which parsers would otherwise turn into LF); refuses characters XML cannot represent. */
export function xmlEscape(s: string): string {
  if (XML_FORBIDDEN.test(s))
    throw new Error(`a value for the plist contains a control character XML cannot carry: ${JSON.stringify(s)}`);
  return s
    .replace(/&/g, "&amp;")
    .replace(/</g, "&lt;")
    .replace(/>/g, "&gt;")
    .replace(/"/g, "&quot;")
    .replace(/'/g, "&apos;")
    .replace(/\r/g, "&#13;");
}

export interface PlistInput {
  bot: { id: string; name: string; port: number };
  botDir: string;
  envFile: string;
  nodeBin: string;
  entry: string;
  /** seconds launchd waits after SIGTERM before SIGKILL (default 30) */
  exitTimeOut?: number;
  /** Molthub's stand-ins (a failing npm), searched last: see providers/ssh/npm-fallback.ts */
  fallbackBinDir?: string;
}

export function programArguments(p: PlistInput): string[] {
  assertPort(p.bot.port);
  for (const [what, v] of [
    ["env file", p.envFile],
    ["node binary", p.nodeBin],
    ["OpenClaw entry", p.entry],
  ] as const)
    assertSafePath(v, what);
  if (p.fallbackBinDir !== undefined) assertSafePath(p.fallbackBinDir, "fallback bin dir");
  return ["/bin/sh", "-c", WRAPPER_SCRIPT, p.envFile, p.nodeBin, p.entry, "gateway", "run", "--port", String(p.bot.port)];
}

type PlistValue = string | number | boolean | string[] | Record<string, string>;

function renderValue(v: PlistValue, indent: string): string {
  if (typeof v === "boolean") return `${indent}<${v ? "true" : "false"}/>`;
  if (typeof v === "number") {
    if (!Number.isInteger(v)) throw new Error(`plist integer expected, got ${v}`);
    return `${indent}<integer>${v}</integer>`;
  }
  if (typeof v === "string") return `${indent}<string>${xmlEscape(v)}</string>`;
  if (Array.isArray(v))
    return [`${indent}<array>`, ...v.map((s) => `${indent}\t<string>${xmlEscape(s)}</string>`), `${indent}</array>`].join("\n");
  return [
    `${indent}<dict>`,
    ...Object.keys(v)
      .sort()
      .flatMap((k) => [`${indent}\t<key>${xmlEscape(k)}</key>`, `${indent}\t<string>${xmlEscape(v[k]!)}</string>`]),
    `${indent}</dict>`,
  ].join("\n");
}

function plistEntries(p: PlistInput): [string, PlistValue][] {
  assertBotName(p.bot.name);
  assertId("bot id", p.bot.id);
  assertSafePath(p.botDir, "bot dir");
  const exitTimeOut = p.exitTimeOut ?? 30;
  return [
    ["Label", launchdLabel(p.bot.name)],
    ["ProgramArguments", programArguments(p)],
    ["WorkingDirectory", p.botDir],
    // not secret: where the gateway keeps its own files; the env file adds the rest
    [
      "EnvironmentVariables",
      {
        HOME: `${p.botDir}/home`,
        TMPDIR: `${p.botDir}/tmp`,
        PATH: `${p.nodeBin.slice(0, p.nodeBin.lastIndexOf("/"))}:/opt/homebrew/bin:/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin${p.fallbackBinDir ? `:${p.fallbackBinDir}` : ""}`,
        MOLTHUB_BOT_ID: p.bot.id,
      },
    ],
    ["RunAtLoad", true],
    ["KeepAlive", true],
    ["ThrottleInterval", 5],
    ["ExitTimeOut", exitTimeOut],
    ["ProcessType", "Background"],
    ["Umask", 0o077],
    ["StandardOutPath", `${p.botDir}/logs/stdout.log`],
    ["StandardErrorPath", `${p.botDir}/logs/stdout.log`],
  ];
}

export function renderPlist(p: PlistInput): string {
  const body = plistEntries(p)
    .map(([k, v]) => `\t<key>${xmlEscape(k)}</key>\n${renderValue(v, "\t")}`)
    .join("\n");
  return [
    '<?xml version="1.0" encoding="UTF-8"?>',
    '<!DOCTYPE plist PUBLIC "-//Apple//DTD PLIST 1.0//EN" "http://www.apple.com/DTDs/PropertyList-1.0.dtd">',
    '<plist version="1.0">',
    "<dict>",
    body,
    "</dict>",
    "</plist>",
    "",
  ].join("\n");
}

// ------------------------------------------------------------------------------------------------ launchctl

export function guiDomain(uid: number): string {
  if (!Number.isInteger(uid) || uid < 0) throw new Error(`invalid uid ${uid}`);
  return `gui/${uid}`;
}

export function userDomain(uid: number): string {
  if (!Number.isInteger(uid) || uid < 0) throw new Error(`invalid uid ${uid}`);
  return `user/${uid}`;
}

function serviceTarget(domain: string, bot: string): string {
  return `${domain}/${launchdLabel(bot)}`;
}

/** The command sequences, as argv lists (the provider runs them in this order). */
export const launchctl = {
  /** exit 0 when the domain exists (a GUI login session for gui/<uid>) */
  printDomain: (domain: string) => ["launchctl", "print", domain],
  print: (domain: string, bot: string) => ["launchctl", "print", serviceTarget(domain, bot)],
  enable: (domain: string, bot: string) => ["launchctl", "enable", serviceTarget(domain, bot)],
  bootstrap: (domain: string, plist: string) => ["launchctl", "bootstrap", domain, plist],
  kickstart: (domain: string, bot: string) => ["launchctl", "kickstart", serviceTarget(domain, bot)],
  bootout: (domain: string, bot: string) => ["launchctl", "bootout", serviceTarget(domain, bot)],
  lint: (plist: string) => ["plutil", "-lint", "--", plist],
};

export interface LaunchdState {
  loaded: boolean;
  running: boolean;
  pid?: number;
  lastExit?: number;
  state?: string;
}

/** Parses `launchctl print <domain>/<label>` (exit status 113 / "Could not find service" when not loaded). */
export function parseLaunchctlPrint(code: number | null, text: string): LaunchdState {
  if (code !== 0 || /Could not find service/i.test(text)) return { loaded: false, running: false };
  const state = /^\s*state = (.+)$/m.exec(text)?.[1]?.trim();
  const pid = Number(/^\s*pid = (\d+)$/m.exec(text)?.[1] ?? NaN);
  const lastExit = Number(/^\s*last exit code = (-?\d+)/m.exec(text)?.[1] ?? NaN);
  const running = state === "running" && Number.isFinite(pid);
  return {
    loaded: true,
    running,
    pid: Number.isFinite(pid) ? pid : undefined,
    lastExit: Number.isFinite(lastExit) ? lastExit : undefined,
    state,
  };
}
