/**
 * A bot's whole life through the appliance, against real OpenClaw gateways: as a local process and as a
 * Docker container (host network). apply → ready → hot change verified → out-of-band edit reverted, then
 * adopted → appliance SIGKILLed mid-apply and restarted → converges with no duplicate → stop/start → delete.
 */

import { existsSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import Docker from "dockerode";
import { afterAll, beforeAll, expect, it, vi } from "vitest";
import { type Appliance, fixturePaths, startAppliance, waitForBot } from "../helpers/appliance.ts";
import { checkComponents, describeWithComponent } from "../infra/components.ts";

const [openclaw, dockerd, nodeImage] = await checkComponents("openclaw", "docker", "node-image");
// each step waits on a real gateway (12–30 s to ready on 2 cores)
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

const cases = [
  { provider: "local", components: [openclaw!] },
  { provider: "docker", components: [openclaw!, dockerd!, nodeImage!] },
] as const;

for (const c of cases) {
  // missing components fail the run under CI and skip (saying why) elsewhere
  describeWithComponent(`bot lifecycle (${c.provider})`, [...c.components], () => {
    let a: Appliance;
    let ws: string;
    const name = `life-${c.provider}`;
    const target =
      c.provider === "local"
        ? { provider: "local", version: "2026.9.6" }
        : { provider: "docker", image: fixturePaths().nodeImage, network: "host", memory: "2g" };
    const manifest = (model: string, extra: Record<string, unknown> = {}) => ({
      apiVersion: "molthub/v1",
      kind: "Bot",
      metadata: { name, labels: { suite: "lifecycle" } },
      spec: {
        target,
        openclaw: {
          models: { catalogRefresh: { enabled: false } },
          update: { checkOnStart: false },
          agents: { defaults: { model } },
        },
        secrets: { ANTHROPIC_API_KEY: { secret: "anthropic-key" } },
        drift: "revert",
        ...extra,
      },
    });
    const stateDir = () => join(a.dataDir, "bots", c.provider, ws, name);
    const hostConfig = () => JSON.parse(readFileSync(join(stateDir(), "openclaw.json"), "utf8"));
    const docker = new Docker();
    const containers = async () =>
      (await docker.listContainers({ all: true, filters: { label: [`molthub.workspace=${ws}`] } })).filter((x) =>
        x.Names.some((n) => n.includes(name)),
      );

    beforeAll(async () => {
      a = await startAppliance();
      ws = ((await a.api("GET", "/api/v1/workspace")).body as { id: string }).id;
      expect((await a.api("PUT", "/api/v1/secrets/anthropic-key", { value: "sk-ant-canary-0123456789" })).status).toBe(200);
    });
    afterAll(async () => {
      if (!a) return;
      // normally the delete test already removed the bot; after a failure, remove it so nothing outlives the run
      if ((await a.api("GET", `/api/v1/bots/${name}`)).status === 200) {
        await a.api("DELETE", `/api/v1/bots/${name}?purge=true`).catch(() => {});
        const deadline = Date.now() + 60_000;
        while ((await a.api("GET", `/api/v1/bots/${name}`)).status !== 404 && Date.now() < deadline) await Bun.sleep(500);
      }
      await a.kill("SIGTERM");
      for (const pid of gatewayProcesses(stateDir())) process.kill(pid, "SIGKILL"); // ours: started under this test's data dir
      for (const x of await containers().catch(() => []))
        await docker
          .getContainer(x.Id)
          .remove({ force: true })
          .catch(() => {});
    });

    it("applies a manifest and the gateway becomes ready with the declared config", async () => {
      const r = await a.api("POST", "/api/v1/bots/apply", manifest("anthropic/claude-sonnet-4-5"));
      expect(r.status).toBe(200);
      expect(r.body.action).toBe("created");
      const d = await waitForBot(a, name, (b) => b.bot.status === "running" && b.bot.appliedRevision === 1);
      expect(d.events.map((e: { type: string }) => e.type)).toContain("revision.live");
      const cfg = hostConfig();
      expect(cfg.gateway.bind).toBe("loopback");
      expect(cfg.agents.defaults.model).toBe("anthropic/claude-sonnet-4-5");
      expect(JSON.stringify(cfg)).not.toContain("sk-ant-canary");
      const ready = await fetch(`http://127.0.0.1:${d.bot.port}/readyz`);
      expect(ready.status).toBe(200);
    });

    it("applying the same manifest again changes nothing", async () => {
      const r = await a.api("POST", "/api/v1/bots/apply", manifest("anthropic/claude-sonnet-4-5"));
      expect(r.body.action).toBe("unchanged");
    });

    it("applies a hot change live and verifies it", async () => {
      const before = c.provider === "local" ? gatewayProcesses(stateDir()) : [];
      const started = Date.now();
      const r = await a.api("POST", "/api/v1/bots/apply", manifest("anthropic/claude-opus-4-1"));
      expect(r.body).toMatchObject({ action: "updated", revision: 2 });
      expect(r.body.changes.map((x: { path: string }) => x.path)).toEqual(["agents.defaults.model"]);
      await waitForBot(a, name, (b) => b.bot.appliedRevision === 2 && b.bot.status === "running", 60_000);
      console.log(`hot change verified live in ${Date.now() - started} ms`);
      expect(hostConfig().agents.defaults.model).toBe("anthropic/claude-opus-4-1");
      if (c.provider === "local") expect(gatewayProcesses(stateDir())).toEqual(before); // no restart for a hot path
      const diff = await a.api("GET", `/api/v1/bots/${name}/diff?from=1&to=2`);
      expect(diff.body.config).toEqual([
        { path: "agents.defaults.model", from: "anthropic/claude-sonnet-4-5", to: "anthropic/claude-opus-4-1" },
      ]);
    });

    it("detects an out-of-band edit as drift and reverts it", async () => {
      const cfg = hostConfig();
      cfg.agents.defaults.model = "openai/gpt-5";
      writeFileSync(join(stateDir(), "openclaw.json"), JSON.stringify(cfg, null, 2));
      const d = await waitForBot(a, name, (b) => b.events.some((e: { type: string }) => e.type === "drift"), 60_000);
      expect(d.events.find((e: { type: string }) => e.type === "drift").message).toContain("agents.defaults.model");
      const deadline = Date.now() + 60_000;
      while (hostConfig().agents.defaults.model !== "anthropic/claude-opus-4-1" && Date.now() < deadline) await Bun.sleep(500);
      expect(hostConfig().agents.defaults.model).toBe("anthropic/claude-opus-4-1");
    });

    it("adopts an out-of-band edit as a new revision under the adopt policy", async () => {
      const r = await a.api("POST", "/api/v1/bots/apply", manifest("anthropic/claude-opus-4-1", { drift: "adopt" }));
      expect(r.body.revision).toBe(3);
      await waitForBot(a, name, (b) => b.bot.appliedRevision === 3 && b.bot.status === "running", 60_000);
      const cfg = hostConfig();
      cfg.agents.defaults.model = "anthropic/claude-haiku-4-5";
      writeFileSync(join(stateDir(), "openclaw.json"), JSON.stringify(cfg, null, 2));
      const d = await waitForBot(a, name, (b) => b.bot.desiredRevision === 4, 60_000);
      expect(d.manifest.spec.openclaw.agents.defaults.model).toBe("anthropic/claude-haiku-4-5");
      expect(d.revisions[0]).toMatchObject({ revision: 4, source: "adopt" });
      const audit = await a.api("GET", "/api/v1/audit?action=bot.adopt");
      expect(audit.body.items).toHaveLength(1);
      await waitForBot(a, name, (b) => b.bot.appliedRevision === 4 && b.bot.status === "running", 60_000);
    });

    it("survives a SIGKILL of the appliance mid-apply and converges with no duplicate", async () => {
      const pidsBefore = c.provider === "local" ? gatewayProcesses(stateDir()) : (await containers()).map((x) => x.Id);
      expect(pidsBefore).toHaveLength(1);
      const r = await a.api("POST", "/api/v1/bots/apply", manifest("anthropic/claude-sonnet-4-5", { drift: "adopt" }));
      expect(r.body.revision).toBe(5);
      await Bun.sleep(150);
      expect(await a.kill("SIGKILL")).not.toBe(0);
      await a.start();
      const d = await waitForBot(a, name, (b) => b.bot.appliedRevision === 5 && b.bot.status === "running", 120_000);
      expect(d.job).toBeNull();
      const pidsAfter = c.provider === "local" ? gatewayProcesses(stateDir()) : (await containers()).map((x) => x.Id);
      expect(pidsAfter).toEqual(pidsBefore); // adopted, not restarted, not duplicated
      expect(hostConfig().agents.defaults.model).toBe("anthropic/claude-sonnet-4-5");
    });

    it("stops and starts", async () => {
      expect((await a.api("POST", `/api/v1/bots/${name}/actions`, { action: "stop" })).status).toBe(202);
      await waitForBot(a, name, (b) => b.bot.status === "stopped", 60_000);
      if (c.provider === "local") expect(gatewayProcesses(stateDir())).toEqual([]);
      else expect((await containers())[0]?.State).not.toBe("running");
      expect((await a.api("POST", `/api/v1/bots/${name}/actions`, { action: "start" })).status).toBe(202);
      await waitForBot(a, name, (b) => b.bot.status === "running", 150_000);
    });

    it("keeps the previous revision running when the gateway rejects a config", async () => {
      const bad = manifest("anthropic/claude-sonnet-4-5", { drift: "adopt" });
      (bad.spec.openclaw as Record<string, any>).agents.defaults.notARealOption = true;
      const r = await a.api("POST", "/api/v1/bots/apply", bad);
      expect(r.body.revision).toBe(6);
      const d = await waitForBot(a, name, (b) => b.bot.status === "error", 120_000);
      expect(d.bot.statusReason).toMatch(/notARealOption|Unrecognized|unknown|invalid/i);
      expect(d.bot.appliedRevision).toBe(5);
      expect((await fetch(`http://127.0.0.1:${d.bot.port}/readyz`)).status).toBe(200);
      expect(hostConfig().agents.defaults.notARealOption).toBeUndefined();
      // fixing the manifest recovers
      const fixed = await a.api("POST", "/api/v1/bots/apply", manifest("anthropic/claude-sonnet-4-5", { drift: "adopt" }));
      expect(fixed.body.revision).toBe(7);
      await waitForBot(a, name, (b) => b.bot.appliedRevision === 7 && b.bot.status === "running", 120_000);
    });

    it("serves the gateway's log lines", async () => {
      const r = await a.api("GET", `/api/v1/bots/${name}/logs?tail=50`);
      expect(r.status).toBe(200);
      expect(String(r.body).trim().split("\n").length).toBeGreaterThan(0);
      expect(String(r.body)).not.toContain("sk-ant-canary");
    });

    it("delete with purge leaves nothing behind", async () => {
      const dir = stateDir();
      expect((await a.api("DELETE", `/api/v1/bots/${name}?purge=true`)).status).toBe(202);
      const deadline = Date.now() + 90_000;
      while ((await a.api("GET", `/api/v1/bots/${name}`)).status !== 404 && Date.now() < deadline) await Bun.sleep(500);
      expect((await a.api("GET", `/api/v1/bots/${name}`)).status).toBe(404);
      expect(existsSync(dir)).toBe(false);
      if (c.provider === "local") expect(gatewayProcesses(dir)).toEqual([]);
      else expect(await containers()).toEqual([]);
      const logText = a.logs.join("");
      expect(logText).not.toContain("sk-ant-canary");
    });
  });
}
