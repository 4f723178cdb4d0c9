import { describe, expect, it } from "vitest";
import { pruneAudit, recordAudit, verifyAudit } from "../../src/core/audit.ts";
import { systemActor } from "../../src/core/context.ts";
import { makeTestApp } from "../helpers/app.ts";

type Entry = { id: number; action: string; actor: string; requestId: string | null; resourceType: string; summary: unknown };

async function seeded() {
  let now = Date.parse("2026-01-01T00:00:00Z");
  const t = makeTestApp({ now: () => now });
  const owner = await t.setupOwner("o@x.test");
  const advance = (ms: number) => (now += ms);
  return { t, owner, advance, now: () => now };
}

describe("audit trail", () => {
  it("records every mutation with actor, request id and a redacted summary", async () => {
    const { t, owner } = await seeded();
    const res = await t.req("/api/v1/members", {
      method: "POST",
      cookie: owner.cookie,
      headers: { "x-request-id": "req-42" },
      json: { email: "n@x.test", role: "viewer", name: "N", password: "a long enough password" },
    });
    expect(res.status).toBe(201);
    const { items } = (await (await t.req("/api/v1/audit", { cookie: owner.cookie })).json()) as { items: Entry[] };
    const actions = items.map((i) => i.action);
    expect(actions).toEqual(expect.arrayContaining(["setup.complete", "session.create", "user.create", "member.add"]));
    const add = items.find((i) => i.action === "member.add")!;
    expect(add.actor).toBe("o@x.test");
    expect(add.requestId).toBe("req-42");
    expect(JSON.stringify(items)).not.toContain("a long enough password");
  });

  it("writes no entry when the change fails (same transaction)", async () => {
    const { t, owner } = await seeded();
    const before = (t.store.sqlite.query("SELECT count(*) n FROM audit_log").get() as { n: number }).n;
    const res = await t.req("/api/v1/members", {
      method: "POST",
      cookie: owner.cookie,
      json: { email: "o@x.test", role: "viewer" },
    });
    expect(res.status).toBe(409);
    expect((t.store.sqlite.query("SELECT count(*) n FROM audit_log").get() as { n: number }).n).toBe(before);
  });

  it("verify catches an edited entry and a removed entry", async () => {
    const { t } = await seeded();
    const ctx = { actor: systemActor, now: Date.now };
    for (let i = 0; i < 5; i++)
      t.store.db.transaction((tx) => {
        recordAudit(tx, ctx, { action: "test.write", resourceType: "test", summary: { i } });
      });
    expect(verifyAudit(t.store.db, t.deps.keyring)).toMatchObject({ ok: true, checked: 7 });
    t.store.sqlite.exec(`UPDATE audit_log SET summary = '{"i":99}' WHERE id = 4`);
    expect(verifyAudit(t.store.db, t.deps.keyring)).toMatchObject({ ok: false, brokenAt: 4, checked: 3 });
    t.store.sqlite.exec(`UPDATE audit_log SET summary = '{"i":1}' WHERE id = 4`);
    expect(verifyAudit(t.store.db, t.deps.keyring).ok).toBe(true);
    t.store.sqlite.exec(`DELETE FROM audit_log WHERE id = 5`);
    expect(verifyAudit(t.store.db, t.deps.keyring)).toMatchObject({ ok: false, brokenAt: 6 });
  });

  it("retention prunes behind a signed checkpoint and the chain still verifies", async () => {
    const { t, owner, advance } = await seeded();
    advance(40 * 86_400_000);
    const cookie = await t.signIn("o@x.test"); // the first session expired meanwhile
    expect(owner.cookie).not.toBe(cookie);
    await t.req("/api/v1/workspace", { method: "PATCH", cookie, json: { name: "Renamed" } });
    const res = await t.req("/api/v1/settings", { method: "PATCH", cookie, json: { auditRetentionDays: 30 } });
    expect(res.status).toBe(200);
    expect(((await res.json()) as { pruned: number }).pruned).toBe(2); // setup + first login
    const v = verifyAudit(t.store.db, t.deps.keyring);
    expect(v.ok).toBe(true);
    expect(v.fromCheckpoint).toBe(1);
    // a forged checkpoint is caught
    t.store.sqlite.exec(`UPDATE audit_checkpoints SET upto_hash = 'ff' || substr(upto_hash, 3)`);
    expect(verifyAudit(t.store.db, t.deps.keyring)).toMatchObject({ ok: false });
    // nothing to prune twice
    t.store.sqlite.exec(`UPDATE audit_checkpoints SET upto_hash = '00' || substr(upto_hash, 3)`);
    expect(
      pruneAudit(t.store.db, t.deps.keyring, { actor: systemActor, now: () => Date.parse("2026-02-10T00:00:00Z") }, 30).pruned,
    ).toBe(0);
  });

  it("filters, paginates with a cursor and exports CSV and JSONL", async () => {
    const { t, owner } = await seeded();
    for (let i = 0; i < 7; i++)
      await t.req("/api/v1/tokens", { method: "POST", cookie: owner.cookie, json: { name: `tok-${i}`, role: "viewer" } });
    const page1 = (await (await t.req("/api/v1/audit?action=token.create&limit=5", { cookie: owner.cookie })).json()) as {
      items: Entry[];
      nextCursor: number;
    };
    expect(page1.items).toHaveLength(5);
    expect(page1.nextCursor).toBeTypeOf("number");
    const page2 = (await (
      await t.req(`/api/v1/audit?action=token.create&limit=5&cursor=${page1.nextCursor}`, { cookie: owner.cookie })
    ).json()) as { items: Entry[]; nextCursor: number | null };
    expect(page2.items).toHaveLength(2);
    expect(page2.nextCursor).toBeNull();
    const ids = [...page1.items, ...page2.items].map((i) => i.id);
    expect(new Set(ids).size).toBe(7);
    const prefix = (await (await t.req("/api/v1/audit?action=token.*&actor=o@x.test", { cookie: owner.cookie })).json()) as {
      items: Entry[];
    };
    expect(prefix.items).toHaveLength(7);
    const none = (await (await t.req("/api/v1/audit?from=2030-01-01T00:00:00Z", { cookie: owner.cookie })).json()) as {
      items: Entry[];
    };
    expect(none.items).toHaveLength(0);
    const bad = await t.req("/api/v1/audit?limit=abc", { cookie: owner.cookie });
    expect(bad.status).toBe(400);

    const csv = await (await t.req("/api/v1/audit/export?format=csv&action=token.create", { cookie: owner.cookie })).text();
    const lines = csv.trim().split("\n");
    expect(lines[0]).toBe("id,time,actor_type,actor,action,resource_type,resource_id,request_id,summary");
    expect(lines).toHaveLength(8);
    const jsonl = await (await t.req("/api/v1/audit/export?format=jsonl", { cookie: owner.cookie })).text();
    const rows = jsonl
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l) as Entry);
    expect(rows.length).toBeGreaterThanOrEqual(9);
    expect(rows[0]!.id).toBeLessThan(rows[1]!.id);
  });
});
