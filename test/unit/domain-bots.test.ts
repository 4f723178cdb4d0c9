import { describe, expect, it } from "vitest";
import { ManifestError, parseManifests, validateManifest } from "../../src/domain/manifest.ts";
import {
  allocatePort,
  botEnvironment,
  configHash,
  diffConfig,
  generateConfig,
  layoutFor,
  mergePatch,
  renderEnvFile,
  unredact,
} from "../../src/domain/openclaw-config.ts";

const base = {
  apiVersion: "molthub/v1",
  kind: "Bot",
  metadata: { name: "support-bot", fleet: "homelab", environment: "prod", labels: { team: "support" } },
  spec: {
    target: { provider: "docker", image: "ghcr.io/openclaw/openclaw:2026.9.6" },
    openclaw: { agents: { defaults: { model: "anthropic/claude-sonnet-4-5" } } },
    secrets: { ANTHROPIC_API_KEY: { secret: "anthropic-key" } },
    drift: "revert",
  },
};

describe("manifest", () => {
  it("accepts the documented example and fills defaults", () => {
    const m = validateManifest(base);
    expect(m.spec.target).toMatchObject({ provider: "docker", network: "host", memory: "2g", cpus: 2 });
    expect(m.spec.paused).toBe(false);
  });

  it("lists every wrong path at once", () => {
    try {
      validateManifest({
        ...base,
        metadata: { name: "Bad_Name" },
        spec: {
          ...base.spec,
          target: { provider: "local", version: "latest" },
          drift: "ignore",
          secrets: { "lower-key": { secret: "x" } },
          extra: 1,
        },
      });
      expect.unreachable();
    } catch (e) {
      const paths = (e as ManifestError).issues.map((i) => i.path).sort();
      expect(paths).toEqual(["metadata.name", "spec.drift", "spec.extra", "spec.secrets.lower-key", "spec.target.version"]);
    }
  });

  it("refuses paths Molthub owns", () => {
    try {
      validateManifest({ ...base, spec: { ...base.spec, openclaw: { gateway: { port: 1, bind: "lan" } } } });
      expect.unreachable();
    } catch (e) {
      expect((e as ManifestError).issues.map((i) => i.path)).toEqual([
        "spec.openclaw.gateway.port",
        "spec.openclaw.gateway.bind",
      ]);
    }
  });

  it("parses multi-document YAML and JSON", () => {
    expect(parseManifests("a: 1\n---\nb: 2\n")).toEqual([{ a: 1 }, { b: 2 }]);
    expect(parseManifests('[{"a":1},{"b":2}]')).toHaveLength(2);
    expect(() => parseManifests("a: [1,\n")).toThrow(ManifestError);
  });
});

describe("OpenClaw config generation", () => {
  const m = validateManifest(base);
  const layout = layoutFor("/state/support-bot");

  it("binds loopback with token auth from an env SecretRef and a per-bot log file", () => {
    const c = generateConfig(m, { port: 18800, layout }) as Record<string, any>;
    expect(c.gateway).toEqual({
      mode: "local",
      bind: "loopback",
      port: 18800,
      auth: { mode: "token", token: { source: "env", provider: "default", id: "OPENCLAW_GATEWAY_TOKEN" } },
    });
    expect(c.logging.file).toBe("/state/support-bot/logs/gateway.log");
    expect(c.agents.defaults.model).toBe("anthropic/claude-sonnet-4-5");
    expect(JSON.stringify(c)).not.toMatch(/sk-|secret-value/);
  });

  it("is deterministic: equal manifests, equal hashes", () => {
    const a = configHash(generateConfig(m, { port: 18800, layout }));
    const b = configHash(generateConfig(validateManifest(JSON.parse(JSON.stringify(base))), { port: 18800, layout }));
    expect(a).toBe(b);
    expect(configHash(generateConfig(m, { port: 18920, layout }))).not.toBe(a);
  });

  it("puts secrets only in the env file and refuses line breaks", () => {
    const env = botEnvironment({ layout, port: 18800, gatewayToken: "tok-123456", secrets: { ANTHROPIC_API_KEY: "sk-ant-xyz" } });
    expect(renderEnvFile(env)).toContain("ANTHROPIC_API_KEY=sk-ant-xyz\n");
    expect(env.OPENCLAW_CONFIG_PATH).toBe("/state/support-bot/openclaw.json");
    expect(() => botEnvironment({ layout, port: 1, gatewayToken: "t", secrets: { A: "x\nB=y" } })).toThrow(/line break/);
  });

  it("allocates ports at least 120 apart", () => {
    expect(allocatePort([])).toBe(18800);
    expect(allocatePort([18800])).toBe(18920);
    expect(allocatePort([18850])).toBe(19040);
    expect(allocatePort([], (p) => p !== 18800)).toBe(18920);
  });

  it("computes merge patches and per-path diffs, ignoring redacted values", () => {
    const live = { a: { b: 1, c: 2 }, list: [1, 2], gone: true, tok: { id: "__OPENCLAW_REDACTED__" } };
    const desired = { a: { b: 1, c: 3 }, list: [1], tok: { id: "OPENCLAW_GATEWAY_TOKEN" }, added: "x" };
    const mp = mergePatch(live, desired);
    expect(mp.patch).toEqual({ a: { c: 3 }, list: [1], gone: null, added: "x" });
    expect(mp.replacePaths).toEqual(["list"]);
    expect(mergePatch(desired, desired).empty).toBe(true);
    expect(diffConfig(live, desired).map((d) => d.path)).toEqual(["a.c", "added", "gone", "list"]);
    expect(unredact(live, desired)).toMatchObject({ tok: { id: "OPENCLAW_GATEWAY_TOKEN" } });
  });
});

describe("gateway-owned paths", () => {
  it("ignores what the gateway adds to its own file unless the manifest sets it", async () => {
    const { withoutGatewayOwned } = await import("../../src/domain/openclaw-config.ts");
    const live = { meta: { lastTouchedVersion: "x" }, agents: { defaults: { model: "m" }, entries: { main: { id: "main" } } } };
    expect(withoutGatewayOwned(live)).toEqual({ agents: { defaults: { model: "m" } } });
    expect(withoutGatewayOwned(live, { agents: { entries: { main: { id: "main" } } } })).toEqual({
      agents: { defaults: { model: "m" }, entries: { main: { id: "main" } } },
    });
    expect(live.meta).toBeDefined(); // input untouched
  });
});
