/**
 * The kubectl-like client commands against a running appliance (reconciler off: this is about the CLI and
 * the API, the real gateways are in bots-lifecycle.test.ts).
 */

import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Appliance, startAppliance } from "../helpers/appliance.ts";

let a: Appliance;
const dir = mkdtempSync(join(tmpdir(), "molthub-manifests-"));
const yaml = (name: string, model: string) => `apiVersion: molthub/v1
kind: Bot
metadata: { name: ${name}, fleet: homelab }
spec:
  target: { provider: local, version: 2026.9.6 }
  openclaw:
    agents: { defaults: { model: ${model} } }
  secrets: { ANTHROPIC_API_KEY: { secret: anthropic-key } }
`;

beforeAll(async () => {
  a = await startAppliance({ env: { MOLTHUB_RECONCILER: "false" } });
  a.env.MOLTHUB_URL = a.base;
  a.env.MOLTHUB_TOKEN = a.token;
}, 60_000);
afterAll(async () => {
  await a?.kill("SIGTERM");
});

describe("molthub CLI client commands", { timeout: 60_000 }, () => {
  it("secret set reads the value from stdin and never echoes it", async () => {
    const r = await a.run(["secret", "set", "anthropic-key"], "sk-ant-cli-canary-42\n");
    expect(r.code).toBe(0);
    expect(r.out).toContain("secret anthropic-key stored (version 1)");
    expect(r.out + r.err).not.toContain("sk-ant-cli-canary-42");
  });

  it("apply -f DIR creates bots, diff -f shows changes, apply again is unchanged", async () => {
    writeFileSync(join(dir, "a.yaml"), yaml("alpha", "anthropic/claude-sonnet-4-5"));
    writeFileSync(
      join(dir, "b.json"),
      JSON.stringify({
        apiVersion: "molthub/v1",
        kind: "Bot",
        metadata: { name: "beta" },
        spec: { target: { provider: "local", version: "2026.9.6" } },
      }),
    );
    const first = await a.run(["apply", "-f", dir]);
    expect(first.code).toBe(0);
    expect(first.out).toContain("bot/alpha created (revision 1)");
    expect(first.out).toContain("bot/beta created (revision 1)");
    writeFileSync(join(dir, "a.yaml"), yaml("alpha", "anthropic/claude-opus-4-1"));
    const diff = await a.run(["diff", "-f", join(dir, "a.yaml")]);
    expect(diff.out).toContain("bot/alpha would be updated");
    expect(diff.out).toContain('~ agents.defaults.model: "anthropic/claude-sonnet-4-5" → "anthropic/claude-opus-4-1"');
    expect((await a.run(["apply", "-f", join(dir, "a.yaml")])).out).toContain("bot/alpha updated (revision 2)");
    expect((await a.run(["apply", "-f", join(dir, "a.yaml")])).out).toContain("bot/alpha unchanged");
  });

  it("an invalid manifest lists every wrong path and exits 1", async () => {
    writeFileSync(
      join(dir, "bad.yaml"),
      "apiVersion: molthub/v1\nkind: Bot\nmetadata: { name: Bad_Name }\nspec:\n  target: { provider: local, version: latest }\n  drift: sometimes\n",
    );
    const r = await a.run(["apply", "-f", join(dir, "bad.yaml")]);
    expect(r.code).toBe(1);
    for (const p of ["metadata.name", "spec.target.version", "spec.drift"]) expect(r.err).toContain(p);
  });

  it("a manifest naming a missing secret is refused and says which", async () => {
    writeFileSync(join(dir, "nosecret.yaml"), yaml("gamma", "x/y").replace("anthropic-key", "not-there"));
    const r = await a.run(["apply", "-f", join(dir, "nosecret.yaml")]);
    expect(r.code).toBe(1);
    expect(r.err).toContain("not-there");
  });

  it("get, describe, export, actions and delete", async () => {
    const json = JSON.parse((await a.run(["get", "bots", "-o", "json"])).out) as { name: string; status: string }[];
    expect(json.map((b) => b.name)).toEqual(["alpha", "beta"]);
    const table = (await a.run(["get", "bots"])).out;
    expect(table.split("\n")[0]).toMatch(/^NAME\s+STATUS\s+REVISION/);
    const desc = await a.run(["describe", "bot", "alpha"]);
    expect(desc.out).toContain("revision 2");
    expect(desc.out).toContain("Events:");
    const exp = await a.run(["export"]);
    expect(exp.out).toContain("name: alpha");
    expect(exp.out).toContain("anthropic/claude-opus-4-1");
    expect(exp.out).not.toContain("sk-ant-cli-canary-42");
    expect((await a.run(["stop", "bot", "alpha"])).out).toContain("bot/alpha stop queued");
    expect((await a.run(["delete", "bot", "beta", "--purge"])).out).toContain("deletion queued (with its data)");
    const missing = await a.run(["describe", "bot", "nope"]);
    expect(missing.code).toBe(1);
    expect(missing.err).toContain("no bot named nope");
  });

  it("create-only refuses a duplicate name with 409", async () => {
    const r = await a.api("POST", "/api/v1/bots", {
      apiVersion: "molthub/v1",
      kind: "Bot",
      metadata: { name: "alpha" },
      spec: { target: { provider: "local", version: "2026.9.6" } },
    });
    expect(r.status).toBe(409);
  });

  it("without a token the client says how to give one", async () => {
    const r = await a.run(["get", "bots", "--token", "mht_wrong-token-value-000"]);
    expect(r.code).toBe(1);
    expect(r.err).toContain("invalid");
  });
});
