import { Database } from "bun:sqlite";
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, afterEach, describe, expect, it } from "vitest";
import { migrate, migrationStatus, openStore, type Store } from "../../src/db/client.ts";
import { embeddedMigrations } from "../../src/db/migrations.gen.ts";

const root = mkdtempSync(join(tmpdir(), "molthub-migrate-"));
const open: Store[] = [];
let n = 0;

/** A store in its own fresh directory, so backups are easy to find. */
function freshStore(): { store: Store; dir: string } {
  const dir = join(root, `s${n++}`);
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir);
  const store = openStore(join(dir, "molthub.db"));
  open.push(store);
  return { store, dir };
}

const realTags = embeddedMigrations.map((m) => m.tag);

/** Adds fake migrations for one test; they are always removed again afterwards. */
const fakes: { tag: string; when: number; sql: string }[] = [];
function addFake(tag: string, sql: string) {
  const m = { tag, when: Date.now(), sql };
  fakes.push(m);
  embeddedMigrations.push(m);
}
afterEach(() => {
  for (const f of fakes.splice(0)) {
    const i = embeddedMigrations.indexOf(f);
    if (i >= 0) embeddedMigrations.splice(i, 1);
  }
  expect(embeddedMigrations.map((m) => m.tag)).toEqual(realTags);
});
afterAll(() => {
  for (const s of open) {
    try {
      s.close();
    } catch {
      // already closed
    }
  }
  rmSync(root, { recursive: true, force: true });
});

const tables = (db: Database) =>
  (db.query("SELECT name FROM sqlite_master WHERE type = 'table'").all() as { name: string }[]).map((r) => r.name);
const appliedTags = (db: Database) =>
  (db.query("SELECT tag FROM schema_migrations ORDER BY tag").all() as { tag: string }[]).map((r) => r.tag);
const backups = (dir: string) => readdirSync(dir).filter((f) => f.endsWith(".bak"));

/** Puts a little data in a migrated store so a backup has something to show. */
function seed(store: Store) {
  store.sqlite.query("INSERT INTO workspaces (id, slug, name, created_at) VALUES ('ws1', 'one', 'One', 1)").run();
}

describe("openStore", () => {
  it("turns on WAL, foreign keys and a busy timeout", () => {
    const { store } = freshStore();
    expect((store.sqlite.query("PRAGMA journal_mode").get() as { journal_mode: string }).journal_mode).toBe("wal");
    expect((store.sqlite.query("PRAGMA foreign_keys").get() as { foreign_keys: number }).foreign_keys).toBe(1);
    expect((store.sqlite.query("PRAGMA busy_timeout").get() as { timeout: number }).timeout).toBe(5000);
    expect((store.sqlite.query("PRAGMA synchronous").get() as { synchronous: number }).synchronous).toBe(1); // NORMAL
  });

  it("enforces foreign keys after migrating", () => {
    const { store } = freshStore();
    migrate(store);
    expect(() =>
      store.sqlite
        .query("INSERT INTO memberships (workspace_id, user_id, role, created_at) VALUES ('nope', 'nobody', 'owner', 1)")
        .run(),
    ).toThrow(/FOREIGN KEY/i);
  });
});

describe("migrate", () => {
  it("migrates a fresh store without taking a copy, and a second run does nothing", () => {
    const { store, dir } = freshStore();
    expect(migrationStatus(store).every((m) => !m.applied)).toBe(true);
    const r = migrate(store);
    expect(r.applied).toEqual(realTags);
    expect(r.backup).toBeUndefined();
    expect(backups(dir)).toEqual([]);
    expect(appliedTags(store.sqlite)).toEqual([...realTags].sort());
    expect(migrationStatus(store).every((m) => m.applied && typeof m.appliedAt === "number")).toBe(true);
    for (const t of ["users", "workspaces", "audit_log", "api_tokens"]) expect(tables(store.sqlite)).toContain(t);

    expect(migrate(store)).toEqual({ applied: [] });
    expect(backups(dir)).toEqual([]);
  });

  it("stores each migration's hash", () => {
    const { store } = freshStore();
    migrate(store);
    const rows = store.sqlite.query("SELECT tag, hash FROM schema_migrations").all() as { tag: string; hash: string }[];
    for (const m of embeddedMigrations) {
      expect(rows.find((r) => r.tag === m.tag)?.hash).toBe(createHash("sha256").update(m.sql).digest("hex"));
    }
  });

  it("an in-memory store never gets a copy", () => {
    const store = openStore(":memory:");
    open.push(store);
    migrate(store);
    addFake("9997_mem", "CREATE TABLE zz_mem(a INTEGER);");
    expect(migrate(store)).toEqual({ applied: ["9997_mem"], backup: undefined });
  });

  it("a pending migration on a store with data is applied after a VACUUM INTO copy", () => {
    const { store, dir } = freshStore();
    migrate(store);
    seed(store);
    addFake("9998_test", "CREATE TABLE zz_ok(a INTEGER);\n--> statement-breakpoint\nINSERT INTO zz_ok VALUES (42);");
    expect(
      migrationStatus(store)
        .filter((m) => !m.applied)
        .map((m) => m.tag),
    ).toEqual(["9998_test"]);

    const r = migrate(store, { now: () => 1234 });
    expect(r.applied).toEqual(["9998_test"]);
    expect(r.backup).toBe(join(dir, "molthub.db.pre-9998_test-1234.bak"));
    expect(existsSync(r.backup!)).toBe(true);
    expect(store.sqlite.query("SELECT a FROM zz_ok").get()).toEqual({ a: 42 });
    expect(appliedTags(store.sqlite)).toContain("9998_test");

    // the copy is the store as it was before: the data, the old migrations, not the new one
    const copy = new Database(r.backup!, { readonly: true });
    try {
      expect((copy.query("PRAGMA integrity_check").get() as { integrity_check: string }).integrity_check).toBe("ok");
      expect(copy.query("SELECT slug FROM workspaces").all()).toEqual([{ slug: "one" }]);
      expect(appliedTags(copy)).toEqual([...realTags].sort());
      expect(tables(copy)).not.toContain("zz_ok");
    } finally {
      copy.close();
    }
  });

  it("a failing migration leaves nothing applied, and the copy taken before it opens", () => {
    const { store, dir } = freshStore();
    migrate(store);
    seed(store);
    // the first fake is fine on its own: it must be rolled back together with the broken one
    addFake("9998_good", "CREATE TABLE zz_good(a INTEGER);");
    addFake("9999_test", "CREATE TABLE zz(a); SELECT nope FROM missing;");
    const schemaBefore = store.sqlite.query("SELECT type, name, sql FROM sqlite_master ORDER BY name").all();

    expect(() => migrate(store, { now: () => 5678 })).toThrow(/missing/);

    expect(appliedTags(store.sqlite)).toEqual([...realTags].sort());
    expect(tables(store.sqlite)).not.toContain("zz");
    expect(tables(store.sqlite)).not.toContain("zz_good");
    expect(store.sqlite.query("SELECT type, name, sql FROM sqlite_master ORDER BY name").all()).toEqual(schemaBefore);
    expect(store.sqlite.query("SELECT slug FROM workspaces").all()).toEqual([{ slug: "one" }]);
    expect(
      migrationStatus(store)
        .filter((m) => !m.applied)
        .map((m) => m.tag),
    ).toEqual(["9998_good", "9999_test"]);

    const backup = join(dir, "molthub.db.pre-9998_good-5678.bak");
    expect(backups(dir)).toEqual(["molthub.db.pre-9998_good-5678.bak"]);
    const copy = new Database(backup, { readonly: true });
    try {
      expect((copy.query("PRAGMA integrity_check").get() as { integrity_check: string }).integrity_check).toBe("ok");
      expect(copy.query("SELECT slug FROM workspaces").all()).toEqual([{ slug: "one" }]);
      expect(appliedTags(copy)).toEqual([...realTags].sort());
    } finally {
      copy.close();
    }

    // the store still works and migrates once the broken migration is gone
    fakes.splice(
      fakes.findIndex((f) => f.tag === "9999_test"),
      1,
    );
    embeddedMigrations.splice(
      embeddedMigrations.findIndex((m) => m.tag === "9999_test"),
      1,
    );
    const r = migrate(store, { now: () => 5679 });
    expect(r.applied).toEqual(["9998_good"]);
    expect(tables(store.sqlite)).toContain("zz_good");
  });

  it("refuses to overwrite an existing copy and applies nothing", () => {
    const { store, dir } = freshStore();
    migrate(store);
    addFake("9998_test", "CREATE TABLE zz_ok(a INTEGER);");
    writeFileSync(join(dir, "molthub.db.pre-9998_test-1.bak"), "precious");
    expect(() => migrate(store, { now: () => 1 })).toThrow(/already exists/);
    expect(tables(store.sqlite)).not.toContain("zz_ok");
    expect(appliedTags(store.sqlite)).not.toContain("9998_test");
  });

  it("a store reopened from disk keeps its migrations", () => {
    const { store, dir } = freshStore();
    migrate(store);
    seed(store);
    store.close();
    const again = openStore(join(dir, "molthub.db"));
    open.push(again);
    expect(migrationStatus(again).every((m) => m.applied)).toBe(true);
    expect(migrate(again)).toEqual({ applied: [] });
    expect(backups(dir)).toEqual([]);
  });
});
