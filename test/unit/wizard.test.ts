import { describe, expect, it } from "vitest";
import { CONNECTOR_TYPE_DEFS } from "../../src/domain/connectors.ts";
import { validateManifest } from "../../src/domain/manifest.ts";
import {
  buildManifest,
  DEFAULT_IMAGE,
  defaultWizardState,
  missingSecrets,
  neededRefs,
  parseLabels,
  providerKey,
  readWizardState,
  secretNeeds,
  targetableHosts,
  unknownModelProvider,
  validateModel,
  validateTarget,
  type WizardState,
} from "../../src/domain/wizard.ts";

const checks = { taken: ["taken"], hostNames: ["mac", "pi"] };

function state(over: Partial<WizardState> = {}): WizardState {
  return { ...defaultWizardState(), name: "helper", ...over };
}

describe("wizard state", () => {
  it("reads the fields it knows, trimmed, and references to stored secrets by env var", () => {
    const s = readWizardState({
      name: " helper ",
      model: "openai/gpt-5",
      ref_OPENAI_API_KEY: "openai-key",
      ref_lower: "x",
      ref_BAD_NAME: "Not A Name",
      value_OPENAI_API_KEY: "sk-x",
      extra: "y",
    });
    expect(s.name).toBe("helper");
    expect(s.model).toBe("openai/gpt-5");
    expect(s.provider).toBe("");
    expect(s.refs).toEqual({ OPENAI_API_KEY: "openai-key" });
    expect(JSON.stringify(s)).not.toContain("sk-x");
  });

  it("starts on this machine with the pinned default version and image", () => {
    const s = defaultWizardState();
    expect(s.provider).toBe("local");
    expect(DEFAULT_IMAGE).toBe(`ghcr.io/openclaw/openclaw:${s.version}`);
    expect(validateTarget({ ...s, name: "fresh" }, checks)).toEqual({});
  });
});

describe("step 1: target", () => {
  it("names every wrong field", () => {
    const e = validateTarget(
      state({
        name: "Bad Name",
        provider: "docker",
        image: "x:latest",
        network: "nat",
        fleet: "A",
        environment: "B",
        labels: "nokey",
      }),
      checks,
    );
    expect(Object.keys(e).sort()).toEqual(["environment", "fleet", "image", "labels", "name", "network"]);
    expect(e.image).toMatch(/latest|pin/i);
  });

  it("refuses a taken name, an unknown target, a missing version and a host that is not offered", () => {
    expect(validateTarget(state({ name: "taken" }), checks).name).toContain("exists already");
    expect(validateTarget(state({ provider: "cloud" }), checks).provider).toBe("pick where the bot runs");
    expect(validateTarget(state({ provider: "local", version: "latest" }), checks).version).toContain("2026.9.6");
    expect(validateTarget(state({ provider: "host", host: "nas" }), checks).host).toBe("pick one of your hosts");
    expect(validateTarget(state({ provider: "host", host: "nas" }), { ...checks, hostNames: [] }).host).toContain("add a host");
    expect(validateTarget(state({ provider: "host", host: "pi" }), checks)).toEqual({});
  });

  it("reads labels as key=value pairs", () => {
    expect(parseLabels("team=support, tier=gold\nzone = a")).toEqual({ labels: { team: "support", tier: "gold", zone: "a" } });
    expect(parseLabels("team").error).toContain("is not key=value");
    expect(parseLabels("bad key=1").error).toContain("may only use");
    expect(parseLabels(`k=${"v".repeat(64)}`).error).toContain("longer than 63");
  });

  it("offers only hosts whose key is confirmed and unchanged", () => {
    const hosts = [
      { name: "pi", init: "systemd", status: "ok", fingerprint: "SHA256:a" },
      { name: "new", init: null, status: "unknown", fingerprint: null },
      { name: "moved", init: "systemd", status: "key_mismatch", fingerprint: "SHA256:b" },
      { name: "mac", init: "launchd", status: "degraded", fingerprint: "SHA256:c" },
    ];
    expect(targetableHosts(hosts)).toEqual([
      { name: "pi", init: "systemd", status: "ok" },
      { name: "mac", init: "launchd", status: "degraded" },
    ]);
  });

  it("targets a host's provider by its init system: launchd on a Mac, systemd elsewhere", () => {
    const on = (init: string | null) =>
      (buildManifest(state({ provider: "host", host: "pi" }), [{ name: "pi", init }]).spec as { target: { provider: string } })
        .target.provider;
    expect([on("launchd"), on("systemd"), on(null)]).toEqual(["launchd", "systemd", "systemd"]);
  });
});

describe("step 2: model and channels", () => {
  it("checks the model, the channel boxes and the direct-message policy", () => {
    expect(validateModel(state())).toEqual({});
    const e = validateModel(state({ model: "no-slash", telegram: "yes", dmPolicy: "everyone" }));
    expect(Object.keys(e).sort()).toEqual(["dmPolicy", "model", "telegram"]);
    expect(validateModel(state({ model: "" })).model).toBe("pick a model");
    expect(validateModel(state({ dmPolicy: "allowlist", allowFrom: " " })).allowFrom).toContain("at least one sender ID");
    expect(validateModel(state({ dmPolicy: "allowlist", allowFrom: "1, 2" }))).toEqual({});
  });
});

describe("secrets", () => {
  it("reads the key of a provider with a connector type from domain/connectors.ts", () => {
    for (const p of ["anthropic", "openai", "openrouter"] as const) {
      expect(providerKey(p)).toEqual({
        env: CONNECTOR_TYPE_DEFS[p].credential!.env,
        what: CONNECTOR_TYPE_DEFS[p].credential!.label,
      });
    }
    expect(providerKey("ollama")).toBeNull();
    expect(providerKey("google")).toEqual({ env: "GEMINI_API_KEY", what: "Google Gemini API key" });
    expect(providerKey("vllm")).toBeNull();
    // a channel type is not a model provider; nor is anything inherited from Object
    expect(providerKey("telegram")).toBeUndefined();
    expect(providerKey("constructor")).toBeUndefined();
    expect(providerKey("acme")).toBeUndefined();
  });

  it("asks for the model's key first, then each channel's tokens, with names to store them under", () => {
    const needs = secretNeeds(state({ model: "anthropic/claude-sonnet-4-5", telegram: "on", slack: "on" }));
    expect(needs).toEqual([
      { env: "ANTHROPIC_API_KEY", what: "Anthropic API key", suggest: "anthropic-api-key" },
      { env: "TELEGRAM_BOT_TOKEN", what: "Telegram bot token", suggest: "helper-telegram-bot-token" },
      { env: "SLACK_BOT_TOKEN", what: "Slack bot token (xoxb-…)", suggest: "helper-slack-bot-token" },
      { env: "SLACK_APP_TOKEN", what: "Slack app-level token (xapp-…)", suggest: "helper-slack-app-token" },
    ]);
    expect(secretNeeds(state({ name: "", model: "ollama/llama3", discord: "on" }))).toEqual([
      { env: "DISCORD_BOT_TOKEN", what: "Discord bot token", suggest: "bot-discord-bot-token" },
    ]);
    // suggested names stay valid names when the bot's name is long
    const long = secretNeeds(state({ name: "a".repeat(60), model: "ollama/llama3", telegram: "on" }))[0]!.suggest;
    expect(long.length).toBeLessThanOrEqual(63);
    expect(long.endsWith("-")).toBe(false);
  });

  it("says which model provider it does not know", () => {
    expect(unknownModelProvider(state({ model: "acme/model-1" }))).toBe("acme");
    expect(unknownModelProvider(state({ model: "openai/gpt-5" }))).toBeUndefined();
    expect(unknownModelProvider(state({ model: "lmstudio/local" }))).toBeUndefined();
  });

  it("keeps only the references still needed and lists the ones missing", () => {
    const s = state({ model: "openai/gpt-5", telegram: "on", refs: { OPENAI_API_KEY: "openai-key", DISCORD_BOT_TOKEN: "old" } });
    expect(neededRefs(s)).toEqual({ OPENAI_API_KEY: "openai-key" });
    expect(missingSecrets(s).map((n) => n.env)).toEqual(["TELEGRAM_BOT_TOKEN"]);
  });
});

describe("the manifest", () => {
  it("describes a local bot with its grouping, model, channels and secret references", () => {
    const s = state({
      fleet: "homelab",
      environment: "prod",
      labels: "team=support",
      model: "anthropic/claude-sonnet-4-5",
      telegram: "on",
      slack: "on",
      dmPolicy: "allowlist",
      allowFrom: "1, 2",
      refs: { ANTHROPIC_API_KEY: "anthropic-api-key", TELEGRAM_BOT_TOKEN: "tg", SLACK_BOT_TOKEN: "sb" },
    });
    const m = buildManifest(s);
    const ref = (id: string) => ({ source: "env", provider: "default", id });
    expect(m).toEqual({
      apiVersion: "molthub/v1",
      kind: "Bot",
      metadata: { name: "helper", fleet: "homelab", environment: "prod", labels: { team: "support" } },
      spec: {
        target: { provider: "local", version: s.version },
        openclaw: {
          agents: { defaults: { model: "anthropic/claude-sonnet-4-5" } },
          channels: {
            telegram: { enabled: true, botToken: ref("TELEGRAM_BOT_TOKEN"), dmPolicy: "allowlist", allowFrom: ["1", "2"] },
            slack: {
              enabled: true,
              mode: "socket",
              botToken: ref("SLACK_BOT_TOKEN"),
              appToken: ref("SLACK_APP_TOKEN"),
              dmPolicy: "allowlist",
              allowFrom: ["1", "2"],
            },
          },
        },
        secrets: {
          ANTHROPIC_API_KEY: { secret: "anthropic-api-key" },
          TELEGRAM_BOT_TOKEN: { secret: "tg" },
          SLACK_BOT_TOKEN: { secret: "sb" },
          SLACK_APP_TOKEN: { secret: "" },
        },
      },
    });
    // the channel config is the connector type's own fragment, switched on
    expect((m.spec as { openclaw: { channels: { telegram: object } } }).openclaw.channels.telegram).toMatchObject(
      (CONNECTOR_TYPE_DEFS.telegram.fragment({}) as { channels: { telegram: object } }).channels.telegram,
    );
  });

  it("puts a Docker bot in a container and a host bot on its host's init system", () => {
    const docker = buildManifest(state({ provider: "docker", network: "", model: "ollama/llama3" }));
    expect((docker.spec as { target: unknown }).target).toEqual({ provider: "docker", image: DEFAULT_IMAGE, network: "host" });
    const hosts = [
      { name: "mac", init: "launchd" },
      { name: "pi", init: "systemd" },
    ];
    const onMac = buildManifest(state({ provider: "host", host: "mac" }), hosts);
    expect((onMac.spec as { target: unknown }).target).toEqual({
      provider: "launchd",
      host: "mac",
      version: defaultWizardState().version,
    });
    const onPi = buildManifest(state({ provider: "host", host: "pi" }), hosts);
    expect((onPi.spec as { target: { provider: string } }).target.provider).toBe("systemd");
  });

  it("builds a manifest the manifest schema accepts", () => {
    const s = state({
      model: "openai/gpt-5",
      discord: "on",
      refs: { OPENAI_API_KEY: "openai-key", DISCORD_BOT_TOKEN: "discord-token" },
    });
    expect(() => validateManifest(buildManifest(s))).not.toThrow();
  });
});
