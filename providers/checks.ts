/**
 * Strict checks on every value a provider writes into a command, a file name, a unit file or a plist: names, ids,
 * ports, OpenClaw versions, absolute paths, env entries. A value that fails is refused with a ProviderError
 * (`invalid_config`) that says what to change, before anything reaches the target.
 *
 * Paths are limited to a conservative character set (letters, digits, `._+@-/`), so they can be written into unit
 * files, plists and bind specs without quoting rules of their own.
 */
import { VERSION_RE } from "../src/domain/names.ts";
import { ProviderError } from "./provider.ts";

const BOT_NAME_RE = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/;
const ID_RE = /^[A-Za-z0-9][A-Za-z0-9_-]{0,127}$/;
/** Absolute paths Molthub writes into commands, unit files and plists. */
const SAFE_PATH_RE = /^\/[A-Za-z0-9._+@/-]*$/;
const ENV_NAME_RE = /^[A-Za-z_][A-Za-z0-9_]*$/;
const USER_RE = /^[a-z_][a-z0-9_-]{0,31}$/;

export function invalid(message: string, path?: string): ProviderError {
  return new ProviderError(message, "invalid_config", path ? [{ path, message }] : undefined);
}

export function assertBotName(name: string): void {
  if (typeof name !== "string" || !BOT_NAME_RE.test(name)) {
    throw invalid(
      `the bot name ${JSON.stringify(name)} cannot be used for a service: lowercase letters, digits and dashes only`,
      "metadata.name",
    );
  }
}

export function assertId(what: string, value: string): void {
  if (typeof value !== "string" || !ID_RE.test(value))
    throw invalid(`the ${what} ${JSON.stringify(value)} is not a plain id (letters, digits, _ and -)`);
}

/** An OpenClaw version like 2026.9.6: it names install dirs and npm packages, so nothing else may pass. */
export function assertVersion(version: string): void {
  if (typeof version !== "string" || !VERSION_RE.test(version)) {
    throw invalid(
      `the OpenClaw version ${JSON.stringify(version)} is not a version like 2026.9.6; fix spec.target.version`,
      "spec.target.version",
    );
  }
}

export function assertPort(port: number): void {
  if (!Number.isInteger(port) || port <= 0 || port > 65535) throw invalid(`invalid gateway port ${String(port)}`);
}

/** An absolute, normalised path of safe characters; `what` names it in the error. */
export function assertSafePath(path: string, what: string): void {
  const ok =
    typeof path === "string" &&
    SAFE_PATH_RE.test(path) &&
    !path.includes("//") &&
    (path === "/" || !path.endsWith("/")) &&
    !path.split("/").some((seg) => seg === "." || seg === "..") &&
    !path.split("/").some((seg) => seg.startsWith("-"));
  if (!ok) {
    throw invalid(
      `the ${what} ${JSON.stringify(path)} cannot be used on the host: Molthub only writes absolute paths made of letters, digits and . _ + @ - / ` +
        `into commands and service files (no spaces, quotes, $ or %); move it or use an account whose home directory is such a path`,
    );
  }
}

export function assertUserName(user: string, what = "user name"): void {
  if (typeof user !== "string" || !USER_RE.test(user))
    throw invalid(`the ${what} ${JSON.stringify(user)} is not a plain POSIX user name`);
}

/** Env names must be shell/systemd names; values must fit on one line (no CR, LF or NUL). */
export function assertEnv(env: Record<string, string>): void {
  for (const [k, v] of Object.entries(env)) {
    if (!ENV_NAME_RE.test(k))
      throw invalid(
        `${JSON.stringify(k)} is not a valid environment variable name (letters, digits and _, not starting with a digit)`,
        `spec.secrets.${k}`,
      );
    if (typeof v !== "string" || /[\r\n\0]/.test(v))
      throw invalid(
        `the value of ${k} contains a line break or NUL byte, which an env file cannot carry; store it without them`,
        `spec.secrets.${k}`,
      );
  }
}
