import { describe, expect, it } from "vitest";
import { ApiClient } from "../../src/cli/client.ts";
import { CliError } from "../../src/cli/io.ts";
import { formatBlast, formatResolved, run as runCli } from "../../src/cli/layers.ts";
import { makeTestApp } from "../helpers/app.ts";

type T = ReturnType<typeof makeTestApp>;

const team = (model: string, extra: Record<string, unknown> = {}) => ({
  apiVersion: "molthub/v1",
  kind: "Profile",
  metadata: { name: "team", description: "shared defaults" },
  spec: {
    priority: 10,
    values: { agents: { defaults: { model } }, update: { checkOnStart: false } },
    locked: ["update.checkOnStart"],
    ...extra,
  },
});
const bot = (name: string, profiles?: string[], openclaw: Record<string, unknown> = {}) => ({
  apiVersion: "molthub/v1",
  kind: "Bot",
  metadata: { name, environment: "prod" },
  spec: { target: { provider: "local", version: "2026.9.6" }, profiles, openclaw },
});

async function owner(t: T) {
  return (await t.setupOwner()).cookie;
}

async function body(res: Response) {
  return (await res.json()) as Record<string, any>;
}

describe("profiles and overlays API", () => {
  it("PUT creates and updates with the blast radius, dryRun stores nothing, GET and DELETE follow", async () => {
    const t = makeTestApp();
    const cookie = await owner(t);
    expect((await t.req("/api/v1/profiles/team", { method: "PUT", cookie, json: team("a/one") })).status).toBe(200);
    expect((await t.req("/api/v1/bots/apply", { method: "POST", cookie, json: bot("alpha", ["team"]) })).status).toBe(200);

    const preview = await t.req("/api/v1/profiles/team?dryRun=true", { method: "PUT", cookie, json: team("a/two") });
    expect(preview.status).toBe(200);
    const p = await body(preview);
    expect(p).toMatchObject({
      action: "updated",
      version: 2,
      dryRun: true,
      bots: [{ bot: "alpha", revision: 2, changes: [{ path: "agents.defaults.model", from: "a/one", to: "a/two" }] }],
    });
    expect((await body(await t.req("/api/v1/profiles/team", { cookie }))).version).toBe(1);

    const saved = await body(await t.req("/api/v1/profiles/team", { method: "PUT", cookie, json: team("a/two") }));
    expect(saved).toMatchObject({ action: "updated", version: 2, dryRun: false });
    const list = await body(await t.req("/api/v1/profiles", { cookie }));
    expect(list.items).toEqual([
      expect.objectContaining({ name: "team", version: 2, bots: ["alpha"], locked: ["update.checkOnStart"] }),
    ]);
    const one = await body(await t.req("/api/v1/profiles/team", { cookie }));
    expect(one.document.spec.values.agents.defaults.model).toBe("a/two");

    const locked = await t.req("/api/v1/bots/apply", {
      method: "POST",
      cookie,
      json: bot("alpha", ["team"], { update: { checkOnStart: true } }),
    });
    expect(locked.status).toBe(400);
    expect(JSON.stringify(await locked.json())).toContain("update.checkOnStart");

    const used = await t.req("/api/v1/profiles/team", { method: "DELETE", cookie });
    expect(used.status).toBe(409);
    expect((await body(used)).error.message).toContain("alpha");

    const resolved = await body(await t.req("/api/v1/bots/alpha/resolved", { cookie }));
    expect(resolved.provenance["agents.defaults.model"].layer).toMatchObject({ kind: "profile", name: "team" });

    const detached = await t.req("/api/v1/bots/alpha/profiles/team", { method: "DELETE", cookie });
    expect(detached.status).toBe(200);
    expect((await body(detached)).revision).toBe(3);
    const attached = await t.req("/api/v1/bots/alpha/profiles", { method: "POST", cookie, json: { profile: "team" } });
    expect(attached.status).toBe(200);
    expect((await body(attached)).revision).toBe(4);
  });

  it("reports bad documents path by path and refuses a mismatched kind or name", async () => {
    const t = makeTestApp();
    const cookie = await owner(t);
    const bad = await t.req("/api/v1/profiles/team", {
      method: "PUT",
      cookie,
      json: {
        apiVersion: "molthub/v1",
        kind: "Profile",
        metadata: { name: "team" },
        spec: { values: { gateway: { port: 1 } }, locked: "x" },
      },
    });
    expect(bad.status).toBe(400);
    const b = await body(bad);
    expect(b.error.details.map((d: { path: string }) => d.path).sort()).toEqual(["spec.locked", "spec.values.gateway.port"]);
    const wrongKind = await t.req("/api/v1/overlays/team", { method: "PUT", cookie, json: team("a/b") });
    expect(wrongKind.status).toBe(400);
    const missing = await t.req("/api/v1/profiles/nothing", { method: "PUT", cookie });
    expect(missing.status).toBe(404);
  });

  it("overlays: equal priorities on one path are refused with each bot and path; enable and disable", async () => {
    const t = makeTestApp();
    const cookie = await owner(t);
    expect((await t.req("/api/v1/bots/apply", { method: "POST", cookie, json: bot("alpha") })).status).toBe(200);
    const ov = (name: string, v: boolean) => ({
      apiVersion: "molthub/v1",
      kind: "Overlay",
      metadata: { name },
      spec: { priority: 3, values: { update: { checkOnStart: v } }, selector: { environments: ["prod"] } },
    });
    expect((await t.req("/api/v1/overlays/one", { method: "PUT", cookie, json: ov("one", false) })).status).toBe(200);
    const clash = await t.req("/api/v1/overlays/two", { method: "PUT", cookie, json: ov("two", true) });
    expect(clash.status).toBe(400);
    const c = await body(clash);
    expect(c.error.details).toEqual([expect.objectContaining({ bot: "alpha", path: "openclaw.update.checkOnStart" })]);
    expect((await t.req("/api/v1/overlays/two", { cookie })).status).toBe(404);
    const off = await body(await t.req("/api/v1/overlays/one/disable", { method: "POST", cookie }));
    expect(off).toMatchObject({ version: 2, bots: [{ bot: "alpha" }] });
    expect((await body(await t.req("/api/v1/overlays", { cookie }))).items[0]).toMatchObject({
      enabled: false,
      active: false,
      bots: [],
    });
  });

  it("viewers read but cannot write; operators write", async () => {
    const t = makeTestApp();
    const cookie = await owner(t);
    const viewer = await t.addUser("v@example.com", "viewer");
    const operator = await t.addUser("o@example.com", "operator");
    expect((await t.req("/api/v1/profiles/team", { method: "PUT", cookie: viewer, json: team("a/b") })).status).toBe(403);
    expect((await t.req("/api/v1/profiles/team", { method: "PUT", cookie: operator, json: team("a/b") })).status).toBe(200);
    expect((await t.req("/api/v1/profiles", { cookie: viewer })).status).toBe(200);
    expect((await t.req("/api/v1/profiles/team", { method: "DELETE", cookie: viewer })).status).toBe(403);
    expect((await t.req("/api/v1/overlays/x/enable", { method: "POST", cookie: viewer })).status).toBe(403);
    expect((await t.req("/api/v1/profiles/team", { method: "DELETE", cookie })).status).toBe(200);
  });
});

describe("another workspace's profiles, overlays and bots", () => {
  it("answer 404 on every layer route, with or without a body, and stay untouched", async () => {
    const t = makeTestApp();
    const cookie = await owner(t);
    const other = await t.addUser("b@example.com", "owner", "other-ws");
    expect(
      (await t.req("/api/v1/profiles/bee", { method: "PUT", cookie: other, json: { ...team("b/m"), metadata: { name: "bee" } } }))
        .status,
    ).toBe(200);
    expect(
      (
        await t.req("/api/v1/overlays/bee", {
          method: "PUT",
          cookie: other,
          json: { apiVersion: "molthub/v1", kind: "Overlay", metadata: { name: "bee" }, spec: { values: { x: 1 } } },
        })
      ).status,
    ).toBe(200);
    expect((await t.req("/api/v1/bots/apply", { method: "POST", cookie: other, json: bot("bee", ["bee"]) })).status).toBe(200);
    const routes: [string, string][] = [
      ["GET", "/api/v1/profiles/bee"],
      ["PUT", "/api/v1/profiles/bee"],
      ["DELETE", "/api/v1/profiles/bee"],
      ["GET", "/api/v1/overlays/bee"],
      ["PUT", "/api/v1/overlays/bee"],
      ["DELETE", "/api/v1/overlays/bee"],
      ["POST", "/api/v1/overlays/bee/enable"],
      ["POST", "/api/v1/overlays/bee/disable"],
      ["POST", "/api/v1/bots/bee/profiles"],
      ["DELETE", "/api/v1/bots/bee/profiles/:profile"],
      ["DELETE", "/api/v1/bots/bee/profiles/bee"],
      ["GET", "/api/v1/bots/bee/resolved"],
    ];
    for (const [method, path] of routes) {
      const res = await t.req(path, { method, cookie });
      expect(res.status, `${method} ${path} ${await res.text()}`).toBe(404);
    }
    expect((await t.req("/api/v1/profiles", { cookie })).status).toBe(200);
    expect(JSON.stringify(await (await t.req("/api/v1/overlays", { cookie })).json())).not.toContain("bee");
    const theirs = await body(await t.req("/api/v1/overlays/bee", { cookie: other }));
    expect(theirs).toMatchObject({ version: 1, enabled: true, bots: ["bee"] });
  });
});

/** The CLI's client commands against the in-process app (no network). */
class AppClient extends ApiClient {
  constructor(
    private readonly t: T,
    private readonly bearer: string,
  ) {
    super({ server: "http://localhost" }, {});
  }
  override async call<R>(method: string, path: string, json?: unknown): Promise<R> {
    const res = await this.t.req(path, { method, bearer: this.bearer, json });
    const b = (await res.json()) as { error?: { message: string; details?: { path: string; message: string }[] } };
    if (!res.ok)
      throw new CliError(
        `${b.error?.message}${b.error?.details ? `\n${b.error.details.map((d) => `  ${d.path}: ${d.message}`).join("\n")}` : ""}`,
      );
    return b as R;
  }
}

describe("profile / overlay / resolved CLI", () => {
  async function cli() {
    const t = makeTestApp();
    const cookie = await owner(t);
    const res = await t.req("/api/v1/tokens", { method: "POST", cookie, json: { name: "cli", role: "operator" } });
    const token = ((await res.json()) as { token: string }).token;
    const out: string[] = [];
    const asked: string[] = [];
    let answer = true;
    const io = {
      out: (s: string) => out.push(s),
      err: (s: string) => out.push(`ERR ${s}`),
      confirm: async (q: string) => (asked.push(q), answer),
      readDocs: async (_f: string) => docs,
    };
    let docs: unknown[] = [];
    const runArgs = (argv: string[]) => runCli(new AppClient(t, token), argv, io);
    return { t, cookie, out, asked, runArgs, setDocs: (d: unknown[]) => (docs = d), setAnswer: (a: boolean) => (answer = a) };
  }

  it("apply shows the blast radius and asks before saving; --yes skips the question; --dry-run saves nothing", async () => {
    const c = await cli();
    c.setDocs([team("a/one")]);
    expect(await c.runArgs(["profile", "apply", "--file", "team.yaml", "--yes"])).toBe(0);
    expect(await c.runArgs(["apply-bot-placeholder"]).catch((e: Error) => e.message)).toContain("unknown command");
    expect((await c.t.req("/api/v1/bots/apply", { method: "POST", cookie: c.cookie, json: bot("alpha", ["team"]) })).status).toBe(
      200,
    );
    c.out.length = 0;
    c.setDocs([team("a/two")]);
    expect(await c.runArgs(["profile", "apply", "-f", "team.yaml", "--dry-run"])).toBe(0);
    expect(c.out.join("\n")).toContain("alpha: revision 2");
    expect(c.out.join("\n")).toContain('agents.defaults.model: "a/one" → "a/two"');
    expect(c.out.join("\n")).toContain("dry run");
    expect(c.asked).toEqual([]);
    c.setAnswer(false);
    expect(await c.runArgs(["profile", "apply", "-f", "team.yaml"])).toBe(1);
    expect(c.asked).toHaveLength(1);
    expect((await body(await c.t.req("/api/v1/profiles/team", { cookie: c.cookie }))).version).toBe(1);
    c.setAnswer(true);
    expect(await c.runArgs(["profile", "apply", "-f", "team.yaml"])).toBe(0);
    expect((await body(await c.t.req("/api/v1/profiles/team", { cookie: c.cookie }))).version).toBe(2);
  });

  it("list, get, attach, detach, resolved, and a refused delete", async () => {
    const c = await cli();
    c.setDocs([team("a/one")]);
    await c.runArgs(["profile", "apply", "-f", "x", "--yes"]);
    expect(
      (
        await c.t.req("/api/v1/bots/apply", {
          method: "POST",
          cookie: c.cookie,
          json: bot("alpha", [], { agents: { defaults: { model: "own/m" } } }),
        })
      ).status,
    ).toBe(200);
    c.out.length = 0;
    expect(await c.runArgs(["profile", "attach", "team", "--bot", "alpha"])).toBe(0);
    expect(c.out.join("\n")).toContain("bot/alpha updated (revision 2)");
    c.out.length = 0;
    expect(await c.runArgs(["profile", "list"])).toBe(0);
    expect(c.out.join("\n")).toMatch(/team\s+10\s+2?1?/);
    c.out.length = 0;
    expect(await c.runArgs(["profile", "get", "team"])).toBe(0);
    expect(c.out.join("\n")).toContain("kind: Profile");
    c.out.length = 0;
    expect(await c.runArgs(["resolved", "bot", "alpha"])).toBe(0);
    const text = c.out.join("\n");
    expect(text).toMatch(/agents\.defaults\.model\s+"own\/m"\s+bot alpha\s+overrode profile team: "a\/one"/);
    expect(text).toMatch(/update\.checkOnStart\s+false\s+profile team/);
    await expect(c.runArgs(["profile", "delete", "team", "--yes"])).rejects.toThrow(/used by alpha/);
    expect(await c.runArgs(["profile", "detach", "team", "--bot", "alpha"])).toBe(0);
    expect(await c.runArgs(["profile", "delete", "team", "--yes"])).toBe(0);
    await expect(c.runArgs(["profile", "attach", "team"])).rejects.toThrow(/--bot/);
  });

  it("formats a blast radius and a resolved view", () => {
    const lines = formatBlast({
      kind: "overlay",
      name: "o",
      action: "updated",
      version: 3,
      dryRun: true,
      unchanged: ["c"],
      bots: [
        {
          bot: "a",
          action: "updated",
          revision: 4,
          changes: [
            { path: "x", from: undefined, to: 1 },
            { path: "y", from: 2, to: undefined },
          ],
        },
      ],
    });
    expect(lines).toEqual([
      "overlay/o would be updated (version 3) — dry run, nothing stored",
      "1 bot changes:",
      "  a: revision 4",
      "    + x = 1",
      "    - y (was 2)",
      "unchanged: c",
    ]);
    const r = formatResolved({
      bot: "a",
      revision: 1,
      value: { k: "v" },
      provenance: { k: { layer: { kind: "bot", id: "bot:a", name: "a" } } },
      conflicts: [],
      problems: [],
      layers: [{ kind: "bot", id: "bot:a", name: "a", priority: 0 }],
      stored: { revision: 1, provenance: {}, upToDate: true },
    });
    expect(r.join("\n")).toMatch(/k\s+"v"\s+bot a/);
  });
});
