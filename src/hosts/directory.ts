/**
 * DbHostAccess: the registered hosts (the `hosts` table) as the remote providers see them, over ONE shared pool.
 *
 * - `get(ws, name)` refuses unknown hosts, hosts whose key is not confirmed, and hosts whose key changed, each with
 *   what to do; otherwise it (re)configures the pool entry (pool id = host row id, pinned fingerprint, decrypted
 *   key) only when something changed, so live connections are kept.
 * - The pool it uses is a HostPool: every call's outcome is reported back here. A changed host key is recorded once
 *   per distinct new key (status key_mismatch, seenFingerprint, an error "alert" event with old and new
 *   fingerprints, an audit entry); unreachable / auth_failed likewise once per change of cause; success sets `ok`
 *   and lastSeenAt (written at most once a minute).
 */
import { and, eq } from "drizzle-orm";
import type { ClientChannel } from "ssh2";
import { recordAudit } from "../core/audit.ts";
import { systemActor } from "../core/context.ts";
import { ServiceError } from "../core/errors.ts";
import type { EventBus } from "../core/events.ts";
import type { Db } from "../db/client.ts";
import { hostEvents, hosts } from "../db/schema.ts";
import type { Logger } from "../log.ts";
import { silentLogger } from "../log.ts";
import type { Keyring } from "../secrets/keyring.ts";
import { HostKeyMismatchError, HostKeyNotPinnedError } from "../ssh/hostkey.ts";
import {
  type ExecOptions,
  type ExecResult,
  type ExecStreamOptions,
  type ForwardTarget,
  type SftpOptions,
  SshError,
  type SshHostConfig,
  SshPool,
  type SshPoolOptions,
} from "../ssh/pool.ts";
import type { DoctorReport } from "./doctor.ts";
import { platformOf } from "./doctor.ts";
import type { HostAccess, HostInfo } from "./host-access.ts";

export type HostRow = typeof hosts.$inferSelect;

/** The keyring purpose of hosts' private keys; the row id is the AAD. */
export const HOST_KEY_PURPOSE = "host-ssh-key";

export type Outcome = { ok: true } | { ok: false; error: unknown };

/** An SshPool that reports every call's outcome (per pool id) to an observer. */
export class HostPool extends SshPool {
  observer?: (id: string, outcome: Outcome) => void;

  constructor(opts: SshPoolOptions & { onHostKeyRefused?: (id: string, fingerprint: string) => void } = {}) {
    const log = opts.log;
    super({
      ...opts,
      log: (event, fields) => {
        log?.(event, fields);
        if (event === "ssh.hostkey_refused" && fields.reason === "mismatch")
          opts.onHostKeyRefused?.(String(fields.host), String(fields.fingerprint));
      },
    });
  }

  private report(id: string, outcome: Outcome): void {
    try {
      this.observer?.(id, outcome);
    } catch {
      // recording must never break the call
    }
  }

  /** The outcome of one call, reported. */
  private async reported<T>(id: string, call: Promise<T>): Promise<T> {
    try {
      const r = await call;
      this.report(id, { ok: true });
      return r;
    } catch (e) {
      this.report(id, { ok: false, error: e });
      throw e;
    }
  }

  override exec(id: string, argv: readonly string[], opts: ExecOptions = {}): Promise<ExecResult> {
    return this.reported(id, super.exec(id, argv, opts));
  }

  override async *execStream(
    id: string,
    argv: readonly string[],
    opts: ExecStreamOptions = {},
  ): AsyncGenerator<string, void, undefined> {
    let first = true;
    try {
      for await (const line of super.execStream(id, argv, opts)) {
        if (first) this.report(id, { ok: true });
        first = false;
        yield line;
      }
    } catch (e) {
      this.report(id, { ok: false, error: e });
      throw e;
    }
  }

  override sftpWrite(id: string, path: string, data: string | Buffer, mode = 0o600, opts: SftpOptions = {}): Promise<void> {
    return this.reported(id, super.sftpWrite(id, path, data, mode, opts));
  }

  override sftpRead(id: string, path: string, opts: SftpOptions = {}): Promise<Buffer> {
    return this.reported(id, super.sftpRead(id, path, opts));
  }

  /**
   * Each channel of a forward too: a remote bot's health checks reach its gateway only through a forward, so a host
   * that went down is recorded as unreachable (and the bot names it) instead of only "connect was cancelled".
   */
  protected override openForwardChannel(
    id: string,
    target: ForwardTarget,
    what: string,
    timeoutMs: number,
  ): Promise<ClientChannel> {
    return this.reported(id, super.openForwardChannel(id, target, what, timeoutMs));
  }
}

export interface DbHostAccessOptions {
  db: Db;
  keyring: Keyring;
  pool?: HostPool;
  logger?: Logger;
  events?: EventBus;
  now?: () => number;
  /** default per-command timeout of a pool this creates */
  defaultTimeoutMs?: number;
}

/** Facts kept from the last doctor run (or asked once). */
interface Facts {
  home: string;
  platform: string;
  uid: number | null;
}

/** A SHA256 fingerprint for messages: full, it is what the user compares. */
function untrustedMessage(name: string, seen?: string | null): string {
  return `host ${name}'s key is not confirmed yet${seen ? ` (it presents ${seen})` : ""}: confirm the fingerprint first: molthub host trust ${name} --fingerprint SHA256:…`;
}

export function mismatchMessage(name: string, pinned: string, seen: string | null): string {
  return (
    `host ${name}'s key changed: pinned ${pinned}, it now presents ${seen ?? "another key"}; connections are refused before authentication. ` +
    `If the change is expected, verify the new fingerprint on the host (ssh-keygen -lf /etc/ssh/ssh_host_ed25519_key.pub) and re-trust: molthub host trust ${name} --fingerprint ${seen ?? "SHA256:…"}`
  );
}

export class DbHostAccess implements HostAccess {
  readonly pool: HostPool;
  private readonly db: Db;
  private readonly keyring: Keyring;
  private readonly logger: Logger;
  private readonly events?: EventBus;
  private readonly now: () => number;
  /** pool id → signature of the config given to the pool (re-setting drops the connection) */
  private readonly configured = new Map<string, string>();
  private readonly facts = new Map<string, Facts>();
  /** pool id → last time lastSeenAt was written */
  private readonly seenWritten = new Map<string, number>();

  constructor(opts: DbHostAccessOptions) {
    this.db = opts.db;
    this.keyring = opts.keyring;
    this.logger = opts.logger ?? silentLogger;
    this.events = opts.events;
    this.now = opts.now ?? Date.now;
    this.pool =
      opts.pool ??
      new HostPool({
        defaultTimeoutMs: opts.defaultTimeoutMs ?? 60_000,
        onHostKeyRefused: (id, fp) => this.onKeyRefused(id, fp),
      });
    this.pool.observer = (id, outcome) => this.observe(id, outcome);
  }

  /** Create a HostPool wired to a DbHostAccess (what serve.ts does). */
  static create(opts: Omit<DbHostAccessOptions, "pool">): DbHostAccess {
    let access: DbHostAccess | undefined;
    const pool = new HostPool({
      defaultTimeoutMs: opts.defaultTimeoutMs ?? 60_000,
      onHostKeyRefused: (id, fp) => access?.onKeyRefused(id, fp),
    });
    access = new DbHostAccess({ ...opts, pool });
    return access;
  }

  close(): void {
    this.pool.close();
  }

  row(id: string): HostRow | undefined {
    return this.db.select().from(hosts).where(eq(hosts.id, id)).get();
  }

  private rowNamed(ws: string, name: string): HostRow | undefined {
    return this.db
      .select()
      .from(hosts)
      .where(and(eq(hosts.workspaceId, ws), eq(hosts.name, name)))
      .get();
  }

  findRow(ws: string, name: string): HostRow {
    const r = this.rowNamed(ws, name);
    if (!r)
      throw new ServiceError(
        "not_found",
        `no host named ${name} in this workspace; add it first: molthub host add ${name} --address ADDRESS --user USER`,
      );
    return r;
  }

  /** The pool config for a row: its pinned fingerprint (or probe mode when none). */
  private sshConfig(row: HostRow): SshHostConfig {
    const privateKey = this.keyring.open(HOST_KEY_PURPOSE, row.privateKeyEnc, row.id);
    return {
      host: row.address,
      port: row.port,
      username: row.username,
      privateKey,
      hostKey: row.fingerprint ? { mode: "pinned", fingerprint: row.fingerprint } : { mode: "probe" },
      readyTimeoutMs: 10_000,
    };
  }

  /** Make sure the pool has this row's current address, user, key and pin (without dropping a good connection). */
  configure(row: HostRow): void {
    const sig = JSON.stringify([row.address, row.port, row.username, row.fingerprint, row.privateKeyEnc]);
    if (this.configured.get(row.id) === sig) return;
    this.pool.setHost(row.id, this.sshConfig(row));
    this.configured.set(row.id, sig);
  }

  /** Forget a host (deleted): drop its connection and cached facts. */
  forget(id: string): void {
    this.pool.removeHost(id);
    this.configured.delete(id);
    this.facts.delete(id);
    this.seenWritten.delete(id);
  }

  /** Cache facts from a doctor run. */
  rememberFacts(id: string, report: DoctorReport): void {
    const f = report.facts;
    if (f?.home && f.platform) this.facts.set(id, { home: f.home, platform: f.platform, uid: f.uid });
  }

  /** Throws when a host must not be used: key not confirmed, or key changed. */
  assertUsable(row: HostRow): void {
    if (!row.fingerprint) throw new ServiceError("conflict", untrustedMessage(row.name, row.seenFingerprint));
    if (row.status === "key_mismatch")
      throw new ServiceError("conflict", mismatchMessage(row.name, row.fingerprint, row.seenFingerprint));
  }

  async get(workspaceId: string, hostName: string): Promise<HostInfo> {
    const row = this.findRow(workspaceId, hostName);
    this.assertUsable(row);
    this.configure(row);
    let facts = this.facts.get(row.id) ?? factsFromDoctor(row);
    if (!facts) {
      const r = await this.pool.exec(
        row.id,
        ["sh", "-c", 'printf "%s\\n%s\\n%s\\n%s\\n" "$(id -u)" "$HOME" "$(uname -s)" "$(uname -m)"'],
        { timeoutMs: 20_000 },
      );
      const [uid = "", home = "", kernel = "", machine = ""] = r.stdout.split("\n").map((s) => s.trim());
      const platform = platformOf(kernel, machine);
      if (r.code !== 0 || !home.startsWith("/") || !platform) {
        throw new ServiceError(
          "conflict",
          `host ${hostName} did not report its home directory and platform (got ${JSON.stringify(r.stdout.slice(0, 120))}); run the doctor: molthub host doctor ${hostName}`,
        );
      }
      facts = { home, platform, uid: /^\d+$/.test(uid) ? Number(uid) : null };
    }
    this.facts.set(row.id, facts);
    // the pool only records status / last seen on the row, which HostInfo does not carry: no re-read
    return hostInfo(row, facts);
  }

  /**
   * The last known info of a host, synchronously and without the network: one indexed read of the host row, the
   * facts cached by get()/rememberFacts() or else those of its last doctor run. undefined when the host is unknown
   * or its home/platform were never learned (then layout() asks get() in the background and retries).
   * Only paths are derived from it: trust and key checks stay with get(), which every remote call goes through.
   */
  lookup(workspaceId: string, hostName: string): HostInfo | undefined {
    let row: HostRow | undefined;
    try {
      row = this.rowNamed(workspaceId, hostName);
    } catch (e) {
      this.logger.debug("host lookup failed", { host: hostName, err: (e as Error).message });
      return undefined;
    }
    if (!row) return undefined;
    const facts = this.facts.get(row.id) ?? factsFromDoctor(row);
    if (!facts) return undefined;
    return hostInfo(row, facts);
  }

  // ---------- recording outcomes ----------

  private publish(row: HostRow, data: Record<string, unknown>): void {
    this.events?.publish({ workspaceId: row.workspaceId, type: "host", data: { name: row.name, ...data } });
  }

  /** The pool refused a changed key (called from the pool's log hook, for every path incl. forwards). */
  onKeyRefused(id: string, fingerprint: string): void {
    const row = this.row(id);
    if (!row?.fingerprint) return;
    this.recordMismatch(row, row.fingerprint, fingerprint);
  }

  /** Record a key mismatch once per distinct new key. */
  recordMismatch(row: HostRow, expected: string, actual: string): void {
    if (row.status === "key_mismatch" && row.seenFingerprint === actual) return;
    try {
      this.db.transaction(
        (tx) => {
          const fresh = tx.select().from(hosts).where(eq(hosts.id, row.id)).get();
          if (!fresh || (fresh.status === "key_mismatch" && fresh.seenFingerprint === actual)) return;
          const now = this.now();
          const reason = mismatchMessage(row.name, expected, actual);
          tx.update(hosts)
            .set({ status: "key_mismatch", seenFingerprint: actual, statusReason: reason, updatedAt: now })
            .where(eq(hosts.id, row.id))
            .run();
          tx.insert(hostEvents)
            .values({
              hostId: row.id,
              ts: now,
              level: "error",
              type: "alert",
              message: `host key changed: pinned ${expected}, presented ${actual}; refused before authentication`,
              data: JSON.stringify({ kind: "key_mismatch", old: expected, new: actual }),
            })
            .run();
          recordAudit(
            tx,
            { actor: { ...systemActor, workspaceId: row.workspaceId }, now: this.now },
            {
              action: "host.key_mismatch",
              resourceType: "host",
              resourceId: row.id,
              workspaceId: row.workspaceId,
              summary: { name: row.name, old: expected, new: actual },
            },
          );
        },
        { behavior: "immediate" },
      );
      this.logger.warn("host key mismatch", { host: row.name, pinned: expected, presented: actual });
      this.publish(row, { status: "key_mismatch" });
    } catch (e) {
      this.logger.error("could not record a host key mismatch", { host: row.name, err: (e as Error).message });
    }
  }

  /** Set a connection status with its cause; an event when the status or cause changes. */
  recordStatus(row: HostRow, status: "unreachable" | "auth_failed", reason: string): void {
    if (row.status === status && row.statusReason === reason) return;
    if (row.status === "key_mismatch" || !row.fingerprint) return; // those states are left only by a (re-)trust
    try {
      const now = this.now();
      this.db.transaction(
        (tx) => {
          tx.update(hosts).set({ status, statusReason: reason, updatedAt: now }).where(eq(hosts.id, row.id)).run();
          tx.insert(hostEvents).values({ hostId: row.id, ts: now, level: "error", type: status, message: reason }).run();
        },
        { behavior: "immediate" },
      );
      this.publish(row, { status });
    } catch (e) {
      this.logger.warn("could not record a host status", { host: row.name, err: (e as Error).message });
    }
  }

  recordOk(row: HostRow): void {
    const now = this.now();
    const wasBad = row.status === "unreachable" || row.status === "auth_failed";
    if (!wasBad && now - (this.seenWritten.get(row.id) ?? 0) < 60_000) return;
    if (row.status === "key_mismatch" || !row.fingerprint) return;
    try {
      this.db.transaction(
        (tx) => {
          const set: Partial<HostRow> = { lastSeenAt: now };
          if (wasBad) {
            set.status = "ok";
            set.statusReason = "reachable again";
            set.updatedAt = now;
            tx.insert(hostEvents)
              .values({
                hostId: row.id,
                ts: now,
                level: "info",
                type: "reachable",
                message: `reachable again (was ${row.status}: ${row.statusReason})`,
              })
              .run();
          }
          tx.update(hosts).set(set).where(eq(hosts.id, row.id)).run();
        },
        { behavior: "immediate" },
      );
      this.seenWritten.set(row.id, now);
      if (wasBad) this.publish(row, { status: "ok" });
    } catch (e) {
      this.logger.debug("could not record last seen", { host: row.name, err: (e as Error).message });
    }
  }

  /** Every pool call's outcome. */
  observe(id: string, outcome: Outcome): void {
    const row = this.row(id);
    if (!row) return;
    if (outcome.ok) {
      this.recordOk(row);
      return;
    }
    const e = outcome.error;
    if (e instanceof HostKeyMismatchError) this.recordMismatch(row, e.expected, e.actual);
    else if (e instanceof HostKeyNotPinnedError) return;
    else if (e instanceof SshError) {
      if (e.code === "auth_failed") this.recordStatus(row, "auth_failed", e.message);
      else if (e.code === "unreachable" || (e.code === "timeout" && !this.pool.stats(id).connected))
        this.recordStatus(row, "unreachable", e.message);
    }
  }
}

function hostInfo(row: HostRow, facts: Facts): HostInfo {
  return {
    poolId: row.id,
    name: row.name,
    address: row.address,
    port: row.port,
    username: row.username,
    isRoot: facts.uid !== null ? facts.uid === 0 : row.username === "root",
    os: row.os,
    init: row.init,
    home: facts.home,
    platform: facts.platform,
  };
}

function factsFromDoctor(row: HostRow): Facts | undefined {
  try {
    const d = JSON.parse(row.doctor) as Partial<DoctorReport>;
    const f = d.facts;
    if (f?.home && f.platform) return { home: f.home, platform: f.platform, uid: f.uid ?? null };
  } catch {
    // no usable doctor run
  }
  return undefined;
}

// ---------- one access per store (API handlers and serve.ts share it) ----------

const registry = new WeakMap<object, DbHostAccess>();

/** Register the DbHostAccess serve.ts created for a store. */
export function registerHostAccess(store: object, access: DbHostAccess): void {
  registry.set(store, access);
}

/** The DbHostAccess of a store; created on first use when none was registered (tests, CLI-less setups). */
export function hostAccessFor(deps: {
  store: { db: Db };
  keyring: Keyring;
  logger?: Logger;
  events?: EventBus;
  now?: () => number;
}): DbHostAccess {
  let a = registry.get(deps.store);
  if (!a) {
    a = DbHostAccess.create({
      db: deps.store.db,
      keyring: deps.keyring,
      logger: deps.logger,
      events: deps.events,
      now: deps.now,
    });
    registry.set(deps.store, a);
  }
  return a;
}
