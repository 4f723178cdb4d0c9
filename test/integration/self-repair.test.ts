/**
 * The reconciler under real conditions, against a real OpenClaw gateway run as a local process: status carries
 * conditions instead of flipping, an expected in-process restart is not an error, drift that locks Molthub out is
 * repaired, and what policy forbids is reverted even under `adopt`.
 */

import { readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, expect, it, vi } from "vitest";
import { type Appliance, startAppliance, waitForBot } from "../helpers/appliance.ts";
import { checkComponents, describeWithComponent } from "../infra/components.ts";

const [openclaw] = await checkComponents("openclaw");
vi.setConfig({ testTimeout: 240_000 });

type Event = { type: string; level: string; message: string; ts: string | number };

describeWithComponent("self-repair (local gateway)", [openclaw!], () => {
  let a: Appliance;
  let ws: string;
  const name = "repair-me";
  const manifest = (extra: Record<string, unknown> = {}, openclaw: Record<string, unknown> = {}) => ({
    apiVersion: "molthub/v1",
    kind: "Bot",
    metadata: { name },
    spec: {
      target: { provider: "local", version: "2026.9.6" },
      openclaw: {
        models: { catalogRefresh: { enabled: false } },
        update: { checkOnStart: false },
        agents: { defaults: { model: "anthropic/claude-sonnet-4-5" } },
        ...openclaw,
      },
      drift: "alert",
      ...extra,
    },
  });
  const stateDir = () => join(a.dataDir, "bots", "local", ws, name);
  const hostConfig = () => JSON.parse(readFileSync(join(stateDir(), "openclaw.json"), "utf8"));
  const editOnDisk = (edit: (cfg: any) => void) => {
    const cfg = hostConfig();
    edit(cfg);
    writeFileSync(join(stateDir(), "openclaw.json"), JSON.stringify(cfg, null, 2));
  };
  const eventsSince = async (ts: number): Promise<Event[]> =>
    ((await a.api("GET", `/api/v1/bots/${name}`)).body.events as Event[]).filter((e) => new Date(e.ts).getTime() >= ts);

  beforeAll(async () => {
    a = await startAppliance();
    ws = ((await a.api("GET", "/api/v1/workspace")).body as { id: string }).id;
    expect((await a.api("POST", "/api/v1/bots/apply", manifest())).status).toBe(200);
    await waitForBot(a, name, (b) => b.bot.status === "running" && b.bot.appliedRevision === 1);
  });
  afterAll(async () => {
    if (!a) return;
    await a.api("DELETE", `/api/v1/bots/${name}?purge=true`).catch(() => {});
    const deadline = Date.now() + 60_000;
    while ((await a.api("GET", `/api/v1/bots/${name}`)).status !== 404 && Date.now() < deadline) await Bun.sleep(500);
    await a.kill("SIGTERM");
    // a gateway of ours that outlived a failed delete: found by its state dir under this test's data dir
    for (const pid of readdirSync("/proc").filter((p) => /^\d+$/.test(p))) {
      try {
        const env = readFileSync(`/proc/${pid}/environ`, "utf8");
        if (env.includes(`OPENCLAW_STATE_DIR=${stateDir()}`)) process.kill(Number(pid), "SIGKILL");
      } catch {
        // gone
      }
    }
  });

  it("drift under alert keeps the bot degraded across health polls instead of flipping back to running", async () => {
    editOnDisk((cfg) => {
      cfg.agents.defaults.model = "openai/gpt-5";
    });
    await waitForBot(a, name, (b) => b.bot.status === "degraded", 60_000);
    // the health poll runs every 5 s: sample for 16 s, every status must still be degraded
    const seen: string[] = [];
    for (let i = 0; i < 16; i++) {
      seen.push((await a.api("GET", `/api/v1/bots/${name}`)).body.bot.status);
      await Bun.sleep(1_000);
    }
    expect(seen.every((s) => s === "degraded")).toBe(true);
    const d = (await a.api("GET", `/api/v1/bots/${name}`)).body;
    const drifted = d.bot.conditions.find((c: { type: string }) => c.type === "Drifted");
    expect(drifted).toMatchObject({ status: "True", reason: "DriftAlert" });
    expect(d.bot.conditions.find((c: { type: string }) => c.type === "Ready")).toMatchObject({ status: "True" });
    // someone puts it back by hand: the next drift sweep clears the condition
    editOnDisk((cfg) => {
      cfg.agents.defaults.model = "anthropic/claude-sonnet-4-5";
    });
    await waitForBot(a, name, (b) => b.bot.status === "running", 60_000);
  });

  it("repairs a gateway.auth edit that locks Molthub out, whatever the drift policy", async () => {
    const since = Date.now();
    editOnDisk((cfg) => {
      cfg.gateway.auth.token = "a-stranger-token-0123456789";
    });
    await waitForBot(
      a,
      name,
      (b) => b.events.some((e: Event) => e.type === "drift.reverted" && new Date(e.ts).getTime() >= since),
      150_000,
    );
    await waitForBot(a, name, (b) => b.bot.status === "running", 120_000);
    expect(hostConfig().gateway.auth.token).toMatchObject({ source: "env" });
    expect((await eventsSince(since)).map((e) => e.type)).toContain("drift.locked_out");
  });

  it("a restart-class change is applied without an error or a back-off", async () => {
    const since = Date.now();
    const r = await a.api("POST", "/api/v1/bots/apply", manifest({}, { env: { vars: { MOLTHUB_TEST_FLAG: "on" } } }));
    expect(r.status).toBe(200);
    const revision = r.body.revision;
    await waitForBot(a, name, (b) => b.bot.appliedRevision === revision && b.bot.status === "running", 150_000);
    const events = await eventsSince(since);
    expect(events.filter((e) => e.level === "error")).toEqual([]);
    expect(hostConfig().env.vars.MOLTHUB_TEST_FLAG).toBe("on");
  });

  it("reverts what policy forbids even under adopt, and says why", async () => {
    const r = await a.api("POST", "/api/v1/bots/apply", manifest({ drift: "adopt" }));
    const revision = r.body.revision;
    await waitForBot(a, name, (b) => b.bot.appliedRevision === revision && b.bot.status === "running", 120_000);
    const since = Date.now();
    editOnDisk((cfg) => {
      cfg.tools = { ...(cfg.tools ?? {}), elevated: { enabled: true } };
    });
    const d = await waitForBot(
      a,
      name,
      (b) => b.events.some((e: Event) => e.type === "drift.reverted" && new Date(e.ts).getTime() >= since),
      90_000,
    );
    expect(d.events.find((e: Event) => e.type === "drift.reverted").message).toMatch(/policy/);
    const deadline = Date.now() + 60_000;
    while (hostConfig().tools?.elevated?.enabled === true && Date.now() < deadline) await Bun.sleep(500);
    expect(hostConfig().tools?.elevated?.enabled).not.toBe(true);
    expect(d.bot.desiredRevision).toBe(revision); // nothing adopted
  });
});
