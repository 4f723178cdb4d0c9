import { createCipheriv, createDecipheriv, randomBytes } from "node:crypto";
import { closeSync, existsSync, fsyncSync, openSync, readFileSync, renameSync, rmSync, writeSync } from "node:fs";
import { dirname, join } from "node:path";
import { eq, like } from "drizzle-orm";
import { recordAudit } from "../core/audit.ts";
import { type Actor, systemActor } from "../core/context.ts";
import { ServiceError } from "../core/errors.ts";
import type { Db, Tx } from "../db/client.ts";
import { auditCheckpoints, bots, hosts, secrets, settings, users } from "../db/schema.ts";
import { KeyError, Keyring, type KeySourceOptions, keySource, loadKeyring, readKeyFile, sealedKeyId } from "./keyring.ts";
import { registerSecret } from "./redact.ts";

/**
 * The secrets vault: envelope encryption over the appliance master key.
 *
 * - Each secret value is sealed with its own random 256-bit data key (AES-256-GCM; the AAD binds workspace,
 *   name and version): `value_enc` = `dk1.<iv>.<tag>.<ct>`.
 * - The data key is wrapped by the master key (Keyring purpose "vault-data-key", AAD `secret:<row id>`) and stored
 *   in `data_key_enc` with `master_key_id`, the key's short fingerprint.
 * - A sealed check value in `settings` (`vault.keyCheck`) lets start-up verify the key before anything runs.
 * - Master-key rotation (`rotateMasterKey`, offline) re-wraps every data key and re-seals every other value the
 *   keyring sealed, in one transaction; the key file is replaced through `master.key.next` so that an interrupted
 *   rotation is finished (or discarded) on the next start and no data is lost.
 */

export const KEY_CHECK = "vault.keyCheck";
const KEY_CHECK_PLAIN = "molthub master key check";
const DATA_KEY_PURPOSE = "vault-data-key";
const DEVICE_IDENTITY = "gateway.deviceIdentity";
const PID_FILE = "molthub.pid";

type SecretRow = typeof secrets.$inferSelect;

function valueAad(r: { workspaceId: string; name: string; version: number }): string {
  return `molthub-secret|${r.workspaceId}|${r.name}|v${r.version}`;
}

function dataKeyAad(id: string): string {
  return `secret:${id}`;
}

/** Seals a secret value with a fresh data key, and wraps that key with the master key. */
export function sealSecretValue(
  keyring: Keyring,
  row: { id: string; workspaceId: string; name: string; version: number },
  value: string,
): { valueEnc: string; dataKeyEnc: string; masterKeyId: string } {
  const dk = randomBytes(32);
  try {
    const iv = randomBytes(12);
    const c = createCipheriv("aes-256-gcm", dk, iv);
    c.setAAD(Buffer.from(valueAad(row)));
    const ct = Buffer.concat([c.update(value, "utf8"), c.final()]);
    const valueEnc = ["dk1", iv.toString("base64url"), c.getAuthTag().toString("base64url"), ct.toString("base64url")].join(".");
    return { valueEnc, dataKeyEnc: keyring.seal(DATA_KEY_PURPOSE, dk, dataKeyAad(row.id)), masterKeyId: keyring.id };
  } finally {
    dk.fill(0);
  }
}

function corrupt(row: Pick<SecretRow, "name" | "workspaceId">, what: string): ServiceError {
  return new ServiceError(
    "internal",
    `the secret ${row.name} cannot be decrypted: ${what}. Store its value again (molthub vault set ${row.name}) or restore the database from a backup`,
    [{ path: `secrets.${row.name}`, message: what }],
  );
}

/** Opens a secret's value. A tampered row is a clear error naming the secret (never a crash). */
export function openSecretValue(
  keyring: Keyring,
  row: Pick<SecretRow, "id" | "workspaceId" | "name" | "version" | "valueEnc" | "dataKeyEnc">,
): string {
  if (row.dataKeyEnc === null) {
    // a row from before the vault (upgraded at start-up): sealed directly with the appliance key
    try {
      return keyring.open("secret", row.valueEnc, `${row.workspaceId}/${row.name}`).toString("utf8");
    } catch {
      throw corrupt(
        row,
        "value_enc (from before the vault) does not open with this master key: it was altered, or the key is wrong",
      );
    }
  }
  let dk: Buffer;
  const kid = sealedKeyId(row.dataKeyEnc);
  if (kid && kid !== keyring.id)
    throw corrupt(row, `its data key is wrapped by master key ${kid}, but the key in use (${keyring.source}) is ${keyring.id}`);
  try {
    dk = keyring.open(DATA_KEY_PURPOSE, row.dataKeyEnc, dataKeyAad(row.id));
  } catch {
    throw corrupt(row, "its data key (data_key_enc) failed authentication: it was altered or belongs to another secret");
  }
  try {
    const [v, iv, tag, ct] = row.valueEnc.split(".");
    if (v !== "dk1" || !iv || !tag || ct === undefined) throw new Error("malformed");
    const d = createDecipheriv("aes-256-gcm", dk, Buffer.from(iv, "base64url"));
    d.setAAD(Buffer.from(valueAad(row)));
    d.setAuthTag(Buffer.from(tag, "base64url"));
    return Buffer.concat([d.update(Buffer.from(ct, "base64url")), d.final()]).toString("utf8");
  } catch {
    throw corrupt(row, "its value (value_enc) failed authentication: it was altered or belongs to another secret or version");
  } finally {
    dk.fill(0);
  }
}

// ---------- start-up: verify the key, upgrade old rows, register values for redaction ----------

function keyMismatch(keyring: Keyring, storedId: string | null, dataDir?: string): KeyError {
  const dir = dataDir ?? "<data>";
  return new KeyError(
    `the master key from ${keyring.source} (key id ${keyring.id}) does not open this data dir's encrypted values` +
      `${storedId ? ` (they are sealed with key id ${storedId})` : ""}; refusing to start. ` +
      `Use the key this data dir was sealed with: restore ${join(dir, "master.key")} from your backup, or set MOLTHUB_MASTER_KEY / MOLTHUB_MASTER_KEY_COMMAND to it. ` +
      "After an interrupted or just-finished `molthub vault rotate-key`, the new key is the right one (see docs/secrets.md).",
  );
}

/** The key id the data dir's check value names (null before the vault wrote one). */
function storedKeyId(db: Tx): string | null {
  const row = db.select().from(settings).where(eq(settings.key, KEY_CHECK)).get();
  if (!row) return null;
  try {
    return sealedKeyId(JSON.parse(row.value) as string);
  } catch {
    return null;
  }
}

interface Probe {
  label: string;
  sealed: string;
  purpose: string;
  aad: string;
}

/** One encrypted value of each kind the store holds (for stores from before the key check). */
function probes(db: Tx): Probe[] {
  const out: Probe[] = [];
  const s = db.select().from(secrets).limit(1).get();
  if (s)
    out.push(
      s.dataKeyEnc
        ? { label: `secret ${s.name}`, sealed: s.dataKeyEnc, purpose: DATA_KEY_PURPOSE, aad: dataKeyAad(s.id) }
        : { label: `secret ${s.name}`, sealed: s.valueEnc, purpose: "secret", aad: `${s.workspaceId}/${s.name}` },
    );
  const b = db.select({ id: bots.id, v: bots.gatewayTokenEnc }).from(bots).limit(1).get();
  if (b) out.push({ label: "a gateway token", sealed: b.v, purpose: "gateway-token", aad: b.id });
  const u = db.select({ id: users.id, v: users.totpSecretEnc }).from(users).where(like(users.totpSecretEnc, "v%")).limit(1).get();
  if (u?.v) out.push({ label: "a TOTP secret", sealed: u.v, purpose: "totp", aad: u.id });
  const d = db.select().from(settings).where(eq(settings.key, DEVICE_IDENTITY)).get();
  if (d) out.push({ label: "the device identity", sealed: JSON.parse(d.value) as string, purpose: "device-identity", aad: "" });
  const h = db
    .select({ id: hosts.id, v: hosts.privateKeyEnc })
    .from(hosts)
    .where(like(hosts.privateKeyEnc, "v2.%"))
    .limit(1)
    .get();
  if (h) out.push({ label: "a host key", sealed: h.v, purpose: "", aad: "" });
  return out;
}

/** True when the store holds anything sealed with a master key. */
function hasSealedData(db: Tx): boolean {
  return storedKeyId(db) !== null || probes(db).length > 0;
}

/**
 * Checks the key against the store: the sealed check value, or (before there was one) one stored value of
 * each kind. Throws a KeyError that names the key source and what to do; never half-starts.
 */
function verifyKey(db: Tx, keyring: Keyring, dataDir?: string): void {
  const row = db.select().from(settings).where(eq(settings.key, KEY_CHECK)).get();
  if (row) {
    let sealed = "";
    try {
      sealed = JSON.parse(row.value) as string;
      if (keyring.open("key-check", sealed).toString() === KEY_CHECK_PLAIN) return;
    } catch {
      // falls through
    }
    throw keyMismatch(keyring, sealedKeyId(sealed), dataDir);
  }
  for (const p of probes(db)) {
    const kid = sealedKeyId(p.sealed);
    try {
      if (kid && kid !== keyring.id) throw new Error("other key");
      if (p.purpose) keyring.open(p.purpose, p.sealed, p.aad);
      else keyring.reseal(p.sealed, keyring);
    } catch {
      throw keyMismatch(keyring, kid || null, dataDir);
    }
  }
}

/**
 * Brings rows from before the vault up to date, in one transaction: writes the key check, puts old secrets
 * into envelope form and re-seals v1 values (gateway tokens, TOTP secrets, device identity) in the v2 format
 * that key rotation can re-seal. A row that does not open is left as it is (it errors, naming itself, on use).
 */
function upgradeLegacy(
  db: Db,
  keyring: Keyring,
  now: () => number = Date.now,
): { secrets: number; values: number; skipped: string[] } {
  return db.transaction(
    (tx) => {
      const skipped: string[] = [];
      let nSecrets = 0;
      let nValues = 0;
      if (!tx.select().from(settings).where(eq(settings.key, KEY_CHECK)).get()) {
        tx.insert(settings)
          .values({ key: KEY_CHECK, value: JSON.stringify(keyring.seal("key-check", KEY_CHECK_PLAIN)), updatedAt: now() })
          .run();
      }
      for (const r of tx.select().from(secrets).all()) {
        if (r.dataKeyEnc !== null) continue;
        try {
          const v = openSecretValue(keyring, r);
          tx.update(secrets)
            .set(sealSecretValue(keyring, r, v))
            .where(eq(secrets.id, r.id))
            .run();
          nSecrets++;
        } catch {
          skipped.push(`secret ${r.name}`);
        }
      }
      const upgrade = (sealed: string, purpose: string, aad: string, label: string): string | null => {
        if (!sealed.startsWith("v1.")) return null;
        try {
          const out = keyring.reseal(sealed, keyring, { purpose, aad });
          nValues++;
          return out;
        } catch {
          skipped.push(label);
          return null;
        }
      };
      for (const b of tx.select({ id: bots.id, name: bots.name, v: bots.gatewayTokenEnc }).from(bots).all()) {
        const n = upgrade(b.v, "gateway-token", b.id, `gateway token of bot ${b.name}`);
        if (n) tx.update(bots).set({ gatewayTokenEnc: n }).where(eq(bots.id, b.id)).run();
      }
      for (const u of tx.select({ id: users.id, email: users.email, v: users.totpSecretEnc }).from(users).all()) {
        const n = u.v ? upgrade(u.v, "totp", u.id, `TOTP secret of ${u.email}`) : null;
        if (n) tx.update(users).set({ totpSecretEnc: n }).where(eq(users.id, u.id)).run();
      }
      const d = tx.select().from(settings).where(eq(settings.key, DEVICE_IDENTITY)).get();
      if (d) {
        const n = upgrade(JSON.parse(d.value) as string, "device-identity", "", "the device identity");
        if (n)
          tx.update(settings)
            .set({ value: JSON.stringify(n), updatedAt: now() })
            .where(eq(settings.key, DEVICE_IDENTITY))
            .run();
      }
      if (nSecrets || nValues) {
        // (summary keys avoid secret-looking names, which the audit redaction would blank)
        recordAudit(
          tx,
          { actor: vaultActor("vault upgrade"), now },
          {
            action: "vault.upgrade",
            resourceType: "vault",
            workspaceId: null,
            summary: { envelopes: nSecrets, resealed: nValues, skipped },
          },
        );
      }
      return { secrets: nSecrets, values: nValues, skipped };
    },
    { behavior: "immediate" },
  );
}

function vaultActor(label: string): Actor {
  return { ...systemActor, label };
}

/**
 * Decrypts every stored secret once and registers its value for redaction, so that a value is redacted from
 * logs, errors and gateway log lines from the start — also for bots not reconciled since. Returns the names
 * that could not be opened (they error on use).
 */
function registerAllSecrets(db: Tx, keyring: Keyring): { registered: number; failed: string[] } {
  let registered = 0;
  const failed: string[] = [];
  for (const r of db.select().from(secrets).all()) {
    try {
      registerSecret(openSecretValue(keyring, r));
      registered++;
    } catch {
      failed.push(r.name);
    }
  }
  return { registered, failed };
}

// ---------- key files ----------

function fsyncDir(dir: string): void {
  try {
    const fd = openSync(dir, "r");
    try {
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
  } catch {
    // not every platform can fsync a directory
  }
}

/** Writes a file with mode 0600 and fsyncs it (replacing one that exists). */
function writeKeyFile(file: string, key: Buffer | string): void {
  rmSync(file, { force: true });
  const fd = openSync(file, "wx", 0o600);
  try {
    writeSync(fd, typeof key === "string" ? key : `${key.toString("base64")}\n`);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/** master.key → master.key.previous (a copy, 0600), then master.key.next → master.key (atomic rename). */
function finishRotationFiles(file: string): void {
  const next = `${file}.next`;
  if (existsSync(file)) writeKeyFile(`${file}.previous`, readFileSync(file, "utf8"));
  renameSync(next, file);
  fsyncDir(dirname(file));
}

/**
 * The file key source, with the rotation states resolved: a `master.key.next` whose key the store already uses
 * (the rotation committed, the rename did not happen) is moved into place; one the store does not use (the
 * rotation never committed) is removed.
 */
function fileKeyring(db: Tx, dataDir: string, notes: string[]): Keyring {
  const file = join(dataDir, "master.key");
  const next = `${file}.next`;
  if (existsSync(next)) {
    const nk = new Keyring(readKeyFile(next), file);
    const stored = storedKeyId(db);
    if (stored === nk.id) {
      finishRotationFiles(file);
      notes.push(
        "finished an interrupted master-key rotation: master.key now holds the new key, the old one is in master.key.previous",
      );
      return nk;
    }
    rmSync(next, { force: true });
    notes.push("removed master.key.next left by a key rotation that did not commit; the store still uses master.key");
  }
  if (!existsSync(file) && hasSealedData(db)) {
    throw new KeyError(
      `no master key: ${file} does not exist, but the store holds values encrypted with a master key (id ${storedKeyId(db) ?? "unknown"}); refusing to start. ` +
        "Restore master.key from your backup (it is not inside the database), or set MOLTHUB_MASTER_KEY / MOLTHUB_MASTER_KEY_COMMAND.",
    );
  }
  return loadKeyring(dataDir, {}, { create: true });
}

// ---------- running-server detection ----------

/** Records that a server runs on this data dir (for offline commands that must not run beside it). */
function writePidFile(dataDir: string): void {
  try {
    const f = join(dataDir, PID_FILE);
    rmSync(f, { force: true });
    const fd = openSync(f, "wx", 0o600);
    writeSync(fd, `${process.pid}\n`);
    closeSync(fd);
  } catch {
    // best effort: the offline commands then rely on the documented "stop it first"
  }
}

/** The pid of a live server on this data dir, or null (a stale pid file is ignored). */
export function runningServerPid(dataDir: string): number | null {
  const f = join(dataDir, PID_FILE);
  if (!existsSync(f)) return null;
  const pid = Number(readFileSync(f, "utf8").trim());
  if (!Number.isInteger(pid) || pid <= 0 || pid === process.pid) return null;
  try {
    process.kill(pid, 0);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== "EPERM") return null;
  }
  try {
    // a reused pid that is not a server
    const cmd = readFileSync(`/proc/${pid}/cmdline`, "utf8");
    if (!cmd.includes("serve")) return null;
  } catch {
    // no /proc: trust the pid
  }
  return pid;
}

// ---------- opening the vault at start-up ----------

export interface OpenVaultOptions extends Pick<KeySourceOptions, "command" | "commandTimeoutMs"> {
  db: Db;
  dataDir: string;
  env?: Record<string, string | undefined>;
  now?: () => number;
  /** record this process as the data dir's server (serve only) */
  pidFile?: boolean;
}

export interface OpenedVault {
  keyring: Keyring;
  source: "env" | "command" | "file";
  /** what start-up did or found, for the log (no secrets) */
  notes: string[];
  warnings: string[];
}

/**
 * Start-up: load the master key from its source, verify it against the store (refusing to start with a clear
 * message when it is wrong or missing), finish or discard an interrupted rotation, upgrade rows from before
 * the vault, drop `master.key.previous` (this start proved the current key), and register every secret value
 * for redaction.
 */
export function openVault(o: OpenVaultOptions): OpenedVault {
  const env = o.env ?? process.env;
  const src = keySource(o.dataDir, env, { command: o.command });
  const notes: string[] = [];
  const warnings: string[] = [];
  const keyring =
    src.kind === "file"
      ? fileKeyring(o.db, o.dataDir, notes)
      : loadKeyring(o.dataDir, env, { command: o.command, commandTimeoutMs: o.commandTimeoutMs });
  verifyKey(o.db, keyring, o.dataDir);
  const up = upgradeLegacy(o.db, keyring, o.now);
  if (up.secrets || up.values)
    notes.push(`upgraded ${up.secrets} secret(s) to envelope encryption and re-sealed ${up.values} older value(s)`);
  for (const s of up.skipped) warnings.push(`${s} could not be opened with the master key and was left as it is`);
  const previous = join(o.dataDir, "master.key.previous");
  const justFinished = notes.some((n) => n.startsWith("finished an interrupted"));
  if (src.kind === "file" && existsSync(previous) && !justFinished) {
    rmSync(previous, { force: true });
    notes.push("removed master.key.previous: this start proved the rotated key");
  }
  const reg = registerAllSecrets(o.db, keyring);
  for (const n of reg.failed) warnings.push(`secret ${n} cannot be decrypted (tampered?); store its value again`);
  if (o.pidFile) writePidFile(o.dataDir);
  return { keyring, source: src.kind, notes, warnings };
}

/** For `molthub doctor`: does the key open this store? */
export function checkKey(
  db: Db,
  dataDir: string,
  env: Record<string, string | undefined> = process.env,
  command?: string,
): { ok: boolean; source: string; message: string } {
  let label = "the master key";
  try {
    const src = keySource(dataDir, env, { command });
    label = src.label;
    if (src.kind === "file" && !existsSync(src.file)) {
      return hasSealedData(db)
        ? {
            ok: false,
            source: label,
            message: `${src.file} is missing but the store holds encrypted values; restore it from your backup`,
          }
        : { ok: true, source: label, message: "no key yet; it is created on the first start" };
    }
    const k = loadKeyring(dataDir, env, { command, create: false });
    verifyKey(db, k, dataDir);
    const stored = storedKeyId(db);
    return {
      ok: true,
      source: label,
      message: `key ${k.id} from ${k.source} opens the store${stored ? "" : " (no key check yet; written on the next start)"}`,
    };
  } catch (e) {
    return { ok: false, source: label, message: (e as Error).message };
  }
}

// ---------- master-key rotation (offline) ----------

export interface RotateOptions extends Pick<KeySourceOptions, "command"> {
  db: Db;
  dataDir: string;
  env?: Record<string, string | undefined>;
  /** the new key; required when the key comes from env or a command (read from stdin), random for the file source */
  newKey?: Buffer;
  now?: () => number;
  /** test seam: runs after the database commit, before the key file is replaced */
  afterCommit?: () => void;
}

export interface RotateReport {
  from: string;
  to: string;
  source: "env" | "command" | "file";
  secrets: number;
  /** other sealed values re-sealed, by table.column */
  values: Record<string, number>;
  checkpoints: number;
}

const SKIP_TABLES = new Set(["audit_log", "schema_migrations", "secrets"]);

/**
 * Every text cell outside the skipped tables that holds values sealed with `keyId` — as the whole value, as a
 * JSON string (settings), or embedded in JSON anywhere — by table, column and rowid.
 */
function sealedCells(tx: Tx, keyId: string): { table: string; column: string; rowid: number; value: string }[] {
  const sqlite = sqliteOf(tx);
  const out: { table: string; column: string; rowid: number; value: string }[] = [];
  const tables = sqlite.query("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'").all() as {
    name: string;
  }[];
  for (const { name } of tables) {
    if (SKIP_TABLES.has(name) || name.startsWith("__")) continue;
    const cols = (sqlite.query(`PRAGMA table_info("${name}")`).all() as { name: string; type: string }[]).filter(
      (c) => /TEXT/i.test(c.type) || c.type === "",
    );
    for (const c of cols) {
      const rows = sqlite
        .query(`SELECT rowid AS rid, "${c.name}" AS v FROM "${name}" WHERE "${c.name}" LIKE ?`)
        .all(`%v2.${keyId}.%`) as { rid: number; v: string }[];
      for (const r of rows) out.push({ table: name, column: c.name, rowid: r.rid, value: r.v });
    }
  }
  return out;
}

/** A sealed value inside any text: `v2.<keyId>` and its five base64url fields. */
function sealedPattern(keyId: string): RegExp {
  return new RegExp(`v2\\.${keyId}(?:\\.[A-Za-z0-9_-]*){5}`, "g");
}

/** The bun:sqlite handle under a drizzle db or transaction (same connection, so inside the transaction). */
function sqliteOf(tx: Tx): import("bun:sqlite").Database {
  const client = (tx as unknown as { session?: { client?: unknown } }).session?.client;
  if (!client) throw new Error("cannot reach the SQLite handle for the rotation");
  return client as import("bun:sqlite").Database;
}

/**
 * Rotates the master key, offline (the server must be stopped).
 * 1. Open the vault with the current key (verifies it, finishes an interrupted rotation, upgrades old rows).
 * 2. File source: write the new key to `master.key.next` (0600, fsynced) first.
 * 3. One transaction: re-wrap every data key, re-seal every other value sealed with the old key (TOTP secrets,
 *    gateway tokens, the device identity, host keys, the key check), re-sign the audit checkpoints, and audit it.
 *    Anything that does not open → everything rolls back, `master.key.next` is removed, the old key stays.
 * 4. File source: copy master.key to master.key.previous, rename master.key.next over master.key.
 * A crash between 3 and 4 leaves master.key (old) and master.key.next (new, matching the store): the next
 * start finishes step 4. A crash before 3 commits leaves master.key matching the store: the next start
 * removes master.key.next.
 */
export function rotateMasterKey(o: RotateOptions): RotateReport {
  const env = o.env ?? process.env;
  const now = o.now ?? Date.now;
  const pid = runningServerPid(o.dataDir);
  if (pid)
    throw new KeyError(
      `a Molthub server (pid ${pid}) is running on ${o.dataDir}; stop it first — the master key is rotated offline. (If none runs, delete ${join(o.dataDir, PID_FILE)}.)`,
    );
  const opened = openVault({ db: o.db, dataDir: o.dataDir, env, command: o.command, now });
  const old = opened.keyring;
  const src = keySource(o.dataDir, env, { command: o.command });
  if (src.kind !== "file" && !o.newKey) {
    throw new KeyError(
      `the master key comes from ${src.label}: give the new key on stdin (base64 of 32 random bytes, e.g. \`openssl rand -base64 32\`); after the rotation, make ${src.label} return it`,
    );
  }
  const newKey = o.newKey ?? randomBytes(32);
  const nk = new Keyring(newKey, src.kind === "file" ? src.file : src.label);
  if (nk.id === old.id) throw new KeyError("the new master key is the current one; give a different key");
  const file = join(o.dataDir, "master.key");
  if (src.kind === "file") writeKeyFile(`${file}.next`, newKey);

  let report: RotateReport;
  try {
    report = o.db.transaction((tx) => rewrapAll(tx, old, nk, now), { behavior: "immediate" });
  } catch (e) {
    if (src.kind === "file") rmSync(`${file}.next`, { force: true });
    throw e;
  }
  report.source = src.kind;
  o.afterCommit?.();
  if (src.kind === "file") finishRotationFiles(file);
  return report;
}

function rewrapAll(tx: Tx, old: Keyring, nk: Keyring, now: () => number): RotateReport {
  let nSecrets = 0;
  for (const r of tx.select().from(secrets).all()) {
    let update: Partial<SecretRow>;
    if (r.dataKeyEnc === null) {
      update = sealSecretValue(nk, r, openSecretValue(old, r));
    } else {
      let dk: Buffer;
      try {
        dk = old.open(DATA_KEY_PURPOSE, r.dataKeyEnc, dataKeyAad(r.id));
      } catch {
        throw new KeyError(
          `the data key of secret ${r.name} cannot be unwrapped with the current master key (data_key_enc was altered?); nothing was changed. Store its value again or delete it (molthub vault delete ${r.name}), then rotate again`,
        );
      }
      update = { dataKeyEnc: nk.seal(DATA_KEY_PURPOSE, dk, dataKeyAad(r.id)), masterKeyId: nk.id };
      dk.fill(0);
    }
    tx.update(secrets).set(update).where(eq(secrets.id, r.id)).run();
    nSecrets++;
  }

  const sqlite = sqliteOf(tx);
  const values: Record<string, number> = {};
  for (const cell of sealedCells(tx, old.id)) {
    const k = `${cell.table}.${cell.column}`;
    const next = cell.value.replace(sealedPattern(old.id), (sealed) => {
      try {
        values[k] = (values[k] ?? 0) + 1;
        return old.reseal(sealed, nk);
      } catch {
        throw new KeyError(
          `${k} (row ${cell.rowid}) holds a value that does not open with the current master key (altered?); nothing was changed. Fix or remove that value, then rotate again`,
        );
      }
    });
    sqlite.query(`UPDATE "${cell.table}" SET "${cell.column}" = ? WHERE rowid = ?`).run(next, cell.rowid);
  }
  // values from before the vault that start-up could not upgrade
  const left = sqlite.query("SELECT count(*) AS n FROM bots WHERE gateway_token_enc LIKE 'v1.%'").get() as { n: number };
  const leftUsers = sqlite.query("SELECT count(*) AS n FROM users WHERE totp_secret_enc LIKE 'v1.%'").get() as { n: number };
  if (left.n || leftUsers.n)
    throw new KeyError(
      `${left.n + leftUsers.n} value(s) from before the vault do not open with the current key; nothing was changed`,
    );

  let checkpoints = 0;
  for (const cp of tx.select().from(auditCheckpoints).all()) {
    const data = `${cp.uptoId}|${cp.uptoHash}|${cp.createdAt}`;
    // only re-sign what the old key signed: a forged checkpoint stays detectable
    if (old.hmac("audit-checkpoint", data) !== cp.signature) continue;
    tx.update(auditCheckpoints)
      .set({ signature: nk.hmac("audit-checkpoint", data) })
      .where(eq(auditCheckpoints.id, cp.id))
      .run();
    checkpoints++;
  }

  const remaining = sealedCells(tx, old.id).length;
  if (remaining) throw new KeyError(`${remaining} value(s) still sealed with the old key after re-sealing; nothing was changed`);
  recordAudit(
    tx,
    { actor: vaultActor("vault rotate-key (offline)"), now },
    {
      action: "vault.rotate_key",
      resourceType: "vault",
      workspaceId: null,
      // (summary keys avoid secret-looking names, which the audit redaction would blank)
      summary: {
        from: old.id,
        to: nk.id,
        dataKeys: nSecrets,
        resealed: Object.entries(values).map(([column, count]) => ({ column, count })),
        checkpoints,
      },
    },
  );
  return { from: old.id, to: nk.id, source: "file", secrets: nSecrets, values, checkpoints };
}
