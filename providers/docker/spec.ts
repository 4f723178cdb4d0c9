/**
 * The pure half of the Docker provider: image pinning, names, labels and the container create spec.
 * No I/O here, so every rule is unit-tested without a Docker engine.
 */
import { createHash, createHmac } from "node:crypto";
import type Dockerode from "dockerode";
import type { Target } from "../../src/domain/manifest.ts";
import { canonicalJson, GATEWAY_TOKEN_ENV } from "../../src/domain/openclaw-config.ts";
import type { BotRef } from "../provider.ts";

export type DockerTarget = Extract<Target, { provider: "docker" }>;

/** The official image's contract: user `node` (uid 1000), state in /home/node/.openclaw, package in /app. */
export const CONTAINER_UID = 1000;
export const CONTAINER_GID = 1000;
const CONTAINER_HOME = "/home/node";
export const CONTAINER_STATE_DIR = "/home/node/.openclaw";
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
  /** the bot's environment as read back from its 0600 env file */
  env: Record<string, string>;
  /** the bot's state dir on the Docker host, mounted at /home/node/.openclaw */
  hostStateDir: string;
  /** a DNS sinkhole (or any resolv.conf) mounted read-only at /etc/resolv.conf */
  resolvConf?: string;
  /** test/offline mode: an OpenClaw npm install (its node_modules dir) mounted read-only at /app/node_modules */
  openclawMount?: { hostNodeModulesDir: string };
  /** default true; the gateway then writes only to its state dir and a /tmp tmpfs */
  readonlyRootfs?: boolean;
}

/** The command that runs the gateway. The image's own CMD is replaced: the official one binds to the LAN. */
function gatewayCommand(openclawMount?: { hostNodeModulesDir: string }): string[] {
  return [...openclawEntry(openclawMount), "gateway", "run"];
}

/** `node <entry>` for the OpenClaw CLI inside the container (also used for `--version`). */
export function openclawEntry(openclawMount?: { hostNodeModulesDir: string }): string[] {
  return openclawMount ? ["node", `${CONTAINER_NODE_MODULES}/openclaw/openclaw.mjs`] : ["node", "dist/index.js"];
}

/** Env the provider owns: the official container paths. They win over the env file. */
function managedEnv(): Record<string, string> {
  return {
    HOME: CONTAINER_HOME,
    OPENCLAW_HOME: CONTAINER_HOME,
    OPENCLAW_STATE_DIR: CONTAINER_STATE_DIR,
    OPENCLAW_CONFIG_PATH: `${CONTAINER_STATE_DIR}/openclaw.json`,
    // caches go to the state mount: the root filesystem is read-only
    XDG_CACHE_HOME: `${CONTAINER_STATE_DIR}/cache`,
  };
}

/**
 * The create options for a bot's container, with the hardening of OpenClaw's own fleet profile:
 * init, no capabilities, no-new-privileges, pids/memory/cpu limits, restart unless-stopped, uid 1000,
 * a read-only root filesystem with a /tmp tmpfs. Host network → the gateway listens on 127.0.0.1:<port> of the
 * host; bridge → nothing is published, the core reaches it through the exec relay.
 * Labels carry ids and hashes only; secrets travel in `Env` (the API's equivalent of --env-file), never in
 * labels or the command. The spec hash is keyed with the gateway token so a low-entropy secret cannot be
 * guessed offline from `docker inspect`.
 */
export function buildContainerSpec(input: ContainerSpecInput): Dockerode.ContainerCreateOptions & { name: string } {
  const { bot } = input;
  const target = bot.target;
  const env = { ...input.env, ...managedEnv() };
  const binds = [`${input.hostStateDir}:${CONTAINER_STATE_DIR}:rw`];
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

  const key = input.env[GATEWAY_TOKEN_ENV] ?? "";
  const specHash = createHmac("sha256", key).update(canonicalJson(spec)).digest("hex");
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
