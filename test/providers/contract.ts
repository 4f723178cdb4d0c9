/**
 * The provider contract: the behaviour every target kind must show against its REAL backend, the suite a new
 * provider must pass (CONTRIBUTING: "adding a provider"). One bot, one real OpenClaw gateway start per provider:
 *
 * - the module (providers/registry.ts) and the loaded provider agree: kind, capabilities, target schema, layout();
 * - ensure → (validate, when declared) → configure: openclaw.json and the 0600 env file are where layout() says,
 *   the gateway token and the bot's secrets only in the env file;
 * - start → observe running → endpoint() is a loopback URL where the real gateway answers /readyz 200, and the bot's
 *   token opens it (so the env file reached the gateway);
 * - the secrets are in the gateway's environment, and in nothing the backend shows (argv, unit, inspect output);
 * - logs: a tail of the gateway's lines, and (when declared) follow until the consumer stops;
 * - stop → observe not running; destroy(purge) → observe not existing, the files gone.
 *
 * A backend (test/providers/<kind>.test.ts) supplies the module, its deps and three probes of its machine: a file
 * at a layout() path, the running gateway's environment, and what it shows about the bot. The caller gates the
 * suite on its components with describeWithComponent (fails under CI when one is missing).
 */
import { randomBytes, randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { BotRef, BotRuntime, ObservedState, Provider, ProviderDeps, ProviderModule } from "../../providers/provider.ts";
import { PROVIDER_MODULES } from "../../providers/registry.ts";
import { validateManifest } from "../../src/domain/manifest.ts";
import { botEnvironment, configHash, GATEWAY_TOKEN_ENV, generateConfig } from "../../src/domain/openclaw-config.ts";
import { GatewayClient } from "../../src/gateway/client.ts";
import { generateDeviceIdentity } from "../../src/gateway/identity.ts";
import { probeReadyz } from "../../src/gateway/probe.ts";
import { pickGatewayPort } from "../infra/gateway-process.ts";

/** A file on the target's machine: permission bits and text. */
export interface TargetFile {
  mode: number;
  text: string;
}

export interface ContractBackend {
  /** the module under test, as the registry lists it */
  module: ProviderModule;
  /** what the appliance would hand it (createProviders builds the same from its settings) */
  deps: ProviderDeps;
  /** `spec.target` of the contract's bot on this backend */
  target: Record<string, unknown>;
  /** the file at a layout() path as the target's machine has it, or null when it is missing */
  readFile(path: string, bot: BotRef): Promise<TargetFile | null>;
  /** the environment of the running gateway process, as the kernel shows it (/proc/<pid>/environ) */
  processEnv(bot: BotRef, observed: ObservedState): Promise<Record<string, string>>;
  /** what the backend shows about the bot to anyone who looks (argv, the service definition, inspect output), by name */
  visible(bot: BotRef, observed: ObservedState): Promise<Record<string, string>>;
  /** ends what setup started (a host container, temp dirs) */
  teardown?(): Promise<void>;
}

/** `\0`-separated KEY=value (a /proc environ) as a record. */
export function parseEnviron(text: string): Record<string, string> {
  const env: Record<string, string> = {};
  for (const entry of text.split("\0")) {
    const eq = entry.indexOf("=");
    if (eq > 0) env[entry.slice(0, eq)] = entry.slice(eq + 1);
  }
  return env;
}

const CANARY_ENV = "MOLTHUB_CONTRACT_CANARY";
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Registers the contract for one provider. `setup` runs once (beforeAll) and returns its backend.
 *
 * @example
 * describeWithComponent("local provider contract", needs, () => providerContract("local", async () => ({ module: local, deps, … })));
 */
export function providerContract(name: string, setup: () => Promise<ContractBackend>): void {
  describe(`provider contract: ${name}`, { timeout: 180_000 }, () => {
    let backend: ContractBackend;
    let provider: Provider;
    let bot: BotRuntime;
    const token = randomBytes(24).toString("base64url");
    const canary = `canary-${randomBytes(12).toString("hex")}`;
    const timings: Record<string, number> = {};
    const signal = () => AbortSignal.timeout(150_000);
    const secrets = () => [token, canary];

    beforeAll(async () => {
      const t0 = Date.now();
      backend = await setup();
      provider = await backend.module.load(backend.deps);
      const manifest = validateManifest({
        apiVersion: "molthub/v1",
        kind: "Bot",
        metadata: { name: "contract" },
        spec: {
          target: backend.target,
          // offline: no model catalog refresh, no update check (the DNS sinkhole would make them wait)
          openclaw: { models: { catalogRefresh: { enabled: false } }, update: { checkOnStart: false } },
        },
      });
      const port = await pickGatewayPort();
      const ref: BotRef = {
        id: `bot-contract-${randomBytes(4).toString("hex")}`,
        name: "contract",
        workspaceId: randomUUID(),
        target: manifest.spec.target,
        port,
      };
      const layout = provider.layout(ref);
      const config = generateConfig(manifest, { port, layout });
      bot = {
        ...ref,
        config,
        configHash: configHash(config),
        env: botEnvironment({ layout, port, gatewayToken: token, secrets: { [CANARY_ENV]: canary } }),
      };
      timings.setupMs = Date.now() - t0;
    }, 180_000);

    afterAll(async () => {
      if (provider && bot) await provider.destroy(bot, { purge: true }, AbortSignal.timeout(60_000)).catch(() => {});
      await (provider as Partial<{ closeAll(): Promise<void> }> | undefined)?.closeAll?.().catch(() => {});
      await backend?.teardown?.();
      console.info(`provider contract ${name} timings: ${JSON.stringify(timings)}`);
    }, 120_000);

    it("is declared by its module: kind, strict target schema, capabilities and layout agree with the loaded provider", () => {
      const m = backend.module;
      expect(PROVIDER_MODULES as readonly ProviderModule[]).toContain(m);
      expect(provider.kind).toBe(m.kind);
      expect(provider.capabilities).toEqual(m.capabilities);
      expect(m.targetSchema.parse(backend.target)).toMatchObject({ provider: m.kind });
      expect(m.targetSchema.safeParse({ ...backend.target, surplus: 1 }).success).toBe(false);
      expect(m.label.length).toBeGreaterThan(0);
      expect(m.description.length).toBeGreaterThan(0);
      // the module answers layout() before its implementation is loaded: the same answer
      expect(m.layout(bot, backend.deps, () => {})).toEqual(provider.layout(bot));
      if (m.capabilities.validate) expect(provider.validate).toBeTypeOf("function");
    });

    it("ensure and configure put openclaw.json and the 0600 env file where layout() says; secrets only in the env file", async () => {
      let t = Date.now();
      await provider.ensure(bot, signal());
      timings.ensureMs = Date.now() - t;
      if (backend.module.capabilities.validate) {
        t = Date.now();
        expect(await provider.validate!(bot, signal())).toEqual({ valid: true, issues: [] });
        timings.validateMs = Date.now() - t;
      }
      t = Date.now();
      await provider.configure(bot, signal());
      timings.configureMs = Date.now() - t;

      const layout = provider.layout(bot);
      const envFile = await backend.readFile(layout.envFile, bot);
      expect(envFile, `env file at ${layout.envFile}`).not.toBeNull();
      expect(envFile!.mode & 0o777).toBe(0o600);
      for (const s of secrets()) expect(envFile!.text).toContain(s);
      const config = await backend.readFile(layout.configPath, bot);
      expect(config, `openclaw.json at ${layout.configPath}`).not.toBeNull();
      expect(config!.mode & 0o077).toBe(0);
      expect(JSON.parse(config!.text)).toMatchObject({
        gateway: { port: bot.port, bind: "loopback" },
        logging: { file: layout.logFile },
      });
      for (const s of secrets()) expect(config!.text).not.toContain(s);
    });

    it("start: observe running; the endpoint is on loopback, the real gateway answers /readyz 200 and the bot's token opens it", async () => {
      const t = Date.now();
      await provider.start(bot, signal());
      timings.startReturnedMs = Date.now() - t;
      const observed = await provider.observe(bot, signal());
      expect(observed).toMatchObject({ exists: true, running: true });

      const ep = await provider.endpoint(bot, signal());
      try {
        for (const url of [ep.wsUrl, ep.httpUrl]) expect(new URL(url).hostname).toBe("127.0.0.1");
        let ready = await probeReadyz(ep.httpUrl, { timeoutMs: 3_000 }).catch(() => null);
        for (let i = 0; i < 180 && !ready?.ok; i++) {
          await sleep(500);
          ready = await probeReadyz(ep.httpUrl, { timeoutMs: 3_000 }).catch(() => null);
        }
        expect(ready).toMatchObject({ ok: true, status: 200 });
        timings.startToReadyMs = Date.now() - t;

        const client = new GatewayClient({
          url: ep.wsUrl,
          token,
          identity: generateDeviceIdentity(),
          connectTimeoutMs: 60_000,
          requestTimeoutMs: 30_000,
        });
        try {
          await client.connect();
          expect((await client.health()).ok).toBe(true);
        } finally {
          await client.close();
        }
      } finally {
        await ep.close();
      }
    });

    it("the secrets reached the gateway's environment, and nothing the backend shows", async () => {
      const observed = await provider.observe(bot, signal());
      const env = await backend.processEnv(bot, observed);
      expect(env[GATEWAY_TOKEN_ENV]).toBe(token);
      expect(env[CANARY_ENV]).toBe(canary);
      const shown = await backend.visible(bot, observed);
      expect(Object.keys(shown).length).toBeGreaterThan(0);
      for (const [what, text] of Object.entries(shown)) {
        for (const s of secrets()) expect(text.includes(s), `a secret is visible in ${what}`).toBe(false);
      }
    });

    it("logs: a tail of the gateway's lines without secrets, and following ends when the consumer stops", async () => {
      expect(backend.module.capabilities.logs).toBe(true);
      const lines: string[] = [];
      for await (const l of provider.logs(bot, { follow: false, tail: 20 }, signal())) lines.push(l);
      expect(lines.length).toBeGreaterThan(0);
      expect(lines.length).toBeLessThanOrEqual(20);
      for (const s of secrets()) expect(lines.join("\n")).not.toContain(s);
      if (!backend.module.capabilities.followLogs) return;
      const ctl = new AbortController();
      const timer = setTimeout(() => ctl.abort(), 20_000);
      const followed: string[] = [];
      for await (const l of provider.logs(bot, { follow: true, tail: 1 }, ctl.signal)) {
        followed.push(l);
        ctl.abort();
      }
      clearTimeout(timer);
      expect(followed.length).toBe(1);
    });

    it("stop: observe reports it stopped; a second stop is a no-op", async () => {
      const t = Date.now();
      await provider.stop(bot, { deadlineMs: 30_000 }, signal());
      timings.stopMs = Date.now() - t;
      expect(await provider.observe(bot, signal())).toMatchObject({ exists: true, running: false });
      await provider.stop(bot, { deadlineMs: 5_000 }, signal());
      expect(await provider.observe(bot, signal())).toMatchObject({ running: false });
    });

    it("destroy with purge: observe reports nothing, and the config and env file are gone", async () => {
      const layout = provider.layout(bot);
      const t = Date.now();
      await provider.destroy(bot, { purge: true }, signal());
      timings.destroyMs = Date.now() - t;
      expect(await provider.observe(bot, signal())).toMatchObject({ exists: false, running: false });
      expect(await backend.readFile(layout.envFile, bot)).toBeNull();
      expect(await backend.readFile(layout.configPath, bot)).toBeNull();
    });
  });
}
