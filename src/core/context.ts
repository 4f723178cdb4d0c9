import type { Db } from "../db/client.ts";
import type { Keyring } from "../secrets/keyring.ts";
import { ServiceError } from "./errors.ts";

export const ROLES = ["viewer", "operator", "admin", "owner"] as const;
export type Role = (typeof ROLES)[number];

export function roleRank(role: Role | null | undefined): number {
  return role ? ROLES.indexOf(role) : -1;
}

/** Who is acting. A user via a session, an API token, the appliance itself, or the first-run setup. */
export interface Actor {
  type: "user" | "token" | "system" | "setup";
  userId: string | null;
  label: string;
  workspaceId: string | null;
  role: Role | null;
  sessionId?: string;
  tokenId?: string;
}

export interface ServiceContext {
  db: Db;
  keyring: Keyring;
  actor: Actor;
  requestId?: string;
  now: () => number;
}

/**
 * The first line of every workspace-scoped service verb: the actor must belong to a workspace and hold
 * at least `min` there. Returns the workspace id every query must then be scoped to.
 */
export function authorize(ctx: ServiceContext, min: Role): string {
  const { actor } = ctx;
  if (actor.type === "system") return actor.workspaceId ?? "";
  if (!actor.workspaceId || !actor.role)
    throw new ServiceError("forbidden", "you are not a member of any workspace; ask an owner to add you");
  if (roleRank(actor.role) < roleRank(min)) {
    throw new ServiceError("forbidden", `this needs the ${min} role in this workspace; you are ${actor.role}`);
  }
  return actor.workspaceId;
}

/** For self-service verbs (password, second factor, logout): any signed-in user, not a token. */
export function requireUser(ctx: ServiceContext): string {
  if (ctx.actor.type !== "user" || !ctx.actor.userId)
    throw new ServiceError("forbidden", "only a signed-in user can do this, not an API token");
  return ctx.actor.userId;
}

export const systemActor: Actor = { type: "system", userId: null, label: "system", workspaceId: null, role: null };
