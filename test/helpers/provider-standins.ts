/**
 * Loopback stand-ins for the provider APIs the connectors test against (the internet is unreachable here, and
 * tests never send traffic beyond 127.0.0.1). One Bun.serve on a random port answers every type's test
 * endpoint the way the real API does, checking the credential: the valid one → a real-looking answer, any
 * other → the provider's refusal. `delayMs` makes every answer slow (the timeout path).
 */
import type { Server } from "bun";

export const VALID = {
  anthropic: "sk-ant-standin-valid-0123456789",
  openai: "sk-openai-standin-valid-0123456789",
  openrouter: "sk-or-standin-valid-0123456789",
  telegram: "123456789:AAStandinValidTelegramToken0123",
  discord: "discord.standin.valid-token-0123456789",
  slack: "xoxb-standin-valid-0123456789",
  slackApp: "xapp-standin-valid-0123456789",
} as const;

export interface StandIn {
  url: string;
  /** every request seen: method, path and header names (values are credentials) */
  requests: { method: string; path: string; headerNames: string[] }[];
  delayMs: number;
  stop(): Promise<void>;
}

const json = (body: unknown, status = 200) =>
  new Response(JSON.stringify(body), { status, headers: { "content-type": "application/json" } });

function bearer(req: Request): string {
  return (req.headers.get("authorization") ?? "").replace(/^Bearer /, "");
}

export function startProviderStandIn(opts: { delayMs?: number } = {}): StandIn {
  const state: StandIn = { url: "", requests: [], delayMs: opts.delayMs ?? 0, stop: async () => {} };
  const server: Server<undefined> = Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    async fetch(req) {
      const u = new URL(req.url);
      state.requests.push({
        method: req.method,
        path: u.pathname.replace(/\/bot[^/]+\//, "/bot<token>/"),
        headerNames: [...(req.headers as unknown as { keys(): IterableIterator<string> }).keys()],
      });
      if (state.delayMs) await Bun.sleep(state.delayMs);
      const p = u.pathname;
      if (req.method === "GET" && p === "/v1/models") {
        const key = req.headers.get("x-api-key");
        if (key !== null) {
          // Anthropic
          if (!req.headers.get("anthropic-version"))
            return json(
              { type: "error", error: { type: "invalid_request_error", message: "anthropic-version header is required" } },
              400,
            );
          if (key !== VALID.anthropic)
            return json({ type: "error", error: { type: "authentication_error", message: "invalid x-api-key" } }, 401);
          return json({
            data: [
              { id: "claude-sonnet-4-5", type: "model" },
              { id: "claude-opus-4-1", type: "model" },
            ],
            has_more: false,
          });
        }
        if (bearer(req) !== VALID.openai)
          return json(
            { error: { message: "Incorrect API key provided", type: "invalid_request_error", code: "invalid_api_key" } },
            401,
          );
        return json({
          object: "list",
          data: [
            { id: "gpt-5", object: "model" },
            { id: "gpt-5-mini", object: "model" },
            { id: "o4", object: "model" },
          ],
        });
      }
      if (req.method === "GET" && p === "/api/v1/key") {
        if (bearer(req) !== VALID.openrouter) return json({ error: { message: "No auth credentials found", code: 401 } }, 401);
        return json({ data: { label: "sk-or-v1-abc...xyz", usage: 1.5, limit: null, is_free_tier: false } });
      }
      if (req.method === "GET" && p === "/api/tags") return json({ models: [{ name: "llama3.2:latest" }, { name: "qwen3:8b" }] });
      const tg = /^\/bot([^/]+)\/getMe$/.exec(p);
      if (req.method === "GET" && tg) {
        if (decodeURIComponent(tg[1]!) !== VALID.telegram)
          return json({ ok: false, error_code: 401, description: "Unauthorized" }, 401);
        return json({ ok: true, result: { id: 123456789, is_bot: true, first_name: "Stand-in", username: "standin_bot" } });
      }
      if (req.method === "GET" && p === "/api/v10/users/@me") {
        if (req.headers.get("authorization") !== `Bot ${VALID.discord}`)
          return json({ message: "401: Unauthorized", code: 0 }, 401);
        return json({ id: "111", username: "standin-discord", bot: true });
      }
      if (req.method === "POST" && p === "/api/auth.test") {
        // Slack answers 200 with ok:false for a bad token
        if (bearer(req) !== VALID.slack) return json({ ok: false, error: "invalid_auth" });
        return json({
          ok: true,
          url: "https://standin.slack.com/",
          team: "Stand-in Team",
          user: "standin-bot",
          team_id: "T1",
          user_id: "U1",
          bot_id: "B1",
        });
      }
      return json({ error: "not found" }, 404);
    },
  });
  state.url = `http://127.0.0.1:${server.port}`;
  state.stop = async () => {
    await server.stop(true);
  };
  return state;
}

/** A loopback port nothing listens on (taken and released at once). */
export function unusedLoopbackPort(): number {
  const s = Bun.listen({ hostname: "127.0.0.1", port: 0, socket: { data() {} } });
  const port = s.port;
  s.stop(true);
  return port;
}
