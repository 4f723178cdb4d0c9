/**
 * TargetReachable from the stored host state: each host problem the host page shows becomes the bot's condition with
 * the same fix; a failed step's error maps to the same condition; and a forward to a host that went down is recorded
 * on the host (the health checks of remote bots go only through forwards). Loopback only: the "down" host is a closed
 * port on 127.0.0.1.
 */
import { createServer, connect as netConnect } from "node:net";
import { eq } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { ProviderError } from "../../providers/provider.ts";
import { hosts } from "../../src/db/schema.ts";
import { targetCondition, targetConditionFromError } from "../../src/fleet/target-condition.ts";
import { DbHostAccess } from "../../src/hosts/directory.ts";
import { serviceContext } from "../../src/server/deps.ts";
import { addHost } from "../../src/services/hosts.ts";
import { HostKeyMismatchError } from "../../src/ssh/hostkey.ts";
import { generateEd25519KeyPair } from "../../src/ssh/keys.ts";
import { SshError } from "../../src/ssh/pool.ts";
import { makeTestApp } from "../helpers/app.ts";

async function setup(port = 22) {
  const t = makeTestApp();
  const o = await t.setupOwner();
  const ctx = serviceContext(t.deps, { type: "user", userId: o.userId, label: "o", workspaceId: o.workspaceId, role: "owner" });
  addHost(ctx, { name: "nas", address: "127.0.0.1", port, username: "molt" });
  const db = t.store.db;
  const row = () => db.select().from(hosts).get()!;
  const set = (v: Partial<typeof hosts.$inferInsert>) => db.update(hosts).set(v).where(eq(hosts.id, row().id)).run();
  const bot = { workspaceId: o.workspaceId, provider: "systemd", host: "nas" };
  return { t, o, db, row, set, bot };
}

/** A loopback port nothing listens on. */
async function closedPort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((r) => srv.listen(0, "127.0.0.1", r));
  const port = (srv.address() as { port: number }).port;
  await new Promise<void>((r) => srv.close(() => r()));
  return port;
}

describe("targetCondition: the bot names its host's problem and the fix", () => {
  it("local and local-Docker bots are reachable; an unknown host is named with how to add it", async () => {
    const { db, o, bot } = await setup();
    expect(targetCondition(db, { workspaceId: o.workspaceId, provider: "local", host: "local" })).toMatchObject({
      status: "True",
      reason: "Local",
    });
    expect(targetCondition(db, { workspaceId: o.workspaceId, provider: "docker", host: "local" }).status).toBe("True");
    const gone = targetCondition(db, { ...bot, host: "vps" });
    expect(gone).toMatchObject({ status: "False", reason: "HostUnknown" });
    expect(gone.message).toContain("molthub host add vps");
    // host names are per workspace
    expect(targetCondition(db, { ...bot, workspaceId: "other-ws" }).reason).toBe("HostUnknown");
  });

  it("each stored host state: unconfirmed, changed key, refused login, unreachable, degraded, not checked, reachable", async () => {
    const { db, set, bot } = await setup();
    const a = generateEd25519KeyPair().fingerprint;
    const b = generateEd25519KeyPair().fingerprint;

    // added, key never read
    let c = targetCondition(db, bot);
    expect(c).toMatchObject({ status: "False", reason: "HostKeyUnconfirmed" });
    expect(c.message).toContain("has not been read yet");
    expect(c.message).toContain("/hosts/nas");

    // key read, waiting for confirmation: the fingerprint to compare and the command that pins it
    set({ seenFingerprint: a });
    c = targetCondition(db, bot);
    expect(c).toMatchObject({ status: "False", reason: "HostKeyUnconfirmed" });
    expect(c.message).toContain(`molthub host trust nas --fingerprint ${a}`);
    expect(c.message).toContain("the host page (/hosts/nas)");

    // pinned, never logged in since: nothing known yet
    set({ fingerprint: a, status: "ok", statusReason: "fingerprint pinned" });
    expect(targetCondition(db, bot)).toMatchObject({ status: "Unknown", reason: "HostNotChecked" });

    set({ lastSeenAt: 1 });
    expect(targetCondition(db, bot)).toMatchObject({ status: "True", reason: "HostReachable" });

    set({ status: "key_mismatch", seenFingerprint: b });
    c = targetCondition(db, bot);
    expect(c).toMatchObject({ status: "False", reason: "HostKeyChanged" });
    expect(c.message).toContain(`pinned ${a}, it now presents ${b}`);
    expect(c.message).toContain(`molthub host trust nas --fingerprint ${b}`);
    expect(c.message).toContain("man-in-the-middle");

    set({ status: "auth_failed", statusReason: "authentication failed for molt@127.0.0.1:22", seenFingerprint: a });
    c = targetCondition(db, bot);
    expect(c).toMatchObject({ status: "False", reason: "HostAuthFailed" });
    expect(c.message).toContain("~molt/.ssh/authorized_keys on 127.0.0.1");

    set({ status: "unreachable", statusReason: "cannot reach 127.0.0.1:22 (ECONNREFUSED): check that the host is up" });
    c = targetCondition(db, bot);
    expect(c).toMatchObject({ status: "False", reason: "HostUnreachable" });
    expect(c.message).toContain("ECONNREFUSED");
    expect(c.message).toContain("molthub host doctor nas");

    set({
      status: "degraded",
      statusReason: "lingering is off",
      doctor: JSON.stringify({
        ts: 1,
        facts: null,
        findings: [{ id: "linger", level: "error", message: "lingering is off", fix: "x" }],
      }),
    });
    c = targetCondition(db, bot);
    expect(c).toMatchObject({ status: "True", reason: "HostDegraded" });
    expect(c.message).toContain("lingering is off");
  });
});

describe("targetConditionFromError: a failed step points at the target", () => {
  it("the host row's recorded cause wins; otherwise the error's code; unrelated failures leave the condition", async () => {
    const { db, set, bot, o } = await setup();
    const a = generateEd25519KeyPair().fingerprint;
    const b = generateEd25519KeyPair().fingerprint;
    set({ fingerprint: a, seenFingerprint: a, status: "ok", lastSeenAt: 1 });

    // the provider wraps what the pool threw; the row still looks fine: the code decides
    const wrapped = new ProviderError("host nas: connection to 127.0.0.1:22 lost", "unreachable");
    expect(targetConditionFromError(db, bot, wrapped)).toMatchObject({ status: "False", reason: "HostUnreachable" });
    expect(targetConditionFromError(db, bot, new SshError("auth_failed", "authentication failed"))).toMatchObject({
      reason: "HostAuthFailed",
    });
    expect(targetConditionFromError(db, bot, new HostKeyMismatchError("127.0.0.1", 22, a, b))?.message).toContain(
      `it now presents ${b}`,
    );
    // not about reaching the target
    expect(targetConditionFromError(db, bot, new ProviderError("openclaw.json is invalid", "invalid_config"))).toBeNull();
    expect(targetConditionFromError(db, bot, new SshError("channel", "could not open a forward"))).toBeNull();
    expect(targetConditionFromError(db, bot, new Error("gateway: connect was cancelled by the caller"))).toBeNull();

    // the pool recorded the key change before the error surfaced: the bot says so, whatever the step's error said
    set({ status: "key_mismatch", seenFingerprint: b });
    const c = targetConditionFromError(db, bot, new Error("gateway: connect was cancelled by the caller"));
    expect(c).toMatchObject({ status: "False", reason: "HostKeyChanged" });
    expect(c!.message).toContain(`molthub host trust nas --fingerprint ${b}`);

    // an untrusted host: the step's "details not loaded yet" becomes the real cause
    set({ fingerprint: null, status: "untrusted" });
    const notLoaded = new ProviderError("the details of host nas are not loaded yet", "unreachable");
    expect(targetConditionFromError(db, bot, notLoaded)).toMatchObject({ reason: "HostKeyUnconfirmed" });

    // Docker: the engine, not the host, when the host itself answers
    set({ fingerprint: a, status: "ok" });
    const docker = { ...bot, provider: "docker" };
    expect(targetConditionFromError(db, docker, new ProviderError("cannot reach nas: EOF", "unreachable"))).toMatchObject({
      reason: "EngineUnreachable",
    });
    const local = { workspaceId: o.workspaceId, provider: "docker", host: "local" };
    expect(targetConditionFromError(db, local, new ProviderError("cannot reach docker: ENOENT", "unreachable"))).toMatchObject({
      status: "False",
      reason: "EngineUnreachable",
    });
    expect(targetConditionFromError(db, { ...local, provider: "local" }, new ProviderError("x", "unreachable"))).toBeNull();
  });

  it("a forward to a host that went down records it unreachable, and the bot names it", async () => {
    const port = await closedPort();
    const { t, db, row, set, bot } = await setup(port);
    set({ fingerprint: generateEd25519KeyPair().fingerprint, status: "ok", lastSeenAt: 1 });
    const access = new DbHostAccess({ db, keyring: t.deps.keyring });
    try {
      access.configure(row());
      const fwd = await access.pool.forward(row().id, { host: "127.0.0.1", port: 18789 });
      // what the gateway client does: connect to the forward's local end; the channel cannot open
      await new Promise<void>((resolve) => {
        const s = netConnect(fwd.port, "127.0.0.1");
        s.on("error", () => {});
        s.on("close", () => resolve());
      });
      await fwd.close();
      await expect.poll(() => row().status).toBe("unreachable");
      const c = targetCondition(db, bot);
      expect(c).toMatchObject({ status: "False", reason: "HostUnreachable" });
      expect(c.message).toContain(`127.0.0.1:${port}`);
    } finally {
      access.close();
    }
  });
});
