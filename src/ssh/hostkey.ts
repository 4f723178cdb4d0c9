/**
 * SSH host keys: OpenSSH-style SHA256 fingerprints and the pinning policy.
 *
 * Trust on first use only after the user confirms: a host starts in `probe` mode, where a connection goes only as
 * far as reading the server's host key (the verifier then says no, so no authentication is ever attempted); the
 * UI shows the fingerprint, and once the user confirms it the host is `pinned`. A pinned host whose key differs is
 * refused inside key exchange, before any authentication — the private key is never offered to an impostor.
 */
import { createHash } from "node:crypto";

export type HostKeyPolicy = { mode: "pinned"; fingerprint: string } | { mode: "probe" };

/** `SHA256:<base64 without padding>` of the raw host key blob (what `ssh-keygen -lf` prints). */
export function fingerprintSha256(rawKey: Buffer | Uint8Array): string {
  return `SHA256:${createHash("sha256").update(rawKey).digest("base64").replace(/=+$/, "")}`;
}

/** The key type inside a raw SSH public key blob (`ssh-ed25519`, `ssh-rsa`, …); "unknown" if malformed. */
export function keyTypeOf(rawKey: Buffer): string {
  if (rawKey.length < 4) return "unknown";
  const n = rawKey.readUInt32BE(0);
  if (n <= 0 || n > 64 || 4 + n > rawKey.length) return "unknown";
  return rawKey.subarray(4, 4 + n).toString("latin1");
}

/** Fingerprint of an OpenSSH public key line (`ssh-ed25519 AAAA… comment`). */
export function fingerprintOfPublicKeyLine(line: string): string {
  const b64 = line.trim().split(/\s+/)[1];
  if (!b64 || !/^[A-Za-z0-9+/]+=*$/.test(b64))
    throw new Error("not an OpenSSH public key line (expected: TYPE BASE64 [COMMENT])");
  return fingerprintSha256(Buffer.from(b64, "base64"));
}

/** Canonical form for comparison: `SHA256:` prefix, no padding. Throws on anything that is not a SHA256 fingerprint. */
export function normalizeFingerprint(fp: string): string {
  const s = fp
    .trim()
    .replace(/^SHA256:/i, "")
    .replace(/=+$/, "");
  if (!/^[A-Za-z0-9+/]{43}$/.test(s)) {
    throw new Error(
      `not a SHA256 host key fingerprint: ${JSON.stringify(fp)} (expected SHA256: followed by 43 base64 characters)`,
    );
  }
  return `SHA256:${s}`;
}

export class HostKeyMismatchError extends Error {
  override name = "HostKeyMismatchError";
  readonly code = "host_key_mismatch";
  constructor(
    readonly host: string,
    readonly port: number,
    readonly expected: string,
    readonly actual: string,
  ) {
    super(
      `host key of ${host}:${port} changed: expected ${expected}, server presented ${actual}. ` +
        `Connection refused before authentication. If the host was reinstalled or its key rotated on purpose, ` +
        `verify the new fingerprint on the host (ssh-keygen -lf /etc/ssh/ssh_host_ed25519_key.pub) and re-pin it; ` +
        `otherwise treat this as a possible man-in-the-middle.`,
    );
  }
}

/** A host in probe mode was contacted: here is its key, waiting for the user's confirmation. */
export class HostKeyNotPinnedError extends Error {
  override name = "HostKeyNotPinnedError";
  readonly code = "host_key_not_pinned";
  constructor(
    readonly host: string,
    readonly port: number,
    readonly actual: string,
    readonly keyType: string,
  ) {
    super(
      `host key of ${host}:${port} is not pinned yet: the server presented ${keyType} ${actual}. ` +
        `Confirm this fingerprint (compare with ssh-keygen -lf on the host) to pin it before commands can run.`,
    );
  }
}

/** The result of checking a presented key against a policy. */
export type HostKeyDecision =
  | { accept: true; fingerprint: string }
  | { accept: false; fingerprint: string; keyType: string; reason: "mismatch" | "probe"; expected?: string };

export function decideHostKey(policy: HostKeyPolicy, rawKey: Buffer): HostKeyDecision {
  const fingerprint = fingerprintSha256(rawKey);
  const keyType = keyTypeOf(rawKey);
  if (policy.mode === "probe") return { accept: false, fingerprint, keyType, reason: "probe" };
  const expected = normalizeFingerprint(policy.fingerprint);
  if (expected === fingerprint) return { accept: true, fingerprint };
  return { accept: false, fingerprint, keyType, reason: "mismatch", expected };
}
