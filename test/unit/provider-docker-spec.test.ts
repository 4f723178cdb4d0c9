/**
 * The pure half of the Docker provider: which image references count as pinned, and the container spec
 * (hardening, ownership labels, the spec hash that decides when a container is recreated) — and that the create
 * spec the provider sends carries no secret in any field: secrets reach the container only as its env file.
 */
import { mkdtempSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type Dockerode from "dockerode";
import { afterAll, describe, expect, it } from "vitest";
import { DockerProvider } from "../../providers/docker/provider.ts";
import {
  buildContainerSpec,
  type ContainerSpecInput,
  containerEnv,
  containerName,
  type DockerTarget,
  ENV_FILE_LAUNCHER,
  imagePinProblem,
  LABELS,
  parseImageRef,
  parseMemory,
} from "../../providers/docker/spec.ts";
import { parseEnvFile } from "../../providers/env-file.ts";
import { type BotRuntime, ProviderError } from "../../providers/provider.ts";
import { botEnvironment, GATEWAY_TOKEN_ENV, layoutFor, renderEnvFile } from "../../src/domain/openclaw-config.ts";

const TOKEN = "tok_5f1c2a9e8b7d6c5b4a39281706f5e4d3";
const SECRET = "sk-test-abcdefghijklmnopqrstuvwxyz";

describe("imagePinProblem", () => {
  const digest = `sha256:${"a".repeat(64)}`;
  it.each([
    ["ghcr.io/openclaw/openclaw:2026.9.6", true],
    ["ghcr.io/openclaw/openclaw:2026.9.6-slim", true],
    ["openclaw/openclaw:2026.10.1-browser", true],
    ["molthub-test/node26:26.10.0", true],
    ["registry.local:5000/team/openclaw:v2026.9.6", true],
    [`ghcr.io/openclaw/openclaw@${digest}`, true],
    [`ghcr.io/openclaw/openclaw:main@${digest}`, true],
    [`localhost:5000/openclaw@${digest}`, true],
    ["ghcr.io/openclaw/openclaw:latest", false],
    ["ghcr.io/openclaw/openclaw", false],
    ["openclaw", false],
    ["localhost:5000/openclaw", false],
    ["ghcr.io/openclaw/openclaw:main", false],
    ["ghcr.io/openclaw/openclaw:extended-stable", false],
    ["ghcr.io/openclaw/openclaw:slim", false],
    ["ghcr.io/openclaw/openclaw:2026", false],
    ["ghcr.io/openclaw/openclaw@sha256:abc", false],
    ["-v/etc:/x", false],
    ["", false],
  ])("%s pinned=%s", (image, pinned) => {
    const problem = imagePinProblem(image);
    if (pinned) expect(problem).toBeNull();
    else expect(problem).toEqual(expect.any(String));
  });

  it("says what to do", () => {
    expect(imagePinProblem("ghcr.io/openclaw/openclaw:latest")).toMatch(/pin a version tag like :2026\.9\.6 or a digest/);
    expect(imagePinProblem("ghcr.io/openclaw/openclaw:main")).toMatch(/floating tag :main/);
  });

  it("parses registry ports, tags and digests apart", () => {
    expect(parseImageRef("localhost:5000/a/b:1.2@sha256:x")).toEqual({
      repository: "localhost:5000/a/b",
      tag: "1.2",
      digest: "sha256:x",
    });
    expect(parseImageRef("localhost:5000/a/b")).toEqual({ repository: "localhost:5000/a/b", tag: undefined, digest: undefined });
  });
});

describe("resources and names", () => {
  it.each([
    ["2g", 2 * 1024 ** 3],
    ["512m", 512 * 1024 ** 2],
    ["1.5g", 1.5 * 1024 ** 3],
    ["1048576000", 1048576000],
    ["64M", 64 * 1024 ** 2],
  ])("parseMemory(%s)", (v, bytes) => expect(parseMemory(v)).toBe(bytes));

  it("refuses sizes docker would refuse", () => {
    expect(() => parseMemory("1k")).toThrow(/6 MiB/);
    expect(() => parseMemory("lots")).toThrow(/size like 2g/);
  });

  it("names containers molthub-<workspace prefix>-<bot>", () => {
    expect(containerName({ workspaceId: "3F2A9C1B-0000-4000-8000-000000000000", name: "support" })).toBe(
      "molthub-3f2a9c1b-support",
    );
  });

  it("env files round-trip, values literal to the end of the line", () => {
    const env = { A: "x=y z", B: "'quoted'", C: "" };
    expect(parseEnvFile(renderEnvFile(env))).toEqual(env);
    expect(() => parseEnvFile("no equals sign\n")).toThrow(/KEY=value/);
  });
});

const STATE_DIR = "/var/lib/molthub/bots/3f2a9c1b-0000-4000-8000-000000000000/support";

function input(over: Partial<ContainerSpecInput> = {}, target: Partial<DockerTarget> = {}): ContainerSpecInput {
  return {
    bot: {
      id: "bot-1",
      name: "support",
      workspaceId: "3f2a9c1b-0000-4000-8000-000000000000",
      port: 18800,
      target: {
        provider: "docker",
        image: "ghcr.io/openclaw/openclaw:2026.9.6",
        network: "host",
        memory: "2g",
        cpus: 2,
        ...target,
      },
    },
    configHash: "c0ffee",
    hostStateDir: STATE_DIR,
    hostEnvFile: `${STATE_DIR}/molthub.env`,
    ...over,
  };
}

describe("buildContainerSpec", () => {
  it("applies OpenClaw's fleet hardening", () => {
    const spec = buildContainerSpec(input());
    expect(spec.name).toBe("molthub-3f2a9c1b-support");
    expect(spec.User).toBe("1000:1000");
    expect(spec.HostConfig).toMatchObject({
      Init: true,
      CapDrop: ["ALL"],
      SecurityOpt: ["no-new-privileges"],
      PidsLimit: 512,
      Memory: 2 * 1024 ** 3,
      NanoCpus: 2_000_000_000,
      RestartPolicy: { Name: "unless-stopped" },
      ReadonlyRootfs: true,
      Tmpfs: { "/tmp": expect.stringContaining("nosuid") },
      NetworkMode: "host",
      PortBindings: {},
    });
    expect(spec.HostConfig!.Privileged).toBeUndefined();
    expect(spec.HostConfig!.CapAdd).toBeUndefined();
    expect(spec.ExposedPorts).toBeUndefined();
  });

  it("runs the launcher on the env file, then the official image layout by default and the mounted npm install in test mode", () => {
    const official = buildContainerSpec(input());
    expect(official.Cmd).toEqual([
      "node",
      "-e",
      ENV_FILE_LAUNCHER,
      "/home/node/.openclaw/molthub.env",
      "dist/index.js",
      "gateway",
      "run",
    ]);
    expect(official.WorkingDir).toBe("/app");
    expect(official.HostConfig!.Binds).toEqual([
      `${STATE_DIR}:/home/node/.openclaw:rw`,
      // the env file read-only over the state dir's own entry: the gateway cannot rewrite what it starts with
      `${STATE_DIR}/molthub.env:/home/node/.openclaw/molthub.env:ro`,
    ]);

    const test = buildContainerSpec(
      input({ openclawMount: { hostNodeModulesDir: "/cache/oc/node_modules" }, resolvConf: "/cache/resolv.conf" }),
    );
    expect(test.Cmd).toEqual([
      "node",
      "-e",
      ENV_FILE_LAUNCHER,
      "/home/node/.openclaw/molthub.env",
      "/app/node_modules/openclaw/openclaw.mjs",
      "gateway",
      "run",
    ]);
    expect(test.HostConfig!.Binds).toEqual([
      `${STATE_DIR}:/home/node/.openclaw:rw`,
      `${STATE_DIR}/molthub.env:/home/node/.openclaw/molthub.env:ro`,
      "/cache/resolv.conf:/etc/resolv.conf:ro",
      "/cache/oc/node_modules:/app/node_modules:ro",
    ]);
  });

  it("the container's own Env is the official paths and switches only", () => {
    const spec = buildContainerSpec(input());
    expect(spec.Env).toEqual([
      "HOME=/home/node",
      "OPENCLAW_CONFIG_PATH=/home/node/.openclaw/openclaw.json",
      "OPENCLAW_HOME=/home/node",
      "OPENCLAW_NO_RESPAWN=1",
      "OPENCLAW_STATE_DIR=/home/node/.openclaw",
      "XDG_CACHE_HOME=/home/node/.openclaw/cache",
    ]);
    expect(Object.keys(spec.Labels!).sort()).toEqual(Object.values(LABELS).sort());
    expect(spec.Labels).toMatchObject({
      [LABELS.managed]: "true",
      [LABELS.botId]: "bot-1",
      [LABELS.workspace]: "3f2a9c1b-0000-4000-8000-000000000000",
      [LABELS.configHash]: "c0ffee",
    });
  });

  it("bridge mode publishes nothing", () => {
    const spec = buildContainerSpec(input({}, { network: "bridge" }));
    expect(spec.HostConfig!.NetworkMode).toBe("bridge");
    expect(spec.HostConfig!.PortBindings).toEqual({});
    expect(spec.HostConfig!.PublishAllPorts).toBe(false);
    expect(spec.ExposedPorts).toBeUndefined();
  });

  it("the spec hash changes with image, resources, network and command — not with the config", () => {
    const hash = (s: ReturnType<typeof buildContainerSpec>) => s.Labels![LABELS.specHash];
    const base = hash(buildContainerSpec(input()));
    expect(base).toMatch(/^[0-9a-f]{64}$/);
    expect(hash(buildContainerSpec(input()))).toBe(base);
    expect(hash(buildContainerSpec(input({ configHash: "other" })))).toBe(base);
    expect(hash(buildContainerSpec(input({}, { image: "ghcr.io/openclaw/openclaw:2026.9.7" })))).not.toBe(base);
    expect(hash(buildContainerSpec(input({}, { memory: "3g" })))).not.toBe(base);
    expect(hash(buildContainerSpec(input({}, { cpus: 1 })))).not.toBe(base);
    expect(hash(buildContainerSpec(input({}, { network: "bridge" })))).not.toBe(base);
    expect(hash(buildContainerSpec(input({ openclawMount: { hostNodeModulesDir: "/x" } })))).not.toBe(base);
  });

  it("can run without a read-only root filesystem", () => {
    const spec = buildContainerSpec(input({ readonlyRootfs: false }));
    expect(spec.HostConfig!.ReadonlyRootfs).toBe(false);
    expect(spec.HostConfig!.Tmpfs).toBeUndefined();
  });
});

/** Just enough of a Docker engine for configure + start of a new bot: records the create options. */
function recordingEngine() {
  const created: (Dockerode.ContainerCreateOptions & { name: string })[] = [];
  const engine = {
    getContainer: (nameOrId: string) => ({
      inspect: async () => {
        throw Object.assign(new Error(`no such container ${nameOrId}`), { statusCode: 404 });
      },
      start: async () => {},
    }),
    async createContainer(spec: Dockerode.ContainerCreateOptions & { name: string }) {
      created.push(spec);
      return { id: `${spec.name}-id` };
    },
  };
  return { engine: engine as unknown as Dockerode, created };
}

describe("the create spec the provider sends for a configured bot", () => {
  const root = mkdtempSync(join(tmpdir(), "molthub-docker-spec-"));
  afterAll(() => rmSync(root, { recursive: true, force: true }));
  const layout = layoutFor("/home/node/.openclaw");
  const runtime = (env: Record<string, string>): BotRuntime => ({
    ...input().bot,
    config: { gateway: { port: 18800 } },
    configHash: "c0ffee",
    env,
  });

  it("carries no secret in any field: the gateway token and the bot's secrets are only in the env file", async () => {
    const { engine, created } = recordingEngine();
    const provider = new DockerProvider({ docker: engine, rootDir: root });
    const bot = runtime(botEnvironment({ layout, port: 18800, gatewayToken: TOKEN, secrets: { ANTHROPIC_API_KEY: SECRET } }));
    await provider.configure(bot, AbortSignal.timeout(5_000));
    await provider.start(bot, AbortSignal.timeout(5_000));
    expect(created).toHaveLength(1);
    const spec = created[0]!;
    const shown = JSON.stringify(spec);
    expect(shown).not.toContain(TOKEN);
    expect(shown).not.toContain(SECRET);
    expect(spec.Env!.some((e) => e.startsWith(`${GATEWAY_TOKEN_ENV}=`) || e.startsWith("ANTHROPIC_API_KEY="))).toBe(false);

    // the env file holds them, 0600; as root it is handed to the container's uid 1000 (nobody else may read it)
    const envFile = join(provider.hostDir(bot), "molthub.env");
    expect(spec.HostConfig!.Binds).toContain(`${envFile}:/home/node/.openclaw/molthub.env:ro`);
    const st = statSync(envFile);
    expect(st.mode & 0o777).toBe(0o600);
    if (process.getuid?.() === 0) expect(st.uid).toBe(1000);
    const fileEnv = parseEnvFile(readFileSync(envFile, "utf8"));
    expect(fileEnv).toMatchObject({ [GATEWAY_TOKEN_ENV]: TOKEN, ANTHROPIC_API_KEY: SECRET });
  });

  it("the env file pins the official container paths over whatever the bot's env says", async () => {
    const { engine } = recordingEngine();
    const provider = new DockerProvider({ docker: engine, rootDir: root });
    const bot = runtime({ OPENCLAW_STATE_DIR: "/elsewhere", HOME: "/root", FOO: "bar" });
    await provider.configure(bot, AbortSignal.timeout(5_000));
    const fileEnv = parseEnvFile(readFileSync(join(provider.hostDir(bot), "molthub.env"), "utf8"));
    expect(fileEnv).toEqual({ ...containerEnv(), FOO: "bar" });
  });

  it("start refuses a missing env file before the engine creates anything", async () => {
    const { engine, created } = recordingEngine();
    const provider = new DockerProvider({ docker: engine, rootDir: root });
    const bot = { ...runtime({}), name: "never-configured" };
    await expect(provider.start(bot, AbortSignal.timeout(5_000))).rejects.toMatchObject({ code: "not_found" });
    expect(created).toEqual([]);
  });
});

describe("DockerProvider without an engine", () => {
  const root = mkdtempSync(join(tmpdir(), "molthub-docker-unit-"));
  afterAll(() => rmSync(root, { recursive: true, force: true }));
  // any call into the engine fails the test: the checks below must happen before it is touched
  const untouchable = new Proxy(
    {},
    {
      get: (_t, p) => {
        throw new Error(`the engine was touched (${String(p)})`);
      },
    },
  ) as unknown as Dockerode;
  const provider = new DockerProvider({ docker: untouchable, rootDir: root });
  const bot = (image: string, name = "support", workspaceId = "ws-1"): BotRuntime => ({
    id: "bot-1",
    name,
    workspaceId,
    port: 18800,
    target: { provider: "docker", image, network: "host", memory: "2g", cpus: 2 },
    config: {},
    configHash: "h",
    env: { [GATEWAY_TOKEN_ENV]: TOKEN },
  });

  it("lays the bot out at the official state dir inside the container", () => {
    expect(provider.layout(bot("x:1.0.0"))).toEqual(layoutFor("/home/node/.openclaw"));
    expect(provider.hostDir(bot("x:1.0.0"))).toBe(join(root, "ws-1", "support"));
  });

  it.each(["ensure", "configure", "start"] as const)("%s refuses an unpinned image with invalid_config", async (step) => {
    const err = await provider[step](bot("ghcr.io/openclaw/openclaw:latest"), AbortSignal.timeout(5_000)).catch((e) => e);
    expect(err).toBeInstanceOf(ProviderError);
    expect(err.code).toBe("invalid_config");
    expect(err.issues).toEqual([{ path: "spec.target.image", message: expect.stringContaining(":latest") }]);
  });

  it("allowLatest lets development images through the pin check", async () => {
    const dev = new DockerProvider({ docker: untouchable, rootDir: root, allowLatest: true });
    await dev.configure(bot("ghcr.io/openclaw/openclaw:latest"), AbortSignal.timeout(5_000));
  });

  it("refuses names that would leave the root dir", () => {
    expect(() => provider.hostDir({ workspaceId: "..", name: "x" })).toThrow(/directory name/);
    expect(() => provider.hostDir({ workspaceId: "ws", name: "../etc" })).toThrow(/directory name/);
  });

  it("refuses env values an env file cannot carry", async () => {
    const b = bot("x:1.0.0");
    b.env = { BAD: "line\nbreak" };
    await expect(provider.configure(b, AbortSignal.timeout(5_000))).rejects.toMatchObject({ code: "invalid_config" });
  });
});
