import type { Settings } from "../config.ts";
import type { Actor, ServiceContext } from "../core/context.ts";
import type { EventBus } from "../core/events.ts";
import type { Store } from "../db/client.ts";
import type { Logger } from "../log.ts";
import type { Keyring } from "../secrets/keyring.ts";

/** Everything the HTTP layer needs, built once at start (or per test). */
export interface AppDeps {
  store: Store;
  keyring: Keyring;
  settings: Settings;
  logger: Logger;
  events: EventBus;
  now: () => number;
  version: string;
  /** the reconciler and providers; absent in tests that only exercise the API surface */
  runtime?: {
    reconciler: import("../reconciler/reconciler.ts").Reconciler;
    providers: Partial<Record<string, import("../../providers/provider.ts").Provider>>;
  };
}

interface SessionInfo {
  id: string;
  mfaPending: boolean;
  user: { id: string; email: string; name: string; totpEnabled: boolean };
}

export type AppEnv = {
  Variables: {
    deps: AppDeps;
    requestId: string;
    actor: Actor | null;
    session: SessionInfo | null;
    /** how the actor authenticated: a cookie needs CSRF checks, a bearer token does not */
    authVia: "cookie" | "bearer" | null;
    clientIp: string;
    secure: boolean;
  };
};

export function serviceContext(deps: AppDeps, actor: Actor, requestId?: string): ServiceContext {
  return { db: deps.store.db, keyring: deps.keyring, actor, requestId, now: deps.now };
}

import type { Context } from "hono";
/** The service context of a request whose actor the edge has already checked. */
export function ctxOf(c: Context<AppEnv, string, object>): ServiceContext {
  return serviceContext(c.get("deps"), c.get("actor")!, c.get("requestId"));
}
