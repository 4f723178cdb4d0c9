import { randomUUID } from "node:crypto";
import { and, eq, sql } from "drizzle-orm";
import { recordAudit } from "../core/audit.ts";
import { authorize, type Role, requireUser, roleRank, type ServiceContext } from "../core/context.ts";
import { checkPasswordStrength, hashPassword } from "../core/credentials.ts";
import { ServiceError } from "../core/errors.ts";
import { apiTokens, memberships, sessions, users, workspaces } from "../db/schema.ts";

export interface WorkspaceView {
  id: string;
  slug: string;
  name: string;
  role: Role;
  current: boolean;
}

/** The workspaces the signed-in user belongs to (a token sees only its own). */
export function listMyWorkspaces(ctx: ServiceContext): WorkspaceView[] {
  const userId = ctx.actor.userId;
  if (!userId) return [];
  const rows = ctx.db
    .select({ id: workspaces.id, slug: workspaces.slug, name: workspaces.name, role: memberships.role })
    .from(memberships)
    .innerJoin(workspaces, eq(workspaces.id, memberships.workspaceId))
    .where(eq(memberships.userId, userId))
    .orderBy(workspaces.name)
    .all();
  return rows
    .filter((r) => ctx.actor.type === "user" || r.id === ctx.actor.workspaceId)
    .map((r) => ({ ...r, current: r.id === ctx.actor.workspaceId }));
}

export function getCurrentWorkspace(ctx: ServiceContext): { id: string; slug: string; name: string; createdAt: number } {
  const ws = authorize(ctx, "viewer");
  const row = ctx.db.select().from(workspaces).where(eq(workspaces.id, ws)).get();
  if (!row) throw new ServiceError("not_found", "workspace not found");
  return row;
}

function slugify(name: string): string {
  return (
    name
      .toLowerCase()
      .replace(/[^a-z0-9]+/g, "-")
      .replace(/^-|-$/g, "")
      .slice(0, 40) || "workspace"
  );
}

/** Creates a workspace; the creating user becomes its owner. Needs admin in the current workspace. */
export function createWorkspace(
  ctx: ServiceContext,
  input: { name: string; slug?: string },
): { id: string; slug: string; name: string } {
  authorize(ctx, "admin");
  const userId = requireUser(ctx);
  const slug = input.slug ?? slugify(input.name);
  return ctx.db.transaction(
    (tx) => {
      if (tx.select({ id: workspaces.id }).from(workspaces).where(eq(workspaces.slug, slug)).get()) {
        throw new ServiceError("conflict", `a workspace with the slug "${slug}" already exists; pick another name or slug`, [
          { path: "slug", message: "taken" },
        ]);
      }
      const now = ctx.now();
      const row = tx
        .insert(workspaces)
        .values({ id: randomUUID(), slug, name: input.name.trim(), createdAt: now })
        .returning()
        .get();
      tx.insert(memberships).values({ workspaceId: row.id, userId, role: "owner", createdAt: now }).run();
      recordAudit(tx, ctx, {
        action: "workspace.create",
        resourceType: "workspace",
        resourceId: row.id,
        workspaceId: row.id,
        summary: { name: row.name, slug },
      });
      return { id: row.id, slug: row.slug, name: row.name };
    },
    { behavior: "immediate" },
  );
}

export function renameWorkspace(ctx: ServiceContext, input: { name: string }): void {
  const ws = authorize(ctx, "admin");
  ctx.db.transaction(
    (tx) => {
      const before = tx.select().from(workspaces).where(eq(workspaces.id, ws)).get()!;
      tx.update(workspaces).set({ name: input.name.trim() }).where(eq(workspaces.id, ws)).run();
      recordAudit(tx, ctx, {
        action: "workspace.update",
        resourceType: "workspace",
        resourceId: ws,
        summary: { name: { from: before.name, to: input.name.trim() } },
      });
    },
    { behavior: "immediate" },
  );
}

/** Moves the session to another workspace the user is a member of; others answer 404. */
export function switchWorkspace(ctx: ServiceContext, idOrSlug: string): void {
  const userId = requireUser(ctx);
  const target = ctx.db
    .select({ id: workspaces.id })
    .from(workspaces)
    .innerJoin(memberships, eq(memberships.workspaceId, workspaces.id))
    .where(and(eq(memberships.userId, userId), sql`(${workspaces.id} = ${idOrSlug} OR ${workspaces.slug} = ${idOrSlug})`))
    .get();
  if (!target) throw new ServiceError("not_found", "workspace not found");
  ctx.db.update(sessions).set({ workspaceId: target.id }).where(eq(sessions.id, ctx.actor.sessionId!)).run();
}

// ---------- members ----------

export interface MemberView {
  userId: string;
  email: string;
  name: string;
  role: Role;
  totpEnabled: boolean;
  since: number;
}

export function listMembers(ctx: ServiceContext): MemberView[] {
  const ws = authorize(ctx, "viewer");
  return ctx.db
    .select({
      userId: users.id,
      email: users.email,
      name: users.name,
      role: memberships.role,
      totpEnabled: users.totpEnabled,
      since: memberships.createdAt,
    })
    .from(memberships)
    .innerJoin(users, eq(users.id, memberships.userId))
    .where(eq(memberships.workspaceId, ws))
    .orderBy(users.email)
    .all();
}

function assertCanGrant(ctx: ServiceContext, role: Role): void {
  if (role === "owner" && ctx.actor.role !== "owner")
    throw new ServiceError("forbidden", "only an owner can make someone an owner");
  if (roleRank(role) > roleRank(ctx.actor.role))
    throw new ServiceError("forbidden", `you cannot grant ${role}, which is above your own role`);
}

/**
 * Adds a member: an existing user by email, or a new local user when a password is given.
 */
export async function addMember(
  ctx: ServiceContext,
  input: { email: string; role: Role; name?: string; password?: string },
): Promise<MemberView> {
  const ws = authorize(ctx, "admin");
  assertCanGrant(ctx, input.role);
  const email = input.email.trim().toLowerCase();
  if (input.password) checkPasswordStrength(input.password);
  const hash = input.password ? await hashPassword(input.password) : null;
  return ctx.db.transaction(
    (tx) => {
      const now = ctx.now();
      let user = tx.select().from(users).where(eq(users.email, email)).get();
      if (!user) {
        if (!hash)
          throw new ServiceError(
            "not_found",
            `no user with the email ${email}; give a name and an initial password to create one`,
            [{ path: "password", message: "required for a new user" }],
          );
        user = tx
          .insert(users)
          .values({
            id: randomUUID(),
            email,
            name: input.name?.trim() || email,
            passwordHash: hash,
            passwordChangedAt: now,
            createdAt: now,
          })
          .returning()
          .get();
        recordAudit(tx, ctx, { action: "user.create", resourceType: "user", resourceId: user.id, summary: { email } });
      }
      if (
        tx
          .select()
          .from(memberships)
          .where(and(eq(memberships.workspaceId, ws), eq(memberships.userId, user.id)))
          .get()
      ) {
        throw new ServiceError("conflict", `${email} is already a member of this workspace`);
      }
      tx.insert(memberships).values({ workspaceId: ws, userId: user.id, role: input.role, createdAt: now }).run();
      recordAudit(tx, ctx, {
        action: "member.add",
        resourceType: "member",
        resourceId: user.id,
        summary: { email, role: input.role },
      });
      return { userId: user.id, email, name: user.name, role: input.role, totpEnabled: user.totpEnabled, since: now };
    },
    { behavior: "immediate" },
  );
}

function ownersLeft(ctx: ServiceContext, ws: string, excluding: string): number {
  return ctx.db
    .select({ n: sql<number>`count(*)` })
    .from(memberships)
    .where(and(eq(memberships.workspaceId, ws), eq(memberships.role, "owner"), sql`${memberships.userId} != ${excluding}`))
    .get()!.n;
}

function findMember(ctx: ServiceContext, ws: string, userId: string) {
  const m = ctx.db
    .select()
    .from(memberships)
    .where(and(eq(memberships.workspaceId, ws), eq(memberships.userId, userId)))
    .get();
  if (!m) throw new ServiceError("not_found", "member not found");
  return m;
}

export function updateMemberRole(ctx: ServiceContext, userId: string, role: Role): void {
  const ws = authorize(ctx, "admin");
  const m = findMember(ctx, ws, userId);
  assertCanGrant(ctx, role);
  if (m.role === "owner" && ctx.actor.role !== "owner")
    throw new ServiceError("forbidden", "only an owner can change an owner's role");
  if (m.role === "owner" && role !== "owner" && ownersLeft(ctx, ws, userId) === 0)
    throw new ServiceError("conflict", "a workspace needs at least one owner; make someone else owner first");
  ctx.db.transaction(
    (tx) => {
      tx.update(memberships)
        .set({ role })
        .where(and(eq(memberships.workspaceId, ws), eq(memberships.userId, userId)))
        .run();
      recordAudit(tx, ctx, {
        action: "member.update",
        resourceType: "member",
        resourceId: userId,
        summary: { role: { from: m.role, to: role } },
      });
    },
    { behavior: "immediate" },
  );
}

export function removeMember(ctx: ServiceContext, userId: string): void {
  const ws = authorize(ctx, "admin");
  const m = findMember(ctx, ws, userId);
  if (m.role === "owner" && ctx.actor.role !== "owner") throw new ServiceError("forbidden", "only an owner can remove an owner");
  if (m.role === "owner" && ownersLeft(ctx, ws, userId) === 0)
    throw new ServiceError("conflict", "a workspace needs at least one owner; make someone else owner first");
  ctx.db.transaction(
    (tx) => {
      tx.delete(memberships)
        .where(and(eq(memberships.workspaceId, ws), eq(memberships.userId, userId)))
        .run();
      // the user's tokens for this workspace stop working with the membership
      tx.update(apiTokens)
        .set({ revokedAt: ctx.now() })
        .where(and(eq(apiTokens.workspaceId, ws), eq(apiTokens.userId, userId)))
        .run();
      recordAudit(tx, ctx, { action: "member.remove", resourceType: "member", resourceId: userId, summary: { role: m.role } });
    },
    { behavior: "immediate" },
  );
}
