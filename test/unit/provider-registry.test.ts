/**
 * The provider registry (providers/registry.ts) without any backend: the list is the single source of the manifest's
 * target union, the init → provider mapping and the early target advice; createProviders hands out providers that
 * answer layout() from their module and load the implementation once, on first use (a failed load is retried).
 * The behaviour of each provider against its real backend is the contract suite (test/providers/).
 */
import { describe, expect, it } from "vitest";
import { loadOnUse } from "../../providers/load-on-use.ts";
import { type BotRef, type Provider, ProviderError, type ProviderModule } from "../../providers/provider.ts";
import { createProviders, PROVIDER_MODULES, providerForInit, targetProblems } from "../../providers/registry.ts";
import { targetSchema, validateManifest } from "../../src/domain/manifest.ts";
import { layoutFor } from "../../src/domain/openclaw-config.ts";
import { silentLogger } from "../../src/log.ts";
import { FakePool, fakeHosts, hostInfo } from "./provider-systemd-fake.ts";

const settings = { dataDir: "/srv/molthub", dockerMountOpenclaw: false } as Parameters<typeof createProviders>[0];
const ref = (target: Record<string, unknown>): BotRef => ({
  id: "b1",
  name: "helper",
  workspaceId: "ws1",
  target: target as BotRef["target"],
  port: 20_000,
});

describe("PROVIDER_MODULES", () => {
  it("lists each kind once, and each module's target schema is a strict object of its own kind", () => {
    const kinds = PROVIDER_MODULES.map((m) => m.kind);
    expect(kinds).toEqual(["docker", "local", "systemd", "launchd"]);
    const examples: Record<string, Record<string, unknown>> = {
      docker: { provider: "docker", image: "ghcr.io/openclaw/openclaw:2026.9.6" },
      local: { provider: "local", version: "2026.9.6" },
      systemd: { provider: "systemd", host: "nas", version: "2026.9.6" },
      launchd: { provider: "launchd", host: "mac", version: "2026.9.6" },
    };
    for (const m of PROVIDER_MODULES as readonly ProviderModule[]) {
      expect(m.targetSchema.parse(examples[m.kind])).toMatchObject({ provider: m.kind });
      expect(m.targetSchema.safeParse({ ...examples[m.kind], surplus: 1 }).success).toBe(false);
      expect(m.targetSchema.safeParse({ ...examples[m.kind], provider: kinds.find((k) => k !== m.kind) }).success).toBe(false);
      expect(m.label && m.description).toBeTruthy();
    }
  });

  it("is the manifest's target union, in list order", () => {
    const r = targetSchema.safeParse({ provider: "kubernetes" });
    expect(r.success).toBe(false);
    expect(r.error!.issues[0]!.message).toBe("Invalid discriminator value. Expected 'docker' | 'local' | 'systemd' | 'launchd'");
    const m = validateManifest({
      apiVersion: "molthub/v1",
      kind: "Bot",
      metadata: { name: "b" },
      spec: { target: { provider: "docker", image: "x:1.0" } },
    });
    expect(m.spec.target).toEqual({ provider: "docker", image: "x:1.0", network: "host", memory: "2g", cpus: 2 });
  });
});

describe("providerForInit", () => {
  it("maps a host's init system to its provider; an unknown one gets systemd", () => {
    expect(providerForInit("launchd")).toBe("launchd");
    expect(providerForInit("systemd")).toBe("systemd");
    for (const init of ["none", "openrc", null, undefined, ""]) expect(providerForInit(init)).toBe("systemd");
  });
});

describe("targetProblems", () => {
  it("says early what the provider would refuse at deploy time", () => {
    expect(targetProblems({ provider: "docker", image: "ghcr.io/openclaw/openclaw:latest" } as never)).toEqual([
      { path: "image", message: expect.stringMatching(/:latest/) },
    ]);
    expect(targetProblems({ provider: "docker", image: "ghcr.io/openclaw/openclaw:2026.9.6" } as never)).toEqual([]);
    expect(targetProblems({ provider: "local", version: "2026.9.6" } as never)).toEqual([]);
    expect(targetProblems({ provider: "unknown" })).toEqual([]);
  });
});

describe("createProviders", () => {
  it("offers every kind, each answering layout() before its implementation is loaded", () => {
    const p = createProviders(settings, silentLogger);
    expect(Object.keys(p)).toEqual(["docker", "local", "systemd", "launchd"]);
    for (const m of PROVIDER_MODULES) expect(p[m.kind]!.capabilities).toEqual(m.capabilities);
    expect(p.local!.layout(ref({ provider: "local", version: "2026.9.6" }))).toEqual(
      layoutFor("/srv/molthub/bots/local/ws1/helper"),
    );
    expect(p.docker!.layout(ref({ provider: "docker", image: "x:1.0" }))).toEqual(layoutFor("/home/node/.openclaw"));
    expect(() => p.local!.layout({ ...ref({ provider: "local", version: "2026.9.6" }), name: ".." })).toThrow(ProviderError);
    // SSH targets without a host registry
    expect(() => p.systemd!.layout(ref({ provider: "systemd", host: "nas", version: "2026.9.6" }))).toThrow(
      expect.objectContaining({ code: "invalid_config" }),
    );
  });

  it("gives a remote bot its layout from the registry's cached host info, and says when that is not known yet", () => {
    const pool = new FakePool();
    const known = createProviders(settings, silentLogger, { hosts: fakeHosts(pool, [hostInfo()]) });
    const bot = ref({ provider: "systemd", host: "nas", version: "2026.9.6" });
    expect(known.systemd!.layout(bot)).toEqual({
      stateDir: "/home/molt/.molthub/bots/helper",
      configPath: "/home/molt/.molthub/bots/helper/openclaw.json",
      envFile: "/home/molt/.molthub/bots/helper/gateway.env",
      logFile: "/home/molt/.molthub/bots/helper/logs/gateway.log",
    });
    const unknown = createProviders(settings, silentLogger, { hosts: fakeHosts(pool, []) });
    expect(() => unknown.launchd!.layout(ref({ provider: "launchd", host: "mac", version: "2026.9.6" }))).toThrow(
      expect.objectContaining({ code: "unreachable" }),
    );
    expect(pool.calls).toEqual([]); // no command reached a host
  });
});

describe("loadOnUse", () => {
  function fakeModule(fail: number) {
    const loads: number[] = [];
    const stub = {
      ensure: async () => {},
      layout: () => layoutFor("/loaded"),
      closeAll: async () => void loads.push(-1),
    } as unknown as Provider;
    const m: ProviderModule = {
      kind: "fake",
      label: "Fake",
      description: "a fake",
      targetSchema: undefined as never,
      capabilities: { validate: false, logs: true, followLogs: true, survivesControlPlane: true },
      layout: (_bot, _deps, warm) => {
        warm();
        return layoutFor("/declared");
      },
      load: async () => {
        loads.push(loads.length);
        if (loads.length <= fail) throw new Error("load failed");
        return stub;
      },
    };
    return { m, loads };
  }
  const deps = { botsDir: "/b", installDir: "/i", dockerMountOpenclaw: false, logger: silentLogger };
  const signal = AbortSignal.timeout(5_000);

  it("loads the implementation once, on first use, and uses its layout() from then on", async () => {
    const { m, loads } = fakeModule(0);
    const p = loadOnUse(m, deps);
    await p.closeAll(); // never loaded: nothing to close, nothing loaded
    expect(loads).toEqual([]);
    expect(p.layout(ref({}))).toEqual(layoutFor("/declared")); // and warm() started loading
    await Promise.all([p.ensure(ref({}) as never, signal), p.ensure(ref({}) as never, signal)]);
    expect(loads).toEqual([0]);
    expect(p.layout(ref({}))).toEqual(layoutFor("/loaded"));
    expect(p.validate).toBeUndefined();
    await p.closeAll();
    expect(loads).toEqual([0, -1]);
  });

  it("retries a load that failed", async () => {
    const { m, loads } = fakeModule(1);
    const p = loadOnUse(m, deps);
    await expect(p.ensure(ref({}) as never, signal)).rejects.toThrow("load failed");
    await p.ensure(ref({}) as never, signal);
    expect(loads).toEqual([0, 1]);
  });
});
