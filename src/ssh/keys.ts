/**
 * The appliance's SSH identity: an ed25519 key pair. The private key is in OpenSSH format (what ssh2 and OpenSSH
 * read); the public key is one `authorized_keys` line. Keep the private key in the secret store: never log it.
 */

import { fingerprintOfPublicKeyLine } from "./hostkey.ts";
import { ssh2 } from "./lib.ts";

export interface SshKeyPair {
  /** `-----BEGIN OPENSSH PRIVATE KEY-----…` (unencrypted; store it encrypted at rest). */
  privateKey: string;
  /** `ssh-ed25519 AAAA… comment`, for ~/.ssh/authorized_keys. */
  publicKey: string;
  /** `SHA256:…` of the public key, as `ssh-keygen -lf` shows it. */
  fingerprint: string;
}

/** A fresh ed25519 key pair. `comment` ends the public key line (no whitespace or newlines). */
export function generateEd25519KeyPair(comment = "molthub"): SshKeyPair {
  if (/[\s\0]/.test(comment)) throw new Error("key comment must not contain whitespace");
  // ssh2's generator now and then (≈1 in 150 under Bun) writes a key its own parser rejects as malformed;
  // only hand out keys that read back, so a stored key always works later.
  for (let attempt = 0; attempt < 20; attempt++) {
    const { private: privateKey, public: publicKey } = ssh2().utils.generateKeyPairSync("ed25519", { comment });
    if (ssh2().utils.parseKey(privateKey) instanceof Error) continue;
    const line = publicKey.trim();
    return { privateKey, publicKey: line, fingerprint: fingerprintOfPublicKeyLine(line) };
  }
  throw new Error("could not generate an ed25519 key that parses back; check the ssh2 installation");
}

/** The authorized_keys line for a private key in OpenSSH format (or an Error message if it cannot be parsed). */
export function publicKeyLineOf(privateKey: string | Buffer, comment = "molthub"): string {
  const parsed = ssh2().utils.parseKey(privateKey);
  if (parsed instanceof Error) throw new Error(`cannot parse the private key: ${parsed.message}`);
  const key = Array.isArray(parsed) ? parsed[0] : parsed;
  return `${key.type} ${key.getPublicSSH().toString("base64")} ${comment}`;
}
