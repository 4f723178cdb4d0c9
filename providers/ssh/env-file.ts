/**
 * The bot's 0600 env file as each remote service manager reads it. The values are secrets: they travel only in this
 * file, written over SFTP — never in argv, unit files, plists or messages. Both renderers refuse what an env file
 * cannot carry (assertEnv) and take every value literally.
 */
import { assertEnv } from "../checks.ts";

const HEADER = "# Managed by Molthub: the bot's environment (0600). Changes are overwritten.\n";

/**
 * systemd's EnvironmentFile= syntax: every value double-quoted, with `\`, `"`, `` ` `` and `$` escaped by a
 * backslash (systemd's parser turns exactly these escapes back into the character), so a value is taken
 * literally — no variable expansion, no line continuation, no comment, no whitespace trimming.
 */
export function renderSystemdEnvFile(env: Record<string, string>): string {
  assertEnv(env);
  const lines = Object.keys(env)
    .sort()
    .map((k) => `${k}="${env[k]!.replace(/[\\"`$]/g, (c) => `\\${c}`)}"`);
  return `${HEADER}${lines.join("\n")}\n`;
}

/**
 * POSIX sh syntax for `set -a; . <file>` (the launchd wrapper): every value single-quoted (the shell interprets
 * nothing inside), an embedded `'` written as `'\''`.
 */
export function renderShellEnvFile(env: Record<string, string>): string {
  assertEnv(env);
  const lines = Object.keys(env)
    .sort()
    .map((k) => `${k}='${env[k]!.replace(/'/g, `'\\''`)}'`);
  return `${HEADER}${lines.join("\n")}\n`;
}
