/**
 * The canary: plant unique secret values, drive every path a value could leak through (API, UI forms, the
 * wizard, a failing reconcile whose error holds the value, gateway log lines, audit list/export, events,
 * error responses that echo input, the logger), and assert the values appear in none of the outputs, nor in
 * the database file, its -wal and -shm — while the paths demonstrably carried them (we see "[redacted]").
 */

import { randomBytes } from "node:crypto";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { LocalProvider } from "../../providers/local/provider.ts";
import { type BotRef, type BotRuntime, type Provider, ProviderError } from "../../providers/provider.ts";
import { resolveSettings } from "../../src/config.ts";
import { EventBus } from "../../src/core/events.ts";
import { migrate, openStore } from "../../src/db/client.ts";
import { createLogger } from "../../src/log.ts";
import { Reconciler } from "../../src/reconciler/reconciler.ts";
import { forgetSecret } from "../../src/secrets/redact.ts";
import { openVault } from "../../src/secrets/vault.ts";
import { createApp } from "../../src/server/app.ts";
import type { AppDeps } from "../../src/server/deps.ts";
import { issueSetupToken } from "../../src/services/auth.ts";
import { PASSWORD } from "../helpers/app.ts";
import { FORM_CONTENT_TYPE, HTML, SAME_ORIGIN } from "../helpers/web.ts";

const root = mkdtempSync(join(tmpdir(), "molthub-canary-"));
afterAll(() => rmSync(root, { recursive: true, force: true }));

/** Unique values that are not valid names anywhere (upper case, underscores), so echoes of bad input show up. */
const canary = (what: string) => `sk-CANARY_${what}_${randomBytes(12).toString("hex")}`;
const CANARY_API = canary("api");
const CANARY_UI = canary("ui");
const CANARY_WIZ = canary("wizard");
const CANARIES = [CANARY_API, CANARY_UI, CANARY_WIZ];
const FORM = { ...SAME_ORIGIN, ...FORM_CONTENT_TYPE };

/** The local provider, except that installing fails with an error quoting the bot's API key (a careless npm/registry message). */
class LeakyProvider implements Provider {
  readonly kind = "local" as const;
  readonly capabilities;
  constructor(private readonly real: LocalProvider) {
    this.capabilities = { ...real.capabilities, validate: false };
  }
  layout(bot: BotRef) {
    return this.real.layout(bot);
  }
  async ensure(bot: BotRuntime): Promise<void> {
    throw new ProviderError(`npm install failed: registry rejected the auth token ${bot.env.ANTHROPIC_API_KEY} (E401)`);
  }
  async configure(): Promise<void> {}
  async start(): Promise<void> {}
  async stop(): Promise<void> {}
  async observe() {
    return { exists: false, running: false };
  }
  logs(bot: BotRef, opts: { follow: boolean; tail?: number }, signal: AbortSignal) {
    return this.real.logs(bot, opts, signal);
  }
  async destroy(): Promise<void> {}
  async endpoint(): Promise<never> {
    throw new ProviderError("no gateway in this test", "unreachable");
  }
}

function makeCanaryApp() {
  const dataDir = join(root, "data");
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  const store = openStore(join(dataDir, "molthub.db"));
  migrate(store);
  const logs: string[] = [];
  const logger = createLogger({ level: "debug", write: (l) => logs.push(l) });
  const settings = resolveSettings({ dataDir, reconciler: false }, {});
  const { keyring } = openVault({ db: store.db, dataDir, env: {} });
  const events = new EventBus();
  const real = new LocalProvider({ rootDir: join(dataDir, "bots", "local"), logger });
  const provider = new LeakyProvider(real);
  const reconciler = new Reconciler({
    db: store.db,
    keyring,
    logger: logger.child({ component: "reconciler" }),
    events,
    providers: { local: provider },
  });
  const deps: AppDeps = {
    store,
    keyring,
    settings,
    logger,
    events,
    now: Date.now,
    version: "test",
    runtime: { reconciler, providers: { local: provider } },
  };
  const app = createApp(deps);
  const outputs: { what: string; text: string }[] = [];
  const req = async (
    what: string,
    path: string,
    init: RequestInit & { json?: unknown; cookie?: string; form?: Record<string, string> } = {},
  ) => {
    const headers = new Headers(init.headers);
    let body = init.body;
    if (init.json !== undefined) {
      headers.set("content-type", "application/json");
      body = JSON.stringify(init.json);
    }
    if (init.form) {
      for (const [k, v] of Object.entries(FORM)) headers.set(k, v);
      body = new URLSearchParams(init.form).toString();
    }
    if (init.cookie) headers.set("cookie", init.cookie);
    if (init.cookie && !headers.has("origin")) headers.set("origin", "http://localhost");
    const res = await app.request(path, { ...init, headers, body }, undefined);
    const text = await res.text();
    const hdrs: string[] = [];
    res.headers.forEach((v, k) => hdrs.push(`${k}: ${v}`));
    outputs.push({ what: `${what} (${res.status})`, text: `${text}\n${hdrs.join("\n")}` });
    return { res, text };
  };
  return { dataDir, store, logs, deps, app, req, outputs, reconciler, real };
}

describe("canary: a planted secret value leaks nowhere", () => {
  it("is absent from every response, page, log line, event, audit entry and the database files", async () => {
    const t = makeCanaryApp();
    const live: string[] = [];

    // owner through the real setup flow
    const tok = issueSetupToken(t.store.db)!;
    const setup = await t.req("setup", "/api/v1/setup", {
      method: "POST",
      json: { token: tok.token, email: "owner@example.com", name: "Owner", password: PASSWORD },
    });
    expect(setup.res.status).toBe(201);
    const cookie = setup.res.headers.get("set-cookie")!.split(";")[0]!;
    const wsId = (JSON.parse(setup.text) as { workspaceId: string }).workspaceId;
    t.deps.events.subscribe(wsId, (e) => live.push(JSON.stringify(e)));

    // 1. store: API, the /secrets form, and the create-bot wizard
    expect(
      (
        await t.req("api put", "/api/v1/secrets/canary-key", {
          method: "PUT",
          cookie,
          json: { value: CANARY_API, description: "planted" },
        })
      ).res.status,
    ).toBe(200);
    expect(
      (
        await t.req("ui store", "/secrets", {
          method: "POST",
          cookie,
          form: { name: "canary-ui", value: CANARY_UI, description: "planted via the form" },
        })
      ).res.status,
    ).toBe(303);
    const carried = (html: string) => {
      const out: Record<string, string> = {};
      for (const m of html.matchAll(/<input type="hidden" name="([^"]+)" value="([^"]*)"/g))
        out[m[1]!] = m[2]!.replace(/&amp;/g, "&").replace(/&quot;/g, '"');
      return out;
    };
    const w2 = await t.req("wizard 1", "/bots/new", {
      method: "POST",
      cookie,
      form: {
        step: "1",
        go: "next",
        name: "wizbot",
        provider: "local",
        version: "2026.9.6",
        image: "ghcr.io/openclaw/openclaw:2026.9.6",
        network: "host",
      },
    });
    const w3 = await t.req("wizard 2", "/bots/new", {
      method: "POST",
      cookie,
      form: { ...carried(w2.text), go: "next", model: "anthropic/claude-sonnet-4-5", dmPolicy: "pairing" },
    });
    const w4 = await t.req("wizard 3", "/bots/new", {
      method: "POST",
      cookie,
      form: { ...carried(w3.text), go: "next", newname_ANTHROPIC_API_KEY: "wizard-key", value_ANTHROPIC_API_KEY: CANARY_WIZ },
    });
    const deployed = await t.req("wizard deploy", "/bots/new", {
      method: "POST",
      cookie,
      form: { ...carried(w4.text), go: "deploy" },
    });
    expect(deployed.res.status).toBe(303);

    // 2. a restart: this process forgets the values; start-up registers them again from the vault
    for (const c of CANARIES) forgetSecret(c);
    openVault({ db: t.store.db, dataDir: t.dataDir, env: {} });

    // 3. reads
    const list = await t.req("api list", "/api/v1/secrets", { cookie });
    expect(list.text).toContain('"name":"canary-key"');
    await t.req("api get", "/api/v1/secrets/canary-key", { cookie });
    expect((await t.req("secrets page", "/secrets", { cookie, headers: HTML })).text).toContain("<code>canary-ui</code>");

    // 4. a bot that references it (API apply), and its reconcile failing with the value in the error
    expect(
      (
        await t.req("apply", "/api/v1/bots/apply", {
          method: "POST",
          cookie,
          json: {
            apiVersion: "molthub/v1",
            kind: "Bot",
            metadata: { name: "canary-bot" },
            spec: {
              target: { provider: "local", version: "2026.9.6" },
              secrets: { ANTHROPIC_API_KEY: { secret: "canary-key" } },
            },
          },
        })
      ).res.status,
    ).toBe(200);
    expect(await t.reconciler.runDue()).toBeGreaterThanOrEqual(2);
    const bot = await t.req("api bot", "/api/v1/bots/canary-bot", { cookie });
    expect(bot.text).toContain("registry rejected the auth token [redacted]"); // the path carried the value
    await t.req("api wizbot", "/api/v1/bots/wizbot", { cookie });
    await t.req("bots list", "/api/v1/bots", { cookie });
    await t.req("bot page", "/bots/canary-bot", { cookie, headers: HTML });
    await t.req("bots page", "/bots", { cookie, headers: HTML });
    await t.req("dashboard", "/", { cookie, headers: HTML });
    await t.req("export", "/api/v1/bots/export", { cookie });

    // 5. gateway log lines with the values, through the log endpoint (tail and live stream)
    const logFile = t.real.layout({
      id: "x",
      name: "canary-bot",
      workspaceId: wsId,
      target: { provider: "local", version: "2026.9.6" } as never,
      port: 0,
    }).logFile;
    mkdirSync(dirname(logFile), { recursive: true });
    writeFileSync(
      logFile,
      `${JSON.stringify({ level: "error", msg: `auth failed for key ${CANARY_API}` })}\n${JSON.stringify({ msg: `env dump ANTHROPIC_API_KEY=${CANARY_WIZ} TELEGRAM=${CANARY_UI}` })}\n`,
    );
    const tail = await t.req("logs tail", "/api/v1/bots/canary-bot/logs?tail=50", { cookie });
    expect(tail.text).toContain("auth failed for key [redacted]");
    const followRes = await t.app.request("/api/v1/bots/canary-bot/logs?follow=true&tail=50", { headers: { cookie } }, undefined);
    const reader = followRes.body!.getReader();
    let streamed = "";
    for (let i = 0; i < 20 && !streamed.includes("env dump"); i++) {
      const { value, done } = await reader.read();
      if (done) break;
      streamed += new TextDecoder().decode(value);
    }
    await reader.cancel();
    expect(streamed).toContain("env dump ANTHROPIC_API_KEY=[redacted] TELEGRAM=[redacted]");
    t.outputs.push({ what: "logs follow", text: streamed });

    // 6. audit list, export and page
    await t.req("audit list", "/api/v1/audit", { cookie });
    await t.req("audit csv", "/api/v1/audit/export?format=csv", { cookie });
    await t.req("audit jsonl", "/api/v1/audit/export?format=jsonl", { cookie });
    await t.req("audit page", "/audit", { cookie, headers: HTML });

    // 7. error responses that echo input
    await t.req("bad secret name", `/api/v1/secrets/${encodeURIComponent(CANARY_API)}`, {
      method: "PUT",
      cookie,
      json: { value: CANARY_API },
    });
    await t.req("bad secret body", "/api/v1/secrets/x-key", {
      method: "PUT",
      cookie,
      json: { value: CANARY_API, extra: CANARY_UI },
    });
    await t.req("unknown bot", `/api/v1/bots/${CANARY_API}`, { cookie });
    await t.req("unknown route", `/api/v1/nowhere/${CANARY_UI}`, { cookie });
    const badApply = await t.req("bad apply", "/api/v1/bots/apply", {
      method: "POST",
      cookie,
      json: {
        apiVersion: "molthub/v1",
        kind: "Bot",
        metadata: { name: CANARY_API },
        spec: { target: { provider: "local", version: CANARY_UI } },
      },
    });
    expect(badApply.res.status).toBe(400);
    await t.req("plaintext in config", "/api/v1/bots/apply?dryRun=true", {
      method: "POST",
      cookie,
      json: {
        apiVersion: "molthub/v1",
        kind: "Bot",
        metadata: { name: "leaky" },
        spec: {
          target: { provider: "local", version: "2026.9.6" },
          openclaw: { channels: { telegram: { enabled: true, botToken: CANARY_WIZ } } },
        },
      },
    });
    const uiBad = await t.req("ui bad apply", "/bots/apply", {
      method: "POST",
      cookie,
      form: {
        manifest: `apiVersion: molthub/v1\nkind: Bot\nmetadata: { name: ${CANARY_API} }\nspec: { target: { provider: local, version: "2026.9.6" } }\n`,
        mode: "dry-run",
      },
    });
    expect(uiBad.res.status).toBe(400);
    // Known limit (docs/secrets.md): the apply form gives the pasted manifest back to the person who just posted it,
    // in its textarea, so it can be corrected. Everything else on that page (the error messages) is checked.
    const own = t.outputs.find((o) => o.what.startsWith("ui bad apply"))!;
    own.text = own.text.replace(/(<textarea[^>]*name="manifest"[^>]*>)[\s\S]*?(<\/textarea>)/, "$1$2");
    await t.req("ui bad secret", "/secrets", { method: "POST", cookie, form: { name: CANARY_UI, value: CANARY_UI } });
    await t.req("delete in use", "/api/v1/secrets/canary-key", { method: "DELETE", cookie });

    // everything that left the process
    t.store.sqlite.exec("PRAGMA wal_checkpoint(PASSIVE)");
    const sources: { what: string; text: string }[] = [
      ...t.outputs,
      { what: "logger", text: t.logs.join("\n") },
      { what: "live events", text: live.join("\n") },
    ];
    expect(t.logs.join("\n")).toContain("[redacted]"); // the reconcile failure was logged, redacted
    for (const f of ["molthub.db", "molthub.db-wal", "molthub.db-shm"]) {
      const p = join(t.dataDir, f);
      if (existsSync(p)) sources.push({ what: f, text: readFileSync(p).toString("latin1") });
    }
    expect(sources.some((s) => s.what === "molthub.db-wal")).toBe(true);
    for (const s of sources) {
      for (const c of CANARIES) {
        expect(s.text.includes(c), `${s.what} contains a planted value`).toBe(false);
        // nor its base64 / URL-encoded forms
        expect(s.text.includes(Buffer.from(c).toString("base64")), `${s.what} contains a planted value (base64)`).toBe(false);
      }
    }
    t.store.close();
  });
});
