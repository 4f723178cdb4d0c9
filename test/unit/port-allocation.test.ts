/**
 * Gateway ports are allocated per machine, not per host name: two host entries that reach one machine (the same
 * host key, or the same address) never hand out the same port, and a port lost to a foreign process is moved with
 * an audited, restart-class revision (src/fleet/revisions.ts).
 */
import { randomBytes, randomUUID } from "node:crypto";
import { and, eq } from "drizzle-orm";
import { beforeEach, describe, expect, it } from "vitest";
import type { ServiceContext } from "../../src/core/context.ts";
import { migrate, openStore, type Store } from "../../src/db/client.ts";
import { auditLog, botEvents, botRevisions, bots, hosts, jobs } from "../../src/db/schema.ts";
import { PORT_SPACING } from "../../src/domain/openclaw-config.ts";
import { reallocatePort } from "../../src/fleet/revisions.ts";
import { Keyring } from "../../src/secrets/keyring.ts";
import { addUserOffline } from "../../src/services/auth.ts";
import { applyManifest } from "../../src/services/bots.ts";

let store: Store;
let ctx: ServiceContext;
let ws: string;

function addHost(name: string, address: string, fingerprint: string | null, seen: string | null = null): void {
  const id = randomUUID();
  store.db
    .insert(hosts)
    .values({
      id,
      workspaceId: ws,
      name,
      address,
      username: "molt",
      authKind: "generated",
      privateKeyEnc: ctx.keyring.seal("host-key", "-----BEGIN OPENSSH PRIVATE KEY----- test", id),
      publicKey: "ssh-ed25519 AAAA",
      fingerprint,
      seenFingerprint: seen,
      status: fingerprint ? "ok" : "untrusted",
      createdAt: Date.now(),
      updatedAt: Date.now(),
    })
    .run();
}

function apply(name: string, host: string): number {
  const r = applyManifest(ctx, {
    apiVersion: "molthub/v1",
    kind: "Bot",
    metadata: { name },
    spec: { target: { provider: "systemd", host, version: "2026.9.6" } },
  });
  return r.bot.port;
}

const apart = (a: number, b: number) => Math.abs(a - b) >= PORT_SPACING;

beforeEach(async () => {
  store = openStore(":memory:");
  migrate(store);
  const keyring = new Keyring(randomBytes(32), "test");
  const owner = await addUserOffline(store.db, {
    email: "o@example.com",
    name: "O",
    password: "correct horse battery",
    role: "owner",
  });
  ws = owner.workspaceId;
  ctx = {
    db: store.db,
    keyring,
    actor: { type: "user", userId: owner.userId, label: "o@example.com", workspaceId: ws, role: "owner" },
    now: Date.now,
  };
});

describe("ports per machine", () => {
  it("two host entries with one pinned host key never get the same port", () => {
    addHost("nas", "nas.invalid", "SHA256:same-machine");
    addHost("nas-by-name", "nas.lan", "SHA256:same-machine");
    addHost("other", "other.invalid", "SHA256:another-machine");
    const a = apply("a", "nas");
    const b = apply("b", "nas-by-name");
    const c = apply("c", "nas");
    expect(apart(a, b)).toBe(true);
    expect(apart(a, c) && apart(b, c)).toBe(true);
    // another machine has its own port space
    expect(apply("d", "other")).toBe(a);
  });

  it("unpinned entries are matched by address, or by the key they presented, transitively", () => {
    addHost("nas", "nas.invalid", "SHA256:k1");
    addHost("nas-again", "nas.invalid", null);
    addHost("nas-presented", "nas.lan", null, "SHA256:k1");
    const a = apply("a", "nas");
    const b = apply("b", "nas-again");
    const c = apply("c", "nas-presented");
    expect(apart(a, b) && apart(a, c) && apart(b, c)).toBe(true);
  });

  it("ports the host doctor saw listening on any entry of the machine are not handed out", () => {
    addHost("nas", "nas.invalid", "SHA256:k1");
    addHost("nas-alias", "nas.lan", "SHA256:k1");
    store.db
      .update(hosts)
      .set({ doctor: JSON.stringify({ ts: 1, findings: [], facts: { listening: [22, 18800, 18921] } }) })
      .where(eq(hosts.name, "nas-alias"))
      .run();
    const p = apply("a", "nas");
    expect(p).toBeGreaterThan(18921);
    expect(apart(p, 18921)).toBe(true);
  });

  it("an entry whose address is this machine shares the local bots' ports", () => {
    addHost("self", "127.0.0.1", "SHA256:this-machine");
    const local = applyManifest(ctx, {
      apiVersion: "molthub/v1",
      kind: "Bot",
      metadata: { name: "l" },
      spec: { target: { provider: "local", version: "2026.9.6" } },
    }).bot.port;
    expect(apart(local, apply("s", "self"))).toBe(true);
  });
});

describe("reallocatePort", () => {
  it("moves the bot to a free port on its machine with a new revision, an audit entry and a timeline event", () => {
    addHost("nas", "nas.invalid", "SHA256:same-machine");
    addHost("nas-alias", "nas.lan", "SHA256:same-machine");
    const a = apply("a", "nas");
    const b = apply("b", "nas-alias");
    const bot = store.db.select().from(bots).where(eq(bots.name, "a")).get()!;
    const sysCtx = { keyring: ctx.keyring, actor: { ...ctx.actor, type: "system" as const, label: "reconciler" }, now: Date.now };

    const port = store.db.transaction((tx) => reallocatePort(tx, sysCtx, bot.id, { taken: [a], holder: "pid 42 (python3)" }));

    expect(port).not.toBe(a);
    expect(apart(port, a) && apart(port, b)).toBe(true);
    const row = store.db.select().from(bots).where(eq(bots.id, bot.id)).get()!;
    expect(row.port).toBe(port);
    expect(row.desiredRevision).toBe(2);
    const rev = store.db
      .select()
      .from(botRevisions)
      .where(and(eq(botRevisions.botId, bot.id), eq(botRevisions.revision, 2)))
      .get()!;
    expect(rev.source).toBe("port");
    expect(JSON.parse(rev.config).gateway.port).toBe(port);
    const audit = store.db.select().from(auditLog).where(eq(auditLog.action, "bot.port_reallocated")).all();
    expect(audit).toHaveLength(1);
    expect(JSON.parse(audit[0]!.summary)).toMatchObject({ name: "a", from: a, to: port, revision: 2 });
    const events = store.db.select().from(botEvents).where(eq(botEvents.botId, bot.id)).all();
    expect(events.find((e) => e.type === "port.reallocated")?.message).toContain(`port ${a} was taken by pid 42 (python3)`);
    // a restart-class change goes through the reconciler like any revision
    expect(
      store.db
        .select()
        .from(jobs)
        .where(and(eq(jobs.botId, bot.id), eq(jobs.state, "queued")))
        .all(),
    ).toHaveLength(1);
  });
});
