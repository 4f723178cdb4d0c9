import type { Db, Tx } from "../db/client.ts";
import type { Keyring } from "../secrets/keyring.ts";
import type { EventBus } from "./events.ts";

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
  events: EventBus;
  requestId?: string;
  now: () => number;
}

export type ErrorCode =
  | "invalid_request"
  | "unauthorized"
  | "forbidden"
  | "not_found"
  | "conflict"
  | "policy_blocked"
  | "rate_limited"
  | "busy"
  | "payload_too_large"
  | "internal";

const STATUS: Record<ErrorCode, number> = {
  invalid_request: 400,
  unauthorized: 401,
  forbidden: 403,
  not_found: 404,
  conflict: 409,
  policy_blocked: 422,
  payload_too_large: 413,
  rate_limited: 429,
  internal: 500,
  busy: 503,
};

class DryRunRollback extends Error {
  constructor(readonly result: unknown) {
    super("rolled back (dry run)");
  }
}

/**
 * Runs `fn` in one immediate transaction. With `dryRun` everything it wrote is rolled back and its result is
 * returned anyway (a preview of the change: blast radius, findings).
 */
export function inTransaction<T>(ctx: Pick<ServiceContext, "db">, dryRun: boolean, fn: (tx: Tx) => T): T {
  try {
    return ctx.db.transaction((tx) => {
      const r = fn(tx);
      if (dryRun) throw new DryRunRollback(r);
      return r;
    }, { behavior: "immediate" });
  } catch (e) {
    if (e instanceof DryRunRollback) return e.result as T;
    throw e;
  }
}

/** An error a service raises on purpose; the HTTP layer maps it to `{"error":{code,message,details}}`. */
export class ServiceError extends Error {
  override name = "ServiceError";
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly details?: unknown,
    readonly retryAfterSeconds?: number,
  ) {
    super(message);
  }
  get status(): number {
    return STATUS[this.code];
  }
}

/**
 * The first line of every workspace-scoped service verb: the actor must belong to a workspace and hold
 * at least `min` there. Returns the workspace id every query must then be scoped to.
 */
export function authorize(ctx: ServiceContext, min: Role): string {
  const { actor } = ctx;
  if (actor.type === "system") return actor.workspaceId ?? "";
  if (!actor.workspaceId || !actor.role) throw new ServiceError("forbidden", "you are not a member of any workspace; ask an owner to add you");
  if (roleRank(actor.role) < roleRank(min)) {
    throw new ServiceError("forbidden", `this needs the ${min} role in this workspace; you are ${actor.role}`);
  }
  return actor.workspaceId;
}

/** For self-service verbs (password, second factor, logout): any signed-in user, not a token. */
export function requireUser(ctx: ServiceContext): string {
  if (ctx.actor.type !== "user" || !ctx.actor.userId) throw new ServiceError("forbidden", "only a signed-in user can do this, not an API token");
  return ctx.actor.userId;
}

export const systemActor: Actor = { type: "system", userId: null, label: "system", workspaceId: null, role: null };
