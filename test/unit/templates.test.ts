import { describe, expect, it } from "vitest";
import { validateManifest } from "../../src/domain/manifest.ts";
import { generateConfig, layoutFor } from "../../src/domain/openclaw-config.ts";
import { evaluate } from "../../src/domain/policy.ts";
import { BUILTIN_PACKS } from "../../src/domain/policy-packs/index.ts";
import {
  BUILTIN_EXAMPLE_INPUTS,
  BUILTIN_TEMPLATES,
  checkInputs,
  manifestFromTemplate,
  parseTemplates,
  renderTemplate,
  type Template,
  TemplateError,
  validateTemplate,
} from "../../src/domain/templates/index.ts";

function tpl(spec: Record<string, unknown>, metadata: Record<string, unknown> = {}): unknown {
  return { apiVersion: "molthub/v1", kind: "Template", metadata: { name: "t1", title: "T1", ...metadata }, spec };
}

function issuesOf(fn: () => unknown): { path: string; message: string }[] {
  try {
    fn();
  } catch (e) {
    if (e instanceof TemplateError) return e.issues;
    throw e;
  }
  throw new Error("expected a TemplateError");
}

const BASE: Template = validateTemplate(
  tpl({
    inputs: [
      { name: "port", label: "Port", type: "number", default: 8080 },
      { name: "verbose", label: "Verbose", type: "boolean", required: true },
      { name: "level", label: "Level", type: "enum", options: ["info", "warn"], default: "info" },
      { name: "who", label: "Who", type: "string", pattern: "[a-z]+" },
      { name: "ids", label: "IDs", type: "string" },
      { name: "token", label: "Token", type: "secret", required: true },
    ],
    openclaw: {
      a: { port: "{{ inputs.port }}", verbose: "{{inputs.verbose}}", level: "{{ inputs.level }}" },
      greeting: "hello {{ inputs.who }}, port {{ inputs.port }}",
      who: "{{ inputs.who }}",
      list: ["x", "{{ inputs.who }}"],
      ids: "{{ inputs.ids | list }}",
      keyed: { "{{ inputs.who }}": { on: true } },
      ref: { source: "env", provider: "default", id: "MY_TOKEN" },
    },
    secrets: { MY_TOKEN: { secret: "{{ inputs.token }}" } },
  }),
);

describe("template rendering: the rule table", () => {
  const cases: {
    name: string;
    inputs: Record<string, unknown>;
    expect?: Record<string, unknown>;
    issues?: { path: string; match: RegExp }[];
  }[] = [
    {
      name: "a whole-value placeholder takes the input's typed value (number, boolean, enum); defaults fill in",
      inputs: { verbose: true, token: "tok" },
      expect: { "a.port": 8080, "a.verbose": true, "a.level": "info" },
    },
    {
      name: "strings from forms and the CLI are typed by the input's declaration",
      inputs: { verbose: "false", port: "9000", token: "tok" },
      expect: { "a.port": 9000, "a.verbose": false },
    },
    {
      name: "placeholders inside longer strings are interpolated as text; absent optional inputs read as empty",
      inputs: { verbose: true, token: "tok", who: "ann" },
      expect: { greeting: "hello ann, port 8080" },
    },
    {
      name: "an absent optional input drops a whole-value key, a list item and a keyed entry",
      inputs: { verbose: true, token: "tok" },
      expect: { who: undefined, list: ["x"], keyed: {}, greeting: "hello , port 8080", ids: undefined },
    },
    {
      name: "placeholders in keys are interpolated; | list splits text into a list",
      inputs: { verbose: true, token: "tok", who: "bob", ids: "1, 2\n3" },
      expect: { "keyed.bob.on": true, ids: ["1", "2", "3"] },
    },
    { name: "a missing required input", inputs: { token: "tok" }, issues: [{ path: "inputs.verbose", match: /required/ }] },
    {
      name: "wrong type: number",
      inputs: { verbose: true, token: "tok", port: "eighty" },
      issues: [{ path: "inputs.port", match: /is a number/ }],
    },
    {
      name: "wrong type: boolean",
      inputs: { verbose: "yes", token: "tok" },
      issues: [{ path: "inputs.verbose", match: /true or false/ }],
    },
    {
      name: "wrong type: string given a number",
      inputs: { verbose: true, token: "tok", who: 5 },
      issues: [{ path: "inputs.who", match: /text/ }],
    },
    {
      name: "enum outside its options",
      inputs: { verbose: true, token: "tok", level: "debug" },
      issues: [{ path: "inputs.level", match: /one of info, warn/ }],
    },
    {
      name: "pattern mismatch",
      inputs: { verbose: true, token: "tok", who: "Ann!" },
      issues: [{ path: "inputs.who", match: /pattern/ }],
    },
    {
      name: "an unknown input",
      inputs: { verbose: true, token: "tok", colour: "red" },
      issues: [{ path: "inputs.colour", match: /has no input colour/ }],
    },
    {
      name: "a secret input that is not a secret's name (the value is never echoed)",
      inputs: { verbose: true, token: "sk-ant-THIS-IS-A-VALUE-0123456789" },
      issues: [{ path: "inputs.token", match: /names a stored secret/ }],
    },
    {
      name: "every wrong input is listed at once",
      inputs: { port: "x", level: "loud" },
      issues: [
        { path: "inputs.port", match: /number/ },
        { path: "inputs.verbose", match: /required/ },
        { path: "inputs.level", match: /one of/ },
        { path: "inputs.token", match: /required/ },
      ],
    },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const r = renderTemplate(BASE, c.inputs);
      if (c.issues) {
        for (const want of c.issues) {
          const hit = r.issues.find((i) => i.path === want.path);
          expect(hit, `${want.path} in ${JSON.stringify(r.issues)}`).toBeDefined();
          expect(hit!.message).toMatch(want.match);
        }
        expect(r.issues.length).toBe(c.issues.length);
        expect(JSON.stringify(r.issues)).not.toContain("THIS-IS-A-VALUE");
        return;
      }
      expect(r.issues).toEqual([]);
      for (const [path, v] of Object.entries(c.expect ?? {})) {
        const got = path.split(".").reduce<unknown>((o, k) => (o as Record<string, unknown> | undefined)?.[k], r.openclaw);
        expect(got, path).toEqual(v);
      }
      expect(r.secrets).toEqual({ MY_TOKEN: { secret: "tok" } });
    });
  }

  it("an optional secret input left empty drops its env var", () => {
    const t = validateTemplate(
      tpl({ inputs: [{ name: "k", label: "K", type: "secret" }], secrets: { KEY: { secret: "{{ inputs.k }}" } } }),
    );
    expect(renderTemplate(t, {}).secrets).toEqual({});
    expect(renderTemplate(t, { k: "my-key" }).secrets).toEqual({ KEY: { secret: "my-key" } });
  });

  it("checkInputs fills defaults and types values", () => {
    expect(checkInputs(BASE, { verbose: "true", token: "t" }).values).toMatchObject({
      port: 8080,
      verbose: true,
      level: "info",
      token: "t",
    });
  });
});

describe("template validation", () => {
  it("refuses unknown placeholders, undeclared inputs, secret inputs in the config and Molthub's own paths, naming each path", () => {
    const issues = issuesOf(() =>
      validateTemplate(
        tpl({
          inputs: [
            { name: "tok", label: "Tok", type: "secret" },
            { name: "n", label: "N", type: "number" },
          ],
          openclaw: {
            a: "{{ bot.name }}",
            b: "x {{ inputs.nope }}",
            c: "{{ inputs.tok }}",
            d: "prefix {{ inputs.n | list }}",
            gateway: { port: 1 },
          },
          secrets: { X_TOKEN: { secret: "{{ inputs.n }}" }, Y_TOKEN: { secret: "Not A Name" } },
        }),
      ),
    );
    const paths = issues.map((i) => i.path);
    expect(paths).toEqual(
      expect.arrayContaining([
        "spec.openclaw.a",
        "spec.openclaw.b",
        "spec.openclaw.c",
        "spec.openclaw.d",
        "spec.openclaw.gateway.port",
        "spec.secrets.X_TOKEN.secret",
        "spec.secrets.Y_TOKEN.secret",
      ]),
    );
    expect(issues.find((i) => i.path === "spec.openclaw.a")!.message).toMatch(/unknown placeholder/);
    expect(issues.find((i) => i.path === "spec.openclaw.b")!.message).toMatch(/names no input/);
  });

  it("checks input declarations: enum options, defaults of the right type, valid patterns, unique names, unknown fields", () => {
    const issues = issuesOf(() =>
      validateTemplate(
        tpl({
          inputs: [
            { name: "e", label: "E", type: "enum" },
            { name: "n", label: "N", type: "number", default: "ten" },
            { name: "s", label: "S", type: "string", pattern: "(" },
            { name: "s", label: "S again", type: "string" },
            { name: "b", label: "B", type: "boolean", colour: "red" },
          ],
        }),
      ),
    );
    const paths = issues.map((i) => i.path);
    expect(paths).toEqual(expect.arrayContaining(["spec.inputs.4.colour"]));
    // zod reports the unknown field first; the rest is checked once the shape is right
    const issues2 = issuesOf(() =>
      validateTemplate(
        tpl({
          inputs: [
            { name: "e", label: "E", type: "enum" },
            { name: "n", label: "N", type: "number", default: "ten" },
            { name: "s", label: "S", type: "string", pattern: "(" },
            { name: "s", label: "S again", type: "string" },
          ],
        }),
      ),
    );
    expect(issues2.map((i) => i.path)).toEqual([
      "spec.inputs.0.options",
      "spec.inputs.1.default",
      "spec.inputs.2.pattern",
      "spec.inputs.3.name",
    ]);
  });

  it("refuses a bad name, the reserved name new, and a wrong kind", () => {
    expect(issuesOf(() => validateTemplate(tpl({}, { name: "Bad Name" }))).map((i) => i.path)).toContain("metadata.name");
    expect(issuesOf(() => validateTemplate(tpl({}, { name: "new" }))).map((i) => i.path)).toContain("metadata.name");
    expect(
      issuesOf(() =>
        validateTemplate({ apiVersion: "molthub/v1", kind: "Bot", metadata: { name: "x", title: "x" }, spec: {} }),
      ).map((i) => i.path),
    ).toContain("kind");
  });

  it("parses YAML and JSON", () => {
    const y = parseTemplates(
      "apiVersion: molthub/v1\nkind: Template\nmetadata: { name: a, title: A }\nspec: {}\n---\napiVersion: molthub/v1\nkind: Template\nmetadata: { name: b, title: B }\nspec: {}\n",
    );
    expect(y.map((d) => validateTemplate(d).metadata.name)).toEqual(["a", "b"]);
    expect(parseTemplates('{"apiVersion":"molthub/v1"}')).toHaveLength(1);
    expect(() => parseTemplates("a: [")).toThrow(TemplateError);
  });
});

describe("built-in templates", () => {
  it("has the seven built-ins, each with example inputs", () => {
    expect(BUILTIN_TEMPLATES.map((t) => t.metadata.name).sort()).toEqual([
      "coding-assistant",
      "discord-server",
      "minimal-gateway",
      "multi-channel",
      "slack-workspace",
      "telegram-bot",
      "whatsapp-personal",
    ]);
    for (const t of BUILTIN_TEMPLATES) expect(BUILTIN_EXAMPLE_INPUTS[t.metadata.name], t.metadata.name).toBeDefined();
  });

  for (const t of BUILTIN_TEMPLATES) {
    it(`${t.metadata.name} renders into a valid manifest that passes the built-in policy packs (also in production)`, () => {
      const inputs = BUILTIN_EXAMPLE_INPUTS[t.metadata.name]!;
      const r = renderTemplate(t, inputs);
      expect(r.issues).toEqual([]);
      const m = validateManifest(manifestFromTemplate(t, { name: "example-bot", inputs, environment: "prod" }));
      expect(m.spec.template).toEqual({ name: t.metadata.name, inputs });
      // the manifest names the template; the values are not copied in
      expect(m.spec.openclaw).toEqual({});
      const effective = validateManifest({ ...m, spec: { ...m.spec, openclaw: r.openclaw, secrets: r.secrets } });
      const config = generateConfig(effective, { port: 18789, layout: layoutFor("/var/lib/bot") });
      const result = evaluate(BUILTIN_PACKS, { manifest: effective, config, bot: { name: "example-bot", environment: "prod" } });
      expect(
        result.violations.filter((v) => v.severity === "error"),
        JSON.stringify(result.violations),
      ).toEqual([]);
      expect(result.blocked).toBe(false);
      // channel credentials are SecretRefs, never text
      expect(JSON.stringify(config)).not.toMatch(/"(botToken|token|appToken)":"/);
    });
  }

  it("without its required inputs a built-in names each missing one", () => {
    const t = BUILTIN_TEMPLATES.find((x) => x.metadata.name === "slack-workspace")!;
    expect(renderTemplate(t, {}).issues.map((i) => i.path)).toEqual(["inputs.botTokenSecret", "inputs.appTokenSecret"]);
  });

  it("manifestFromTemplate: the template's default target, refined or replaced by the given one", () => {
    const t = BUILTIN_TEMPLATES[0]!;
    expect(manifestFromTemplate(t, { name: "a" }).spec.target).toEqual({ provider: "local", version: "2026.9.6" });
    expect(manifestFromTemplate(t, { name: "a", target: { version: "2026.9.7" } }).spec.target).toEqual({
      provider: "local",
      version: "2026.9.7",
    });
    expect(manifestFromTemplate(t, { name: "a", target: { provider: "docker" } }).spec.target).toEqual({
      provider: "docker",
      image: "ghcr.io/openclaw/openclaw:2026.9.6",
    });
    const m = manifestFromTemplate(t, {
      name: "a",
      inputs: { botTokenSecret: "tg" },
      fleet: "home",
      environment: "prod",
      labels: { team: "x" },
      profiles: ["base"],
    });
    expect(m.metadata).toEqual({ name: "a", fleet: "home", environment: "prod", labels: { team: "x" } });
    expect(m.spec.profiles).toEqual(["base"]);
  });
});
