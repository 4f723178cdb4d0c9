import { randomBytes } from "node:crypto";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { resolveSettings } from "../../src/config.ts";
import type { Role } from "../../src/core/context.ts";
import { EventBus } from "../../src/core/events.ts";
import { migrate, openStore } from "../../src/db/client.ts";
import { createLogger } from "../../src/log.ts";
import { Keyring } from "../../src/secrets/keyring.ts";
import { createApp } from "../../src/server/app.ts";
import type { AppDeps } from "../../src/server/deps.ts";
import { addUserOffline, issueSetupToken } from "../../src/services/auth.ts";

export const PASSWORD = "correct horse battery";

/** A fresh app on an in-memory store, with the log captured in `logs`. */
export function makeTestApp(opts: { now?: () => number; settings?: Record<string, unknown> } = {}) {
  const logs: string[] = [];
  const store = openStore(":memory:");
  migrate(store);
  // settings only resolve the path; the in-memory store never writes there
  const dataDir = join(tmpdir(), "molthub-test-unused");
  const deps: AppDeps = {
    store,
    keyring: new Keyring(randomBytes(32), "test"),
    settings: resolveSettings({ dataDir, ...opts.settings }, {}),
    logger: createLogger({ level: "debug", write: (l) => logs.push(l) }),
    events: new EventBus(),
    now: opts.now ?? Date.now,
    version: "test",
  };
  const app = createApp(deps);

  const req = (path: string, init: RequestInit & { json?: unknown; cookie?: string; bearer?: string } = {}) => {
    const headers = new Headers(init.headers);
    if (init.json !== undefined) headers.set("content-type", "application/json");
    if (init.cookie) {
      headers.set("cookie", init.cookie);
      // what a browser sends with every non-GET request from our own pages
      if (!headers.has("origin")) headers.set("origin", "http://localhost");
    }
    if (init.bearer) headers.set("authorization", `Bearer ${init.bearer}`);
    return app.request(
      path,
      { ...init, headers, body: init.json !== undefined ? JSON.stringify(init.json) : init.body },
      undefined,
    );
  };

  /** Signs in through the API and returns the session cookie header value. */
  const signIn = async (email: string, password = PASSWORD) => {
    const res = await req("/api/v1/auth/login", { method: "POST", json: { email, password } });
    if (res.status !== 200) throw new Error(`login failed: ${res.status} ${await res.text()}`);
    const set = res.headers.get("set-cookie")!;
    return set.split(";")[0]!;
  };

  /** Creates the first owner through the real setup-token flow; returns its cookie and workspace. */
  const setupOwner = async (email = "owner@example.com") => {
    const t = issueSetupToken(store.db)!;
    const res = await req("/api/v1/setup", {
      method: "POST",
      json: { token: t.token, email, name: "Owner", password: PASSWORD },
    });
    if (res.status !== 201) throw new Error(`setup failed: ${res.status} ${await res.text()}`);
    const body = (await res.json()) as { userId: string; workspaceId: string };
    return { cookie: res.headers.get("set-cookie")!.split(";")[0]!, ...body };
  };

  const addUser = async (email: string, role: Role, workspace?: string) => {
    await addUserOffline(store.db, { email, name: email, password: PASSWORD, role, workspace });
    return signIn(email);
  };

  return { app, deps, store, logs, req, signIn, setupOwner, addUser };
}
