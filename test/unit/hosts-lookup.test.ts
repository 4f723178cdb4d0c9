/**
 * DbHostAccess.lookup: the synchronous, network-free view of a registered host that `Provider.layout()` needs on the
 * first reconcile after the appliance starts (nothing cached yet): read from the host row and its last doctor run.
 */

import { eq } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import type { BotRef } from "../../providers/provider.ts";
import { SystemdProvider } from "../../providers/systemd/provider.ts";
import { hosts } from "../../src/db/schema.ts";
import { DbHostAccess } from "../../src/hosts/directory.ts";
import { serviceContext } from "../../src/server/deps.ts";
import { addHost } from "../../src/services/hosts.ts";
import { makeTestApp } from "../helpers/app.ts";

async function setup() {
  const t = makeTestApp();
  const o = await t.setupOwner();
  const ctx = serviceContext(t.deps, { type: "user", userId: o.userId, label: "o", workspaceId: o.workspaceId, role: "owner" });
  addHost(ctx, { name: "nas", address: "127.0.0.1", port: 1, username: "molt" });
  addHost(ctx, { name: "box", address: "127.0.0.1", port: 1, username: "root" });
  const access = new DbHostAccess({ db: t.store.db, keyring: t.deps.keyring });
  const setDoctor = (name: string, facts: Record<string, unknown> | null) =>
    t.store.db
      .update(hosts)
      .set({ doctor: JSON.stringify({ ts: 1, findings: [], facts }), os: "Debian GNU/Linux 12", init: "systemd" })
      .where(eq(hosts.name, name))
      .run();
  return { t, ws: o.workspaceId, access, setDoctor };
}

describe("DbHostAccess.lookup", () => {
  it("is undefined for unknown hosts, other workspaces and hosts never examined by the doctor", async () => {
    const { ws, access } = await setup();
    try {
      expect(access.lookup(ws, "nope")).toBeUndefined();
      expect(access.lookup("another-workspace", "nas")).toBeUndefined();
      expect(access.lookup(ws, "nas")).toBeUndefined(); // no home/platform known yet
    } finally {
      access.close();
    }
  });

  it("returns home, platform and root-ness from the last doctor run, without touching the pool", async () => {
    const { t, ws, access, setDoctor } = await setup();
    try {
      setDoctor("nas", { uid: 1000, user: "molt", home: "/home/molt", platform: "linux-x64" });
      setDoctor("box", { uid: 0, user: "root", home: "/root", platform: "linux-arm64" });
      const row = t.store.db.select().from(hosts).where(eq(hosts.name, "nas")).get()!;
      expect(access.lookup(ws, "nas")).toEqual({
        poolId: row.id,
        name: "nas",
        address: "127.0.0.1",
        port: 1,
        username: "molt",
        isRoot: false,
        os: "Debian GNU/Linux 12",
        init: "systemd",
        home: "/home/molt",
        platform: "linux-x64",
      });
      expect(access.lookup(ws, "box")).toMatchObject({ isRoot: true, home: "/root", platform: "linux-arm64" });
      expect(() => access.pool.stats(row.id)).toThrow(/unknown ssh host/); // lookup did not even configure the pool
      // a doctor run that could not learn the facts (unreachable) leaves it unknown
      setDoctor("nas", null);
      expect(access.lookup(ws, "nas")).toBeUndefined();
    } finally {
      access.close();
    }
  });

  it("gives the systemd provider its layout synchronously on a fresh start (the host's key is checked on use, not here)", async () => {
    const { ws, access, setDoctor } = await setup();
    try {
      setDoctor("nas", { uid: 1000, user: "molt", home: "/home/molt", platform: "linux-x64" });
      const provider = new SystemdProvider({ hosts: access });
      const bot: BotRef = {
        id: "b1",
        name: "helper",
        workspaceId: ws,
        port: 18800,
        target: { provider: "systemd", host: "nas", version: "2026.9.6" },
      };
      expect(provider.layout(bot)).toEqual({
        stateDir: "/home/molt/.molthub/bots/helper",
        configPath: "/home/molt/.molthub/bots/helper/openclaw.json",
        envFile: "/home/molt/.molthub/bots/helper/gateway.env",
        logFile: "/home/molt/.molthub/bots/helper/logs/gateway.log",
      });
      // the host is still untrusted: every remote step refuses it, saying what to do
      await expect(provider.observe(bot, AbortSignal.timeout(5_000))).rejects.toThrow(
        /confirm the fingerprint first: molthub host trust nas/,
      );
    } finally {
      access.close();
    }
  });
});
