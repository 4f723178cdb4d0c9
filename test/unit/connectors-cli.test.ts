/**
 * `molthub connector …` against the app served on loopback: list, get, test (exit code), bind, the rotation's
 * blast radius (and the refusal to rotate unconfirmed without a terminal), delete. Commands that read a value
 * from stdin are covered through the API tests; the value never travels in argv.
 */

import type { Server } from "bun";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { ApiClient } from "../../src/cli/client.ts";
import { run } from "../../src/cli/connectors.ts";
import { makeTestApp } from "../helpers/app.ts";
import { type StandIn, startProviderStandIn, VALID } from "../helpers/provider-standins.ts";

let t: ReturnType<typeof makeTestApp>;
let server: Server<undefined>;
let api: StandIn;
let client: ApiClient;

async function cli(...argv: string[]): Promise<{ code: number; out: string; err: string }> {
  const lines: string[] = [];
  const spy = vi.spyOn(console, "log").mockImplementation((...a: unknown[]) => {
    lines.push(a.join(" "));
  });
  try {
    const code = await run(client, ["connector", ...argv]);
    return { code, out: lines.join("\n"), err: "" };
  } catch (e) {
    return { code: (e as { exitCode?: number }).exitCode ?? 1, out: lines.join("\n"), err: (e as Error).message };
  } finally {
    spy.mockRestore();
  }
}

beforeAll(async () => {
  api = startProviderStandIn();
  t = makeTestApp();
  const { cookie } = await t.setupOwner();
  const tok = (await (
    await t.req("/api/v1/tokens", { method: "POST", cookie, json: { name: "cli", role: "owner" } })
  ).json()) as { token: string };
  server = Bun.serve({ hostname: "127.0.0.1", port: 0, fetch: (req) => t.app.fetch(req) });
  client = new ApiClient({ server: `http://127.0.0.1:${server.port}`, token: tok.token });
  const bot = {
    apiVersion: "molthub/v1",
    kind: "Bot",
    metadata: { name: "worker" },
    spec: { target: { provider: "local", version: "2026.9.6" } },
  };
  expect((await t.req("/api/v1/bots/apply", { method: "POST", cookie, json: bot })).status).toBe(200);
  expect(
    (
      await t.req("/api/v1/connectors", {
        method: "POST",
        cookie,
        json: { name: "tg", type: "telegram", value: VALID.telegram, settings: { baseUrl: api.url } },
      })
    ).status,
  ).toBe(201);
});
afterAll(async () => {
  await server.stop(true);
  await api.stop();
});

describe("molthub connector", () => {
  it("lists and shows connectors", async () => {
    const l = await cli("list");
    expect(l.code).toBe(0);
    expect(l.out).toMatch(/tg\s+telegram\s+TELEGRAM_BOT_TOKEN/);
    const g = await cli("get", "tg", "--output", "json");
    expect(JSON.parse(g.out)).toMatchObject({ name: "tg", secret: "connector-tg" });
  });

  it("tests a connection, with exit code 0 on success", async () => {
    const r = await cli("test", "tg");
    expect(r.code).toBe(0);
    expect(r.out).toContain("ok: the token works; the bot is @standin_bot");
  });

  it("binds a bot and shows the rotation's blast radius; refuses to rotate unconfirmed without a terminal", async () => {
    const b = await cli("bind", "tg", "--bot", "worker");
    expect(b.code).toBe(0);
    expect(b.out).toContain("bot/worker bound to connector/tg: revision 2 queued");
    const dry = await cli("rotate", "tg", "--dry-run");
    expect(dry.code).toBe(0);
    expect(dry.out).toContain("would store connector-tg v2");
    expect(dry.out).toMatch(/worker\s+TELEGRAM_BOT_TOKEN\s+connector\s+restart/);
    const r = await cli("rotate", "tg");
    expect(r.code).toBe(2);
    expect(r.err).toContain("add --yes");
  });

  it("refuses to delete while bound; usage errors exit 2", async () => {
    const d = await cli("delete", "tg");
    expect(d.code).toBe(1);
    expect(d.err).toContain("bound to worker");
    expect((await cli("bind", "tg")).code).toBe(2);
    expect((await cli("frobnicate")).code).toBe(2);
    expect((await cli("unbind", "tg", "--bot", "worker")).code).toBe(0);
    expect((await cli("delete", "tg")).out).toContain("connector/tg deleted with its secret connector-tg");
  });
});
