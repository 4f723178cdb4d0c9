import { createCipheriv, createDecipheriv, hkdfSync, randomBytes, createHmac } from "node:crypto";
import { existsSync, readFileSync, statSync, writeFileSync, chmodSync } from "node:fs";
import { join } from "node:path";

/**
 * The appliance key: 32 random bytes from `MOLTHUB_MASTER_KEY` (base64) or `<data>/master.key`
 * (mode 0600, created on first run). Purpose keys are derived from it with HKDF, so one key file
 * protects sessions' second factors, the audit checkpoints and (later) the secrets vault.
 * A wrong or unreadable key fails closed: nothing encrypted can be read and the caller gets an error
 * that says which key is in use and what to do.
 */
export class Keyring {
  constructor(private readonly master: Buffer, readonly source: string) {
    if (master.length !== 32) throw new Error(`the master key from ${source} must be 32 bytes (base64 of 32 random bytes)`);
  }

  derive(purpose: string): Buffer {
    return Buffer.from(hkdfSync("sha256", this.master, Buffer.alloc(0), `molthub:${purpose}`, 32));
  }

  /** AES-256-GCM; output `v1.<iv>.<tag>.<ciphertext>` in base64url. `aad` binds the value to its owner. */
  seal(purpose: string, plaintext: string | Buffer, aad = ""): string {
    const iv = randomBytes(12);
    const c = createCipheriv("aes-256-gcm", this.derive(purpose), iv);
    c.setAAD(Buffer.from(aad));
    const ct = Buffer.concat([c.update(plaintext), c.final()]);
    return ["v1", iv.toString("base64url"), c.getAuthTag().toString("base64url"), ct.toString("base64url")].join(".");
  }

  open(purpose: string, sealed: string, aad = ""): Buffer {
    const [v, iv, tag, ct] = sealed.split(".");
    if (v !== "v1" || !iv || !tag || ct === undefined) throw new KeyError("encrypted value is malformed");
    try {
      const d = createDecipheriv("aes-256-gcm", this.derive(purpose), Buffer.from(iv, "base64url"));
      d.setAAD(Buffer.from(aad));
      d.setAuthTag(Buffer.from(tag, "base64url"));
      return Buffer.concat([d.update(Buffer.from(ct, "base64url")), d.final()]);
    } catch {
      throw new KeyError(
        `cannot decrypt a stored value with the master key from ${this.source}: the key is wrong or the value was tampered with. ` +
          "Start with the key this data dir was created with (MOLTHUB_MASTER_KEY or <data>/master.key).",
      );
    }
  }

  hmac(purpose: string, data: string): string {
    return createHmac("sha256", this.derive(purpose)).update(data).digest("hex");
  }
}

export class KeyError extends Error {
  override name = "KeyError";
}

/** Loads the master key, creating `<dataDir>/master.key` (0600) when neither it nor the env var exists. */
export function loadKeyring(dataDir: string, env: Record<string, string | undefined> = process.env, opts: { create?: boolean } = {}): Keyring {
  const fromEnv = env.MOLTHUB_MASTER_KEY;
  if (fromEnv) return new Keyring(Buffer.from(fromEnv, "base64"), "MOLTHUB_MASTER_KEY");
  const file = join(dataDir, "master.key");
  if (!existsSync(file)) {
    if (opts.create === false) throw new KeyError(`no master key: ${file} does not exist and MOLTHUB_MASTER_KEY is not set`);
    writeFileSync(file, randomBytes(32).toString("base64") + "\n", { mode: 0o600, flag: "wx" });
  }
  const mode = statSync(file).mode & 0o777;
  if (mode & 0o077) {
    chmodSync(file, 0o600);
  }
  return new Keyring(Buffer.from(readFileSync(file, "utf8").trim(), "base64"), file);
}
