import { eq } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import type { Role, ServiceContext } from "../../src/core/context.ts";
import { ServiceError } from "../../src/core/errors.ts";
import { auditLog, botRevisions, layers, secrets } from "../../src/db/schema.ts";
import { serviceContext } from "../../src/server/deps.ts";
import { applyManifest, getBot } from "../../src/services/bots.ts";
import {
  applyLayer,
  attachProfile,
  deleteLayer,
  detachProfile,
  getLayer,
  listLayers,
  resolvedConfig,
  setOverlayEnabled,
} from "../../src/services/layers.ts";
import { putSecret } from "../../src/services/secrets.ts";
import { makeTestApp } from "../helpers/app.ts";

const T0 = Date.parse("2026-06-01T12:00:00Z");

async function setup(opts: { role?: Role } = {}) {
  let now = T0;
  const t = makeTestApp({ now: () => now });
  const o = await t.setupOwner();
  const ctx = (role: Role = opts.role ?? "owner"): ServiceContext =>
    serviceContext(t.deps, { type: "user", userId: o.userId, label: "owner@example.com", workspaceId: o.workspaceId, role });
  return { t, ctx, setNow: (ms: number) => (now = ms) };
}

function profile(name: string, spec: Record<string, unknown>, description?: string) {
  return { apiVersion: "molthub/v1", kind: "Profile", metadata: description ? { name, description } : { name }, spec };
}

function overlay(name: string, spec: Record<string, unknown>) {
  return { apiVersion: "molthub/v1", kind: "Overlay", metadata: { name }, spec };
}

function bot(
  name: string,
  extra: {
    profiles?: string[];
    openclaw?: Record<string, unknown>;
    fleet?: string;
    environment?: string;
    labels?: Record<string, string>;
    secrets?: Record<string, { secret: string }>;
  } = {},
) {
  const metadata: Record<string, unknown> = { name };
  if (extra.fleet) metadata.fleet = extra.fleet;
  if (extra.environment) metadata.environment = extra.environment;
  if (extra.labels) metadata.labels = extra.labels;
  return {
    apiVersion: "molthub/v1",
    kind: "Bot",
    metadata,
    spec: {
      target: { provider: "local", version: "2026.9.6" },
      profiles: extra.profiles,
      openclaw: extra.openclaw ?? {},
      secrets: extra.secrets ?? {},
    },
  };
}

function caught(fn: () => unknown): ServiceError {
  try {
    fn();
  } catch (e) {
    if (e instanceof ServiceError) return e;
    throw e;
  }
  throw new Error("expected a ServiceError");
}

function model(ctx: ServiceContext, name: string): unknown {
  const g = getBot(ctx, name);
  return (g.config as { agents?: { defaults?: { model?: unknown } } }).agents?.defaults?.model;
}

function revisions(t: ReturnType<typeof makeTestApp>) {
  return t.store.db.select().from(botRevisions).all().length;
}

describe("profile and overlay documents", () => {
  it("lists every wrong path, and refuses values on paths Molthub owns", async () => {
    const { ctx } = await setup();
    const e = caught(() =>
      applyLayer(ctx(), "profile", {
        apiVersion: "molthub/v2",
        kind: "Profile",
        metadata: { name: "Bad Name", colour: "red" },
        spec: {
          priority: 1.5,
          values: { gateway: { port: 9999, bind: "lan" } },
          strategies: { "a..b": "merge", tools: "replace" },
          selector: { bots: ["x"] },
          window: { from: "soon" },
        },
      }),
    );
    expect(e.code).toBe("invalid_request");
    const paths = (e.details as { path: string }[]).map((d) => d.path).sort();
    for (const p of [
      "apiVersion",
      "metadata.name",
      "metadata.colour",
      "spec.priority",
      "spec.values.gateway.port",
      "spec.values.gateway.bind",
      "spec.strategies.tools",
      "spec.window.from",
    ]) {
      expect(paths, p).toContain(p);
    }
    expect(JSON.stringify(e.details)).toContain("managed by Molthub");
  });

  it("refuses a selector on a profile, a kind that does not match the endpoint, and a name that differs from the address", async () => {
    const { ctx } = await setup();
    const a = caught(() =>
      applyLayer(ctx(), "profile", profile("p", { selector: { fleets: ["f"] }, window: { to: "2027-01-01T00:00:00Z" } })),
    );
    expect((a.details as { path: string }[]).map((d) => d.path).sort()).toEqual(["spec.selector", "spec.window"]);
    const b = caught(() => applyLayer(ctx(), "overlay", profile("p", {})));
    expect(JSON.stringify(b.details)).toContain("kind Overlay");
    const c = caught(() => applyLayer(ctx(), "profile", profile("p", {}), { name: "q" }));
    expect((c.details as { path: string }[])[0]!.path).toBe("metadata.name");
  });

  it("fills the name in from the address and round-trips the document", async () => {
    const { ctx } = await setup();
    const r = applyLayer(
      ctx(),
      "profile",
      { apiVersion: "molthub/v1", kind: "Profile", spec: { priority: 5, values: { a: 1 }, locked: ["a"] } },
      { name: "named" },
    );
    expect(r).toMatchObject({ action: "created", name: "named", version: 1 });
    const g = getLayer(ctx(), "profile", "named");
    expect(g.document).toEqual({
      apiVersion: "molthub/v1",
      kind: "Profile",
      metadata: { name: "named" },
      spec: { priority: 5, values: { a: 1 }, locked: ["a"], enabled: true },
    });
    expect(applyLayer(ctx(), "profile", g.document).action).toBe("unchanged");
    expect(getLayer(ctx(), "profile", "named").version).toBe(1);
  });
});

describe("profiles on bots", () => {
  it("a profile's values reach the bot's revision with provenance, and a change rolls out as a new revision", async () => {
    const { t, ctx } = await setup();
    applyLayer(
      ctx(),
      "profile",
      profile("team", {
        priority: 10,
        values: { agents: { defaults: { model: "anthropic/claude-sonnet-4-5" } }, update: { checkOnStart: false } },
      }),
    );
    const created = applyManifest(ctx(), bot("alpha", { profiles: ["team"] }));
    expect(created.revision).toBe(1);
    expect(model(ctx(), "alpha")).toBe("anthropic/claude-sonnet-4-5");
    const rev1 = t.store.db.select().from(botRevisions).get()!;
    expect(JSON.parse(rev1.provenance)["agents.defaults.model"].layer).toMatchObject({ kind: "profile", name: "team" });

    const r = applyLayer(
      ctx(),
      "profile",
      profile("team", {
        priority: 10,
        values: { agents: { defaults: { model: "anthropic/claude-opus-4-1" } }, update: { checkOnStart: false } },
      }),
    );
    expect(r).toMatchObject({ action: "updated", version: 2, dryRun: false, unchanged: [] });
    expect(r.bots).toEqual([
      {
        bot: "alpha",
        action: "updated",
        revision: 2,
        changes: [{ path: "agents.defaults.model", from: "anthropic/claude-sonnet-4-5", to: "anthropic/claude-opus-4-1" }],
      },
    ]);
    const g = getBot(ctx(), "alpha");
    expect(g.bot.desiredRevision).toBe(2);
    expect(g.revisions[0]).toMatchObject({ revision: 2, source: "layer" });
    expect(model(ctx(), "alpha")).toBe("anthropic/claude-opus-4-1");
    expect(g.job?.kind).toBe("reconcile");
  });

  it("a missing profile is named; attaching and detaching make normal revisions", async () => {
    const { ctx } = await setup();
    const e = caught(() => applyManifest(ctx(), bot("alpha", { profiles: ["ghost"] })));
    expect(JSON.stringify(e.details)).toContain("profile ghost does not exist");
    applyManifest(ctx(), bot("alpha", { openclaw: { agents: { defaults: { model: "own/model" } } } }));
    applyLayer(ctx(), "profile", profile("team", { values: { update: { checkOnStart: false } } }));
    expect(caught(() => attachProfile(ctx(), "alpha", "ghost")).code).toBe("not_found");
    expect(caught(() => attachProfile(ctx(), "nobody", "team")).code).toBe("not_found");
    const a = attachProfile(ctx(), "alpha", "team");
    expect(a).toMatchObject({ action: "updated", revision: 2 });
    expect(getBot(ctx(), "alpha").manifest.spec.profiles).toEqual(["team"]);
    expect(caught(() => attachProfile(ctx(), "alpha", "team")).code).toBe("conflict");
    expect(getLayer(ctx(), "profile", "team").bots).toEqual(["alpha"]);
    const d = detachProfile(ctx(), "alpha", "team");
    expect(d).toMatchObject({ action: "updated", revision: 3 });
    expect(getBot(ctx(), "alpha").manifest.spec.profiles).toBeUndefined();
    expect(caught(() => detachProfile(ctx(), "alpha", "team")).code).toBe("not_found");
  });

  it("a bot cannot override a field a profile locked, and a new lock on a field a bot sets is refused with nothing saved", async () => {
    const { t, ctx } = await setup();
    applyLayer(
      ctx(),
      "profile",
      profile("locked", { values: { update: { checkOnStart: false } }, locked: ["update.checkOnStart"] }),
    );
    const e = caught(() =>
      applyManifest(ctx(), bot("alpha", { profiles: ["locked"], openclaw: { update: { checkOnStart: true } } })),
    );
    expect(e.code).toBe("invalid_request");
    expect(JSON.stringify(e.details)).toContain("openclaw.update.checkOnStart");

    applyLayer(ctx(), "profile", profile("soft", { values: { agents: { defaults: { model: "a/b" } } } }));
    applyManifest(ctx(), bot("beta", { profiles: ["soft"], openclaw: { agents: { defaults: { model: "own/model" } } } }));
    const before = revisions(t);
    const r = caught(() =>
      applyLayer(
        ctx(),
        "profile",
        profile("soft", { values: { agents: { defaults: { model: "a/b" } } }, locked: ["agents.defaults.model"] }),
      ),
    );
    expect(r.code).toBe("invalid_request");
    expect(r.message).toContain("beta");
    expect(r.message).toContain("nothing was saved");
    expect(r.details).toEqual([expect.objectContaining({ bot: "beta", path: "openclaw.agents.defaults.model" })]);
    expect(getLayer(ctx(), "profile", "soft")).toMatchObject({ version: 1, locked: [] });
    expect(revisions(t)).toBe(before);
  });

  it("equal priorities among profiles: the one the bot lists later wins", async () => {
    const { ctx } = await setup();
    applyLayer(ctx(), "profile", profile("one", { values: { agents: { defaults: { model: "one/m" } } } }));
    applyLayer(ctx(), "profile", profile("two", { values: { agents: { defaults: { model: "two/m" } } } }));
    applyManifest(ctx(), bot("a", { profiles: ["one", "two"] }));
    applyManifest(ctx(), bot("b", { profiles: ["two", "one"] }));
    expect(model(ctx(), "a")).toBe("two/m");
    expect(model(ctx(), "b")).toBe("one/m");
    // priority decides before the order
    applyLayer(ctx(), "profile", profile("one", { priority: 5, values: { agents: { defaults: { model: "one/m" } } } }));
    expect(model(ctx(), "a")).toBe("one/m");
  });

  it("the blast radius lists exactly the bots whose config changes, with their diffs; a dry run saves nothing", async () => {
    const { t, ctx } = await setup();
    applyLayer(ctx(), "profile", profile("team", { values: { update: { checkOnStart: false } } }));
    applyManifest(ctx(), bot("a", { profiles: ["team"] }));
    applyManifest(ctx(), bot("b", { profiles: ["team"], openclaw: { agents: { defaults: { model: "own/model" } } } }));
    applyManifest(ctx(), bot("c"));
    const next = profile("team", { values: { update: { checkOnStart: false }, agents: { defaults: { model: "team/model" } } } });
    const audits = t.store.db.select().from(auditLog).all().length;
    const revs = revisions(t);

    const preview = applyLayer(ctx(), "profile", next, { dryRun: true });
    expect(preview).toMatchObject({ action: "updated", version: 2, dryRun: true, unchanged: ["b"] });
    expect(preview.bots).toEqual([
      {
        bot: "a",
        action: "updated",
        revision: 2,
        changes: [{ path: "agents", from: undefined, to: { defaults: { model: "team/model" } } }],
      },
    ]);
    expect(getLayer(ctx(), "profile", "team").version).toBe(1);
    expect(revisions(t)).toBe(revs);
    expect(t.store.db.select().from(auditLog).all().length).toBe(audits);
    expect(getBot(ctx(), "a").bot.desiredRevision).toBe(1);

    const saved = applyLayer(ctx(), "profile", next);
    expect(saved.bots).toEqual(preview.bots);
    expect(saved.unchanged).toEqual(["b"]);
    expect(revisions(t)).toBe(revs + 1);
    expect(getBot(ctx(), "c").bot.desiredRevision).toBe(1);
  });

  it("deleting a profile that bots use is refused naming them; an unused one goes", async () => {
    const { ctx } = await setup();
    applyLayer(ctx(), "profile", profile("team", { values: { update: { checkOnStart: false } } }));
    applyManifest(ctx(), bot("a", { profiles: ["team"] }));
    applyManifest(ctx(), bot("b", { profiles: ["team"] }));
    const e = caught(() => deleteLayer(ctx(), "profile", "team"));
    expect(e.code).toBe("conflict");
    expect(e.message).toContain("a, b");
    expect(listLayers(ctx(), "profile").map((l) => l.name)).toEqual(["team"]);
    detachProfile(ctx(), "a", "team");
    detachProfile(ctx(), "b", "team");
    expect(deleteLayer(ctx(), "profile", "team")).toMatchObject({ action: "deleted", bots: [] });
    expect(listLayers(ctx(), "profile")).toEqual([]);
    expect(caught(() => deleteLayer(ctx(), "profile", "team")).code).toBe("not_found");
  });

  it("a change that leaves a bot with a missing secret is refused and names the secret", async () => {
    const { t, ctx } = await setup();
    putSecret(ctx(), { name: "anthropic-key", value: "sk-ant-secret-value-1234" });
    applyLayer(ctx(), "profile", profile("team", { values: { update: { checkOnStart: false } } }));
    applyManifest(ctx(), bot("a", { profiles: ["team"], secrets: { ANTHROPIC_API_KEY: { secret: "anthropic-key" } } }));
    // gone behind the service's back (the vault refuses to delete a secret in use)
    t.store.db.delete(secrets).where(eq(secrets.name, "anthropic-key")).run();
    const e = caught(() => applyLayer(ctx(), "profile", profile("team", { values: { update: { checkOnStart: true } } })));
    expect(e.message).toContain("anthropic-key");
    expect(getLayer(ctx(), "profile", "team").version).toBe(1);
  });

  it("records audit entries naming the affected bots", async () => {
    const { t, ctx } = await setup();
    applyLayer(ctx(), "profile", profile("team", { values: { update: { checkOnStart: false } } }));
    applyManifest(ctx(), bot("a", { profiles: ["team"] }));
    applyLayer(ctx(), "profile", profile("team", { values: { update: { checkOnStart: true } } }));
    applyLayer(ctx(), "overlay", overlay("o", { values: { x: 1 } }));
    setOverlayEnabled(ctx(), "o", false);
    deleteLayer(ctx(), "overlay", "o");
    const entries = t.store.db
      .select()
      .from(auditLog)
      .all()
      .filter((e) => e.resourceType === "profile" || e.resourceType === "overlay");
    expect(entries.map((e) => e.action)).toEqual([
      "profile.create",
      "profile.update",
      "overlay.create",
      "overlay.disable",
      "overlay.delete",
    ]);
    expect(JSON.parse(entries[1]!.summary)).toEqual({
      name: "team",
      version: 2,
      bots: [{ name: "a", revision: 2, paths: ["update.checkOnStart"] }],
    });
    expect(JSON.parse(entries[2]!.summary).bots.map((b: { name: string }) => b.name)).toEqual(["a"]);
    // the bot's own revision is audited too
    expect(
      t.store.db
        .select()
        .from(auditLog)
        .all()
        .some((e) => e.action === "bot.update" && JSON.parse(e.summary).reason === "profile team v2"),
    ).toBe(true);
  });

  it("viewers can read but not write", async () => {
    const { ctx } = await setup();
    applyLayer(ctx(), "profile", profile("team", {}));
    expect(listLayers(ctx("viewer"), "profile")).toHaveLength(1);
    expect(caught(() => applyLayer(ctx("viewer"), "profile", profile("x", {}))).code).toBe("forbidden");
    expect(caught(() => deleteLayer(ctx("viewer"), "profile", "team")).code).toBe("forbidden");
  });
});

describe("overlays", () => {
  async function fleet() {
    const s = await setup();
    const { ctx } = s;
    applyManifest(ctx(), bot("prod-a", { environment: "prod", fleet: "blue", labels: { team: "support" } }));
    applyManifest(ctx(), bot("prod-b", { environment: "prod", fleet: "green" }));
    applyManifest(ctx(), bot("dev-a", { environment: "dev", fleet: "blue", labels: { team: "support" } }));
    return s;
  }
  const setting = (ctx: ServiceContext, name: string) =>
    (getBot(ctx, name).config as { update?: { checkOnStart?: unknown } }).update?.checkOnStart;

  it("select bots by environment, fleet, label or name", async () => {
    const { ctx } = await fleet();
    const byEnv = applyLayer(
      ctx(),
      "overlay",
      overlay("env", { values: { update: { checkOnStart: false } }, selector: { environments: ["prod"] } }),
    );
    expect(byEnv.bots.map((b) => b.bot)).toEqual(["prod-a", "prod-b"]);
    expect(setting(ctx(), "dev-a")).toBeUndefined();
    const byFleet = applyLayer(
      ctx(),
      "overlay",
      overlay("fleet", { values: { agents: { defaults: { model: "blue/m" } } }, selector: { fleets: ["blue"] } }),
    );
    expect(byFleet.bots.map((b) => b.bot)).toEqual(["dev-a", "prod-a"]);
    const byLabel = applyLayer(
      ctx(),
      "overlay",
      overlay("label", {
        priority: 1,
        values: { agents: { defaults: { model: "support/m" } } },
        selector: { labels: { team: "support" }, environments: ["prod"] },
      }),
    );
    expect(byLabel.bots.map((b) => b.bot)).toEqual(["prod-a"]);
    expect(model(ctx(), "prod-a")).toBe("support/m");
    expect(model(ctx(), "dev-a")).toBe("blue/m");
    const byName = applyLayer(
      ctx(),
      "overlay",
      overlay("name", { priority: 2, values: { agents: { defaults: { model: "only/b" } } }, selector: { bots: ["prod-b"] } }),
    );
    expect(byName.bots.map((b) => b.bot)).toEqual(["prod-b"]);
    expect(getLayer(ctx(), "overlay", "label")).toMatchObject({ bots: ["prod-a"], matched: ["prod-a"], active: true });
    // moving the selector reaches the bots it leaves as well as those it joins
    const moved = applyLayer(
      ctx(),
      "overlay",
      overlay("env", { values: { update: { checkOnStart: false } }, selector: { environments: ["dev"] } }),
    );
    expect(moved.bots.map((b) => b.bot)).toEqual(["dev-a", "prod-a", "prod-b"]);
    expect(setting(ctx(), "prod-a")).toBeUndefined();
    expect(setting(ctx(), "dev-a")).toBe(false);
  });

  it("two overlays of equal priority on one path are refused before saving; nothing is saved", async () => {
    const { t, ctx } = await fleet();
    applyLayer(
      ctx(),
      "overlay",
      overlay("first", { priority: 5, values: { update: { checkOnStart: false } }, selector: { environments: ["prod"] } }),
    );
    const revs = revisions(t);
    const e = caught(() =>
      applyLayer(
        ctx(),
        "overlay",
        overlay("second", { priority: 5, values: { update: { checkOnStart: true } }, selector: { fleets: ["blue"] } }),
      ),
    );
    expect(e.code).toBe("invalid_request");
    expect(e.message).toContain("prod-a");
    expect(e.message).not.toContain("prod-b");
    expect(e.details).toEqual([expect.objectContaining({ bot: "prod-a", path: "openclaw.update.checkOnStart" })]);
    expect(listLayers(ctx(), "overlay").map((l) => l.name)).toEqual(["first"]);
    expect(revisions(t)).toBe(revs);
    expect(t.store.db.select().from(layers).where(eq(layers.name, "second")).all()).toEqual([]);
    // a different priority resolves it
    const ok = applyLayer(
      ctx(),
      "overlay",
      overlay("second", { priority: 6, values: { update: { checkOnStart: true } }, selector: { fleets: ["blue"] } }),
    );
    expect(ok.bots.map((b) => b.bot)).toEqual(["dev-a", "prod-a"]);
  });

  it("an overlay applies only inside its time window", async () => {
    const { ctx, setNow } = await fleet();
    const win = { from: "2026-07-01T00:00:00Z", to: "2026-07-02T00:00:00Z" };
    const r = applyLayer(ctx(), "overlay", overlay("freeze", { values: { update: { checkOnStart: false } }, window: win }));
    expect(r.bots).toEqual([]);
    expect(r.unchanged).toEqual(["dev-a", "prod-a", "prod-b"]);
    expect(getLayer(ctx(), "overlay", "freeze")).toMatchObject({
      active: false,
      bots: [],
      matched: ["dev-a", "prod-a", "prod-b"],
    });
    expect(resolvedConfig(ctx(), "prod-a").value).toEqual({});
    setNow(Date.parse("2026-07-01T06:00:00Z"));
    const inside = resolvedConfig(ctx(), "prod-a");
    expect(inside.value).toEqual({ update: { checkOnStart: false } });
    expect(inside.stored.upToDate).toBe(false);
    // the next write of the bot picks it up
    applyManifest(ctx(), bot("prod-a", { environment: "prod", fleet: "blue", labels: { team: "support", v: "2" } }));
    expect(setting(ctx(), "prod-a")).toBe(false);
    setNow(Date.parse("2026-07-02T00:00:00Z"));
    expect(resolvedConfig(ctx(), "prod-a").value).toEqual({});
  });

  it("a disabled overlay does not apply; enabling it again brings its values back", async () => {
    const { ctx } = await fleet();
    applyLayer(
      ctx(),
      "overlay",
      overlay("o", { values: { update: { checkOnStart: false } }, selector: { environments: ["prod"] } }),
    );
    const off = setOverlayEnabled(ctx(), "o", false);
    expect(off.bots.map((b) => b.bot)).toEqual(["prod-a", "prod-b"]);
    expect(off.bots[0]!.changes).toEqual([{ path: "update", from: { checkOnStart: false }, to: undefined }]);
    expect(setting(ctx(), "prod-a")).toBeUndefined();
    expect(getLayer(ctx(), "overlay", "o")).toMatchObject({ enabled: false, active: false, version: 2 });
    const preview = setOverlayEnabled(ctx(), "o", true, { dryRun: true });
    expect(preview.bots.map((b) => b.bot)).toEqual(["prod-a", "prod-b"]);
    expect(setting(ctx(), "prod-a")).toBeUndefined();
    setOverlayEnabled(ctx(), "o", true);
    expect(setting(ctx(), "prod-a")).toBe(false);
  });

  it("deleting an overlay shows its blast radius", async () => {
    const { ctx } = await fleet();
    applyLayer(ctx(), "overlay", overlay("o", { values: { update: { checkOnStart: false } }, selector: { fleets: ["green"] } }));
    const preview = deleteLayer(ctx(), "overlay", "o", { dryRun: true });
    expect(preview).toMatchObject({ action: "deleted", dryRun: true });
    expect(preview.bots.map((b) => b.bot)).toEqual(["prod-b"]);
    expect(listLayers(ctx(), "overlay")).toHaveLength(1);
    deleteLayer(ctx(), "overlay", "o");
    expect(listLayers(ctx(), "overlay")).toHaveLength(0);
    expect(setting(ctx(), "prod-b")).toBeUndefined();
  });
});

describe("the resolved config", () => {
  it("names the layer that set each path and what it overrode, and shows secrets only as references", async () => {
    const { ctx } = await setup();
    applyLayer(
      ctx(),
      "profile",
      profile("team", {
        priority: 1,
        values: { agents: { defaults: { model: "team/m" } }, update: { checkOnStart: false } },
        locked: ["update.checkOnStart"],
      }),
    );
    applyLayer(
      ctx(),
      "overlay",
      overlay("prod", { values: { agents: { defaults: { model: "prod/m" } } }, selector: { environments: ["prod"] } }),
    );
    const ref = { source: "env", provider: "default", id: "TELEGRAM_BOT_TOKEN" };
    applyManifest(
      ctx(),
      bot("a", {
        environment: "prod",
        profiles: ["team"],
        openclaw: { channels: { telegram: { botToken: ref, dmPolicy: "pairing" } } },
      }),
    );
    const r = resolvedConfig(ctx(), "a");
    expect(r.conflicts).toEqual([]);
    expect(r.problems).toEqual([]);
    expect(r.layers.map((l) => `${l.kind}:${l.name}`)).toEqual(["profile:team", "overlay:prod", "bot:a"]);
    expect(r.provenance["agents.defaults.model"]).toEqual({
      layer: { kind: "overlay", id: "overlay:prod", name: "prod" },
      overrode: [{ layer: expect.objectContaining({ kind: "profile", name: "team" }), value: "team/m" }],
    });
    expect(r.provenance["update.checkOnStart"]!.layer).toMatchObject({ kind: "profile", name: "team" });
    expect(r.value.channels).toEqual({ telegram: { botToken: ref, dmPolicy: "pairing" } });
    expect(r.provenance["channels.telegram.botToken.id"]!.layer.kind).toBe("bot");
    expect(r.stored).toMatchObject({ revision: 1, upToDate: true });
    expect(r.stored.provenance["agents.defaults.model"]!.layer.name).toBe("prod");
  });

  it("shows conflicts and missing layers instead of failing, and never shows a plaintext value under a secret key", async () => {
    const { t, ctx } = await setup();
    applyLayer(ctx(), "profile", profile("team", { values: { update: { checkOnStart: false } } }));
    applyManifest(
      ctx(),
      bot("a", { profiles: ["team"], openclaw: { channels: { telegram: { botToken: "${TELEGRAM_BOT_TOKEN}" } } } }),
    );
    // a row changed behind the service's back: the view still answers, and says what is wrong
    t.store.db
      .update(layers)
      .set({
        spec: JSON.stringify({
          priority: 0,
          values: { channels: { discord: { token: "plain-text-token-123" } } },
          enabled: true,
        }),
      })
      .where(eq(layers.name, "team"))
      .run();
    const r = resolvedConfig(ctx(), "a");
    expect(r.value.channels).toEqual({ telegram: { botToken: "${TELEGRAM_BOT_TOKEN}" }, discord: { token: "[redacted]" } });
    expect(JSON.stringify(r)).not.toContain("plain-text-token-123");
    expect(r.stored.upToDate).toBe(false);
    expect(caught(() => resolvedConfig(ctx(), "nobody")).code).toBe("not_found");
  });
});

describe("determinism", () => {
  it("the same layers saved in any order give every bot the same config", async () => {
    const docs = [
      overlay("o1", {
        priority: 1,
        values: { agents: { defaults: { model: "o1/m" } }, tools: { allow: ["a"] } },
        selector: { environments: ["prod"] },
      }),
      overlay("o2", {
        priority: 2,
        values: { tools: { allow: ["b"] } },
        strategies: { "tools.allow": "append" },
        selector: { fleets: ["blue"] },
      }),
      overlay("o3", { priority: 3, values: { update: { checkOnStart: true } }, selector: { labels: { team: "support" } } }),
      profile("p1", { priority: 1, values: { agents: { defaults: { model: "p1/m" } }, update: { checkOnStart: false } } }),
    ];
    const configs: string[] = [];
    for (const order of [
      [0, 1, 2, 3],
      [3, 2, 1, 0],
      [1, 3, 0, 2],
    ]) {
      const { ctx } = await setup();
      applyManifest(ctx(), bot("x", { environment: "prod", fleet: "blue", labels: { team: "support" } }));
      for (const i of order) {
        const d = docs[i]!;
        if (d.kind === "Profile") {
          applyLayer(ctx(), "profile", d);
          attachProfile(ctx(), "x", "p1");
        } else applyLayer(ctx(), "overlay", d);
      }
      const r = resolvedConfig(ctx(), "x");
      expect(r.conflicts).toEqual([]);
      configs.push(JSON.stringify({ config: getBot(ctx(), "x").config, provenance: r.provenance }));
    }
    expect(new Set(configs).size).toBe(1);
    expect(configs[0]).toContain('"allow":["a","b"]');
  });
});
