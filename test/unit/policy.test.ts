import { describe, expect, it } from "vitest";
import { type Manifest, validateManifest } from "../../src/domain/manifest.ts";
import {
  applyMergePatch,
  BUILTIN_CHECK_NAMES,
  evaluate,
  type FleetPeer,
  looksLikeSecret,
  PolicyError,
  type PolicyPack,
  type PolicySubject,
  parsePack,
  type RuleInput,
  runRule,
  validatePack,
} from "../../src/domain/policy.ts";
import { BUILTIN_PACKS, builtinPack } from "../../src/domain/policy-packs/index.ts";

const now = new Date("2026-11-22T12:00:00Z");

function manifest(
  over: { target?: Record<string, unknown>; secrets?: Record<string, { secret: string }>; environment?: string } = {},
): Manifest {
  return validateManifest({
    apiVersion: "molthub/v1",
    kind: "Bot",
    metadata: { name: "alpha", fleet: "support", ...(over.environment ? { environment: over.environment } : {}) },
    spec: {
      target: over.target ?? { provider: "docker", image: "ghcr.io/openclaw/openclaw:2026.9.6" },
      secrets: over.secrets ?? {},
    },
  });
}

/** A config that passes every built-in rule. */
function goodConfig(): Record<string, unknown> {
  return {
    gateway: {
      mode: "local",
      bind: "loopback",
      port: 18800,
      auth: { mode: "token", token: { source: "env", provider: "default", id: "OPENCLAW_GATEWAY_TOKEN" } },
    },
    logging: { file: "/var/lib/molthub/bots/alpha/logs/gateway.log", level: "info" },
    agents: { defaults: { model: "anthropic/claude-opus-4-5", sandbox: { mode: "non-main" } } },
    channels: {
      telegram: { botToken: "${TELEGRAM_BOT_TOKEN}", dmPolicy: "pairing", groupPolicy: "allowlist", allowFrom: ["12345"] },
    },
    models: { providers: { anthropic: { apiKey: { source: "env", provider: "default", id: "ANTHROPIC_API_KEY" } } } },
    update: { checkOnStart: false },
  };
}

function subject(config: Record<string, unknown>, extra: Partial<PolicySubject> = {}): PolicySubject {
  return {
    manifest: manifest(),
    config,
    bot: { name: "alpha", fleet: "support", environment: "production", labels: { team: "cx" } },
    ...extra,
  };
}

function pack(rules: RuleInput[], extra: Record<string, unknown> = {}): PolicyPack {
  return validatePack({ id: "test", name: "Test", mode: "enforce", rules, ...extra });
}

function setIn(obj: Record<string, unknown>, path: string, v: unknown): Record<string, unknown> {
  return applyMergePatch(
    obj,
    path.split(".").reduceRight<unknown>((acc, k) => ({ [k]: acc }), v),
  ) as Record<string, unknown>;
}

/** Applies every fix of the failing run and checks the rule then passes. */
function expectFixesWork(p: PolicyPack, s: PolicySubject) {
  const before = evaluate([p], s, [], now);
  expect(before.violations.length).toBeGreaterThan(0);
  let config = s.config;
  for (const v of before.violations) {
    expect(v.fix, `${v.ruleId} at ${v.path} has a fix`).toBeDefined();
    config = applyMergePatch(config, v.fix) as Record<string, unknown>;
  }
  expect(evaluate([p], { ...s, config }, [], now).violations).toEqual([]);
}

describe("data rules", () => {
  const cfg = {
    a: { b: 5, s: "hello", list: [1, 2] },
    channels: { telegram: { dmPolicy: "open" }, discord: { dmPolicy: "pairing" } },
  };
  const table: { rule: RuleInput; pass: Record<string, unknown>; fail: Record<string, unknown>; failPaths: string[] }[] = [
    { rule: { type: "required", id: "r", path: "a.b" }, pass: cfg, fail: { a: {} }, failPaths: ["a.b"] },
    { rule: { type: "forbidden", id: "r", path: "a.s" }, pass: { a: {} }, fail: cfg, failPaths: ["a.s"] },
    {
      rule: { type: "allowedValues", id: "r", path: "channels.*.dmPolicy", values: ["pairing", "allowlist"] },
      pass: { channels: { x: { dmPolicy: "pairing" } } },
      fail: cfg,
      failPaths: ["channels.telegram.dmPolicy"],
    },
    { rule: { type: "pattern", id: "r", path: "a.s", regex: "^h" }, pass: cfg, fail: { a: { s: "yo" } }, failPaths: ["a.s"] },
    { rule: { type: "pattern", id: "r", path: "a.s", regex: "^h" }, pass: { a: {} }, fail: { a: { s: 5 } }, failPaths: ["a.s"] },
    { rule: { type: "range", id: "r", path: "a.b", min: 1, max: 10 }, pass: cfg, fail: { a: { b: 11 } }, failPaths: ["a.b"] },
    { rule: { type: "range", id: "r", path: "a.b", min: 1 }, pass: { a: { b: 1 } }, fail: { a: { b: "7" } }, failPaths: ["a.b"] },
    {
      rule: {
        type: "jsonSchema",
        id: "r",
        path: "a",
        schema: {
          type: "object",
          required: ["b"],
          properties: {
            b: { type: "integer", minimum: 0, maximum: 9 },
            s: { type: "string", pattern: "^[a-z]+$", minLength: 2, maxLength: 8 },
            list: { type: "array", items: { enum: [1, 2, 3] } },
          },
        },
      },
      pass: cfg,
      fail: { a: { b: 10, s: "HELLO-WORLD", list: [4] } },
      failPaths: ["a.b", "a.s", "a.s", "a.list.0"],
    },
    {
      rule: {
        type: "jsonSchema",
        id: "r",
        path: "gateway",
        schema: { type: "object", properties: { bind: { const: "loopback" } } },
      },
      pass: { gateway: { bind: "loopback" } },
      fail: { gateway: { bind: "lan" } },
      failPaths: ["gateway.bind"],
    },
  ];

  for (const [i, t] of table.entries()) {
    it(`${i}: ${t.rule.type} passes and fails`, () => {
      const p = pack([t.rule]);
      expect(evaluate([p], subject(t.pass), [], now).violations).toEqual([]);
      const res = evaluate([p], subject(t.fail), [], now);
      expect(res.violations.map((v) => v.path)).toEqual(t.failPaths);
      expect(res.blocked).toBe(true);
    });
  }

  it("jsonSchema messages name the inner path", () => {
    const p = pack([table[7]!.rule]);
    const msgs = evaluate([p], subject(table[7]!.fail), [], now).violations.map((v) => v.message);
    expect(msgs).toEqual(
      expect.arrayContaining([
        expect.stringContaining("a.b must be <= 9"),
        expect.stringContaining("a.list.0 must be one of"),
        expect.stringContaining("a.s must match"),
      ]),
    );
  });

  it("forbidden fixes itself with a merge-patch null; a given fix is used as is", () => {
    expectFixesWork(pack([{ type: "forbidden", id: "no-debug", path: "logging.level" }]), subject(goodConfig()));
    expectFixesWork(
      pack([
        { type: "required", id: "need-reload", path: "gateway.reload.mode", fix: { gateway: { reload: { mode: "hybrid" } } } },
      ]),
      subject(goodConfig()),
    );
    expectFixesWork(
      pack([{ type: "allowedValues", id: "lvl", path: "logging.level", values: ["warn"], fix: { logging: { level: "warn" } } }]),
      subject(goodConfig()),
    );
  });
});

describe("pack validation", () => {
  function issues(input: unknown): { path: string; message: string }[] {
    try {
      validatePack(input);
    } catch (e) {
      expect(e).toBeInstanceOf(PolicyError);
      return (e as PolicyError).issues;
    }
    throw new Error("expected a PolicyError");
  }

  it("an unknown rule type is an error naming its path and the known types", () => {
    const is = issues({
      id: "p",
      name: "P",
      mode: "enforce",
      rules: [
        { type: "required", id: "ok", path: "a" },
        { type: "mustBe", id: "x", path: "a" },
      ],
    });
    expect(is).toHaveLength(1);
    expect(is[0]!.path).toBe("rules.1.type");
    expect(is[0]!.message).toContain('unknown rule type "mustBe"');
    expect(is[0]!.message).toContain("allowedValues");
  });

  it("a bad regex is an error naming the rule and the path", () => {
    const is = issues({
      id: "p",
      name: "P",
      rules: [{ type: "pattern", id: "model-name", path: "agents.defaults.model", regex: "([a-z" }],
    });
    expect(is[0]!.path).toBe("rules.0.regex");
    expect(is[0]!.message).toContain('rule "model-name"');
    expect(is[0]!.message).toContain("invalid regular expression");
  });

  it("unsupported JSON Schema keywords are rejected with their path", () => {
    const is = issues({
      id: "p",
      name: "P",
      rules: [{ type: "jsonSchema", id: "s", path: "a", schema: { type: "object", properties: { b: { oneOf: [] } } } }],
    });
    expect(is[0]!.path).toBe("rules.0.schema.properties.b.oneOf");
    expect(is[0]!.message).toContain('unsupported JSON Schema keyword "oneOf"');
  });

  it("lists every wrong path of a YAML pack", () => {
    const yaml = `
id: Bad Id
name: Custom
mode: strict
colour: blue
scope: { fleets: [] }
rules:
  - { type: required, id: a }
  - { type: range, id: b, path: x.y, min: 5, max: 1 }
  - { type: allowedValues, id: c, path: x, values: [1], severity: fatal, extra: 1 }
  - { type: builtin, id: d, check: no-such-check }
  - { type: required, id: e, path: x, fix: 3 }
  - notAnObject
`;
    try {
      parsePack(yaml, "custom.yaml");
      throw new Error("expected a PolicyError");
    } catch (e) {
      const err = e as PolicyError;
      expect(err.message).toContain("custom.yaml");
      expect(err.issues.map((i) => i.path).sort()).toEqual(
        [
          "colour",
          "id",
          "mode",
          "rules.0.path",
          "rules.1",
          "rules.2.extra",
          "rules.2.severity",
          "rules.3.check",
          "rules.4.fix",
          "rules.5",
          "scope.fleets",
        ].sort(),
      );
    }
  });

  it("parses a valid YAML or JSON pack with defaults", () => {
    const p = parsePack(`
id: custom
name: Custom
rules:
  - type: pattern
    id: model
    path: agents.defaults.model
    regex: "^anthropic/"
`);
    expect(p.mode).toBe("enforce");
    expect(p.rules[0]).toMatchObject({ type: "pattern", severity: "error", description: "" });
    expect(parsePack(JSON.stringify({ id: "j", name: "J", mode: "advisory", rules: [] })).mode).toBe("advisory");
    expect(() => parsePack("{ nope")).toThrow(PolicyError);
  });

  it("duplicate rule ids are rejected", () => {
    expect(
      issues({
        id: "p",
        name: "P",
        rules: [
          { type: "required", id: "a", path: "x" },
          { type: "forbidden", id: "a", path: "y" },
        ],
      })[0]!.path,
    ).toBe("rules.1.id");
  });
});

describe("built-in OpenClaw rules", () => {
  const only = (check: (typeof BUILTIN_CHECK_NAMES)[number]) => pack([{ type: "builtin", id: check, check }]);
  const failing = (check: (typeof BUILTIN_CHECK_NAMES)[number], s: PolicySubject) =>
    evaluate([only(check)], s, [], now).violations;

  it("every built-in passes on a good config", () => {
    const peers: FleetPeer[] = [
      {
        name: "beta",
        port: 18920,
        config: { channels: { telegram: { botToken: "${TELEGRAM_BOT_TOKEN}" } } },
        secrets: { TELEGRAM_BOT_TOKEN: { secret: "beta-telegram" } },
      },
    ];
    const s = subject(goodConfig(), {
      manifest: manifest({ secrets: { TELEGRAM_BOT_TOKEN: { secret: "alpha-telegram" } } }),
      fleetPeers: peers,
    });
    for (const c of BUILTIN_CHECK_NAMES) expect(failing(c, s), c).toEqual([]);
  });

  it("gateway-auth: none, trusted-proxy or missing fail; the fix sets token", () => {
    for (const mode of ["none", "trusted-proxy", undefined]) {
      const s = subject(setIn(goodConfig(), "gateway.auth", mode === undefined ? null : { mode }));
      expect(failing("gateway-auth", s).map((v) => v.path)).toEqual(["gateway.auth.mode"]);
      expectFixesWork(only("gateway-auth"), s);
    }
    expect(failing("gateway-auth", subject(setIn(goodConfig(), "gateway.auth.mode", "password")))).toEqual([]);
  });

  it("gateway-bind-loopback: lan fails unless an allowLanBind exception applies", () => {
    const s = subject(setIn(goodConfig(), "gateway.bind", "lan"));
    expect(failing("gateway-bind-loopback", s)).toHaveLength(1);
    expectFixesWork(only("gateway-bind-loopback"), s);
    const res = evaluate(
      [only("gateway-bind-loopback")],
      s,
      [{ ruleId: "allowLanBind", botName: "alpha", reason: "LAN kiosk", expiresAt: "2027-01-01T00:00:00Z" }],
      now,
    );
    expect(res.violations).toEqual([]);
    expect(res.excepted).toHaveLength(1);
    expect(res.blocked).toBe(false);
  });

  it("dm-policy-not-open and group-policy-not-open flag each open channel", () => {
    const cfg = applyMergePatch(goodConfig(), {
      channels: {
        telegram: { dmPolicy: "open", groupPolicy: "open" },
        discord: { token: "${DISCORD_TOKEN}", dmPolicy: "open", groupPolicy: "disabled" },
        slack: { enabled: false, dmPolicy: "open" },
      },
    }) as Record<string, unknown>;
    expect(failing("dm-policy-not-open", subject(cfg)).map((v) => v.path)).toEqual([
      "channels.discord.dmPolicy",
      "channels.telegram.dmPolicy",
    ]);
    expect(failing("group-policy-not-open", subject(cfg)).map((v) => v.path)).toEqual(["channels.telegram.groupPolicy"]);
    expectFixesWork(only("dm-policy-not-open"), subject(cfg));
    expectFixesWork(only("group-policy-not-open"), subject(cfg));
    const ex = evaluate(
      [only("dm-policy-not-open")],
      subject(cfg),
      [{ ruleId: "allowOpenDm", reason: "public helpdesk", expiresAt: "2027-01-01T00:00:00Z" }],
      now,
    );
    expect(ex.violations).toEqual([]);
  });

  it("sandbox-for-groups: sandbox off with a group-enabled channel fails; no groups passes", () => {
    const off = subject(setIn(goodConfig(), "agents.defaults.sandbox.mode", "off"));
    expect(failing("sandbox-for-groups", off).map((v) => v.path)).toEqual(["agents.defaults.sandbox.mode"]);
    expectFixesWork(only("sandbox-for-groups"), off);
    const missing = subject(setIn(goodConfig(), "agents.defaults.sandbox", null));
    expect(failing("sandbox-for-groups", missing)).toHaveLength(1);
    expect(failing("sandbox-for-groups", subject(setIn(off.config, "channels.telegram.groupPolicy", "disabled")))).toEqual([]);
    expect(failing("sandbox-for-groups", subject(setIn(off.config, "channels", null)))).toEqual([]);
  });

  it("no-elevated-tools: elevated, wildcard allowFrom and full host exec fail, per agent too", () => {
    const cfg = applyMergePatch(goodConfig(), {
      tools: { elevated: { enabled: true, allowFrom: { telegram: ["*", "123"] } }, exec: { security: "full" } },
      agents: { entries: { ops: { tools: { elevated: { enabled: true }, exec: { mode: "full" } } } } },
    }) as Record<string, unknown>;
    expect(failing("no-elevated-tools", subject(cfg)).map((v) => v.path)).toEqual([
      "tools.elevated.enabled",
      "tools.elevated.allowFrom.telegram",
      "tools.exec.security",
      "agents.entries.ops.tools.elevated.enabled",
      "agents.entries.ops.tools.exec.mode",
    ]);
    expectFixesWork(only("no-elevated-tools"), subject(cfg));
    expect(
      failing(
        "no-elevated-tools",
        subject(setIn(goodConfig(), "tools", { elevated: { enabled: false }, exec: { security: "allowlist" } })),
      ),
    ).toEqual([]);
  });

  it("pinned-version: latest, no tag and moving tags fail; versions and digests pass", () => {
    const img = (image: string) => subject(goodConfig(), { manifest: manifest({ target: { provider: "docker", image } }) });
    for (const bad of [
      "ghcr.io/openclaw/openclaw",
      "ghcr.io/openclaw/openclaw:latest",
      "openclaw/openclaw:main",
      "localhost:5000/openclaw",
      "openclaw/openclaw:latest-slim",
    ]) {
      expect(failing("pinned-version", img(bad)), bad).toHaveLength(1);
    }
    for (const good of [
      "ghcr.io/openclaw/openclaw:2026.9.6",
      "localhost:5000/openclaw:2026.9.6-slim",
      `openclaw/openclaw@sha256:${"a".repeat(64)}`,
    ]) {
      expect(failing("pinned-version", img(good)), good).toEqual([]);
    }
    expect(
      failing(
        "pinned-version",
        subject(goodConfig(), { manifest: manifest({ target: { provider: "local", version: "2026.9.6" } }) }),
      ),
    ).toEqual([]);
    expect(failing("pinned-version", img("openclaw/openclaw:latest"))[0]!.path).toBe("manifest:spec.target.image");
  });

  it("no-plaintext-secrets: token-like literals fail anywhere; SecretRefs, ${VAR} and ordinary strings pass", () => {
    const secrets = {
      "channels.telegram.botToken": "123456789:AAHk3jd9s8LmNq0pQrStUvWxYz1234567_-",
      "channels.slack.botToken": "xoxb-123456789012-abcdefghijkl",
      "models.providers.openai.apiKey": "sk-proj-abcdefghijklmnopqrstuvwx",
      "env.vars.SOMETHING": "Zk9q2Lm8Xv4Rt6Yp1Wc3Hb7Nd5Fg0Js2Ka",
      "plugins.entries.x.config.url": "https://user:hunter2@example.com/hook",
      "gateway.auth.password": "hunter2",
      "channels.discord.token": "short-but-a-token",
    };
    for (const [path, value] of Object.entries(secrets)) {
      const s = subject(setIn(goodConfig(), path, value));
      expect(
        failing("no-plaintext-secrets", s).map((v) => v.path),
        path,
      ).toEqual([path]);
      expectFixesWork(only("no-plaintext-secrets"), s);
    }
    const list = subject(setIn(goodConfig(), "x.list", ["ok", "sk-ant-abcdefghijklmnopqrstuvwxyz"]));
    expect(failing("no-plaintext-secrets", list).map((v) => v.path)).toEqual(["x.list.1"]);
    for (const ok of [
      "anthropic/claude-opus-4-5",
      "/var/lib/molthub/bots/a-very-long-directory-name/openclaw.json",
      "https://api.example.com/v1/chat/completions",
      "Reply politely and concisely to every customer question you get",
      "__OPENCLAW_REDACTED__",
      "${A_VERY_LONG_ENVIRONMENT_VARIABLE_NAME_X}",
      "ghcr.io/openclaw/openclaw:2026.9.6",
      "openclaw-gateway-production-eu-west-1-primary",
      "MyCompanyProductionBotNumberOne2026",
      "agent:main:telegram:group:-1001234567890",
      "3f2504e0-4f89-11d3-9a0c-0305e82c3301",
    ]) {
      expect(looksLikeSecret(ok), ok).toBeUndefined();
    }
  });

  it("unique-channel-tokens: the same literal, stored secret or SecretRef in another bot fails", () => {
    const telegram = (botToken: unknown) => ({ channels: { telegram: { botToken } } });
    const literal = "123456789:AAHk3jd9s8LmNq0pQrStUvWxYz1234567_-";
    const cases: { mine: unknown; mySecrets?: Record<string, { secret: string }>; peer: FleetPeer; clash: boolean }[] = [
      { mine: literal, peer: { name: "beta", port: 1, config: telegram(literal) }, clash: true },
      {
        mine: "${TG}",
        mySecrets: { TG: { secret: "shared" } },
        peer: {
          name: "beta",
          port: 1,
          config: telegram({ source: "env", provider: "default", id: "TELEGRAM" }),
          secrets: { TELEGRAM: { secret: "shared" } },
        },
        clash: true,
      },
      {
        mine: "${TG}",
        mySecrets: { TG: { secret: "mine" } },
        peer: { name: "beta", port: 1, config: telegram("${TG}"), secrets: { TG: { secret: "theirs" } } },
        clash: false,
      },
      {
        mine: { source: "file", provider: "vault", id: "/tg" },
        peer: {
          name: "beta",
          port: 1,
          config: {
            channels: { telegram: { accounts: { main: { botToken: { source: "file", provider: "vault", id: "/tg" } } } } },
          },
        },
        clash: true,
      },
      { mine: literal, peer: { name: "beta", port: 1, config: { channels: { discord: { token: literal } } } }, clash: true },
      { mine: literal, peer: { name: "beta", port: 1, config: telegram(literal.replace("AAH", "BBH")) }, clash: false },
    ];
    for (const [i, c] of cases.entries()) {
      const s = subject(setIn(goodConfig(), "channels.telegram.botToken", c.mine), {
        manifest: manifest({ secrets: c.mySecrets ?? {} }),
        fleetPeers: [c.peer],
      });
      const v = failing("unique-channel-tokens", s);
      expect(v.length, `case ${i}`).toBe(c.clash ? 1 : 0);
      if (c.clash) expect(v[0]!.message).toContain("beta");
    }
  });

  it("port-spacing: a peer on the same host closer than 120 fails; other hosts don't count; the fix allocates a free port", () => {
    const peers: FleetPeer[] = [
      { name: "beta", port: 18900, config: {}, host: "local" },
      { name: "gamma", port: 18800, config: {}, host: "box-2" },
    ];
    const s = subject(goodConfig(), { fleetPeers: peers });
    const v = failing("port-spacing", s);
    expect(v.map((x) => x.path)).toEqual(["gateway.port"]);
    expect(v[0]!.message).toContain("beta (18900)");
    expect(v[0]!.fix).toEqual({ gateway: { port: 19040 } });
    expectFixesWork(only("port-spacing"), s);
    expect(failing("port-spacing", subject(goodConfig(), { fleetPeers: [{ name: "beta", port: 18920, config: {} }] }))).toEqual(
      [],
    );
    const remote = subject(goodConfig(), {
      manifest: manifest({ target: { provider: "docker", image: "x:2026.9.6", host: "box-2" } }),
      fleetPeers: peers,
    });
    expect(failing("port-spacing", remote)[0]!.message).toContain("gamma");
  });
});

describe("packs, scope, modes and exceptions", () => {
  const bad = () =>
    subject(
      applyMergePatch(goodConfig(), { gateway: { bind: "lan", auth: { mode: "none" } }, logging: { level: "debug" } }) as Record<
        string,
        unknown
      >,
    );

  it("built-in packs validate and pass a good production bot", () => {
    expect(BUILTIN_PACKS.map((p) => p.id).sort()).toEqual(["channel-safety", "production-hardening", "security-baseline"]);
    const res = evaluate(
      BUILTIN_PACKS,
      subject(goodConfig(), { manifest: manifest({ secrets: { TELEGRAM_BOT_TOKEN: { secret: "t" } } }) }),
      [],
      now,
    );
    expect(res).toEqual({ blocked: false, violations: [], excepted: [] });
  });

  it("enforce-mode errors block; advisory findings are warnings that don't", () => {
    const enforce = evaluate([builtinPack("security-baseline")!], bad(), [], now);
    expect(enforce.blocked).toBe(true);
    expect(enforce.violations.map((v) => [v.ruleId, v.severity])).toEqual([
      ["gateway-auth", "error"],
      ["gateway-bind-loopback", "error"],
    ]);
    const advisory = evaluate([{ ...builtinPack("security-baseline")!, mode: "advisory" }], bad(), [], now);
    expect(advisory.blocked).toBe(false);
    expect(advisory.violations.every((v) => v.severity === "warning" && v.mode === "advisory")).toBe(true);
  });

  it("warning-severity rules in an enforce pack do not block", () => {
    const res = evaluate([builtinPack("production-hardening")!], bad(), [], now);
    expect(res.violations.map((v) => [v.ruleId, v.severity])).toEqual([["log-level", "warning"]]);
    expect(res.blocked).toBe(false);
  });

  it("scope: environments, fleets, labels and workspace must all match", () => {
    const p = (scope: Record<string, unknown>) =>
      ({ ...pack([{ type: "forbidden", id: "no-level", path: "logging.level" }]), scope }) as PolicyPack;
    const count = (scope: Record<string, unknown>, extra: Partial<PolicySubject> = {}) =>
      evaluate([p(scope)], subject(goodConfig(), extra), [], now).violations.length;
    expect(count({})).toBe(1);
    expect(count({ environments: ["production"] })).toBe(1);
    expect(count({ environments: ["staging"] })).toBe(0);
    expect(count({ fleets: ["support"], labels: { team: "cx" } })).toBe(1);
    expect(count({ fleets: ["support"], labels: { team: "ops" } })).toBe(0);
    expect(count({ workspace: "acme" })).toBe(0);
    expect(count({ workspace: "acme" }, { workspace: "acme" })).toBe(1);
    expect(
      evaluate([builtinPack("production-hardening")!], { ...bad(), bot: { name: "alpha", environment: "dev" } }, [], now)
        .violations,
    ).toEqual([]);
  });

  it("exceptions waive a rule until they expire, for the named bot only", () => {
    const p = builtinPack("security-baseline")!;
    const ex = (expiresAt: string, botName?: string) => [
      { ruleId: "gateway-auth", reason: "migration", expiresAt, ...(botName ? { botName } : {}) },
    ];
    const active = evaluate([p], bad(), ex("2026-11-23T00:00:00Z", "alpha"), now);
    expect(active.violations.map((v) => v.ruleId)).toEqual(["gateway-bind-loopback"]);
    expect(active.excepted.map((v) => [v.ruleId, v.exception.reason])).toEqual([["gateway-auth", "migration"]]);
    expect(evaluate([p], bad(), ex("2026-11-22T11:59:59Z", "alpha"), now).excepted).toEqual([]);
    expect(evaluate([p], bad(), ex("2026-11-23T00:00:00Z", "beta"), now).excepted).toEqual([]);
    expect(evaluate([p], bad(), ex("not a date"), now).excepted).toEqual([]);
    const both = evaluate(
      [p],
      bad(),
      [...ex("2026-11-23T00:00:00Z"), { ruleId: "allowLanBind", reason: "lab", expiresAt: "2026-12-01T00:00:00Z" }],
      now,
    );
    expect(both.blocked).toBe(false);
    expect(both.violations).toEqual([]);
  });

  it("every fix of the built-in packs, applied, clears its violation", () => {
    const cfg = applyMergePatch(goodConfig(), {
      gateway: { bind: "lan", auth: { mode: "none" } },
      channels: {
        telegram: { dmPolicy: "open", groupPolicy: "open", botToken: "123456789:AAHk3jd9s8LmNq0pQrStUvWxYz1234567_-" },
      },
      agents: { defaults: { sandbox: { mode: "off" } } },
      tools: { elevated: { enabled: true } },
      logging: { level: "trace" },
      update: { checkOnStart: true },
    }) as Record<string, unknown>;
    const s = subject(cfg, { fleetPeers: [{ name: "beta", port: 18850, config: {} }] });
    const before = evaluate(BUILTIN_PACKS, s, [], now);
    expect(before.violations.length).toBeGreaterThanOrEqual(10);
    let fixed = cfg;
    for (const v of before.violations) if (v.fix) fixed = applyMergePatch(fixed, v.fix) as Record<string, unknown>;
    expect(evaluate(BUILTIN_PACKS, { ...s, config: fixed }, [], now).violations).toEqual([]);
  });

  it("runRule uses a rule's own fix over the built-in one", () => {
    const [f] = runRule(
      {
        type: "builtin",
        id: "b",
        check: "gateway-bind-loopback",
        description: "",
        severity: "error",
        fix: { gateway: { bind: "tailnet" } },
      },
      bad(),
    );
    expect(f!.fix).toEqual({ gateway: { bind: "tailnet" } });
  });
});
