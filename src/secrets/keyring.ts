import { spawnSync } from "node:child_process";
import { createCipheriv, createDecipheriv, createHmac, hkdfSync, randomBytes } from "node:crypto";
import { chmodSync, existsSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";

/**
 * The appliance master key: 32 random bytes from one of three sources (see `keySource`):
 * `MOLTHUB_MASTER_KEY` (base64), an external command (`MOLTHUB_MASTER_KEY_COMMAND` or the `masterKeyCommand`
 * setting; its stdout is the base64 key), or `<data>/master.key` (mode 0600, created on first run).
 * Purpose keys are derived from it with HKDF, so one key protects the vault's data keys, second factors,
 * gateway tokens, the device identity, host keys and the audit checkpoints.
 *
 * Sealed values carry the id of the key that sealed them, their purpose and their AAD
 * (`v2.<keyId>.<purpose>.<aad>.<iv>.<tag>.<ct>`, base64url). Opening still requires the caller's purpose and
 * AAD (the binding is enforced by AES-GCM, not by the stored copy); the stored copy lets an offline key
 * rotation re-seal every value without knowing who wrote it, and lets a wrong key be named precisely.
 * `v1.<iv>.<tag>.<ct>` values (before the vault) are still opened; start-up upgrades the known ones.
 * A wrong or unreadable key fails closed with an error that says which key is in use and what to do.
 */
export class Keyring {
  /** short public fingerprint of the master key (HMAC of a constant); stored as `secrets.master_key_id` */
  readonly id: string;

  constructor(
    private readonly master: Buffer,
    readonly source: string,
  ) {
    if (master.length !== 32)
      throw new KeyError(
        `the master key from ${source} must be 32 bytes (base64 of 32 random bytes, e.g. \`openssl rand -base64 32\`); it has ${master.length}`,
      );
    this.id = createHmac("sha256", master).update("molthub:master-key-id").digest("hex").slice(0, 16);
  }

  derive(purpose: string): Buffer {
    return Buffer.from(hkdfSync("sha256", this.master, Buffer.alloc(0), `molthub:${purpose}`, 32));
  }

  /** AES-256-GCM under the purpose key; `aad` binds the value to its owner (a row id, a name). */
  seal(purpose: string, plaintext: string | Buffer, aad = ""): string {
    const iv = randomBytes(12);
    const c = createCipheriv("aes-256-gcm", this.derive(purpose), iv);
    c.setAAD(Buffer.from(aad));
    const ct = Buffer.concat([c.update(plaintext), c.final()]);
    const b = (s: string) => Buffer.from(s).toString("base64url");
    return [
      "v2",
      this.id,
      b(purpose),
      b(aad),
      iv.toString("base64url"),
      c.getAuthTag().toString("base64url"),
      ct.toString("base64url"),
    ].join(".");
  }

  open(purpose: string, sealed: string, aad = ""): Buffer {
    const p = parseSealed(sealed);
    if (!p) throw new KeyError("encrypted value is malformed");
    if (p.version === "v2") {
      if (p.keyId !== this.id) throw wrongKey(this, p.keyId);
      if (p.purpose !== purpose) throw new KeyError(`encrypted value is for "${p.purpose}", not "${purpose}"`);
    }
    return this.decrypt(purpose, aad, p);
  }

  /**
   * Re-seals a value under `to`, keeping its purpose and AAD. For key rotation and verification only:
   * it trusts the stored purpose/AAD (v2). A v1 value needs them given (`legacy`).
   */
  reseal(sealed: string, to: Keyring, legacy?: { purpose: string; aad: string }): string {
    const p = parseSealed(sealed);
    if (!p) throw new KeyError("encrypted value is malformed");
    const purpose = p.version === "v2" ? p.purpose : legacy?.purpose;
    const aad = p.version === "v2" ? p.aad : legacy?.aad;
    if (purpose === undefined || aad === undefined)
      throw new KeyError("a v1 encrypted value can only be re-sealed when its purpose and owner are known");
    if (p.version === "v2" && p.keyId !== this.id) throw wrongKey(this, p.keyId);
    return to.seal(purpose, this.decrypt(purpose, aad, p), aad);
  }

  hmac(purpose: string, data: string): string {
    return createHmac("sha256", this.derive(purpose)).update(data).digest("hex");
  }

  private decrypt(purpose: string, aad: string, p: ParsedSealed): Buffer {
    try {
      const d = createDecipheriv("aes-256-gcm", this.derive(purpose), Buffer.from(p.iv, "base64url"));
      d.setAAD(Buffer.from(aad));
      d.setAuthTag(Buffer.from(p.tag, "base64url"));
      return Buffer.concat([d.update(Buffer.from(p.ct, "base64url")), d.final()]);
    } catch {
      throw new KeyError(
        `cannot decrypt a stored value with the master key from ${this.source}: the key is wrong or the value was tampered with. ` +
          "Start with the key this data dir was created with (MOLTHUB_MASTER_KEY, MOLTHUB_MASTER_KEY_COMMAND or <data>/master.key).",
      );
    }
  }
}

function wrongKey(k: Keyring, stored: string): KeyError {
  return new KeyError(
    `a stored value was sealed with master key ${stored}, but the key from ${k.source} is ${k.id}. ` +
      "Start with the key this data dir was sealed with; after an interrupted `molthub vault rotate-key`, use the new key (see docs/secrets.md).",
  );
}

interface ParsedSealed {
  version: "v1" | "v2";
  keyId: string;
  purpose: string;
  aad: string;
  iv: string;
  tag: string;
  ct: string;
}

function parseSealed(sealed: string): ParsedSealed | null {
  const parts = sealed.split(".");
  if (parts[0] === "v1" && parts.length === 4 && parts[1] && parts[2])
    return { version: "v1", keyId: "", purpose: "", aad: "", iv: parts[1], tag: parts[2], ct: parts[3]! };
  if (parts[0] === "v2" && parts.length === 7 && parts[1] && parts[4] && parts[5]) {
    const s = (x: string) => Buffer.from(x, "base64url").toString();
    return {
      version: "v2",
      keyId: parts[1],
      purpose: s(parts[2]!),
      aad: s(parts[3]!),
      iv: parts[4],
      tag: parts[5],
      ct: parts[6]!,
    };
  }
  return null;
}

/** The id of the key a sealed value names (v2), "" for a v1 value, null when it is not a sealed value. */
export function sealedKeyId(sealed: string): string | null {
  const p = parseSealed(sealed);
  return p ? p.keyId : null;
}

export class KeyError extends Error {
  override name = "KeyError";
}

export interface KeySourceOptions {
  /** the `masterKeyCommand` setting (the env var MOLTHUB_MASTER_KEY_COMMAND wins over it) */
  command?: string;
  /** create `<data>/master.key` when the file source is used and it does not exist (default true) */
  create?: boolean;
  /** deadline for the key command (default 15 s) */
  commandTimeoutMs?: number;
}

export type KeySource =
  | { kind: "env"; label: string }
  | { kind: "command"; label: string; argv: string[] }
  | { kind: "file"; label: string; file: string };

/** Which source the master key comes from. Setting two of env key and command is refused (ambiguous). */
export function keySource(
  dataDir: string,
  env: Record<string, string | undefined> = process.env,
  opts: KeySourceOptions = {},
): KeySource {
  const command = env.MOLTHUB_MASTER_KEY_COMMAND || opts.command;
  if (env.MOLTHUB_MASTER_KEY && command) {
    throw new KeyError(
      "both MOLTHUB_MASTER_KEY and a master key command (MOLTHUB_MASTER_KEY_COMMAND / masterKeyCommand) are set; keep only one of them",
    );
  }
  if (env.MOLTHUB_MASTER_KEY) return { kind: "env", label: "MOLTHUB_MASTER_KEY" };
  if (command) {
    const argv = splitArgv(command);
    if (!argv.length)
      throw new KeyError(
        "the master key command is empty; set MOLTHUB_MASTER_KEY_COMMAND (or masterKeyCommand) to a program that prints the base64 key",
      );
    return { kind: "command", label: `the master key command (${argv[0]})`, argv };
  }
  const file = join(dataDir, "master.key");
  return { kind: "file", label: file, file };
}

/** Decodes a base64 key, refusing anything that is not exactly 32 bytes. */
export function decodeKey(text: string, source: string): Buffer {
  const t = text.trim();
  if (!/^[A-Za-z0-9+/_-]+={0,2}$/.test(t))
    throw new KeyError(
      `the master key from ${source} is not base64; it must be base64 of 32 random bytes (e.g. \`openssl rand -base64 32\`)`,
    );
  const k = Buffer.from(t, "base64");
  if (k.length !== 32)
    throw new KeyError(
      `the master key from ${source} decodes to ${k.length} bytes; it must be base64 of exactly 32 random bytes (e.g. \`openssl rand -base64 32\`)`,
    );
  return k;
}

/** Runs the key command without a shell (argv split, a deadline); its stdout is the base64 key. */
function runKeyCommand(argv: string[], label: string, env: Record<string, string | undefined>, timeoutMs: number): Buffer {
  const r = spawnSync(argv[0]!, argv.slice(1), {
    encoding: "utf8",
    timeout: timeoutMs,
    stdio: ["ignore", "pipe", "pipe"],
    env: env as NodeJS.ProcessEnv,
    maxBuffer: 64 * 1024,
  });
  const err = (r.stderr ?? "").trim().split("\n")[0]?.slice(0, 200) ?? "";
  if (r.error) {
    const code = (r.error as NodeJS.ErrnoException).code;
    if (code === "ETIMEDOUT")
      throw new KeyError(
        `${label} did not finish within ${timeoutMs / 1000} s; fix the command (MOLTHUB_MASTER_KEY_COMMAND / masterKeyCommand) or use another key source`,
      );
    throw new KeyError(
      `${label} could not be run (${code ?? r.error.message}); check the program path in MOLTHUB_MASTER_KEY_COMMAND / masterKeyCommand`,
    );
  }
  if (r.signal)
    throw new KeyError(
      `${label} was killed by ${r.signal}${r.signal === "SIGTERM" ? ` (over its ${timeoutMs / 1000} s deadline)` : ""}; fix the command or use another key source`,
    );
  if (r.status !== 0)
    throw new KeyError(
      `${label} failed with exit code ${r.status}${err ? `: ${err}` : ""}; fix it so it prints the base64 master key, or use another key source`,
    );
  return decodeKey(r.stdout ?? "", label);
}

/** Splits a command line into argv: whitespace separates, single and double quotes group, backslash escapes. */
export function splitArgv(s: string): string[] {
  const out: string[] = [];
  let cur = "";
  let has = false;
  let q: '"' | "'" | null = null;
  for (let i = 0; i < s.length; i++) {
    const ch = s[i]!;
    if (q) {
      if (ch === q) q = null;
      else if (ch === "\\" && q === '"' && i + 1 < s.length) cur += s[++i];
      else cur += ch;
    } else if (ch === '"' || ch === "'") {
      q = ch;
      has = true;
    } else if (ch === "\\" && i + 1 < s.length) {
      cur += s[++i];
      has = true;
    } else if (/\s/.test(ch)) {
      if (has) out.push(cur);
      cur = "";
      has = false;
    } else {
      cur += ch;
      has = true;
    }
  }
  if (q) throw new KeyError("the master key command has an unterminated quote");
  if (has) out.push(cur);
  return out;
}

/** Reads a key file, tightening its mode to 0600 when others could read it. */
export function readKeyFile(file: string): Buffer {
  const mode = statSync(file).mode & 0o777;
  if (mode & 0o077) chmodSync(file, 0o600);
  return decodeKey(readFileSync(file, "utf8"), file);
}

/**
 * Loads the master key from its source (env, command or file), creating `<dataDir>/master.key` (0600)
 * when the file source is used and no file exists. This does not check the key against stored data:
 * `openVault` (src/secrets/vault.ts) does, at start-up.
 */
export function loadKeyring(
  dataDir: string,
  env: Record<string, string | undefined> = process.env,
  opts: KeySourceOptions = {},
): Keyring {
  const src = keySource(dataDir, env, opts);
  if (src.kind === "env") return new Keyring(decodeKey(env.MOLTHUB_MASTER_KEY!, src.label), src.label);
  if (src.kind === "command")
    return new Keyring(runKeyCommand(src.argv, src.label, env, opts.commandTimeoutMs ?? 15_000), src.label);
  if (!existsSync(src.file)) {
    if (opts.create === false) throw new KeyError(`no master key: ${src.file} does not exist and MOLTHUB_MASTER_KEY is not set`);
    writeFileSync(src.file, `${randomBytes(32).toString("base64")}\n`, { mode: 0o600, flag: "wx" });
  }
  return new Keyring(readKeyFile(src.file), src.file);
}
