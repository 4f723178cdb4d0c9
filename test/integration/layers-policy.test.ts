/**
 * Configuration layers and policy against a REAL OpenClaw gateway (local provider, appliance as a child process):
 * a bot attached to a profile gets the profile's values → changing the profile shows its blast radius and the new
 * value reaches the running gateway (hot, no restart) → an unsafe change (elevated exec) is refused by the built-in
 * security policy before anything is stored or applied, whether it comes from the bot or from the profile.
 */

import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, expect, it, vi } from "vitest";
import { type Appliance, startAppliance, waitForBot } from "../helpers/appliance.ts";
import { checkComponents, describeWithComponent } from "../infra/components.ts";

const [openclaw] = await checkComponents("openclaw");
vi.setConfig({ testTimeout: 240_000 });

function gatewayProcesses(stateDir: string): number[] {
  const out: number[] = [];
  for (const pid of readdirSync("/proc").filter((p) => /^\d+$/.test(p))) {
    try {
      const cmd = readFileSync(`/proc/${pid}/cmdline`, "utf8");
      const env = readFileSync(`/proc/${pid}/environ`, "utf8");
      if (cmd.includes("gateway") && env.includes(`OPENCLAW_STATE_DIR=${stateDir}`) && !cmd.includes("unshare"))
        out.push(Number(pid));
    } catch {
      // gone
    }
  }
  return out;
}

describeWithComponent("profiles and policy reach a real gateway", [openclaw!], () => {
  let a: Appliance;
  let ws: string;
  const name = "layered";
  const profile = (model: string, extra: Record<string, unknown> = {}) => ({
    apiVersion: "molthub/v1",
    kind: "Profile",
    metadata: { name: "team-defaults", description: "shared model and update settings" },
    spec: {
      priority: 10,
      values: {
        models: { catalogRefresh: { enabled: false } },
        update: { checkOnStart: false },
        agents: { defaults: { model } },
        ...extra,
      },
      locked: ["update.checkOnStart"],
    },
  });
  const manifest = (openclawValues: Record<string, unknown> = {}) => ({
    apiVersion: "molthub/v1",
    kind: "Bot",
    metadata: { name, labels: { suite: "layers" } },
    spec: {
      target: { provider: "local", version: "2026.9.6" },
      profiles: ["team-defaults"],
      openclaw: openclawValues,
      secrets: { ANTHROPIC_API_KEY: { secret: "anthropic-key" } },
    },
  });
  const stateDir = () => join(a.dataDir, "bots", "local", ws, name);
  const hostConfig = () => JSON.parse(readFileSync(join(stateDir(), "openclaw.json"), "utf8"));

  beforeAll(async () => {
    a = await startAppliance();
    ws = ((await a.api("GET", "/api/v1/workspace")).body as { id: string }).id;
    expect((await a.api("PUT", "/api/v1/secrets/anthropic-key", { value: "sk-ant-layers-0123456789" })).status).toBe(200);
  });
  afterAll(async () => {
    if (!a) return;
    if ((await a.api("GET", `/api/v1/bots/${name}`)).status === 200) {
      await a.api("DELETE", `/api/v1/bots/${name}?purge=true`).catch(() => {});
      const deadline = Date.now() + 60_000;
      while ((await a.api("GET", `/api/v1/bots/${name}`)).status !== 404 && Date.now() < deadline) await Bun.sleep(500);
    }
    await a.kill("SIGTERM");
    for (const pid of gatewayProcesses(stateDir())) process.kill(pid, "SIGKILL"); // ours: started under this test's data dir
  });

  it("a bot attached to a profile runs with the profile's values, with provenance", async () => {
    const p = await a.api("PUT", "/api/v1/profiles/team-defaults", profile("anthropic/claude-sonnet-4-5"));
    expect(p.status).toBe(200);
    const r = await a.api("POST", "/api/v1/bots/apply", manifest());
    expect(r.status).toBe(200);
    expect(r.body.action).toBe("created");
    await waitForBot(a, name, (b) => b.bot.status === "running" && b.bot.appliedRevision === 1);
    expect(hostConfig().agents.defaults.model).toBe("anthropic/claude-sonnet-4-5");
    const resolved = await a.api("GET", `/api/v1/bots/${name}/resolved`);
    expect(resolved.status).toBe(200);
    expect(resolved.body.provenance["agents.defaults.model"].layer).toMatchObject({ kind: "profile", name: "team-defaults" });
  });

  it("a profile change shows its blast radius and reaches the running gateway without a restart", async () => {
    const before = gatewayProcesses(stateDir());
    expect(before.length).toBeGreaterThan(0);
    const preview = await a.api("PUT", "/api/v1/profiles/team-defaults?dryRun=true", profile("anthropic/claude-opus-4-1"));
    expect(preview.status).toBe(200);
    expect(JSON.stringify(preview.body)).toContain(name);
    expect(JSON.stringify(preview.body)).toContain("agents.defaults.model");
    expect((await a.api("GET", `/api/v1/bots/${name}`)).body.bot.desiredRevision).toBe(1); // a preview stores nothing
    const saved = await a.api("PUT", "/api/v1/profiles/team-defaults", profile("anthropic/claude-opus-4-1"));
    expect(saved.status).toBe(200);
    const d = await waitForBot(a, name, (b) => b.bot.appliedRevision === 2 && b.bot.status === "running", 90_000);
    expect(d.revisions[0]).toMatchObject({ revision: 2, source: "layer" });
    expect(hostConfig().agents.defaults.model).toBe("anthropic/claude-opus-4-1");
    expect(gatewayProcesses(stateDir())).toEqual(before);
  });

  it("the bot cannot override a field the profile locked", async () => {
    const r = await a.api("POST", "/api/v1/bots/apply", manifest({ update: { checkOnStart: true } }));
    expect(r.status).toBe(400);
    expect(JSON.stringify(r.body)).toContain("update.checkOnStart");
    expect((await a.api("GET", `/api/v1/bots/${name}`)).body.bot.desiredRevision).toBe(2);
  });

  it("policy refuses an unsafe change before anything is stored or applied", async () => {
    const r = await a.api("POST", "/api/v1/bots/apply", manifest({ tools: { elevated: { enabled: true } } }));
    expect(r.status).toBe(422);
    expect(r.body.error.code).toBe("policy_blocked");
    expect(JSON.stringify(r.body)).toContain("tools.elevated.enabled");
    const fromProfile = await a.api(
      "PUT",
      "/api/v1/profiles/team-defaults",
      profile("anthropic/claude-opus-4-1", { tools: { elevated: { enabled: true } } }),
    );
    expect(fromProfile.status).toBeGreaterThanOrEqual(400);
    expect(JSON.stringify(fromProfile.body)).toContain("tools.elevated.enabled");
    const d = (await a.api("GET", `/api/v1/bots/${name}`)).body;
    expect(d.bot.desiredRevision).toBe(2);
    expect(d.job).toBeNull();
    expect(d.revisions.length).toBe(2);
    expect(hostConfig().tools?.elevated?.enabled).not.toBe(true);
    const p = await a.api("GET", "/api/v1/profiles/team-defaults");
    expect(JSON.stringify(p.body)).not.toContain("elevated");
  });
});
