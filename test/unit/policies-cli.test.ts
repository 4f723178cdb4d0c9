/**
 * `molthub policy …` and the policy part of `molthub apply` against the real API (the test app served on
 * loopback): list, apply a pack, enable/disable, check a manifest (exit 1 when blocked), exceptions, revoke.
 */

import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { apply } from "../../src/cli/bots.ts";
import { ApiClient } from "../../src/cli/client.ts";
import { run } from "../../src/cli/policies.ts";
import { makeTestApp } from "../helpers/app.ts";

let t: ReturnType<typeof makeTestApp>;
let server: ReturnType<typeof Bun.serve>;
let client: ApiClient;
const dir = mkdtempSync(join(tmpdir(), "molthub-policy-cli-"));

beforeAll(async () => {
  t = makeTestApp();
  const { cookie } = await t.setupOwner();
  const tok = await t.req("/api/v1/tokens", { method: "POST", cookie, json: { name: "cli", role: "admin" } });
  const token = ((await tok.json()) as { token: string }).token;
  server = Bun.serve({ hostname: "127.0.0.1", port: 0, fetch: t.app.fetch });
  client = new ApiClient({ server: `http://127.0.0.1:${server.port}`, token }, {});
});
afterAll(() => server?.stop(true));

/** Runs a command and returns its exit code and what it printed (stdout and stderr together). */
async function capture(fn: () => Promise<number>): Promise<{ code: number; out: string }> {
  const lines: string[] = [];
  const log = vi.spyOn(console, "log").mockImplementation((...a: unknown[]) => void lines.push(a.join(" ")));
  const err = vi.spyOn(console, "error").mockImplementation((...a: unknown[]) => void lines.push(a.join(" ")));
  try {
    return { code: await fn(), out: lines.join("\n") };
  } finally {
    log.mockRestore();
    err.mockRestore();
  }
}

const policy = (...argv: string[]) => capture(() => run(client, ["policy", ...argv]));

const UNSAFE = `apiVersion: molthub/v1
kind: Bot
metadata: { name: risky }
spec:
  target: { provider: local, version: 2026.9.6 }
  openclaw:
    tools: { elevated: { enabled: true } }
`;

describe("molthub policy", () => {
  it("lists the packs and shows one with its YAML", async () => {
    const l = await policy("list");
    expect(l.code).toBe(0);
    expect(l.out).toMatch(/security-baseline\s+built-in\s+on\s+enforce\s+4/);
    expect(l.out).toContain("env in production,prod");
    const g = await policy("get", "channel-safety");
    expect(g.out).toContain("unique-channel-tokens");
    expect(g.out).toContain("id: channel-safety");
  });

  it("check prints violations with their fix and exits 1 when an apply would be blocked; apply -f explains a refusal", async () => {
    writeFileSync(join(dir, "risky.yaml"), UNSAFE);
    const c = await policy("check", "-f", join(dir, "risky.yaml"));
    expect(c.code).toBe(1);
    expect(c.out).toContain("bot/risky: BLOCKED by policy");
    expect(c.out).toContain("✗ security-baseline/no-elevated-tools at tools.elevated.enabled");
    expect(c.out).toContain('fix (merge patch): {"tools":{"elevated":{"enabled":false}}}');
    const a = await capture(() => apply(client, join(dir, "risky.yaml"), false));
    expect(a.code).toBe(1);
    expect(a.out).toContain("blocked by policy");
    expect(a.out).toContain('fix (merge patch): {"tools":{"elevated":{"enabled":false}}}');
  });

  it("applies a custom pack, rejects a bad one with its paths, toggles and deletes it", async () => {
    writeFileSync(
      join(dir, "pack.yaml"),
      "id: team\nname: Team\nmode: advisory\nrules:\n  - { id: info-logs, type: allowedValues, path: logging.level, values: [info] }\n",
    );
    const a = await policy("apply", "-f", join(dir, "pack.yaml"));
    expect(a.code).toBe(0);
    expect(a.out).toContain("policy/team created — advisory, 1 rule");
    writeFileSync(join(dir, "bad.yaml"), "id: bad\nname: Bad\nrules:\n  - { id: a, type: regex, path: x }\n");
    await expect(policy("apply", "-f", join(dir, "bad.yaml"))).rejects.toThrow(/rules\.0\.type/);
    expect((await policy("enable", "team", "enforce")).out).toContain("policy/team enabled (enforce)");
    expect((await policy("disable", "team")).out).toContain("policy/team disabled");
    expect((await policy("delete", "team")).out).toContain("policy/team deleted");
    await expect(policy("delete", "security-baseline")).rejects.toThrow(/built-in/);
  });

  it("creates, lists and revokes an exception", async () => {
    const e = await policy(
      "except",
      "--rule",
      "no-elevated-tools",
      "--bot",
      "risky",
      "--reason",
      "isolated lab",
      "--expires",
      new Date(Date.now() + 7 * 86_400_000).toISOString().slice(0, 10),
    );
    expect(e.code).toBe(0);
    const id = /exception (\S+): no-elevated-tools waived for bot\/risky/.exec(e.out)![1]!;
    expect((await policy("check", "-f", join(dir, "risky.yaml"))).code).toBe(0);
    const l = await policy("exceptions");
    expect(l.out).toContain(id);
    expect(l.out).toContain("active");
    expect((await policy("revoke", id)).out).toContain("revoked");
    expect((await policy("check", "-f", join(dir, "risky.yaml"))).code).toBe(1);
    await expect(policy("except", "--rule", "no-elevated-tools", "--expires", "2030-01-01")).rejects.toThrow(/usage/);
  });
});
