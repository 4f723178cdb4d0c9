import { createHash, randomBytes } from "node:crypto";
import { ServiceError } from "./errors.ts";

/**
 * The appliance's own credentials: passwords (argon2id), and random bearer secrets (session cookies, setup and
 * API tokens) that are stored only as their SHA-256. Shared by sign-in, tokens and workspace membership.
 */

export const MIN_PASSWORD = 10;

export function sha256(s: string): string {
  return createHash("sha256").update(s).digest("hex");
}

/** A random bearer secret with a prefix that says what it is (`mhu_` setup, `mht_` API token, …). */
export function secretToken(prefix: string): string {
  return `${prefix}_${randomBytes(24).toString("base64url")}`;
}

export function hashPassword(pw: string): Promise<string> {
  return Bun.password.hash(pw, { algorithm: "argon2id" });
}

export function checkPasswordStrength(pw: string): void {
  if (pw.length < MIN_PASSWORD) {
    throw new ServiceError("invalid_request", `the password must have at least ${MIN_PASSWORD} characters`, [
      { path: "password", message: `at least ${MIN_PASSWORD} characters` },
    ]);
  }
}
