import { randomUUID } from "node:crypto";
import { and, eq, isNull, ne, sql } from "drizzle-orm";
import * as OTPAuth from "otpauth";
import { recordAudit } from "../core/audit.ts";
import { type Actor, type Role, requireUser, roleRank, type ServiceContext } from "../core/context.ts";
import { checkPasswordStrength, hashPassword, secretToken, sha256 } from "../core/credentials.ts";
import { ServiceError } from "../core/errors.ts";
import type { Db, Tx } from "../db/client.ts";
import { apiTokens, loginAttempts, memberships, sessions, setupTokens, users, workspaces } from "../db/schema.ts";
import type { Keyring } from "../secrets/keyring.ts";

export { MIN_PASSWORD } from "../core/credentials.ts";

export const SESSION_COOKIE = "molthub_session";
const SETUP_TTL_MS = 60 * 60 * 1000;
function userCount(db: Tx): number {
  return db.select({ n: sql<number>`count(*)` }).from(users).get()!.n;
}

// ---------- first run ----------

/**
 * On an empty store, issues a fresh one-time setup token (valid 1 h) and returns it; earlier unused
 * tokens are invalidated. Returns null once any user exists: there is never an unclaimed-admin window.
 */
export function issueSetupToken(db: Db, now = Date.now()): { token: string; expiresAt: number } | null {
  return db.transaction(
    (tx) => {
      if (userCount(tx) > 0) return null;
      tx.delete(setupTokens).run();
      const token = secretToken("mhu");
      const expiresAt = now + SETUP_TTL_MS;
      tx.insert(setupTokens)
        .values({ id: randomUUID(), tokenHash: sha256(token), expiresAt, createdAt: now })
        .run();
      return { token, expiresAt };
    },
    { behavior: "immediate" },
  );
}

export function setupPending(db: Db): boolean {
  return userCount(db) === 0;
}

export interface NewUserInput {
  email: string;
  name: string;
  password: string;
}

function insertUser(tx: Tx, input: NewUserInput, passwordHash: string, now: number): typeof users.$inferSelect {
  const email = input.email.trim().toLowerCase();
  if (tx.select({ id: users.id }).from(users).where(eq(users.email, email)).get()) {
    throw new ServiceError("conflict", `a user with the email ${email} already exists`);
  }
  return tx
    .insert(users)
    .values({ id: randomUUID(), email, name: input.name.trim(), passwordHash, passwordChangedAt: now, createdAt: now })
    .returning()
    .get();
}

function insertWorkspace(tx: Tx, name: string, now: number): typeof workspaces.$inferSelect {
  const base =
    name
      .toLowerCase()
      .replace(/[^a-z0-9]+/g, "-")
      .replace(/^-|-$/g, "")
      .slice(0, 40) || "workspace";
  let slug = base;
  for (let i = 2; tx.select({ id: workspaces.id }).from(workspaces).where(eq(workspaces.slug, slug)).get(); i++)
    slug = `${base}-${i}`;
  return tx.insert(workspaces).values({ id: randomUUID(), slug, name: name.trim(), createdAt: now }).returning().get();
}

/** Claims the appliance: only a valid, unexpired, unused setup token creates the first owner. */
export async function completeSetup(
  deps: { db: Db; now: () => number; requestId?: string },
  input: NewUserInput & { token: string; workspaceName?: string },
): Promise<{ userId: string; workspaceId: string }> {
  checkPasswordStrength(input.password);
  const passwordHash = await hashPassword(input.password);
  const now = deps.now();
  return deps.db.transaction(
    (tx) => {
      const row = tx
        .select()
        .from(setupTokens)
        .where(eq(setupTokens.tokenHash, sha256(input.token)))
        .get();
      if (!row || row.usedAt || row.expiresAt < now || userCount(tx) > 0) {
        throw new ServiceError(
          "forbidden",
          "the setup token is invalid, used or expired; restart the server to get a new setup URL in its log, or use `molthub user add --role owner`",
        );
      }
      tx.update(setupTokens).set({ usedAt: now }).where(eq(setupTokens.id, row.id)).run();
      const user = insertUser(tx, input, passwordHash, now);
      const ws = insertWorkspace(tx, input.workspaceName || "Default", now);
      tx.insert(memberships).values({ workspaceId: ws.id, userId: user.id, role: "owner", createdAt: now }).run();
      const actor: Actor = { type: "setup", userId: user.id, label: user.email, workspaceId: ws.id, role: "owner" };
      recordAudit(
        tx,
        { actor, requestId: deps.requestId, now: deps.now },
        {
          action: "setup.complete",
          resourceType: "user",
          resourceId: user.id,
          summary: { email: user.email, workspace: ws.slug },
        },
      );
      return { userId: user.id, workspaceId: ws.id };
    },
    { behavior: "immediate" },
  );
}

/**
 * Creates a user offline (CLI) and makes it a member of a workspace (created when missing).
 * Used by `molthub user add`, which works against the data dir without a running server.
 */
export async function addUserOffline(
  db: Db,
  input: NewUserInput & { role: Role; workspace?: string },
  now = Date.now,
): Promise<{ userId: string; workspaceId: string }> {
  checkPasswordStrength(input.password);
  const passwordHash = await hashPassword(input.password);
  return db.transaction(
    (tx) => {
      let ws = input.workspace
        ? tx
            .select()
            .from(workspaces)
            .where(sql`${workspaces.slug} = ${input.workspace} OR ${workspaces.id} = ${input.workspace}`)
            .get()
        : tx.select().from(workspaces).orderBy(workspaces.createdAt).limit(1).get();
      if (!ws) ws = insertWorkspace(tx, input.workspace ?? "Default", now());
      const user = insertUser(tx, input, passwordHash, now());
      tx.insert(memberships).values({ workspaceId: ws.id, userId: user.id, role: input.role, createdAt: now() }).run();
      tx.update(setupTokens).set({ usedAt: now() }).where(isNull(setupTokens.usedAt)).run();
      const actor: Actor = { type: "system", userId: null, label: "cli (offline)", workspaceId: ws.id, role: "owner" };
      recordAudit(
        tx,
        { actor, now },
        { action: "user.create", resourceType: "user", resourceId: user.id, summary: { email: user.email, role: input.role } },
      );
      return { userId: user.id, workspaceId: ws.id };
    },
    { behavior: "immediate" },
  );
}

export async function setPasswordOffline(db: Db, email: string, password: string, now = Date.now): Promise<void> {
  checkPasswordStrength(password);
  const passwordHash = await hashPassword(password);
  db.transaction(
    (tx) => {
      const u = tx.select().from(users).where(eq(users.email, email.trim().toLowerCase())).get();
      if (!u) throw new ServiceError("not_found", `no user with the email ${email}`);
      tx.update(users).set({ passwordHash, passwordChangedAt: now() }).where(eq(users.id, u.id)).run();
      tx.delete(sessions).where(eq(sessions.userId, u.id)).run();
      tx.update(apiTokens)
        .set({ revokedAt: now() })
        .where(and(eq(apiTokens.userId, u.id), isNull(apiTokens.revokedAt)))
        .run();
      const ws = tx.select().from(memberships).where(eq(memberships.userId, u.id)).get();
      const actor: Actor = {
        type: "system",
        userId: null,
        label: "cli (offline)",
        workspaceId: ws?.workspaceId ?? null,
        role: "owner",
      };
      recordAudit(
        tx,
        { actor, now },
        {
          action: "user.password.reset",
          resourceType: "user",
          resourceId: u.id,
          summary: { email: u.email, sessionsRevoked: true, tokensRevoked: true },
        },
      );
    },
    { behavior: "immediate" },
  );
}

// ---------- login, rate limiting ----------

const FREE_FAILURES = 5;
const MAX_LOCK_MS = 15 * 60 * 1000;

function lockFor(failures: number): number {
  if (failures < FREE_FAILURES) return 0;
  return Math.min(1000 * 2 ** (failures - FREE_FAILURES), MAX_LOCK_MS);
}

function checkLock(db: Db, keys: string[], now: number): void {
  for (const key of keys) {
    const row = db.select().from(loginAttempts).where(eq(loginAttempts.key, key)).get();
    if (row && row.lockedUntil > now) {
      const secs = Math.ceil((row.lockedUntil - now) / 1000);
      throw new ServiceError("rate_limited", `too many failed sign-ins; try again in ${secs} s`, undefined, secs);
    }
  }
}

function noteFailure(db: Db, keys: string[], now: number): void {
  for (const key of keys) {
    const row = db.select().from(loginAttempts).where(eq(loginAttempts.key, key)).get();
    // failures older than a day are forgotten
    const failures = row && now - row.lastFailureAt < 86_400_000 ? row.failures + 1 : 1;
    const lockedUntil = now + lockFor(failures);
    db.insert(loginAttempts)
      .values({ key, failures, lastFailureAt: now, lockedUntil })
      .onConflictDoUpdate({ target: loginAttempts.key, set: { failures, lastFailureAt: now, lockedUntil } })
      .run();
  }
}

// A fixed hash to compare against when the user does not exist, so timing does not reveal accounts.
let dummyHash: Promise<string> | undefined;

export interface LoginResult {
  sessionToken: string;
  mfaRequired: boolean;
  userId: string;
  expiresAt: number;
}

export async function login(
  deps: { db: Db; now: () => number; requestId?: string; sessionTtlMs: number },
  input: { email: string; password: string; ip?: string; userAgent?: string },
): Promise<LoginResult> {
  const email = input.email.trim().toLowerCase();
  const keys = [`user:${email}`, ...(input.ip ? [`ip:${input.ip}`] : [])];
  checkLock(deps.db, keys, deps.now());
  const user = deps.db.select().from(users).where(eq(users.email, email)).get();
  dummyHash ??= hashPassword(`not-a-real-password-${randomUUID()}`);
  let ok = false;
  if (user) ok = await Bun.password.verify(input.password, user.passwordHash);
  else await Bun.password.verify(input.password, await dummyHash);
  const now = deps.now();
  if (!user || !ok) {
    noteFailure(deps.db, keys, now);
    throw new ServiceError("unauthorized", "wrong email or password");
  }
  deps.db
    .delete(loginAttempts)
    .where(eq(loginAttempts.key, `user:${email}`))
    .run();
  const first = deps.db
    .select()
    .from(memberships)
    .where(eq(memberships.userId, user.id))
    .orderBy(memberships.createdAt)
    .limit(1)
    .get();
  const token = secretToken("mhs");
  const expiresAt = now + deps.sessionTtlMs;
  deps.db.transaction(
    (tx) => {
      tx.insert(sessions)
        .values({
          id: sha256(token),
          userId: user.id,
          workspaceId: first?.workspaceId ?? null,
          mfaPending: user.totpEnabled,
          createdAt: now,
          expiresAt,
          lastSeenAt: now,
          ip: input.ip ?? null,
          userAgent: input.userAgent?.slice(0, 200) ?? null,
        })
        .run();
      const actor: Actor = {
        type: "user",
        userId: user.id,
        label: user.email,
        workspaceId: first?.workspaceId ?? null,
        role: first?.role ?? null,
      };
      recordAudit(
        tx,
        { actor, requestId: deps.requestId, now: deps.now },
        {
          action: "session.create",
          resourceType: "session",
          resourceId: user.id,
          summary: { ip: input.ip ?? null, mfaPending: user.totpEnabled },
        },
      );
    },
    { behavior: "immediate" },
  );
  return { sessionToken: token, mfaRequired: user.totpEnabled, userId: user.id, expiresAt };
}

/** Second step of a sign-in with TOTP enabled. */
export function verifySecondFactor(
  deps: { db: Db; keyring: Keyring; now: () => number; requestId?: string },
  sessionToken: string,
  code: string,
  ip?: string,
): void {
  const s = deps.db
    .select()
    .from(sessions)
    .where(eq(sessions.id, sha256(sessionToken)))
    .get();
  if (!s?.mfaPending || s.expiresAt < deps.now()) throw new ServiceError("unauthorized", "the sign-in expired; sign in again");
  const keys = [`user:${s.userId}:totp`, ...(ip ? [`ip:${ip}`] : [])];
  checkLock(deps.db, keys, deps.now());
  const u = deps.db.select().from(users).where(eq(users.id, s.userId)).get()!;
  if (!u.totpSecretEnc || !totpValid(deps.keyring, u.id, u.totpSecretEnc, code)) {
    noteFailure(deps.db, keys, deps.now());
    throw new ServiceError("unauthorized", "the code is wrong; use the current 6-digit code from your authenticator app");
  }
  deps.db.update(sessions).set({ mfaPending: false }).where(eq(sessions.id, s.id)).run();
}

function totpFor(secretB32: string, label: string): OTPAuth.TOTP {
  return new OTPAuth.TOTP({
    issuer: "Molthub",
    label,
    algorithm: "SHA1",
    digits: 6,
    period: 30,
    secret: OTPAuth.Secret.fromBase32(secretB32),
  });
}

function totpValid(keyring: Keyring, userId: string, sealed: string, code: string): boolean {
  const secret = keyring.open("totp", sealed, userId).toString();
  return totpFor(secret, "x").validate({ token: code.replace(/\s/g, ""), window: 1 }) !== null;
}

/** Starts TOTP enrolment: stores a new (not yet enabled) secret and returns it with its otpauth:// URI. */
export function enrollTotp(ctx: ServiceContext): { secret: string; uri: string } {
  const userId = requireUser(ctx);
  const u = ctx.db.select().from(users).where(eq(users.id, userId)).get()!;
  if (u.totpEnabled)
    throw new ServiceError("conflict", "a second factor is already enabled; disable it first to enrol a new one");
  const secret = new OTPAuth.Secret({ size: 20 }).base32;
  ctx.db
    .update(users)
    .set({ totpSecretEnc: ctx.keyring.seal("totp", secret, userId) })
    .where(eq(users.id, userId))
    .run();
  return { secret, uri: totpFor(secret, u.email).toString() };
}

export function confirmTotp(ctx: ServiceContext, code: string): void {
  const userId = requireUser(ctx);
  const u = ctx.db.select().from(users).where(eq(users.id, userId)).get()!;
  if (!u.totpSecretEnc) throw new ServiceError("invalid_request", "start the enrolment first");
  if (!totpValid(ctx.keyring, userId, u.totpSecretEnc, code))
    throw new ServiceError("invalid_request", "the code is wrong; enter the current 6-digit code from your authenticator app", [
      { path: "code", message: "wrong code" },
    ]);
  ctx.db.transaction(
    (tx) => {
      tx.update(users).set({ totpEnabled: true }).where(eq(users.id, userId)).run();
      recordAudit(tx, ctx, { action: "user.totp.enable", resourceType: "user", resourceId: userId });
    },
    { behavior: "immediate" },
  );
}

export async function disableTotp(ctx: ServiceContext, password: string): Promise<void> {
  const userId = requireUser(ctx);
  const u = ctx.db.select().from(users).where(eq(users.id, userId)).get()!;
  if (!(await Bun.password.verify(password, u.passwordHash)))
    throw new ServiceError("invalid_request", "the password is wrong", [{ path: "password", message: "wrong password" }]);
  ctx.db.transaction(
    (tx) => {
      tx.update(users).set({ totpEnabled: false, totpSecretEnc: null }).where(eq(users.id, userId)).run();
      recordAudit(tx, ctx, { action: "user.totp.disable", resourceType: "user", resourceId: userId });
    },
    { behavior: "immediate" },
  );
}

// ---------- sessions and tokens → actors ----------

function membershipRole(db: Db, userId: string, workspaceId: string | null): Role | null {
  if (!workspaceId) return null;
  return (
    db
      .select({ role: memberships.role })
      .from(memberships)
      .where(and(eq(memberships.userId, userId), eq(memberships.workspaceId, workspaceId)))
      .get()?.role ?? null
  );
}

export interface ResolvedSession {
  actor: Actor;
  mfaPending: boolean;
  user: { id: string; email: string; name: string; totpEnabled: boolean };
}

export function resolveSession(db: Db, token: string, now: number): ResolvedSession | null {
  const s = db
    .select()
    .from(sessions)
    .where(eq(sessions.id, sha256(token)))
    .get();
  if (!s || s.expiresAt < now) return null;
  const u = db.select().from(users).where(eq(users.id, s.userId)).get();
  if (!u) return null;
  let workspaceId = s.workspaceId;
  let role = membershipRole(db, u.id, workspaceId);
  if (!role) {
    // the current workspace went away or the membership was removed: fall back to another one
    const m = db.select().from(memberships).where(eq(memberships.userId, u.id)).orderBy(memberships.createdAt).limit(1).get();
    workspaceId = m?.workspaceId ?? null;
    role = m?.role ?? null;
  }
  if (now - s.lastSeenAt > 60_000) db.update(sessions).set({ lastSeenAt: now }).where(eq(sessions.id, s.id)).run();
  return {
    actor: { type: "user", userId: u.id, label: u.email, workspaceId, role, sessionId: s.id },
    mfaPending: s.mfaPending,
    user: { id: u.id, email: u.email, name: u.name, totpEnabled: u.totpEnabled },
  };
}

/** A token acts with its own role, capped by its owner's current role in the token's workspace. */
export function resolveApiToken(db: Db, token: string, now: number): Actor | null {
  if (!token.startsWith("mht_")) return null;
  const t = db
    .select()
    .from(apiTokens)
    .where(eq(apiTokens.tokenHash, sha256(token)))
    .get();
  if (!t || t.revokedAt || (t.expiresAt !== null && t.expiresAt < now)) return null;
  const ownerRole = membershipRole(db, t.userId, t.workspaceId);
  if (!ownerRole) return null;
  const role = roleRank(ownerRole) < roleRank(t.role) ? ownerRole : t.role;
  if (!t.lastUsedAt || now - t.lastUsedAt > 60_000)
    db.update(apiTokens).set({ lastUsedAt: now }).where(eq(apiTokens.id, t.id)).run();
  return { type: "token", userId: t.userId, label: `token:${t.name}`, workspaceId: t.workspaceId, role, tokenId: t.id };
}

export function logout(ctx: ServiceContext): void {
  if (!ctx.actor.sessionId) return;
  ctx.db.transaction(
    (tx) => {
      tx.delete(sessions).where(eq(sessions.id, ctx.actor.sessionId!)).run();
      recordAudit(tx, ctx, { action: "session.delete", resourceType: "session", resourceId: ctx.actor.userId });
    },
    { behavior: "immediate" },
  );
}

/** Changes the caller's password and revokes every other session and every API token of the user. */
export async function changePassword(
  ctx: ServiceContext,
  input: { currentPassword: string; newPassword: string },
): Promise<{ sessionsRevoked: number; tokensRevoked: number }> {
  const userId = requireUser(ctx);
  const u = ctx.db.select().from(users).where(eq(users.id, userId)).get()!;
  if (!(await Bun.password.verify(input.currentPassword, u.passwordHash))) {
    throw new ServiceError("invalid_request", "the current password is wrong", [
      { path: "currentPassword", message: "wrong password" },
    ]);
  }
  checkPasswordStrength(input.newPassword);
  const passwordHash = await hashPassword(input.newPassword);
  return ctx.db.transaction(
    (tx) => {
      const now = ctx.now();
      tx.update(users).set({ passwordHash, passwordChangedAt: now }).where(eq(users.id, userId)).run();
      const s = tx
        .delete(sessions)
        .where(and(eq(sessions.userId, userId), ne(sessions.id, ctx.actor.sessionId ?? "")))
        .returning({ id: sessions.id })
        .all();
      const t = tx
        .update(apiTokens)
        .set({ revokedAt: now })
        .where(and(eq(apiTokens.userId, userId), isNull(apiTokens.revokedAt)))
        .returning({ id: apiTokens.id })
        .all();
      recordAudit(tx, ctx, {
        action: "user.password.change",
        resourceType: "user",
        resourceId: userId,
        summary: { sessionsRevoked: s.length, tokensRevoked: t.length },
      });
      return { sessionsRevoked: s.length, tokensRevoked: t.length };
    },
    { behavior: "immediate" },
  );
}
