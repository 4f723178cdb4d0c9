/**
 * A rotated secret reaches the bots that reference it directly, against real OpenClaw gateways (local): `vault set`
 * of a new value restarts each running bot's gateway with the new env (a new process whose environment holds the
 * new value), every bot says "secret outdated" until then and the version it runs afterwards, and each rollout
 * row ends delivered. Prints the time to deliver the new value to all three bots.
 */

import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, expect, it, vi } from "vitest";
import { type Appliance, startAppliance, waitForBot } from "../helpers/appliance.ts";
import { checkComponents, describeWithComponent } from "../infra/components.ts";

const [openclaw] = await checkComponents("openclaw");
// three real gateways start, then restart (12–30 s each to ready on 2 cores)
vi.setConfig({ testTimeout: 400_000 });

const OLD = "sk-ant-rollout-old-0123456789";
const NEW = "sk-ant-rollout-new-9876543210";
const BOTS = ["rot-a", "rot-b", "rot-c"];

/** Gateway processes started for `stateDir` (by their environment), with the value of ANTHROPIC_API_KEY each holds. */
function gateways(stateDir: string): { pid: number; key: string | undefined }[] {
  const out: { pid: number; key: string | undefined }[] = [];
  for (const pid of readdirSync("/proc").filter((p) => /^\d+$/.test(p))) {
    try {
      const cmd = readFileSync(`/proc/${pid}/cmdline`, "utf8");
      const env = readFileSync(`/proc/${pid}/environ`, "utf8").split("\0");
      if (cmd.includes("gateway") && env.includes(`OPENCLAW_STATE_DIR=${stateDir}`) && !cmd.includes("unshare"))
        out.push({ pid: Number(pid), key: env.find((e) => e.startsWith("ANTHROPIC_API_KEY="))?.slice(18) });
    } catch {
      // gone
    }
  }
  return out;
}

describeWithComponent("a vault write rolls out to the bots that use the secret (local)", [openclaw!], () => {
  let a: Appliance;
  let ws: string;
  const stateDir = (name: string) => join(a.dataDir, "bots", "local", ws, name);
  const manifest = (name: string) => ({
    apiVersion: "molthub/v1",
    kind: "Bot",
    metadata: { name },
    spec: {
      target: { provider: "local", version: "2026.9.6" },
      openclaw: { models: { catalogRefresh: { enabled: false } }, update: { checkOnStart: false } },
      secrets: { ANTHROPIC_API_KEY: { secret: "anthropic-key" } },
    },
  });

  beforeAll(async () => {
    a = await startAppliance();
    ws = ((await a.api("GET", "/api/v1/workspace")).body as { id: string }).id;
    expect((await a.api("PUT", "/api/v1/secrets/anthropic-key", { value: OLD })).status).toBe(200);
    for (const n of BOTS) expect((await a.api("POST", "/api/v1/bots/apply", manifest(n))).status).toBe(200);
  });
  afterAll(async () => {
    if (!a) return;
    for (const n of BOTS) await a.api("DELETE", `/api/v1/bots/${n}?purge=true`).catch(() => {});
    const deadline = Date.now() + 90_000;
    // a busy appliance may not answer within a request's deadline: keep asking until the overall one
    const gone = (n: string) =>
      a.api("GET", `/api/v1/bots/${n}`).then(
        (r) => r.status === 404,
        () => false,
      );
    for (const n of BOTS) while (!(await gone(n)) && Date.now() < deadline) await Bun.sleep(500);
    await a.kill("SIGTERM");
    for (const n of BOTS) for (const g of gateways(stateDir(n))) process.kill(g.pid, "SIGKILL"); // ours: under this test's data dir
  });

  it("restarts each running bot with the new value, says outdated until then, and records the version it runs", async () => {
    // (a bot whose port another process holds is moved to a free one: a new revision, so wait for the desired one)
    for (const n of BOTS)
      await waitForBot(
        a,
        n,
        (b) => b.bot.status === "running" && b.bot.appliedRevision === b.bot.desiredRevision && b.job === null,
        240_000,
      );
    const before = new Map(BOTS.map((n) => [n, gateways(stateDir(n))]));
    for (const n of BOTS) expect(before.get(n)!.map((g) => g.key)).toEqual([OLD]);

    const preview = await a.api("PUT", "/api/v1/secrets/anthropic-key?dryRun=true", {});
    expect(preview.body.rollout.map((p: { bot: string; method: string }) => `${p.bot}:${p.method}`)).toEqual(
      BOTS.map((n) => `${n}:restart`),
    );

    const started = Date.now();
    const put = await a.api("PUT", "/api/v1/secrets/anthropic-key", { value: NEW });
    expect(put.status).toBe(200);
    expect(put.body).toMatchObject({ version: 2, dryRun: false });
    // right after the write, before any restart finished, every bot says it runs an outdated secret
    for (const n of BOTS) {
      const s = (await a.api("GET", `/api/v1/bots/${n}`)).body.secrets[0];
      expect(s).toMatchObject({ secret: "anthropic-key", current: 2, outdated: true });
      expect(s.message).toMatch(/^secret outdated: anthropic-key \(running v1, current v2\)$/);
    }

    const deadline = Date.now() + 300_000;
    let items: { bot: string; state: string; method: string | null; message: string }[] = [];
    while (Date.now() < deadline) {
      items = (await a.api("GET", "/api/v1/secrets/anthropic-key/rollouts")).body.items;
      if (items.length === BOTS.length && items.every((i) => i.state === "delivered")) break;
      await Bun.sleep(250);
    }
    const took = Date.now() - started;
    console.log(`rotated secret delivered to ${BOTS.length} bots in ${took} ms`);
    expect(items.map((i) => `${i.bot}:${i.state}:${i.method}`).sort()).toEqual(BOTS.map((n) => `${n}:delivered:restart`));

    for (const n of BOTS) {
      const d = await waitForBot(a, n, (b) => b.bot.status === "running", 60_000);
      expect(d.secrets[0]).toMatchObject({ current: 2, running: 2, outdated: false, message: null });
      expect(d.bot.conditions.find((c: { type: string }) => c.type === "SecretsCurrent")).toMatchObject({ status: "True" });
      // a new gateway process holds the new value; the old one is gone
      const now = gateways(stateDir(n));
      expect(now.map((g) => g.key)).toEqual([NEW]);
      expect(now[0]!.pid).not.toBe(before.get(n)![0]!.pid);
      expect(readFileSync(join(stateDir(n), "molthub.env"), "utf8")).toContain(`ANTHROPIC_API_KEY=${NEW}`);
      const events = d.events.map((e: { type: string }) => e.type);
      expect(events).toContain("secret.rotated");
      expect(events).toContain("secret.delivered");
    }
    const all = JSON.stringify([put.body, items, a.logs.join("\n")]);
    expect(all).not.toContain(NEW);
  });
});
