/**
 * A bot's conditions through the API (in CONDITION_TYPES order, in the OpenAPI document) and the CLI (`get bots`
 * shows the first failing condition's message, `describe bot` a table of all of them).
 */
import { afterEach, describe, expect, it, vi } from "vitest";
import { describeBot, getBots } from "../../src/cli/bots.ts";
import { ApiClient } from "../../src/cli/client.ts";
import { CONDITION_TYPES } from "../../src/domain/conditions.ts";
import { makeTestApp } from "../helpers/app.ts";

const MANIFEST = {
  apiVersion: "molthub/v1",
  kind: "Bot",
  metadata: { name: "support-bot" },
  spec: { target: { provider: "local", version: "2026.9.6" }, openclaw: {} },
};

async function setup() {
  const now = Date.now();
  const t = makeTestApp({ now: () => now });
  const { cookie } = await t.setupOwner();
  const res = await t.req("/api/v1/bots/apply", { method: "POST", cookie, json: MANIFEST });
  expect(res.status, await res.clone().text()).toBe(200);
  // stored out of order, as the reconciler may write them
  const conditions = {
    Drifted: { status: "False", reason: "InSync", message: "live config matches revision 1", since: now - 60_000 },
    Ready: { status: "True", reason: "GatewayReady", message: "readyz ok", since: now - 2 * 3600_000 },
    TargetReachable: {
      status: "False",
      reason: "HostUnreachable",
      message: "host nas (nas.test:22) is unreachable: check that it is up",
      since: now - 7 * 60_000,
    },
  };
  t.store.sqlite
    .query(
      "update bots set conditions = ?, status = 'degraded', status_reason = 'not ready: connect was cancelled' where name = 'support-bot'",
    )
    .run(JSON.stringify(conditions));
  return { t, cookie, now, conditions };
}

let stop: (() => void) | undefined;
afterEach(() => {
  stop?.();
  stop = undefined;
  vi.restoreAllMocks();
});

describe("bot conditions in the API", () => {
  it("returns them as a list in CONDITION_TYPES order, on the bot, in the list, and in the OpenAPI document", async () => {
    const { t, cookie, conditions } = await setup();
    const one = (await (await t.req("/api/v1/bots/support-bot", { cookie })).json()) as {
      bot: { conditions: { type: string }[] };
    };
    expect(one.bot.conditions).toEqual([
      { type: "TargetReachable", ...conditions.TargetReachable },
      { type: "Ready", ...conditions.Ready },
      { type: "Drifted", ...conditions.Drifted },
    ]);
    const list = (await (await t.req("/api/v1/bots", { cookie })).json()) as { items: { conditions: unknown[] }[] };
    expect(list.items[0]!.conditions).toEqual(one.bot.conditions);

    const doc = (await (await t.req("/api/v1/openapi.json")).json()) as {
      components: { schemas: Record<string, { properties?: Record<string, { enum?: string[]; items?: unknown }> }> };
    };
    expect(doc.components.schemas.Bot!.properties!.conditions!.items).toEqual({ $ref: "#/components/schemas/BotCondition" });
    expect(doc.components.schemas.BotCondition!.properties!.type!.enum).toEqual([...CONDITION_TYPES]);
    expect(doc.components.schemas.BotCondition!.properties!.status!.enum).toEqual(["True", "False", "Unknown"]);
  });

  it("a bot nothing was observed for yet has an empty list", async () => {
    const t = makeTestApp();
    const { cookie } = await t.setupOwner();
    await t.req("/api/v1/bots/apply", { method: "POST", cookie, json: MANIFEST });
    const one = (await (await t.req("/api/v1/bots/support-bot", { cookie })).json()) as { bot: { conditions: unknown[] } };
    expect(one.bot.conditions).toEqual([]);
  });
});

describe("bot conditions in the CLI", () => {
  async function cli() {
    const s = await setup();
    const res = await s.t.req("/api/v1/tokens", { method: "POST", cookie: s.cookie, json: { name: "cli", role: "viewer" } });
    const { token } = (await res.json()) as { token: string };
    const server = Bun.serve({ hostname: "127.0.0.1", port: 0, fetch: (req) => s.t.app.fetch(req) });
    stop = () => server.stop(true);
    const out: string[] = [];
    vi.spyOn(console, "log").mockImplementation((...a: unknown[]) => void out.push(a.join(" ")));
    return { ...s, client: new ApiClient({ server: `http://127.0.0.1:${server.port}`, token }, {}), out };
  }

  it("describe prints a conditions table: failing ones marked, since as relative time, the message with its fix", async () => {
    const { client, out } = await cli();
    await describeBot(client, "support-bot");
    const text = out.join("\n");
    const lines = text.split("\n");
    const head = lines.indexOf("Conditions:");
    expect(head).toBeGreaterThan(0);
    const table = lines.slice(head + 1, head + 5);
    expect(table[0]).toMatch(/^ {5}TYPE\s+STATUS\s+REASON\s+SINCE\s+MESSAGE$/);
    expect(table[1]).toMatch(
      /^ {2}! {2}TargetReachable\s+False\s+HostUnreachable\s+7 min ago\s+host nas \(nas\.test:22\) is unreachable: check that it is up$/,
    );
    expect(table[2]).toMatch(/^ {5}Ready\s+True\s+GatewayReady\s+2 h ago\s+readyz ok$/);
    expect(table[3]).toMatch(/^ {5}Drifted\s+False\s+InSync\s+1 min ago\s+live config matches revision 1$/);
  });

  it("get bots shows the first failing condition's message where it showed the status reason", async () => {
    const { client, out } = await cli();
    await getBots(client);
    const row = out.find((l) => l.startsWith("support-bot"))!;
    expect(row).toContain("host nas (nas.test:22) is unreachable: check that it is up");
    expect(row).not.toContain("connect was cancelled");
  });
});
