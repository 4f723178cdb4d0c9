import { randomUUID } from "node:crypto";
import { and, desc, eq, isNull } from "drizzle-orm";
import { recordAudit } from "../core/audit.ts";
import { authorize, type Role, roleRank, type ServiceContext } from "../core/context.ts";
import { secretToken, sha256 } from "../core/credentials.ts";
import { ServiceError } from "../core/errors.ts";
import { apiTokens } from "../db/schema.ts";

export interface TokenView {
  id: string;
  name: string;
  role: Role;
  prefix: string;
  userId: string;
  expiresAt: number | null;
  lastUsedAt: number | null;
  revokedAt: number | null;
  createdAt: number;
}

function view(t: typeof apiTokens.$inferSelect): TokenView {
  return {
    id: t.id,
    name: t.name,
    role: t.role,
    prefix: t.prefix,
    userId: t.userId,
    expiresAt: t.expiresAt,
    lastUsedAt: t.lastUsedAt,
    revokedAt: t.revokedAt,
    createdAt: t.createdAt,
  };
}

/** Admins see every token of the workspace; everyone else their own. */
export function listTokens(ctx: ServiceContext): TokenView[] {
  const ws = authorize(ctx, "viewer");
  const mine = roleRank(ctx.actor.role) < roleRank("admin");
  const where = mine
    ? and(eq(apiTokens.workspaceId, ws), eq(apiTokens.userId, ctx.actor.userId ?? ""))
    : eq(apiTokens.workspaceId, ws);
  return ctx.db.select().from(apiTokens).where(where).orderBy(desc(apiTokens.createdAt)).all().map(view);
}

/**
 * Creates an API token bound to the current workspace with a role no higher than the caller's.
 * The token is returned once; only its hash is kept.
 */
export function createToken(
  ctx: ServiceContext,
  input: { name: string; role: Role; expiresInDays?: number | null },
): { token: string; item: TokenView } {
  const ws = authorize(ctx, "viewer");
  if (!ctx.actor.userId) throw new ServiceError("forbidden", "tokens belong to a user; the system cannot create one");
  if (roleRank(input.role) > roleRank(ctx.actor.role))
    throw new ServiceError("forbidden", `a token cannot have a higher role (${input.role}) than yours (${ctx.actor.role})`);
  const token = secretToken("mht");
  const now = ctx.now();
  const expiresAt = input.expiresInDays ? now + input.expiresInDays * 86_400_000 : null;
  return ctx.db.transaction(
    (tx) => {
      const row = tx
        .insert(apiTokens)
        .values({
          id: randomUUID(),
          workspaceId: ws,
          userId: ctx.actor.userId!,
          name: input.name.trim(),
          role: input.role,
          tokenHash: sha256(token),
          prefix: token.slice(0, 10),
          expiresAt,
          createdAt: now,
        })
        .returning()
        .get();
      recordAudit(tx, ctx, {
        action: "token.create",
        resourceType: "token",
        resourceId: row.id,
        summary: { name: row.name, role: row.role, expiresAt },
      });
      return { token, item: view(row) };
    },
    { behavior: "immediate" },
  );
}

export function revokeToken(ctx: ServiceContext, id: string): void {
  const ws = authorize(ctx, "viewer");
  const t = ctx.db
    .select()
    .from(apiTokens)
    .where(and(eq(apiTokens.id, id), eq(apiTokens.workspaceId, ws)))
    .get();
  if (!t) throw new ServiceError("not_found", "token not found");
  if (t.userId !== ctx.actor.userId && roleRank(ctx.actor.role) < roleRank("admin"))
    throw new ServiceError("forbidden", "only an admin can revoke another user's token");
  if (t.revokedAt) return;
  ctx.db.transaction(
    (tx) => {
      tx.update(apiTokens)
        .set({ revokedAt: ctx.now() })
        .where(and(eq(apiTokens.id, id), isNull(apiTokens.revokedAt)))
        .run();
      recordAudit(tx, ctx, { action: "token.revoke", resourceType: "token", resourceId: id, summary: { name: t.name } });
    },
    { behavior: "immediate" },
  );
}
