/**
 * Hosts: SSH targets for the systemd and launchd providers.
 *
 * add (appliance-generated ed25519 key, or an uploaded private key; stored encrypted, never returned) → probe (read
 * the host key without authenticating) → trust (the user confirms the SHA256 fingerprint they compared on the host;
 * it must equal what the host presents now; pinned and audited) → doctor / install → list/get/delete/events.
 *
 * Roles: viewer reads; operator probes, runs the doctor and installs OpenClaw; admin adds, trusts and deletes.
 * Network calls happen outside transactions; their results are written in one transaction with the audit entry.
 */
import { randomUUID } from "node:crypto";
import { and, desc, eq, gt, sql } from "drizzle-orm";
import * as z from "zod";
import { recordAudit } from "../core/audit.ts";
import { authorize, type ServiceContext } from "../core/context.ts";
import { ServiceError } from "../core/errors.ts";
import { bots, hostEvents, hosts } from "../db/schema.ts";
import { NAME_RE } from "../domain/manifest.ts";
import { type DbHostAccess, HOST_KEY_PURPOSE, type HostRow, mismatchMessage } from "../hosts/directory.ts";
import {
  type DoctorReport,
  type Finding,
  InstallError,
  type InstallResult,
  installOpenClaw as installOnHost,
  OPENCLAW_VERSION_RE,
  runDoctor,
} from "../hosts/doctor.ts";
import { registerSecret } from "../secrets/redact.ts";
import { normalizeFingerprint } from "../ssh/hostkey.ts";
import { generateEd25519KeyPair, publicKeyLineOf } from "../ssh/keys.ts";
import { probeHostKey } from "../ssh/pool.ts";

export interface HostView {
  id: string;
  name: string;
  address: string;
  port: number;
  username: string;
  authKind: "generated" | "uploaded";
  /** the authorized_keys line of the appliance's key for this host */
  publicKey: string;
  /** pinned SHA256 fingerprint, null until confirmed */
  fingerprint: string | null;
  /** what the host presented last (awaiting confirmation, or the new key of a mismatch) */
  seenFingerprint: string | null;
  status: HostRow["status"];
  statusReason: string;
  os: string | null;
  init: string | null;
  doctor: DoctorReport | null;
  lastSeenAt: number | null;
  createdAt: number;
  updatedAt: number;
  bots: number;
}

function hostView(r: HostRow, botCount = 0): HostView {
  let doctor: DoctorReport | null = null;
  try {
    const d = JSON.parse(r.doctor) as DoctorReport;
    if (d && Array.isArray(d.findings)) doctor = d;
  } catch {
    // never ran
  }
  return {
    id: r.id,
    name: r.name,
    address: r.address,
    port: r.port,
    username: r.username,
    authKind: r.authKind,
    publicKey: r.publicKey,
    fingerprint: r.fingerprint,
    seenFingerprint: r.seenFingerprint,
    status: r.status,
    statusReason: r.statusReason,
    os: r.os,
    init: r.init,
    doctor,
    lastSeenAt: r.lastSeenAt,
    createdAt: r.createdAt,
    updatedAt: r.updatedAt,
    bots: botCount,
  };
}

// ---------- input ----------

/** A DNS name, IPv4 or IPv6 address: no spaces, no leading dash (ssh would read an option), no shell characters. */
const ADDRESS_RE = /^(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,62})(?:\.[A-Za-z0-9-]{1,63})*\.?|\[?[0-9A-Fa-f:.]+(?:%[A-Za-z0-9]+)?\]?)$/;
const USER_RE = /^[A-Za-z_][A-Za-z0-9_.-]{0,31}$/;

const AddHostInput = z.strictObject({
  name: z
    .string()
    .regex(NAME_RE, "lowercase letters, digits and dashes, 1–63 characters, starting and ending with a letter or digit")
    .refine((n) => n !== "local", '"local" is reserved for this machine; pick another name'),
  address: z
    .string()
    .min(1, "give the host's DNS name or IP address")
    .max(253)
    .regex(ADDRESS_RE, "a DNS name or an IP address (no spaces, no leading dash)"),
  port: z.coerce.number().int("a whole number").min(1, "between 1 and 65535").max(65535, "between 1 and 65535").optional(),
  username: z
    .string()
    .min(1, "give the user to log in as")
    .regex(USER_RE, "a user name: letters, digits, _ . -, not starting with - (at most 32)"),
  /** an OpenSSH/PEM private key; absent: the appliance generates an ed25519 key */
  privateKey: z.string().max(16_384, "a private key is at most 16 KiB").optional(),
});

function invalid(issues: z.core.$ZodIssue[], what: string): ServiceError {
  const details: { path: string; message: string }[] = [];
  for (const i of issues) {
    const path = i.path.map(String).join(".") || "(body)";
    if (!details.some((d) => d.path === path)) details.push({ path, message: i.message });
  }
  return new ServiceError("invalid_request", `${what}: ${details.map((d) => `${d.path}: ${d.message}`).join("; ")}`, details);
}

function stripAddress(a: string): string {
  return a.startsWith("[") && a.endsWith("]") ? a.slice(1, -1) : a;
}

function botsOn(db: ServiceContext["db"], ws: string, name: string): { name: string; provider: string; status: string }[] {
  return db
    .select({ name: bots.name, provider: bots.provider, status: bots.status })
    .from(bots)
    .where(and(eq(bots.workspaceId, ws), eq(bots.host, name)))
    .orderBy(bots.name)
    .all();
}

function findHost(db: ServiceContext["db"], ws: string, name: string): HostRow {
  const r = db
    .select()
    .from(hosts)
    .where(and(eq(hosts.workspaceId, ws), eq(hosts.name, name)))
    .get();
  if (!r) throw new ServiceError("not_found", `no host named ${name}; list them with molthub host get`);
  return r;
}

/** The host as it is stored now (after a call the pool may have recorded a status for), with its bot count. */
function viewNow(db: ServiceContext["db"], ws: string, name: string): HostView {
  return hostView(findHost(db, ws, name), botsOn(db, ws, name).length);
}

// ---------- verbs ----------

export interface AddHostResult {
  host: HostView;
  /** the line to add to ~/.ssh/authorized_keys on the host */
  publicKey: string;
}

/** Registers a host (status untrusted). Probe it next to get the fingerprint to confirm. */
export function addHost(ctx: ServiceContext, input: unknown): AddHostResult {
  const ws = authorize(ctx, "admin");
  const p = AddHostInput.safeParse(input);
  if (!p.success) throw invalid(p.error.issues, "the host was not added");
  const d = p.data;
  const id = randomUUID();
  let privateKey: string;
  let publicKey: string;
  let authKind: "generated" | "uploaded";
  if (d.privateKey?.trim()) {
    privateKey = `${d.privateKey.trim()}\n`;
    registerSecret(privateKey.trim());
    try {
      publicKeyLineOf(privateKey, `molthub@${d.name}`);
    } catch (e) {
      const encrypted = /encrypt|passphrase|bad decrypt/i.test((e as Error).message);
      throw new ServiceError(
        "invalid_request",
        encrypted
          ? "the private key is protected by a passphrase; upload an unencrypted key (ssh-keygen -p -N '' -f KEY on a copy), or let Molthub generate one"
          : "the private key could not be read; upload an OpenSSH or PEM private key (the file that starts with -----BEGIN), or let Molthub generate one",
        [{ path: "privateKey", message: encrypted ? "protected by a passphrase" : "not a private key Molthub can read" }],
      );
    }
    publicKey = publicKeyLineOf(privateKey, `molthub@${d.name}`);
    authKind = "uploaded";
  } else {
    const kp = generateEd25519KeyPair(`molthub@${d.name}`);
    privateKey = kp.privateKey;
    publicKey = kp.publicKey;
    authKind = "generated";
  }
  return ctx.db.transaction(
    (tx) => {
      const taken = tx
        .select({ id: hosts.id })
        .from(hosts)
        .where(and(eq(hosts.workspaceId, ws), eq(hosts.name, d.name)))
        .get();
      if (taken)
        throw new ServiceError("conflict", `a host named ${d.name} already exists; pick another name, or delete it first`, [
          { path: "name", message: "taken" },
        ]);
      const now = ctx.now();
      tx.insert(hosts)
        .values({
          id,
          workspaceId: ws,
          name: d.name,
          address: stripAddress(d.address),
          port: d.port ?? 22,
          username: d.username,
          authKind,
          privateKeyEnc: ctx.keyring.seal(HOST_KEY_PURPOSE, privateKey, id),
          publicKey,
          fingerprint: null,
          seenFingerprint: null,
          status: "untrusted",
          statusReason: "probe the host and confirm its fingerprint",
          doctor: "{}",
          createdAt: now,
          updatedAt: now,
        })
        .run();
      tx.insert(hostEvents)
        .values({
          hostId: id,
          ts: now,
          level: "info",
          type: "added",
          message: `added by ${ctx.actor.label} (${authKind === "generated" ? "appliance-generated ed25519 key" : "uploaded key"})`,
        })
        .run();
      recordAudit(tx, ctx, {
        action: "host.create",
        resourceType: "host",
        resourceId: id,
        summary: { name: d.name, address: d.address, port: d.port ?? 22, username: d.username, authKind },
      });
      const row = tx.select().from(hosts).where(eq(hosts.id, id)).get()!;
      return { host: hostView(row), publicKey };
    },
    { behavior: "immediate" },
  );
}

/**
 * Reads the key the host presents now, without authenticating, and stores it as `seenFingerprint`. An unpinned host
 * stays `untrusted` (waiting for confirmation); a pinned one that presents another key is recorded as a mismatch.
 */
export async function probeHost(
  ctx: ServiceContext,
  access: DbHostAccess,
  name: string,
  opts: { timeoutMs?: number } = {},
): Promise<HostView> {
  const ws = authorize(ctx, "operator");
  const row = findHost(ctx.db, ws, name);
  let seen: string;
  try {
    seen = (await probeHostKey({ host: row.address, port: row.port, readyTimeoutMs: opts.timeoutMs ?? 10_000 })).fingerprint;
  } catch (e) {
    const reason = `${(e as Error).message}`;
    ctx.db.transaction(
      (tx) => {
        const now = ctx.now();
        if (!row.fingerprint || row.status !== "key_mismatch") {
          tx.update(hosts)
            .set({
              status: row.fingerprint ? "unreachable" : "untrusted",
              statusReason: row.fingerprint ? reason : `probe failed: ${reason}`,
              updatedAt: now,
            })
            .where(eq(hosts.id, row.id))
            .run();
        }
        tx.insert(hostEvents)
          .values({ hostId: row.id, ts: now, level: "error", type: "probe", message: `probe failed: ${reason}` })
          .run();
      },
      { behavior: "immediate" },
    );
    throw new ServiceError("conflict", `could not read ${name}'s host key: ${reason}`);
  }
  if (row.fingerprint && seen !== row.fingerprint) {
    access.recordMismatch(row, row.fingerprint, seen);
  } else {
    ctx.db.transaction(
      (tx) => {
        const now = ctx.now();
        tx.update(hosts)
          .set({
            seenFingerprint: seen,
            updatedAt: now,
            ...(row.fingerprint ? {} : { statusReason: `confirm the fingerprint ${seen}` }),
          })
          .where(eq(hosts.id, row.id))
          .run();
        if (seen !== row.seenFingerprint)
          tx.insert(hostEvents)
            .values({
              hostId: row.id,
              ts: now,
              level: "info",
              type: "probe",
              message: `the host presents ${seen}`,
              data: JSON.stringify({ fingerprint: seen }),
            })
            .run();
      },
      { behavior: "immediate" },
    );
  }
  return viewNow(ctx.db, ws, name);
}

/**
 * Pins the fingerprint the user confirmed. It must equal what the host presents right now (read again here).
 * Re-trusting after a key change is the same verb: explicit, audited with the old and new fingerprints.
 */
export async function trustHost(
  ctx: ServiceContext,
  access: DbHostAccess,
  name: string,
  fingerprint: unknown,
  opts: { timeoutMs?: number } = {},
): Promise<HostView> {
  const ws = authorize(ctx, "admin");
  const row = findHost(ctx.db, ws, name);
  let fp: string;
  try {
    if (typeof fingerprint !== "string") throw new Error("missing");
    fp = normalizeFingerprint(fingerprint);
  } catch {
    throw new ServiceError(
      "invalid_request",
      "give the SHA256 fingerprint you compared on the host, like SHA256:AbC… (ssh-keygen -lf /etc/ssh/ssh_host_ed25519_key.pub shows it)",
      [{ path: "fingerprint", message: "SHA256: followed by 43 base64 characters" }],
    );
  }
  let presented: string;
  try {
    presented = (await probeHostKey({ host: row.address, port: row.port, readyTimeoutMs: opts.timeoutMs ?? 10_000 })).fingerprint;
  } catch (e) {
    throw new ServiceError(
      "conflict",
      `could not read ${name}'s host key to compare: ${(e as Error).message}; nothing was pinned`,
    );
  }
  if (presented !== fp) {
    throw new ServiceError(
      "conflict",
      `${name} presents ${presented}, not ${fp}; nothing was pinned. Compare again on the host (ssh-keygen -lf /etc/ssh/ssh_host_ed25519_key.pub)`,
      [{ path: "fingerprint", message: `the host presents ${presented}` }],
    );
  }
  const old = row.fingerprint;
  const retrust = !!old && old !== fp;
  ctx.db.transaction(
    (tx) => {
      const now = ctx.now();
      tx.update(hosts)
        .set({
          fingerprint: fp,
          seenFingerprint: fp,
          status: "ok",
          statusReason: old === fp ? "fingerprint confirmed again" : "fingerprint pinned",
          updatedAt: now,
        })
        .where(eq(hosts.id, row.id))
        .run();
      tx.insert(hostEvents)
        .values({
          hostId: row.id,
          ts: now,
          level: retrust ? "warn" : "info",
          type: retrust ? "retrust" : "trust",
          message: retrust
            ? `re-trusted by ${ctx.actor.label}: ${old} → ${fp}`
            : `fingerprint ${fp} confirmed and pinned by ${ctx.actor.label}`,
          data: JSON.stringify({ old, new: fp }),
        })
        .run();
      recordAudit(tx, ctx, {
        action: retrust ? "host.retrust" : "host.trust",
        resourceType: "host",
        resourceId: row.id,
        summary: { name, old, new: fp, previousStatus: row.status },
      });
    },
    { behavior: "immediate" },
  );
  // connect once with the pin: reports auth problems (wrong user / key not installed) right away
  const fresh = findHost(ctx.db, ws, name);
  access.configure(fresh);
  try {
    await access.pool.exec(fresh.id, ["true"], { timeoutMs: opts.timeoutMs ?? 15_000 });
  } catch {
    // recorded by the access (auth_failed / unreachable / key_mismatch); the pin stays
  }
  return viewNow(ctx.db, ws, name);
}

/** Runs the doctor, stores the result (and os/init), sets the status. Refused for hosts with an unconfirmed or changed key. */
export async function doctorHost(
  ctx: ServiceContext,
  access: DbHostAccess,
  name: string,
  opts: { timeoutMs?: number } = {},
): Promise<HostView> {
  const ws = authorize(ctx, "operator");
  const row = findHost(ctx.db, ws, name);
  let report: DoctorReport;
  const timeoutMs = opts.timeoutMs ?? 30_000;
  if (!row.fingerprint) {
    report = {
      ts: ctx.now(),
      facts: null,
      findings: [
        {
          id: "connection",
          level: "error",
          message: `the host key is not confirmed yet${row.seenFingerprint ? ` (the host presents ${row.seenFingerprint})` : ""}`,
          fix: `compare it on the host (ssh-keygen -lf /etc/ssh/ssh_host_ed25519_key.pub), then: molthub host trust ${name} --fingerprint SHA256:…`,
        },
      ],
    };
  } else if (row.status === "key_mismatch") {
    report = {
      ts: ctx.now(),
      facts: null,
      findings: [
        {
          id: "connection",
          level: "error",
          message: mismatchMessage(name, row.fingerprint, row.seenFingerprint).split(". If")[0]!,
          fix: `verify on the host (ssh-keygen -lf /etc/ssh/ssh_host_ed25519_key.pub), then: molthub host trust ${name} --fingerprint ${row.seenFingerprint ?? "SHA256:…"}`,
        },
      ],
    };
  } else {
    access.configure(row);
    report = await runDoctor((argv, o) => access.pool.exec(row.id, argv, o), row, { timeoutMs, now: ctx.now });
    access.rememberFacts(row.id, report);
  }
  const after = findHost(ctx.db, ws, name); // the pool may have recorded a status meanwhile
  const errors = report.findings.filter((f) => f.level === "error");
  const conn = report.findings.find((f) => f.id === "connection" && f.level === "error");
  ctx.db.transaction(
    (tx) => {
      const now = ctx.now();
      const set: Partial<HostRow> = { doctor: JSON.stringify(report), updatedAt: now };
      if (report.facts) {
        set.os = report.facts.os;
        set.init = report.facts.init;
        set.lastSeenAt = now;
        set.status = errors.length ? "degraded" : "ok";
        set.statusReason = errors.length
          ? errors
              .map((f) => f.message)
              .join("; ")
              .slice(0, 500)
          : "doctor: all checks passed";
      } else if (conn && !["key_mismatch", "untrusted", "auth_failed", "unreachable"].includes(after.status)) {
        set.status = "unreachable";
        set.statusReason = conn.message;
      }
      tx.update(hosts).set(set).where(eq(hosts.id, row.id)).run();
      tx.insert(hostEvents)
        .values({
          hostId: row.id,
          ts: now,
          level: errors.length ? "warn" : "info",
          type: "doctor",
          message: errors.length
            ? `doctor: ${errors.length} problem${errors.length > 1 ? "s" : ""}: ${errors.map((f) => f.id).join(", ")}`
            : "doctor: all checks passed",
          data: JSON.stringify({ errors: errors.map((f) => f.id) }),
        })
        .run();
      recordAudit(tx, ctx, {
        action: "host.doctor",
        resourceType: "host",
        resourceId: row.id,
        summary: { name, errors: errors.map((f) => f.id) },
      });
    },
    { behavior: "immediate" },
  );
  return viewNow(ctx.db, ws, name);
}

export interface InstallOutcome {
  host: HostView;
  result: InstallResult | null;
  finding: Finding | null;
}

/** Installs (or finds) OpenClaw `version` on the host; every attempt is a host event, a failure a finding. */
export async function installOpenClaw(
  ctx: ServiceContext,
  access: DbHostAccess,
  name: string,
  version: unknown,
  opts: { nodeVersion?: string; timeoutMs?: number } = {},
): Promise<InstallOutcome> {
  const ws = authorize(ctx, "operator");
  const row = findHost(ctx.db, ws, name);
  if (typeof version !== "string" || !OPENCLAW_VERSION_RE.test(version)) {
    throw new ServiceError("invalid_request", "give an OpenClaw version like 2026.9.6", [
      { path: "version", message: "an OpenClaw version like 2026.9.6" },
    ]);
  }
  const info = await access.get(ws, name); // refuses untrusted / changed keys
  const event = (
    level: "info" | "warn" | "error",
    type: string,
    message: string,
    data: Record<string, unknown> = {},
    audit?: Record<string, unknown>,
  ) =>
    ctx.db.transaction(
      (tx) => {
        tx.insert(hostEvents)
          .values({ hostId: row.id, ts: ctx.now(), level, type, message, data: JSON.stringify(data) })
          .run();
        if (audit)
          recordAudit(tx, ctx, {
            action: "host.install",
            resourceType: "host",
            resourceId: row.id,
            summary: { name, version, ...audit },
          });
      },
      { behavior: "immediate" },
    );
  event("info", "install", `install of OpenClaw ${version} requested by ${ctx.actor.label}`, { version });
  try {
    const result = await installOnHost((argv, o) => access.pool.exec(row.id, argv, o), { ...info, name }, version, opts);
    event(
      "info",
      "install",
      result.outcome === "present"
        ? `OpenClaw ${version} is already installed in ${result.prefix} (Node ${result.nodeVersion ?? "?"}); nothing to do`
        : `installed OpenClaw ${version} with Node ${result.nodeVersion} into ${result.prefix}`,
      { version, outcome: result.outcome, prefix: result.prefix },
      { outcome: result.outcome },
    );
    return { host: viewNow(ctx.db, ws, name), result, finding: null };
  } catch (e) {
    const finding: Finding =
      e instanceof InstallError
        ? e.finding
        : {
            id: "install",
            level: "error",
            message: `install failed: ${(e as Error).message}`,
            fix: "check the host's status and run the doctor",
          };
    event(
      "error",
      "install",
      `install of OpenClaw ${version} failed: ${finding.message}`,
      { version, finding },
      { outcome: "failed", message: finding.message },
    );
    return { host: viewNow(ctx.db, ws, name), result: null, finding };
  }
}

export function listHosts(ctx: ServiceContext): HostView[] {
  const ws = authorize(ctx, "viewer");
  const counts = new Map(
    ctx.db
      .select({ host: bots.host, n: sql<number>`count(*)` })
      .from(bots)
      .where(eq(bots.workspaceId, ws))
      .groupBy(bots.host)
      .all()
      .map((r) => [r.host, Number(r.n)]),
  );
  return ctx.db
    .select()
    .from(hosts)
    .where(eq(hosts.workspaceId, ws))
    .orderBy(hosts.name)
    .all()
    .map((r) => hostView(r, counts.get(r.name) ?? 0));
}

export interface HostEventView {
  id: number;
  ts: number;
  level: "info" | "warn" | "error";
  type: string;
  message: string;
  data: Record<string, unknown>;
}

function eventsOf(db: ServiceContext["db"], hostId: string, afterId = 0, limit = 100): HostEventView[] {
  return db
    .select()
    .from(hostEvents)
    .where(and(eq(hostEvents.hostId, hostId), gt(hostEvents.id, afterId)))
    .orderBy(desc(hostEvents.id))
    .limit(limit)
    .all()
    .map((e) => ({
      id: e.id,
      ts: e.ts,
      level: e.level,
      type: e.type,
      message: e.message,
      data: JSON.parse(e.data) as Record<string, unknown>,
    }));
}

export function getHost(
  ctx: ServiceContext,
  name: string,
): { host: HostView; bots: { name: string; provider: string; status: string }[]; events: HostEventView[] } {
  const ws = authorize(ctx, "viewer");
  const row = findHost(ctx.db, ws, name);
  const onIt = botsOn(ctx.db, ws, name);
  return { host: hostView(row, onIt.length), bots: onIt, events: eventsOf(ctx.db, row.id, 0, 50) };
}

export function hostEventsList(ctx: ServiceContext, name: string, afterId = 0): HostEventView[] {
  const ws = authorize(ctx, "viewer");
  const row = findHost(ctx.db, ws, name);
  return eventsOf(ctx.db, row.id, afterId, 500);
}

/** Deletes a host no bot uses (its key goes with it). */
export function deleteHost(ctx: ServiceContext, access: DbHostAccess | null, name: string): void {
  const ws = authorize(ctx, "admin");
  const id = ctx.db.transaction(
    (tx) => {
      const row = findHost(tx as ServiceContext["db"], ws, name);
      const onIt = botsOn(tx as ServiceContext["db"], ws, name);
      if (onIt.length) {
        throw new ServiceError(
          "conflict",
          `host ${name} still runs ${onIt.length} bot${onIt.length > 1 ? "s" : ""} (${onIt.map((b) => b.name).join(", ")}); delete or move ${onIt.length > 1 ? "them" : "it"} first`,
        );
      }
      tx.delete(hosts).where(eq(hosts.id, row.id)).run();
      recordAudit(tx, ctx, {
        action: "host.delete",
        resourceType: "host",
        resourceId: row.id,
        summary: { name, address: row.address, fingerprint: row.fingerprint },
      });
      return row.id;
    },
    { behavior: "immediate" },
  );
  access?.forget(id);
}
