/**
 * The pure half of the Docker provider: image pinning, names, labels and the container create spec.
 * No I/O here, so every rule is unit-tested without a Docker engine.
 */
import { createHash } from "node:crypto";
import type Dockerode from "dockerode";
import type { Target } from "../../src/domain/manifest.ts";
import { canonicalJson, layoutFor } from "../../src/domain/openclaw-config.ts";
import type { BotRef } from "../provider.ts";

export type DockerTarget = Extract<Target, { provider: "docker" }>;

/** The official image's contract: user `node` (uid 1000), state in /home/node/.openclaw, package in /app. */
export const CONTAINER_UID = 1000;
export const CONTAINER_GID = 1000;
const CONTAINER_HOME = "/home/node";
export const CONTAINER_STATE_DIR = "/home/node/.openclaw";
/**
 * The bot's env file as the container sees it: its layout() path, where a read-only bind of the host's 0600 file
 * covers the state dir's own entry (so the gateway can read it but never rewrite what it starts with).
 */
const CONTAINER_ENV_FILE = layoutFor(CONTAINER_STATE_DIR).envFile;
const CONTAINER_APP_DIR = "/app";
/** Where test/offline mode mounts an OpenClaw npm install (read-only). */
const CONTAINER_NODE_MODULES = "/app/node_modules";

export const LABELS = {
  managed: "molthub.managed",
  botId: "molthub.bot-id",
  botName: "molthub.bot-name",
  workspace: "molthub.workspace",
  configHash: "molthub.config-hash",
  specHash: "molthub.spec-hash",
} as const;

// ---------------------------------------------------------------------------------------------- images

export interface ImageRef {
  /** registry/repository without tag or digest */
  repository: string;
  tag?: string;
  digest?: string;
}

/** Splits `registry:5000/ns/name:tag@sha256:…`; a colon only starts a tag after the last slash. */
export function parseImageRef(image: string): ImageRef {
  let rest = image;
  let digest: string | undefined;
  const at = rest.indexOf("@");
  if (at >= 0) {
    digest = rest.slice(at + 1);
    rest = rest.slice(0, at);
  }
  const slash = rest.lastIndexOf("/");
  const colon = rest.lastIndexOf(":");
  let tag: string | undefined;
  if (colon > slash) {
    tag = rest.slice(colon + 1);
    rest = rest.slice(0, colon);
  }
  return { repository: rest, tag, digest };
}

const DIGEST_RE = /^sha256:[0-9a-f]{64}$/;
/** A tag that names a release: starts with a version number (`2026.9.6`, `2026.9.6-slim`, `v1.2`, `26.10.0`). */
const VERSION_TAG_RE = /^v?\d+(\.\d+)+([-_+.][0-9A-Za-z][0-9A-Za-z._-]*)?$/;

/**
 * Why an image reference is not pinned, or null when it is. Pinned means a digest (`@sha256:…`) or a version
 * tag; `latest`, a missing tag and moving tags (`main`, `stable`, `slim`, …) can change under a running fleet.
 *
 * @example
 * imagePinProblem("ghcr.io/openclaw/openclaw:2026.9.6") // null
 * imagePinProblem("ghcr.io/openclaw/openclaw:main")     // "…floating tag…"
 */
export function imagePinProblem(image: string): string | null {
  if (!image || /\s/.test(image) || image.startsWith("-")) return `"${image}" is not an image reference`;
  const ref = parseImageRef(image);
  if (!ref.repository) return `"${image}" has no repository`;
  if (ref.digest !== undefined) {
    return DIGEST_RE.test(ref.digest) ? null : `the digest in "${image}" is not a sha256 digest (@sha256:<64 hex>)`;
  }
  if (ref.tag === undefined)
    return `"${image}" has no tag, which means :latest; pin a version tag like :2026.9.6 or a digest (@sha256:…)`;
  if (ref.tag === "latest") return `"${image}" uses :latest; pin a version tag like :2026.9.6 or a digest (@sha256:…)`;
  if (!VERSION_TAG_RE.test(ref.tag))
    return `"${image}" uses the floating tag :${ref.tag}; pin a version tag like :2026.9.6 or a digest (@sha256:…)`;
  return null;
}

// ---------------------------------------------------------------------------------------------- names

/** `molthub-<first 8 of the workspace id>-<bot name>`; ownership is checked by label, not trusted from the name. */
export function containerName(bot: Pick<BotRef, "workspaceId" | "name">): string {
  const short =
    bot.workspaceId
      .toLowerCase()
      .replace(/[^a-z0-9]/g, "")
      .slice(0, 8) || "ws";
  return `molthub-${short}-${bot.name}`;
}

const SEGMENT_RE = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$/;

/** Refuses ids and names that could escape the root dir when joined into a path. */
export function assertPathSegment(kind: string, value: string): void {
  if (!SEGMENT_RE.test(value) || value === "." || value === ".." || value.includes("..")) {
    throw new Error(`the ${kind} "${value}" cannot be used as a directory name (letters, digits, . _ - only)`);
  }
}

// ---------------------------------------------------------------------------------------------- resources

/** Docker-style sizes (`2g`, `512m`, `1.5g`, `1048576`) in bytes, 1024-based like `docker run --memory`. */
export function parseMemory(value: string): number {
  const m = /^(\d+(?:\.\d+)?)([kmg]?)$/i.exec(value.trim());
  if (!m) throw new Error(`memory "${value}" is not a size like 2g or 512m`);
  const unit = { "": 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3 }[m[2]!.toLowerCase() as "" | "k" | "m" | "g"];
  const bytes = Math.round(Number(m[1]) * unit);
  // Docker refuses limits below 6 MiB; a gateway needs ~1 GiB.
  if (bytes < 6 * 1024 ** 2) throw new Error(`memory "${value}" is below Docker's 6 MiB minimum (a gateway needs about 1g)`);
  return bytes;
}

function nanoCpus(cpus: number): number {
  return Math.round(cpus * 1e9);
}

// ---------------------------------------------------------------------------------------------- the spec

export interface ContainerSpecInput {
  bot: BotRef & { target: DockerTarget };
  configHash: string;
  /** the bot's state dir on the Docker host, mounted at /home/node/.openclaw */
  hostStateDir: string;
  /**
   * the bot's 0600 env file on the Docker host (readable by uid 1000), bound read-only at CONTAINER_ENV_FILE; its
   * values never enter the spec
   */
  hostEnvFile: string;
  /** a DNS sinkhole (or any resolv.conf) mounted read-only at /etc/resolv.conf */
  resolvConf?: string;
  /** test/offline mode: an OpenClaw npm install (its node_modules dir) mounted read-only at /app/node_modules */
  openclawMount?: { hostNodeModulesDir: string };
  /** default true; the gateway then writes only to its state dir and a /tmp tmpfs */
  readonlyRootfs?: boolean;
}

/**
 * The launcher that turns the mounted env file into the gateway's environment: `node -e ENV_FILE_LAUNCHER <env file>
 * <OpenClaw entry> gateway run`. It reads the file (KEY=value lines, the value literal to the end of the line — the
 * same rules as providers/env-file.ts `parseEnvFile`, no shell and no quoting involved), lays the entries over the
 * container's environment, and replaces itself with `node <entry> gateway run` through `process.execve` (Node >=
 * 22.15; OpenClaw needs >= 24.16). Replacing rather than spawning means no second process: the gateway keeps the
 * PID, so the engine's init signals it directly and its exit code is the container's, and its /proc environ holds
 * the secrets the way a process environment does — while the container's config (Env, Cmd) holds none.
 * A missing or unreadable file exits 78 (EX_CONFIG), the status OpenClaw itself uses for configuration errors.
 */
export const ENV_FILE_LAUNCHER = [
  "const [file, ...args] = process.argv.slice(1);",
  'const fail = (m) => { process.stderr.write("molthub launcher: " + m + "\\n"); process.exit(78); };',
  "let text;",
  'try { text = require("node:fs").readFileSync(file, "utf8"); }',
  'catch (e) { fail("cannot read the bot\'s env file " + file + " (" + (e.code || e.message) + "): it must be readable by uid " + process.getuid()); }',
  "const env = { ...process.env };",
  'for (const raw of text.split("\\n")) {',
  '  const line = raw.endsWith("\\r") ? raw.slice(0, -1) : raw;',
  '  if (!line.trim() || line.trimStart().startsWith("#")) continue;',
  '  const eq = line.indexOf("=");',
  '  if (eq <= 0) fail(file + " has a line without KEY=value; Molthub rewrites it on the next configure");',
  "  env[line.slice(0, eq)] = line.slice(eq + 1);",
  "}",
  'if (typeof process.execve !== "function") fail("Node " + process.version + " has no process.execve (Node >= 22.15 is needed)");',
  "process.execve(process.execPath, [process.argv0, ...args], env);",
].join("\n");

/**
 * The command that runs the gateway: the launcher, the env file, then OpenClaw's own argv. The image's own CMD is
 * replaced: the official one binds to the LAN.
 */
function gatewayCommand(openclawMount?: { hostNodeModulesDir: string }): string[] {
  const [node, ...entry] = openclawEntry(openclawMount);
  return [node!, "-e", ENV_FILE_LAUNCHER, CONTAINER_ENV_FILE, ...entry, "gateway", "run"];
}

/** `node <entry>` for the OpenClaw CLI inside the container (also used for `--version`). */
export function openclawEntry(openclawMount?: { hostNodeModulesDir: string }): string[] {
  return openclawMount ? ["node", `${CONTAINER_NODE_MODULES}/openclaw/openclaw.mjs`] : ["node", "dist/index.js"];
}

/**
 * The container's own environment: the official container paths and switches, nothing secret. It is all that
 * `docker inspect` and `docker exec` see; configure() also writes these into the env file over the bot's own entries,
 * so the paths win over whatever the file says.
 */
export function containerEnv(): Record<string, string> {
  return {
    HOME: CONTAINER_HOME,
    OPENCLAW_HOME: CONTAINER_HOME,
    OPENCLAW_STATE_DIR: CONTAINER_STATE_DIR,
    OPENCLAW_CONFIG_PATH: `${CONTAINER_STATE_DIR}/openclaw.json`,
    // caches go to the state mount: the root filesystem is read-only
    XDG_CACHE_HOME: `${CONTAINER_STATE_DIR}/cache`,
    // `docker exec … openclaw --version` (observe) runs in one process, like the gateway
    OPENCLAW_NO_RESPAWN: "1",
  };
}

/**
 * The create options for a bot's container, with the hardening of OpenClaw's own fleet profile:
 * init, no capabilities, no-new-privileges, pids/memory/cpu limits, restart unless-stopped, uid 1000,
 * a read-only root filesystem with a /tmp tmpfs. Host network → the gateway listens on 127.0.0.1:<port> of the
 * host; bridge → nothing is published, the core reaches it through the exec relay.
 *
 * No secret is in any field (docs/decisions/0010-secrets-as-files.md): `Env` is containerEnv() only, labels carry
 * ids and hashes, the command carries the launcher and paths; the gateway token and the bot's secrets reach the
 * gateway only through the env file, bound read-only and loaded by ENV_FILE_LAUNCHER. Whoever may read the engine's
 * API (`docker inspect`, `docker top`) therefore reads no secret. A changed env file needs no new container: the
 * reconciler's stop + start binds the file anew (`docker start` resolves bind sources again).
 */
export function buildContainerSpec(input: ContainerSpecInput): Dockerode.ContainerCreateOptions & { name: string } {
  const { bot } = input;
  const target = bot.target;
  const env = containerEnv();
  const binds = [`${input.hostStateDir}:${CONTAINER_STATE_DIR}:rw`, `${input.hostEnvFile}:${CONTAINER_ENV_FILE}:ro`];
  if (input.resolvConf) binds.push(`${input.resolvConf}:/etc/resolv.conf:ro`);
  if (input.openclawMount) binds.push(`${input.openclawMount.hostNodeModulesDir}:${CONTAINER_NODE_MODULES}:ro`);
  const readonly = input.readonlyRootfs ?? true;

  const spec: Dockerode.ContainerCreateOptions = {
    Image: target.image,
    Cmd: gatewayCommand(input.openclawMount),
    WorkingDir: CONTAINER_APP_DIR,
    User: `${CONTAINER_UID}:${CONTAINER_GID}`,
    Env: Object.keys(env)
      .sort()
      .map((k) => `${k}=${env[k]}`),
    // The image's healthcheck probes its default port; Molthub probes /readyz on the allocated one itself.
    Healthcheck: { Test: ["NONE"] },
    StopTimeout: 30,
    HostConfig: {
      Init: true,
      CapDrop: ["ALL"],
      SecurityOpt: ["no-new-privileges"],
      PidsLimit: 512,
      Memory: parseMemory(target.memory),
      // no swap beyond the memory limit
      MemorySwap: parseMemory(target.memory),
      NanoCpus: nanoCpus(target.cpus),
      RestartPolicy: { Name: "unless-stopped", MaximumRetryCount: 0 },
      ReadonlyRootfs: readonly,
      Tmpfs: readonly ? { "/tmp": "rw,noexec,nosuid,nodev,size=256m" } : undefined,
      Binds: binds,
      NetworkMode: target.network,
      // never publish: host mode listens on the host's loopback, bridge mode goes through the relay
      PortBindings: {},
      PublishAllPorts: false,
    },
  };
  if (!readonly) delete spec.HostConfig!.Tmpfs;

  // nothing secret is hashed, so a plain digest: it changes with the image, resources, network and command
  const specHash = createHash("sha256").update(canonicalJson(spec)).digest("hex");
  return {
    name: containerName(bot),
    ...spec,
    Labels: {
      [LABELS.managed]: "true",
      [LABELS.botId]: bot.id,
      [LABELS.botName]: bot.name,
      [LABELS.workspace]: bot.workspaceId,
      [LABELS.configHash]: input.configHash,
      [LABELS.specHash]: specHash,
    },
  };
}

/** Short, stable cache key (image id + where OpenClaw comes from). */
export function versionCacheKey(imageId: string, openclawMount?: { hostNodeModulesDir: string }): string {
  return createHash("sha256")
    .update(`${imageId}\0${openclawMount?.hostNodeModulesDir ?? ""}`)
    .digest("hex")
    .slice(0, 16);
}
