import { Database } from "bun:sqlite";
import { createHash } from "node:crypto";
import { existsSync } from "node:fs";
import { type BunSQLiteDatabase, drizzle } from "drizzle-orm/bun-sqlite";
import { embeddedMigrations } from "./migrations.gen.ts";
import * as schema from "./schema.ts";

export type Db = BunSQLiteDatabase<typeof schema>;
/** A drizzle handle inside or outside a transaction; services accept either. */
export type Tx = Parameters<Parameters<Db["transaction"]>[0]>[0] | Db;

export interface Store {
  db: Db;
  sqlite: Database;
  path: string;
  close(): void;
}

export interface MigrationStatus {
  tag: string;
  applied: boolean;
  appliedAt?: number;
}

const MIGRATIONS_TABLE = `CREATE TABLE IF NOT EXISTS schema_migrations (
  tag TEXT PRIMARY KEY, hash TEXT NOT NULL, applied_at INTEGER NOT NULL)`;

/**
 * Opens the SQLite store with the pragmas the appliance relies on: WAL so readers never block the
 * writer, a busy timeout so concurrent writers wait instead of failing, and enforced foreign keys.
 *
 * @example const store = openStore(":memory:"); migrate(store);
 */
export function openStore(path: string, opts: { readonly?: boolean } = {}): Store {
  const sqlite = new Database(path, opts.readonly ? { readonly: true } : { create: true, readwrite: true });
  sqlite.exec("PRAGMA busy_timeout = 5000");
  if (!opts.readonly) {
    sqlite.exec("PRAGMA journal_mode = WAL");
    sqlite.exec("PRAGMA synchronous = NORMAL");
  }
  sqlite.exec("PRAGMA foreign_keys = ON");
  const db = drizzle(sqlite, { schema });
  return { db, sqlite, path, close: () => sqlite.close() };
}

function sha256(s: string): string {
  return createHash("sha256").update(s).digest("hex");
}

export function migrationStatus(store: Store): MigrationStatus[] {
  store.sqlite.exec(MIGRATIONS_TABLE);
  const rows = store.sqlite.query("SELECT tag, applied_at FROM schema_migrations").all() as { tag: string; applied_at: number }[];
  const applied = new Map(rows.map((r) => [r.tag, r.applied_at]));
  return embeddedMigrations.map((m) => ({ tag: m.tag, applied: applied.has(m.tag), appliedAt: applied.get(m.tag) }));
}

/**
 * Applies pending embedded migrations.
 * 1. Find pending migrations; none → nothing is written.
 * 2. If the store already holds data, copy it first with VACUUM INTO (a consistent snapshot even in WAL mode).
 * 3. Apply every pending migration in one transaction: a failure leaves the schema exactly as it was.
 */
export function migrate(store: Store, opts: { now?: () => number } = {}): { applied: string[]; backup?: string } {
  const now = opts.now ?? Date.now;
  const pending = migrationStatus(store)
    .filter((m) => !m.applied)
    .map((m) => m.tag);
  if (pending.length === 0) return { applied: [] };

  let backup: string | undefined;
  const hasData = (store.sqlite.query("SELECT count(*) AS n FROM schema_migrations").get() as { n: number }).n > 0;
  if (hasData && store.path !== ":memory:") {
    backup = `${store.path}.pre-${pending[0]}-${now()}.bak`;
    if (existsSync(backup)) throw new Error(`backup file ${backup} already exists; move it away and start again`);
    store.sqlite.query("VACUUM INTO ?").run(backup);
  }

  const byTag = new Map(embeddedMigrations.map((m) => [m.tag, m]));
  store.sqlite.transaction(() => {
    for (const tag of pending) {
      const m = byTag.get(tag)!;
      for (const stmt of m.sql.split("--> statement-breakpoint")) {
        if (stmt.trim()) store.sqlite.exec(stmt);
      }
      store.sqlite.query("INSERT INTO schema_migrations (tag, hash, applied_at) VALUES (?, ?, ?)").run(tag, sha256(m.sql), now());
    }
  })();
  return { applied: pending, backup };
}

/** True when the error is SQLite telling us another writer holds the lock. */
export function isBusyError(err: unknown): boolean {
  const code = (err as { code?: string })?.code ?? "";
  return code === "SQLITE_BUSY" || code === "SQLITE_LOCKED" || /database is locked/i.test(String((err as Error)?.message));
}
