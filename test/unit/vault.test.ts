/**
 * The secrets vault: envelope encryption, tamper detection, key sources, start-up key verification,
 * the legacy upgrade, and offline master-key rotation (including an interrupted one).
 */

import { createCipheriv, randomBytes, randomUUID } from "node:crypto";
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { eq } from "drizzle-orm";
import { afterAll, beforeEach, describe, expect, it } from "vitest";
import { resolveSettings } from "../../src/config.ts";
import { pruneAudit, verifyAudit } from "../../src/core/audit.ts";
import { type ServiceContext, systemActor } from "../../src/core/context.ts";
import { ServiceError } from "../../src/core/errors.ts";
import { migrate, openStore, type Store } from "../../src/db/client.ts";
import { auditCheckpoints, bots, hosts, secrets, settings, users } from "../../src/db/schema.ts";
import { resolveSecretValues } from "../../src/fleet/secrets.ts";
import { createLogger } from "../../src/log.ts";
import { applianceIdentity } from "../../src/reconciler/appliance-identity.ts";
import { KeyError, Keyring, loadKeyring, splitArgv } from "../../src/secrets/keyring.ts";
import { redactString } from "../../src/secrets/redact.ts";
import { checkKey, KEY_CHECK, openVault, rotateMasterKey, runningServerPid, sealSecretValue } from "../../src/secrets/vault.ts";
import { serve } from "../../src/server/serve.ts";
import { addUserOffline, enrollTotp } from "../../src/services/auth.ts";
import { applyManifest } from "../../src/services/bots.ts";
import { deleteSecret, getSecret, listSecrets, putSecret } from "../../src/services/secrets.ts";
import { makeTestApp } from "../helpers/app.ts";

const roots: string[] = [];
afterAll(() => {
  for (const r of roots) rmSync(r, { recursive: true, force: true });
});

function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), "molthub-vault-"));
  roots.push(d);
  return d;
}

const b64 = (k: Buffer) => k.toString("base64");

interface Seeded {
  dir: string;
  store: Store;
  ctx: ServiceContext;
  ws: string;
  userId: string;
  botId: string;
  hostId: string;
  totp: string;
  values: Record<string, string>;
}

/** A data dir with every kind of sealed value: secrets, a bot's gateway token, a TOTP secret, the device identity, a host key, an audit checkpoint. */
async function seed(env: Record<string, string | undefined> = {}): Promise<Seeded> {
  const dir = tempDir();
  const store = openStore(join(dir, "molthub.db"));
  migrate(store);
  const { keyring } = openVault({ db: store.db, dataDir: dir, env });
  const { userId, workspaceId: ws } = await addUserOffline(store.db, {
    email: "owner@example.com",
    name: "Owner",
    password: "correct horse battery",
    role: "owner",
  });
  const ctx: ServiceContext = {
    db: store.db,
    keyring,
    actor: { type: "user", userId, label: "owner@example.com", workspaceId: ws, role: "owner" },
    now: Date.now,
  };
  const values = { "anthropic-key": `sk-ant-${randomUUID()}`, "telegram-token": `123456:${randomUUID()}` };
  for (const [name, value] of Object.entries(values)) putSecret(ctx, { name, value, description: `the ${name}` });
  const applied = applyManifest(ctx, {
    apiVersion: "molthub/v1",
    kind: "Bot",
    metadata: { name: "support-bot" },
    spec: { target: { provider: "local", version: "2026.9.6" }, secrets: { ANTHROPIC_API_KEY: { secret: "anthropic-key" } } },
  });
  const { secret: totp } = enrollTotp(ctx);
  applianceIdentity(store.db, keyring);
  const hostId = randomUUID();
  store.db
    .insert(hosts)
    .values({
      id: hostId,
      workspaceId: ws,
      name: "edge",
      address: "127.0.0.1",
      username: "molthub",
      authKind: "generated",
      privateKeyEnc: keyring.seal("host-key", "-----BEGIN OPENSSH PRIVATE KEY----- test", hostId),
      publicKey: "ssh-ed25519 AAAA",
      status: "untrusted",
      createdAt: Date.now(),
      updatedAt: Date.now(),
    })
    .run();
  // prune everything behind a signed checkpoint
  pruneAudit(store.db, keyring, { actor: systemActor, now: () => Date.now() + 10 * 86_400_000 }, 1);
  expect(store.db.select().from(auditCheckpoints).all().length).toBe(1);
  return { dir, store, ctx, ws, userId, botId: applied.bot.id, hostId, totp, values };
}

/** Every sealed value of a seeded store opens with `k` (and the audit chain verifies). */
function assertAllOpen(s: Seeded, k: Keyring): void {
  const got = resolveSecretValues(s.store.db, k, s.ws, { A: { secret: "anthropic-key" }, T: { secret: "telegram-token" } });
  expect(got).toEqual({ A: s.values["anthropic-key"], T: s.values["telegram-token"] });
  const bot = s.store.db.select().from(bots).where(eq(bots.id, s.botId)).get()!;
  expect(k.open("gateway-token", bot.gatewayTokenEnc, bot.id).toString()).toMatch(/.{20,}/);
  const u = s.store.db.select().from(users).where(eq(users.id, s.userId)).get()!;
  expect(k.open("totp", u.totpSecretEnc!, s.userId).toString()).toBe(s.totp);
  expect(() => applianceIdentity(s.store.db, k)).not.toThrow();
  const h = s.store.db.select().from(hosts).where(eq(hosts.id, s.hostId)).get()!;
  expect(k.open("host-key", h.privateKeyEnc, s.hostId).toString()).toContain("OPENSSH PRIVATE KEY");
  expect(verifyAudit(s.store.db, k)).toMatchObject({ ok: true });
}

function flipByte(sealed: string, field: number): string {
  const parts = sealed.split(".");
  const raw = Buffer.from(parts[field]!, "base64url");
  raw[0] = raw[0]! ^ 0x01;
  parts[field] = raw.toString("base64url");
  return parts.join(".");
}

describe("envelope encryption", () => {
  it("seals each value with its own data key wrapped by the master key; versions increment; nothing in plain text", async () => {
    const s = await seed();
    const rows = s.store.db.select().from(secrets).orderBy(secrets.name).all();
    expect(rows).toHaveLength(2);
    for (const r of rows) {
      expect(r.valueEnc).toMatch(/^dk1\./);
      expect(r.dataKeyEnc).toMatch(new RegExp(`^v2\\.${s.ctx.keyring.id}\\.`));
      expect(r.masterKeyId).toBe(s.ctx.keyring.id);
      expect(r.updatedBy).toBe("owner@example.com");
    }
    const before = rows[0]!;
    const v2 = putSecret(s.ctx, { name: before.name, value: "a-brand-new-value-123" });
    expect(v2.version).toBe(2);
    expect(v2.description).toBe("the anthropic-key"); // kept when omitted
    const after = s.store.db.select().from(secrets).where(eq(secrets.id, before.id)).get()!;
    expect(after.dataKeyEnc).not.toBe(before.dataKeyEnc); // a new data key per version
    expect(resolveSecretValues(s.store.db, s.ctx.keyring, s.ws, { K: { secret: before.name } })).toEqual({
      K: "a-brand-new-value-123",
    });
    // an old version's ciphertext cannot be replayed into the row (the AAD binds the version)
    s.store.db
      .update(secrets)
      .set({ valueEnc: before.valueEnc, dataKeyEnc: before.dataKeyEnc })
      .where(eq(secrets.id, before.id))
      .run();
    expect(() => resolveSecretValues(s.store.db, s.ctx.keyring, s.ws, { K: { secret: before.name } })).toThrow(
      /anthropic-key.*value_enc/,
    );
    s.store.close();
    const bytes =
      readFileSync(join(s.dir, "molthub.db")).toString("latin1") +
      (existsSync(join(s.dir, "molthub.db-wal")) ? readFileSync(join(s.dir, "molthub.db-wal")).toString("latin1") : "");
    for (const v of Object.values(s.values)) expect(bytes).not.toContain(v);
  });

  it("a flipped byte in value_enc or data_key_enc is a clear error naming the secret, not a crash", async () => {
    const s = await seed();
    const row = s.store.db.select().from(secrets).where(eq(secrets.name, "anthropic-key")).get()!;
    s.store.db
      .update(secrets)
      .set({ valueEnc: flipByte(row.valueEnc, 3) })
      .where(eq(secrets.id, row.id))
      .run();
    let err: unknown;
    try {
      resolveSecretValues(s.store.db, s.ctx.keyring, s.ws, { A: { secret: "anthropic-key" } });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ServiceError);
    expect((err as ServiceError).message).toMatch(
      /the secret anthropic-key cannot be decrypted: its value \(value_enc\) failed authentication.*molthub vault set anthropic-key/,
    );

    s.store.db
      .update(secrets)
      .set({ valueEnc: row.valueEnc, dataKeyEnc: flipByte(row.dataKeyEnc!, 6) })
      .where(eq(secrets.id, row.id))
      .run();
    expect(() => resolveSecretValues(s.store.db, s.ctx.keyring, s.ws, { A: { secret: "anthropic-key" } })).toThrow(
      /the secret anthropic-key cannot be decrypted: its data key \(data_key_enc\) failed authentication/,
    );
    // the other secret is unaffected, and listing never decrypts
    expect(resolveSecretValues(s.store.db, s.ctx.keyring, s.ws, { T: { secret: "telegram-token" } })).toEqual({
      T: s.values["telegram-token"],
    });
    expect(listSecrets(s.ctx).map((x) => x.name)).toEqual(["anthropic-key", "telegram-token"]);
    // a data key moved to another row does not open there (the AAD binds the secret id)
    const other = s.store.db.select().from(secrets).where(eq(secrets.name, "telegram-token")).get()!;
    s.store.db.update(secrets).set({ dataKeyEnc: row.dataKeyEnc }).where(eq(secrets.id, other.id)).run();
    expect(() => resolveSecretValues(s.store.db, s.ctx.keyring, s.ws, { T: { secret: "telegram-token" } })).toThrow(
      /telegram-token.*data_key_enc/,
    );
    // start-up still works with a tampered row; it names it as a warning
    const again = openVault({ db: s.store.db, dataDir: s.dir, env: {} });
    expect(again.warnings.join("\n")).toMatch(/secret anthropic-key cannot be decrypted/);
    s.store.close();
  });

  it("registers every stored value for redaction at start-up", async () => {
    const s = await seed();
    const fresh = `canary-${randomUUID()}`;
    // written by another process: this one never saw the value
    const id = randomUUID();
    s.store.db
      .insert(secrets)
      .values({
        id,
        workspaceId: s.ws,
        name: "late",
        ...sealSecretValue(s.ctx.keyring, { id, workspaceId: s.ws, name: "late", version: 1 }, fresh),
        version: 1,
        createdAt: 1,
        updatedAt: 1,
      })
      .run();
    expect(redactString(`line with ${fresh}`)).toContain(fresh);
    openVault({ db: s.store.db, dataDir: s.dir, env: {} });
    expect(redactString(`line with ${fresh}`)).toBe("line with [redacted]");
    s.store.close();
  });
});

describe("master key sources and start-up verification", () => {
  it("splits a key command into argv without a shell", () => {
    expect(splitArgv(`vault-cli read "secret/molthub key" --field='k v'`)).toEqual([
      "vault-cli",
      "read",
      "secret/molthub key",
      "--field=k v",
    ]);
    expect(() => splitArgv(`a "b`)).toThrow(/unterminated quote/);
  });

  it("reads the key from a command (stdout = base64), and reports a failing or hanging command clearly", () => {
    const dir = tempDir();
    const key = randomBytes(32);
    const k = loadKeyring(dir, { PATH: process.env.PATH, MOLTHUB_MASTER_KEY_COMMAND: `printf '%s\\n' ${b64(key)}` });
    expect(k.id).toBe(new Keyring(key, "x").id);
    expect(k.source).toContain("master key command (printf)");
    expect(existsSync(join(dir, "master.key"))).toBe(false);
    expect(() => loadKeyring(dir, { PATH: process.env.PATH }, { command: "false" })).toThrow(
      /master key command \(false\) failed with exit code 1/,
    );
    expect(() => loadKeyring(dir, { PATH: process.env.PATH }, { command: "sleep 5", commandTimeoutMs: 300 })).toThrow(
      /did not finish within 0.3 s|killed by SIGTERM/,
    );
    expect(() => loadKeyring(dir, { PATH: process.env.PATH }, { command: "/nonexistent/keytool" })).toThrow(
      /could not be run \(ENOENT\)/,
    );
    expect(() => loadKeyring(dir, { PATH: process.env.PATH }, { command: "echo not-a-key" })).toThrow(
      /decodes to \d+ bytes; it must be base64 of exactly 32/,
    );
    expect(() => loadKeyring(dir, { MOLTHUB_MASTER_KEY: b64(key), MOLTHUB_MASTER_KEY_COMMAND: "x" })).toThrow(
      /keep only one of them/,
    );
    expect(() => loadKeyring(dir, { MOLTHUB_MASTER_KEY: "c2hvcnQ=" })).toThrow(/MOLTHUB_MASTER_KEY decodes to 5 bytes/);
  });

  it("refuses a wrong key at start-up with a message naming the key source, before anything runs", async () => {
    const s = await seed();
    const wrong = b64(randomBytes(32));
    expect(() => openVault({ db: s.store.db, dataDir: s.dir, env: { MOLTHUB_MASTER_KEY: wrong } })).toThrow(
      /the master key from MOLTHUB_MASTER_KEY \(key id [0-9a-f]{16}\) does not open this data dir's encrypted values \(they are sealed with key id [0-9a-f]{16}\); refusing to start/,
    );
    expect(checkKey(s.store.db, s.dir, { MOLTHUB_MASTER_KEY: wrong })).toMatchObject({ ok: false });
    expect(checkKey(s.store.db, s.dir, {})).toMatchObject({ ok: true });
    s.store.close();

    // the real start refuses too, and leaves nothing listening
    const saved = process.env.MOLTHUB_MASTER_KEY;
    process.env.MOLTHUB_MASTER_KEY = wrong;
    try {
      await expect(
        serve(resolveSettings({ dataDir: s.dir, port: 0, reconciler: false }, {}), {
          logger: createLogger({ level: "error", write: () => {} }),
        }),
      ).rejects.toThrow(/does not open this data dir's encrypted values/);
    } finally {
      if (saved === undefined) delete process.env.MOLTHUB_MASTER_KEY;
      else process.env.MOLTHUB_MASTER_KEY = saved;
    }
  });

  it("refuses a missing key file when the store holds encrypted values (no new key is made up)", async () => {
    const s = await seed();
    rmSync(join(s.dir, "master.key"));
    expect(() => openVault({ db: s.store.db, dataDir: s.dir, env: {} })).toThrow(
      /no master key: .*master\.key does not exist, but the store holds values encrypted with a master key.*Restore master\.key from your backup/,
    );
    expect(existsSync(join(s.dir, "master.key"))).toBe(false);
    s.store.close();
  });

  it("upgrades rows from before the vault (v1 values, secrets without a data key) at start-up", async () => {
    const dir = tempDir();
    const store = openStore(join(dir, "molthub.db"));
    migrate(store);
    const k = loadKeyring(dir, {});
    // the pre-vault format: v1.<iv>.<tag>.<ct> under the purpose key
    const v1 = (purpose: string, plain: string, aad: string) => {
      const iv = randomBytes(12);
      const c = createCipheriv("aes-256-gcm", k.derive(purpose), iv);
      c.setAAD(Buffer.from(aad));
      const ct = Buffer.concat([c.update(plain), c.final()]);
      return ["v1", iv.toString("base64url"), c.getAuthTag().toString("base64url"), ct.toString("base64url")].join(".");
    };
    const { userId, workspaceId: ws } = await addUserOffline(store.db, {
      email: "a@example.com",
      name: "A",
      password: "correct horse battery",
      role: "owner",
    });
    store.db
      .update(users)
      .set({ totpSecretEnc: v1("totp", "JBSWY3DPEHPK3PXP", userId) })
      .where(eq(users.id, userId))
      .run();
    store.db
      .insert(secrets)
      .values({
        id: randomUUID(),
        workspaceId: ws,
        name: "old-key",
        valueEnc: v1("secret", "legacy-value-123", `${ws}/old-key`),
        version: 3,
        createdAt: 1,
        updatedAt: 1,
      })
      .run();
    // a wrong key is refused even before there is a key check
    expect(() => openVault({ db: store.db, dataDir: dir, env: { MOLTHUB_MASTER_KEY: b64(randomBytes(32)) } })).toThrow(
      /refusing to start/,
    );
    expect(store.db.select().from(settings).where(eq(settings.key, KEY_CHECK)).get()).toBeUndefined();

    const r = openVault({ db: store.db, dataDir: dir, env: {} });
    expect(r.notes.join("\n")).toMatch(/upgraded 1 secret\(s\) to envelope encryption and re-sealed 1 older value/);
    const row = store.db.select().from(secrets).get()!;
    expect(row.dataKeyEnc).toMatch(/^v2\./);
    expect(row.version).toBe(3);
    expect(resolveSecretValues(store.db, r.keyring, ws, { X: { secret: "old-key" } })).toEqual({ X: "legacy-value-123" });
    const u = store.db.select().from(users).where(eq(users.id, userId)).get()!;
    expect(u.totpSecretEnc).toMatch(/^v2\./);
    expect(r.keyring.open("totp", u.totpSecretEnc!, userId).toString()).toBe("JBSWY3DPEHPK3PXP");
    store.close();
  });
});

describe("master-key rotation", () => {
  let s: Seeded;
  beforeEach(async () => {
    s = await seed();
  });

  it("re-wraps every data key and re-seals every other value; the new key opens everything, the old nothing", () => {
    const old = s.ctx.keyring;
    const oldFile = readFileSync(join(s.dir, "master.key"), "utf8");
    // a value sealed by some other module, nested inside JSON: found by its key id and re-sealed in place
    const nested = JSON.stringify({ extra: { sealed: old.seal("other-module", "nested-value-42", "conn-1") }, n: 1 });
    s.store.sqlite
      .query(
        "INSERT INTO connectors (id, workspace_id, name, type, settings, created_at, updated_at) VALUES ('conn-1', ?, 'ollama', 'ollama', ?, 1, 1)",
      )
      .run(s.ws, nested);
    const r = rotateMasterKey({ db: s.store.db, dataDir: s.dir, env: {} });
    expect(r.from).toBe(old.id);
    expect(r.secrets).toBe(2);
    expect(r.values).toMatchObject({ "bots.gateway_token_enc": 1, "users.totp_secret_enc": 1, "hosts.private_key_enc": 1 });
    expect(r.values["settings.value"]).toBe(2); // device identity and the key check
    expect(r.checkpoints).toBe(1);

    const nk = loadKeyring(s.dir, {}, { create: false });
    expect(nk.id).toBe(r.to);
    assertAllOpen(s, nk);
    expect(r.values["connectors.settings"]).toBe(1);
    const settingsAfter = JSON.parse(
      (s.store.sqlite.query("SELECT settings FROM connectors WHERE id = 'conn-1'").get() as { settings: string }).settings,
    );
    expect(settingsAfter.n).toBe(1);
    expect(nk.open("other-module", settingsAfter.extra.sealed, "conn-1").toString()).toBe("nested-value-42");
    for (const row of s.store.db.select().from(secrets).all()) expect(row.masterKeyId).toBe(nk.id);
    expect(() => resolveSecretValues(s.store.db, old, s.ws, { A: { secret: "anthropic-key" } })).toThrow(/wrapped by master key/);
    expect(verifyAudit(s.store.db, old).ok).toBe(false);
    expect(() => openVault({ db: s.store.db, dataDir: s.dir, env: { MOLTHUB_MASTER_KEY: oldFile.trim() } })).toThrow(
      /refusing to start/,
    );

    // the old key is kept (0600) until the next successful start
    const prev = join(s.dir, "master.key.previous");
    expect(readFileSync(prev, "utf8")).toBe(oldFile);
    expect(statSync(prev).mode & 0o777).toBe(0o600);
    expect(statSync(join(s.dir, "master.key")).mode & 0o777).toBe(0o600);
    const started = openVault({ db: s.store.db, dataDir: s.dir, env: {} });
    expect(started.keyring.id).toBe(nk.id);
    expect(existsSync(prev)).toBe(false);
    expect(existsSync(join(s.dir, "master.key.next"))).toBe(false);
    // the rotation is audited (ids and counts only)
    const entry = s.store.sqlite.query("SELECT summary FROM audit_log WHERE action = 'vault.rotate_key'").get() as {
      summary: string;
    };
    expect(JSON.parse(entry.summary)).toMatchObject({ from: old.id, to: nk.id, dataKeys: 2, checkpoints: 1 });
    s.store.close();
  });

  it("an interruption after the database commit loses nothing: the next start finishes the key file swap", () => {
    const oldFile = readFileSync(join(s.dir, "master.key"), "utf8");
    expect(() =>
      rotateMasterKey({
        db: s.store.db,
        dataDir: s.dir,
        env: {},
        afterCommit: () => {
          throw new Error("power cut");
        },
      }),
    ).toThrow("power cut");
    // the store is under the new key, master.key still the old one, master.key.next the new one
    expect(readFileSync(join(s.dir, "master.key"), "utf8")).toBe(oldFile);
    expect(existsSync(join(s.dir, "master.key.next"))).toBe(true);
    const started = openVault({ db: s.store.db, dataDir: s.dir, env: {} });
    expect(started.notes.join("\n")).toMatch(/finished an interrupted master-key rotation/);
    expect(readFileSync(join(s.dir, "master.key"), "utf8")).not.toBe(oldFile);
    expect(readFileSync(join(s.dir, "master.key.previous"), "utf8")).toBe(oldFile);
    expect(existsSync(join(s.dir, "master.key.next"))).toBe(false);
    assertAllOpen(s, started.keyring);
    // kept through the start that finished the swap; dropped by the one after
    openVault({ db: s.store.db, dataDir: s.dir, env: {} });
    expect(existsSync(join(s.dir, "master.key.previous"))).toBe(false);
    s.store.close();
  });

  it("an interruption before the commit keeps the old key; a stale master.key.next is removed at start", () => {
    const oldFile = readFileSync(join(s.dir, "master.key"), "utf8");
    writeFileSync(join(s.dir, "master.key.next"), `${b64(randomBytes(32))}\n`, { mode: 0o600 });
    const started = openVault({ db: s.store.db, dataDir: s.dir, env: {} });
    expect(started.notes.join("\n")).toMatch(/removed master\.key\.next left by a key rotation that did not commit/);
    expect(readFileSync(join(s.dir, "master.key"), "utf8")).toBe(oldFile);
    assertAllOpen(s, started.keyring);
    s.store.close();
  });

  it("a value that does not open rolls the whole rotation back, naming it; the old key still opens everything", () => {
    const old = s.ctx.keyring;
    const row = s.store.db.select().from(secrets).where(eq(secrets.name, "telegram-token")).get()!;
    const good = row.dataKeyEnc!;
    s.store.db
      .update(secrets)
      .set({ dataKeyEnc: flipByte(good, 6) })
      .where(eq(secrets.id, row.id))
      .run();
    const keyBefore = readFileSync(join(s.dir, "master.key"), "utf8");
    expect(() => rotateMasterKey({ db: s.store.db, dataDir: s.dir, env: {} })).toThrow(
      /the data key of secret telegram-token cannot be unwrapped.*nothing was changed/,
    );
    expect(readFileSync(join(s.dir, "master.key"), "utf8")).toBe(keyBefore);
    expect(existsSync(join(s.dir, "master.key.next"))).toBe(false);
    s.store.db.update(secrets).set({ dataKeyEnc: good }).where(eq(secrets.id, row.id)).run();
    assertAllOpen(s, old);
    s.store.close();
  });

  it("with MOLTHUB_MASTER_KEY the new key comes from the caller; afterwards only it opens the store", async () => {
    const k1 = randomBytes(32);
    const e = await seed({ MOLTHUB_MASTER_KEY: b64(k1) });
    expect(existsSync(join(e.dir, "master.key"))).toBe(false);
    expect(() => rotateMasterKey({ db: e.store.db, dataDir: e.dir, env: { MOLTHUB_MASTER_KEY: b64(k1) } })).toThrow(
      /give the new key on stdin/,
    );
    expect(() => rotateMasterKey({ db: e.store.db, dataDir: e.dir, env: { MOLTHUB_MASTER_KEY: b64(k1) }, newKey: k1 })).toThrow(
      /the new master key is the current one/,
    );
    const k2 = randomBytes(32);
    rotateMasterKey({ db: e.store.db, dataDir: e.dir, env: { MOLTHUB_MASTER_KEY: b64(k1) }, newKey: k2 });
    expect(existsSync(join(e.dir, "master.key"))).toBe(false);
    expect(() => openVault({ db: e.store.db, dataDir: e.dir, env: { MOLTHUB_MASTER_KEY: b64(k1) } })).toThrow(
      /refusing to start/,
    );
    assertAllOpen(e, openVault({ db: e.store.db, dataDir: e.dir, env: { MOLTHUB_MASTER_KEY: b64(k2) } }).keyring);
    e.store.close();
    s.store.close();
  });

  it("refuses while a server runs on the data dir", async () => {
    const proc = Bun.spawn(["bash", "-c", "exec -a molthub-serve sleep 30"], { stdout: "ignore", stderr: "ignore" });
    try {
      writeFileSync(join(s.dir, "molthub.pid"), `${proc.pid}\n`);
      // give exec a moment to replace the shell's command line
      for (let i = 0; i < 50 && !readFileSync(`/proc/${proc.pid}/cmdline`, "utf8").includes("serve"); i++) await Bun.sleep(20);
      expect(runningServerPid(s.dir)).toBe(proc.pid);
      expect(() => rotateMasterKey({ db: s.store.db, dataDir: s.dir, env: {} })).toThrow(
        new RegExp(`a Molthub server \\(pid ${proc.pid}\\) is running.*stop it first`),
      );
    } finally {
      proc.kill("SIGKILL");
      await proc.exited;
    }
    // a stale pid file is ignored
    expect(runningServerPid(s.dir)).toBeNull();
    s.store.close();
  });

  it("molthub vault rotate-key works offline from the command line and prints no key", async () => {
    s.store.close();
    const repo = resolve(import.meta.dirname, "../..");
    const keyBefore = readFileSync(join(s.dir, "master.key"), "utf8");
    const proc = Bun.spawn([join(repo, "node_modules/.bin/bun"), "src/main.ts", "vault", "rotate-key", "--data-dir", s.dir], {
      cwd: repo,
      env: { PATH: process.env.PATH ?? "/usr/bin:/bin", HOME: process.env.HOME ?? "/tmp" },
      stdin: "ignore",
      stdout: "pipe",
      stderr: "pipe",
      timeout: 30_000,
    });
    const [out, err, code] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text(), proc.exited]);
    expect(err).toBe("");
    expect(code).toBe(0);
    expect(out).toMatch(/master key rotated: [0-9a-f]{16} → [0-9a-f]{16}/);
    expect(out).toContain("Back up the new master.key");
    const keyAfter = readFileSync(join(s.dir, "master.key"), "utf8");
    expect(keyAfter).not.toBe(keyBefore);
    expect(out).not.toContain(keyAfter.trim());
    expect(out).not.toContain(keyBefore.trim());
    const store = openStore(join(s.dir, "molthub.db"));
    assertAllOpen({ ...s, store }, loadKeyring(s.dir, {}, { create: false }));
    store.close();
  });

  it("KeyError is what callers get for key problems", () => {
    expect(() => new Keyring(Buffer.alloc(16), "test")).toThrow(KeyError);
    s.store.close();
  });
});

describe("secrets API and page: write-only, used-by, delete refused while used", () => {
  it("shows metadata and users, never values; deleting a used secret names its users", async () => {
    const t = makeTestApp();
    const { cookie } = await t.setupOwner();
    const VALUE = `val-${randomUUID()}`;
    const put = await t.req("/api/v1/secrets/openai-key", {
      method: "PUT",
      cookie,
      json: { value: VALUE, description: "OpenAI for the helpdesk" },
    });
    expect(put.status).toBe(200);
    const putText = await put.text();
    expect(putText).not.toContain(VALUE);
    expect(JSON.parse(putText)).toMatchObject({
      name: "openai-key",
      version: 1,
      description: "OpenAI for the helpdesk",
      updatedBy: "owner@example.com",
      usedBy: { bots: [], connectors: [] },
    });
    const applied = await t.req("/api/v1/bots/apply", {
      method: "POST",
      cookie,
      json: {
        apiVersion: "molthub/v1",
        kind: "Bot",
        metadata: { name: "helpdesk" },
        spec: { target: { provider: "local", version: "2026.9.6" }, secrets: { OPENAI_API_KEY: { secret: "openai-key" } } },
      },
    });
    expect(applied.status).toBe(200);
    const ws = (await (await t.req("/api/v1/me", { cookie })).json()) as { workspaceId?: string; workspace?: { id: string } };
    const wsId = ws.workspaceId ?? ws.workspace?.id ?? t.store.db.select().from(secrets).get()!.workspaceId;
    t.store.sqlite
      .query(
        "INSERT INTO connectors (id, workspace_id, name, type, secret_name, settings, created_at, updated_at) VALUES (?, ?, 'openai', 'openai', 'openai-key', '{}', 1, 1)",
      )
      .run(randomUUID(), wsId);

    const one = await (await t.req("/api/v1/secrets/openai-key", { cookie })).json();
    expect(one).toMatchObject({ usedBy: { bots: ["helpdesk"], connectors: ["openai"] } });
    const del = await t.req("/api/v1/secrets/openai-key", { method: "DELETE", cookie });
    expect(del.status).toBe(409);
    const delBody = (await del.json()) as { error: { message: string; details: { path: string }[] } };
    expect(delBody.error.message).toMatch(/in use by bot helpdesk and connector openai/);
    expect(delBody.error.details.map((d) => d.path)).toEqual(["bots.helpdesk", "connectors.openai"]);

    const page = await (await t.req("/secrets", { cookie, headers: { accept: "text/html" } })).text();
    expect(page).toContain("<code>openai-key</code>");
    expect(page).toContain("OpenAI for the helpdesk");
    expect(page).toContain('<a href="/bots/helpdesk">helpdesk</a>');
    expect(page).toContain("connector openai");
    expect(page).toContain("in use");
    expect(page).not.toContain('action="/secrets/openai-key/delete"');
    expect(page).toMatch(/<form method="post" action="\/secrets" class="stack" autocomplete="off">/);
    expect(page).toMatch(
      /<input id="f-value" name="value" type="password" required="" aria-describedby="f-value-hint" maxlength="65536" autocomplete="off"\/>/,
    );
    expect(page).not.toContain(VALUE);
    // the form POST refuses too, with the reason on the page
    const form = await t.req("/secrets/openai-key/delete", {
      method: "POST",
      cookie,
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body: "",
    });
    expect(form.status).toBe(409);
    expect(await form.text()).toContain("is in use by bot helpdesk and connector openai");
    expect((await t.req("/api/v1/secrets/nope", { cookie })).status).toBe(404);
    expect(getSecret).toBeTypeOf("function");
    expect(deleteSecret).toBeTypeOf("function");
  });
});
