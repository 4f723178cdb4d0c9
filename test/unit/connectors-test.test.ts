/**
 * Connection tests of every connector type against loopback stand-ins of the provider APIs: a valid credential
 * → ok with details, a wrong one → the refusal path, a slow API → the timeout path, a closed port → a clear
 * error. No message, detail or log line may carry the credential.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CONNECTOR_TYPE_DEFS, type ConnectorType } from "../../src/domain/connectors.ts";
import { runConnectionTest } from "../../src/services/connectors.ts";
import { type StandIn, startProviderStandIn, unusedLoopbackPort, VALID } from "../helpers/provider-standins.ts";

let api: StandIn;
let slow: StandIn;

beforeAll(() => {
  api = startProviderStandIn();
  slow = startProviderStandIn({ delayMs: 2_000 });
});
afterAll(async () => {
  await api.stop();
  await slow.stop();
});

const CASES: { type: ConnectorType; valid?: string; detail: [string, unknown] }[] = [
  { type: "anthropic", valid: VALID.anthropic, detail: ["models", 2] },
  { type: "openai", valid: VALID.openai, detail: ["models", 3] },
  { type: "openrouter", valid: VALID.openrouter, detail: ["usage", 1.5] },
  { type: "ollama", detail: ["models", 2] },
  { type: "telegram", valid: VALID.telegram, detail: ["username", "standin_bot"] },
  { type: "discord", valid: VALID.discord, detail: ["username", "standin-discord"] },
  { type: "slack", valid: VALID.slack, detail: ["team", "Stand-in Team"] },
];

/** A wrong credential that still looks like one, so a leak would be visible. */
const wrongFor = (type: ConnectorType) => `wrong-${type}-credential-0123456789`;

function assertNoCredential(r: unknown, ...creds: (string | undefined)[]) {
  const text = JSON.stringify(r);
  for (const c of creds) if (c) expect(text).not.toContain(c);
}

describe("connection tests against the stand-ins", () => {
  for (const c of CASES) {
    it(`${c.type}: a valid credential is accepted, with details`, async () => {
      const r = await runConnectionTest(c.type, api.url, { credential: c.valid });
      expect(r.ok, r.message).toBe(true);
      expect(r.details[c.detail[0]]).toEqual(c.detail[1]);
      assertNoCredential(r, c.valid);
    });

    if (c.valid) {
      it(`${c.type}: a wrong credential is refused with what to do`, async () => {
        const wrong = wrongFor(c.type);
        const r = await runConnectionTest(c.type, api.url, { credential: wrong });
        expect(r.ok).toBe(false);
        expect(r.message).toMatch(/refused/);
        expect(r.message).toMatch(/rotate/);
        assertNoCredential(r, wrong);
      });
    }

    it(`${c.type}: a slow API hits the deadline`, async () => {
      const r = await runConnectionTest(c.type, slow.url, { credential: c.valid }, { timeoutMs: 200 });
      expect(r.ok).toBe(false);
      expect(r.message).toContain("no answer from");
      expect(r.details.error).toBe("timeout");
      assertNoCredential(r, c.valid);
    });

    it(`${c.type}: nothing listening is a clear error`, async () => {
      const base = `http://127.0.0.1:${unusedLoopbackPort()}`;
      const r = await runConnectionTest(c.type, base, { credential: c.valid ?? undefined });
      expect(r.ok).toBe(false);
      expect(r.message).toContain(`nothing answers at ${base}`);
      assertNoCredential(r, c.valid);
    });
  }

  it("sends each provider's own auth header (and Telegram's token only in the path)", async () => {
    api.requests.length = 0;
    await runConnectionTest("anthropic", api.url, { credential: VALID.anthropic });
    await runConnectionTest("discord", api.url, { credential: VALID.discord });
    await runConnectionTest("telegram", api.url, { credential: VALID.telegram });
    expect(api.requests[0]).toMatchObject({ method: "GET", path: "/v1/models" });
    expect(api.requests[0]!.headerNames).toEqual(expect.arrayContaining(["x-api-key", "anthropic-version"]));
    expect(api.requests[1]).toMatchObject({ method: "GET", path: "/api/v10/users/@me" });
    expect(api.requests[2]).toMatchObject({ method: "GET", path: "/bot<token>/getMe" });
    expect(api.requests[2]!.headerNames).not.toContain("authorization");
  });

  it("a base URL that is not the API root says so (404), and a missing credential says what to do", async () => {
    const r = await runConnectionTest("openai", `${api.url}/nope`, { credential: VALID.openai });
    expect(r.ok).toBe(false);
    expect(r.message).toMatch(/404.*base URL/);
    const none = await runConnectionTest("discord", api.url, {});
    expect(none.ok).toBe(false);
    expect(none.message).toMatch(/no Discord bot token; rotate/);
  });

  it("every type names its env vars and real OpenClaw paths", () => {
    const ref = (id: string) => ({ source: "env", provider: "default", id });
    expect(CONNECTOR_TYPE_DEFS.anthropic.fragment({})).toEqual({
      models: { providers: { anthropic: { apiKey: ref("ANTHROPIC_API_KEY") } } },
    });
    expect(CONNECTOR_TYPE_DEFS.openai.fragment({ baseUrl: "https://llm.internal.example" })).toEqual({
      models: { providers: { openai: { apiKey: ref("OPENAI_API_KEY"), baseUrl: "https://llm.internal.example/v1" } } },
    });
    expect(CONNECTOR_TYPE_DEFS.openrouter.fragment({ baseUrl: "https://openrouter.ai" })).toEqual({
      models: { providers: { openrouter: { apiKey: ref("OPENROUTER_API_KEY") } } },
    });
    expect(CONNECTOR_TYPE_DEFS.ollama.fragment({ baseUrl: "http://ollama.lan:11434" })).toEqual({
      models: { providers: { ollama: { baseUrl: "http://ollama.lan:11434", api: "ollama" } } },
    });
    expect(CONNECTOR_TYPE_DEFS.telegram.fragment({})).toEqual({
      channels: { telegram: { botToken: ref("TELEGRAM_BOT_TOKEN") } },
    });
    expect(CONNECTOR_TYPE_DEFS.telegram.fragment({ baseUrl: "http://127.0.0.1:8081" })).toEqual({
      channels: { telegram: { botToken: ref("TELEGRAM_BOT_TOKEN"), apiRoot: "http://127.0.0.1:8081" } },
    });
    expect(CONNECTOR_TYPE_DEFS.discord.fragment({})).toEqual({ channels: { discord: { token: ref("DISCORD_BOT_TOKEN") } } });
    expect(CONNECTOR_TYPE_DEFS.slack.fragment({})).toEqual({
      channels: { slack: { mode: "socket", botToken: ref("SLACK_BOT_TOKEN"), appToken: ref("SLACK_APP_TOKEN") } },
    });
  });
});
