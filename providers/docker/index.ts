/**
 * The Docker provider: one container per bot on a Docker engine (the local socket by default).
 *
 * The container follows the official image's contract — user `node` (uid 1000), state in /home/node/.openclaw
 * (a 0700 host dir `<rootDir>/<workspaceId>/<name>` bind-mounted there), WORKDIR /app — with OpenClaw's own fleet
 * hardening (see `buildContainerSpec`). The gateway binds loopback: with `network: host` Molthub reaches it on the
 * host's 127.0.0.1 directly; with `network: bridge` nothing is published and `endpoint()` opens an exec relay, so
 * either way the gateway sees a loopback client and no device pairing is needed.
 *
 * Containers carry ownership labels (`molthub.managed`, `molthub.bot-id`, …) and the provider acts only on
 * containers whose labels say they are this bot's. Secrets reach the container only as its environment, read
 * from the bot's 0600 env file; labels carry ids and hashes, the command carries none.
 *
 * Test/offline mode (`openclawMount`): any plain Node image runs OpenClaw from an npm install mounted read-only
 * at /app/node_modules (`node /app/node_modules/openclaw/openclaw.mjs gateway run`).
 *
 * @example
 * const docker = new DockerProvider({ rootDir: "/var/lib/molthub/bots" });
 * await docker.ensure(bot, signal); await docker.configure(bot, signal); await docker.start(bot, signal);
 * const ep = await docker.endpoint(bot, signal); // ws://127.0.0.1:<port>
 */
import { chmodSync, chownSync, existsSync, lstatSync, mkdirSync, readFileSync, realpathSync, renameSync, rmSync, unlinkSync, writeFileSync } from "node:fs";
import { randomBytes } from "node:crypto";
import { dirname, join, relative, resolve, sep } from "node:path";
import Dockerode from "dockerode";
import { VERSION_RE } from "../../src/domain/manifest.ts";
import { layoutFor, renderEnvFile, type BotLayout } from "../../src/domain/openclaw-config.ts";
import { abortable, ProviderError, type BotRef, type BotRuntime, type Endpoint, type ObservedState, type Provider, type ProviderCapabilities } from "../provider.ts";
import { containerLogs, followFile } from "./logs.ts";
import { startExecRelay } from "./relay.ts";
import {
  assertPathSegment,
  buildContainerSpec,
  containerName,
  CONTAINER_GID,
  CONTAINER_STATE_DIR,
  CONTAINER_UID,
  imagePinProblem,
  LABELS,
  openclawEntry,
  parseEnvFile,
  versionCacheKey,
  type DockerTarget,
} from "./spec.ts";
import { FrameDemuxer } from "./stream.ts";

export { buildContainerSpec, containerName, imagePinProblem, parseImageRef, parseMemory, LABELS } from "./spec.ts";
export { startExecRelay, RELAY_PROGRAM } from "./relay.ts";

export interface DockerProviderLogger {
  debug(msg: string, fields?: Record<string, unknown>): void;
  info(msg: string, fields?: Record<string, unknown>): void;
  warn(msg: string, fields?: Record<string, unknown>): void;
}

const quiet: DockerProviderLogger = { debug() {}, info() {}, warn() {} };

export interface DockerProviderOptions {
  /** default: `new Dockerode()` (the local socket) */
  docker?: Dockerode;
  /** host dir for bot state: `<rootDir>/<workspaceId>/<name>` */
  rootDir: string;
  /** accept `:latest`, missing and floating tags (development only) */
  allowLatest?: boolean;
  /** a resolv.conf mounted read-only into every container (tests: a DNS sinkhole) */
  resolvConf?: string;
  /** test/offline mode: run the given (plain Node) image with this OpenClaw npm install mounted read-only */
  openclawMount?: { hostNodeModulesDir: string };
  /** "auto": direct for host-network containers, relay otherwise; "always": relay even in host mode */
  relay?: "auto" | "always";
  /** default true */
  readonlyRootfs?: boolean;
  /** how long a pull may take; default 10 min */
  pullTimeoutMs?: number;
  /** grace before SIGKILL when start()/destroy() must stop a container themselves; default 30 s */
  stopTimeoutMs?: number;
  logger?: DockerProviderLogger;
}

type ContainerInfo = Dockerode.ContainerInspectInfo;

function statusOf(e: unknown): number | undefined {
  return (e as { statusCode?: number } | null)?.statusCode;
}

function messageOf(e: unknown): string {
  const err = e as { json?: { message?: string }; message?: string } | null;
  return (err?.json?.message ?? err?.message ?? String(e)).trim();
}

/** Atomic write (temp file + rename) with a mode and optionally an owner. */
function writeFileAtomic(path: string, content: string, mode: number, owner?: { uid: number; gid: number }): void {
  const tmp = `${path}.tmp-${process.pid}-${randomBytes(4).toString("hex")}`;
  try {
    writeFileSync(tmp, content, { mode, flag: "wx" });
    chmodSync(tmp, mode);
    if (owner) chownSync(tmp, owner.uid, owner.gid);
    renameSync(tmp, path);
  } catch (e) {
    try {
      unlinkSync(tmp);
    } catch {
      /* already gone */
    }
    throw e;
  }
}

export class DockerProvider implements Provider {
  readonly kind = "docker" as const;
  readonly capabilities: ProviderCapabilities = { validate: false, logs: true, followLogs: true, survivesControlPlane: true };

  private readonly docker: Dockerode;
  private readonly rootDir: string;
  private readonly log: DockerProviderLogger;
  private readonly versions = new Map<string, string>();

  constructor(private readonly opts: DockerProviderOptions) {
    this.docker = opts.docker ?? new Dockerode();
    this.rootDir = resolve(opts.rootDir);
    this.log = opts.logger ?? quiet;
  }

  // ------------------------------------------------------------------------------------------ layout

  /** Paths as the gateway sees them, inside the container (the official image's state dir). */
  layout(_bot: BotRef): BotLayout {
    return layoutFor(CONTAINER_STATE_DIR);
  }

  /** The bot's state dir on the Docker host. */
  hostDir(bot: Pick<BotRef, "workspaceId" | "name">): string {
    try {
      assertPathSegment("workspace id", bot.workspaceId);
      assertPathSegment("bot name", bot.name);
    } catch (e) {
      throw new ProviderError((e as Error).message, "invalid_config");
    }
    return join(this.rootDir, bot.workspaceId, bot.name);
  }

  /** A container path under the state dir mapped to the host dir (e.g. the log file). */
  private hostPath(bot: BotRef, containerPath: string): string {
    const rel = relative(CONTAINER_STATE_DIR, containerPath);
    if (rel.startsWith("..") || rel.startsWith(sep)) throw new ProviderError(`${containerPath} is outside the state dir ${CONTAINER_STATE_DIR}`, "invalid_config");
    return join(this.hostDir(bot), rel);
  }

  // ------------------------------------------------------------------------------------------ ensure

  async ensure(bot: BotRuntime, signal: AbortSignal): Promise<void> {
    const target = this.target(bot);
    this.assertPinned(target.image);
    await this.ping(signal);
    if (this.opts.openclawMount) {
      const entry = join(this.opts.openclawMount.hostNodeModulesDir, "openclaw", "openclaw.mjs");
      if (!existsSync(entry)) {
        throw new ProviderError(`no OpenClaw install at ${this.opts.openclawMount.hostNodeModulesDir} (missing openclaw/openclaw.mjs); install it there or drop openclawMount to use the official image`, "not_found");
      }
    }
    if (this.opts.resolvConf && !existsSync(this.opts.resolvConf)) {
      throw new ProviderError(`the resolv.conf to mount (${this.opts.resolvConf}) does not exist`, "invalid_config");
    }
    const present = await abortable(this.docker.getImage(target.image).inspect(), signal).then(() => true, (e) => {
      if (statusOf(e) === 404) return false;
      throw new ProviderError(`could not inspect image ${target.image}: ${messageOf(e)}`, "unreachable");
    });
    if (present) return;
    this.log.info("pulling image", { image: target.image });
    try {
      await this.pull(target.image, signal);
    } catch (e) {
      if (signal.aborted) throw e;
      throw new ProviderError(`image ${target.image} is not available locally and could not be pulled: ${messageOf(e)}; load it with docker load (docker save on a machine that has it) or make its registry reachable`, "not_found");
    }
  }

  private async pull(image: string, signal: AbortSignal): Promise<void> {
    const timeoutMs = this.opts.pullTimeoutMs ?? 600_000;
    const ctl = new AbortController();
    const onAbort = () => ctl.abort(signal.reason);
    signal.addEventListener("abort", onAbort, { once: true });
    const timer = setTimeout(() => ctl.abort(new Error(`timed out after ${Math.round(timeoutMs / 1000)} s`)), timeoutMs);
    try {
      const stream = (await abortable(this.docker.pull(image, { abortSignal: ctl.signal }), ctl.signal)) as NodeJS.ReadableStream;
      const events = await abortable(
        new Promise<{ error?: string; errorDetail?: { message?: string } }[]>((res, rej) => this.docker.modem.followProgress(stream, (err: Error | null, out: { error?: string; errorDetail?: { message?: string } }[]) => (err ? rej(err) : res(out)))),
        ctl.signal,
      );
      const failed = events.find((ev) => ev.error || ev.errorDetail);
      if (failed) throw new Error(failed.errorDetail?.message ?? failed.error ?? "pull failed");
      await this.docker.getImage(image).inspect();
    } catch (e) {
      if (ctl.signal.aborted && !signal.aborted) throw new Error(String((ctl.signal.reason as Error)?.message ?? "pull timed out"));
      throw e;
    } finally {
      clearTimeout(timer);
      signal.removeEventListener("abort", onAbort);
    }
  }

  // ------------------------------------------------------------------------------------------ configure

  async configure(bot: BotRuntime, signal: AbortSignal): Promise<void> {
    if (signal.aborted) throw new ProviderError("cancelled before configure", "timeout");
    this.assertPinned(this.target(bot).image);
    for (const [k, v] of Object.entries(bot.env)) {
      if (/[\r\n\0]/.test(v) || /[=\s]/.test(k)) throw new ProviderError(`the environment entry ${k} cannot be written to an env file (line break, NUL or bad name)`, "invalid_config");
    }
    const dir = this.hostDir(bot);
    const layout = this.layout(bot);
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    chmodSync(dir, 0o700);
    const owner = this.containerOwner();
    if (owner) chownSync(dir, owner.uid, owner.gid);
    writeFileAtomic(this.hostPath(bot, layout.configPath), `${JSON.stringify(bot.config, null, 2)}\n`, 0o600, owner);
    // The env file stays owned by the appliance: the container gets its values through the API, not the file.
    writeFileAtomic(this.hostPath(bot, layout.envFile), renderEnvFile(bot.env), 0o600);
  }

  /** uid/gid 1000 when we may chown (root); otherwise the files stay ours (rootless setups map ids themselves). */
  private containerOwner(): { uid: number; gid: number } | undefined {
    if (process.getuid?.() === 0) return { uid: CONTAINER_UID, gid: CONTAINER_GID };
    if (process.getuid?.() !== CONTAINER_UID) this.log.warn("not running as root: the bot's state dir is not chowned to uid 1000, the gateway may be unable to write it");
    return undefined;
  }

  private readEnvFile(bot: BotRef): Record<string, string> {
    const path = this.hostPath(bot, this.layout(bot).envFile);
    let text: string;
    try {
      text = readFileSync(path, "utf8");
    } catch {
      throw new ProviderError(`the env file ${path} is missing; configure() must run before start()`, "not_found");
    }
    try {
      return parseEnvFile(text);
    } catch (e) {
      throw new ProviderError(`${path}: ${(e as Error).message}`, "invalid_config");
    }
  }

  // ------------------------------------------------------------------------------------------ start / stop

  async start(bot: BotRuntime, signal: AbortSignal): Promise<void> {
    const target = this.target(bot);
    this.assertPinned(target.image);
    const spec = buildContainerSpec({
      bot: { ...bot, target },
      configHash: bot.configHash,
      env: this.readEnvFile(bot),
      hostStateDir: this.hostDir(bot),
      resolvConf: this.opts.resolvConf,
      openclawMount: this.opts.openclawMount,
      readonlyRootfs: this.opts.readonlyRootfs,
    });
    let info = await this.inspectOwned(bot, signal);
    if (info && info.Config.Labels?.[LABELS.specHash] !== spec.Labels![LABELS.specHash]) {
      // image, resources, network or environment changed: the container must be replaced (config changes are
      // hot-applied over RPC and never get here)
      this.log.info("recreating the container: its image, resources or environment changed", { bot: bot.name, container: info.Id.slice(0, 12) });
      await this.stopContainer(info, this.opts.stopTimeoutMs ?? 30_000, signal);
      await abortable(this.docker.getContainer(info.Id).remove({ v: true }), signal).catch((e) => {
        if (statusOf(e) !== 404) throw new ProviderError(`could not remove the old container ${spec.name}: ${messageOf(e)}`);
      });
      info = null;
    }
    let id = info?.Id;
    if (!id) {
      try {
        const created = await abortable(this.docker.createContainer(spec), signal);
        id = created.id;
      } catch (e) {
        if (statusOf(e) === 409) throw new ProviderError(`a container named ${spec.name} already exists (created concurrently or not Molthub's); retry, or remove it if it is not a bot`, "failed");
        if (statusOf(e) === 404) throw new ProviderError(`image ${target.image} is not on the Docker host; run ensure (or docker load it)`, "not_found");
        throw new ProviderError(`could not create container ${spec.name}: ${messageOf(e)}`, "failed");
      }
    }
    if (info?.State.Running) return;
    try {
      await abortable(this.docker.getContainer(id).start(), signal);
    } catch (e) {
      if (statusOf(e) === 304) return; // already started
      throw new ProviderError(`could not start container ${spec.name}: ${messageOf(e)}`, "failed");
    }
  }

  async stop(bot: BotRef, opts: { deadlineMs: number }, signal: AbortSignal): Promise<void> {
    const info = await this.inspectOwned(bot, signal);
    if (!info) return;
    await this.stopContainer(info, opts.deadlineMs, signal);
  }

  /** SIGTERM, then Docker's own SIGKILL after `deadlineMs`. Idempotent. */
  private async stopContainer(info: ContainerInfo, deadlineMs: number, signal: AbortSignal): Promise<void> {
    if (!info.State.Running && !info.State.Restarting && !info.State.Paused) return;
    const t = Math.max(0, Math.ceil(deadlineMs / 1000));
    try {
      await abortable(this.docker.getContainer(info.Id).stop({ t }), signal);
    } catch (e) {
      const status = statusOf(e);
      if (status === 304 || status === 404) return;
      throw e instanceof ProviderError ? e : new ProviderError(`could not stop container ${info.Name.replace(/^\//, "")}: ${messageOf(e)}`, "failed");
    }
  }

  // ------------------------------------------------------------------------------------------ observe

  async observe(bot: BotRef, signal: AbortSignal): Promise<ObservedState> {
    const name = containerName(bot);
    const info = await this.inspect(name, signal);
    if (!info) return { exists: false, running: false };
    if (!this.owns(info, bot)) {
      return { exists: false, running: false, detail: `a container named ${name} exists but is not Molthub's container for this bot; rename or remove it` };
    }
    const st = info.State;
    const finished = !st.Running && !!st.FinishedAt && !st.FinishedAt.startsWith("0001-");
    return {
      exists: true,
      running: st.Running,
      containerId: info.Id,
      exitCode: finished ? st.ExitCode : undefined,
      detail: st.Restarting ? "restarting" : st.Status,
      openclawVersion: await this.openclawVersion(info, signal),
    };
  }

  /** From the image's OCI version label, else `openclaw --version` in the running container; cached per image. */
  private async openclawVersion(info: ContainerInfo, signal: AbortSignal): Promise<string | undefined> {
    const key = versionCacheKey(info.Image, this.opts.openclawMount);
    const cached = this.versions.get(key);
    if (cached) return cached;
    try {
      let version: string | undefined;
      if (!this.opts.openclawMount) {
        const image = await abortable(this.docker.getImage(info.Image).inspect(), signal);
        const label = image.Config?.Labels?.["org.opencontainers.image.version"];
        if (label && VERSION_RE.test(label)) version = label;
      }
      if (!version && info.State.Running) {
        const out = await this.execOutput(info.Id, [...openclawEntry(this.opts.openclawMount), "--version"], 30_000, signal);
        version = /\b(\d{4}\.\d{1,2}\.\d{1,2}(?:-[0-9A-Za-z.]+)?)\b/.exec(out)?.[1];
      }
      if (version) this.versions.set(key, version);
      return version;
    } catch (e) {
      this.log.debug("could not read the OpenClaw version", { container: info.Id.slice(0, 12), err: messageOf(e) });
      return undefined;
    }
  }

  /** Runs a command in the container and returns its stdout+stderr (bounded by `timeoutMs`). */
  private async execOutput(containerId: string, cmd: string[], timeoutMs: number, signal: AbortSignal): Promise<string> {
    const exec = await abortable(this.docker.getContainer(containerId).exec({ Cmd: cmd, AttachStdout: true, AttachStderr: true, Tty: false }), signal);
    const stream = await abortable(exec.start({ hijack: true, stdin: false }), signal);
    const chunks: Buffer[] = [];
    const demux = new FrameDemuxer((_k, p) => chunks.push(Buffer.from(p)));
    try {
      await abortable(
        new Promise<void>((res, rej) => {
          const timer = setTimeout(() => rej(new Error(`${cmd.join(" ")} took longer than ${timeoutMs / 1000} s`)), timeoutMs);
          stream.on("data", (c: Buffer) => demux.push(c));
          stream.on("end", () => (clearTimeout(timer), res()));
          stream.on("close", () => (clearTimeout(timer), res()));
          stream.on("error", (e) => (clearTimeout(timer), rej(e)));
        }),
        signal,
      );
    } finally {
      stream.destroy();
    }
    return Buffer.concat(chunks).toString("utf8");
  }

  // ------------------------------------------------------------------------------------------ logs

  async *logs(bot: BotRef, opts: { follow: boolean; tail?: number }, signal: AbortSignal): AsyncIterable<string> {
    const file = this.hostPath(bot, this.layout(bot).logFile);
    if (existsSync(file)) {
      yield* followFile(file, opts, signal);
      return;
    }
    const info = await this.inspectOwned(bot, signal);
    if (!info) throw new ProviderError(`bot ${bot.name} has no container and no log file yet`, "not_found");
    yield* containerLogs(this.docker.getContainer(info.Id), opts, signal);
  }

  // ------------------------------------------------------------------------------------------ destroy

  async destroy(bot: BotRef, opts: { purge: boolean }, signal: AbortSignal): Promise<void> {
    // by label as well as by name: a leftover from an interrupted recreate still carries the bot id
    const listed = await abortable(
      this.docker.listContainers({ all: true, filters: { label: [`${LABELS.managed}=true`, `${LABELS.botId}=${bot.id}`] } }),
      signal,
    ).catch((e) => {
      throw new ProviderError(`cannot reach the Docker engine: ${messageOf(e)}`, "unreachable");
    });
    const ids = new Set(listed.map((c) => c.Id));
    const named = await this.inspect(containerName(bot), signal);
    if (named && this.owns(named, bot)) ids.add(named.Id);
    else if (named) this.log.warn("leaving a container that has this bot's name but is not Molthub's", { container: named.Id.slice(0, 12) });
    for (const id of ids) {
      const info = await this.inspect(id, signal);
      if (!info || !this.owns(info, bot)) continue;
      await this.stopContainer(info, this.opts.stopTimeoutMs ?? 30_000, signal);
      await abortable(this.docker.getContainer(id).remove({ v: true, force: true }), signal).catch((e) => {
        if (statusOf(e) !== 404) throw new ProviderError(`could not remove container ${id.slice(0, 12)}: ${messageOf(e)}`, "failed");
      });
    }
    if (opts.purge) this.purgeHostDir(bot);
  }

  /** Removes `<rootDir>/<workspaceId>/<name>` after checking it is that exact leaf and not a symlink. */
  private purgeHostDir(bot: BotRef): void {
    const dir = this.hostDir(bot);
    if (!existsSync(dir)) return;
    const st = lstatSync(dir);
    if (st.isSymbolicLink() || !st.isDirectory()) throw new ProviderError(`refusing to purge ${dir}: it is not a plain directory`, "failed");
    const real = realpathSync(dir);
    const root = realpathSync(this.rootDir);
    if (dirname(dirname(real)) !== root) throw new ProviderError(`refusing to purge ${dir}: it resolves outside ${root}`, "failed");
    rmSync(dir, { recursive: true, force: true });
  }

  // ------------------------------------------------------------------------------------------ endpoint

  async endpoint(bot: BotRef, signal: AbortSignal): Promise<Endpoint> {
    const info = await this.inspectOwned(bot, signal);
    if (!info) throw new ProviderError(`bot ${bot.name} has no container (${containerName(bot)}); start it first`, "not_found");
    const mode = info.HostConfig.NetworkMode;
    if ((this.opts.relay ?? "auto") === "auto" && mode === "host") {
      return { wsUrl: `ws://127.0.0.1:${bot.port}`, httpUrl: `http://127.0.0.1:${bot.port}`, close: async () => {} };
    }
    const relay = await startExecRelay({ container: this.docker.getContainer(info.Id), targetPort: bot.port, logger: this.log });
    return { wsUrl: `ws://127.0.0.1:${relay.port}`, httpUrl: `http://127.0.0.1:${relay.port}`, close: () => relay.close() };
  }

  // ------------------------------------------------------------------------------------------ helpers

  private target(bot: BotRef): DockerTarget {
    if (bot.target.provider !== "docker") throw new ProviderError(`bot ${bot.name} targets ${bot.target.provider}, not docker`, "invalid_config");
    return bot.target;
  }

  private assertPinned(image: string): void {
    if (this.opts.allowLatest) return;
    const problem = imagePinProblem(image);
    if (problem) throw new ProviderError(`image not pinned: ${problem}`, "invalid_config", [{ path: "spec.target.image", message: problem }]);
  }

  private async ping(signal: AbortSignal): Promise<void> {
    try {
      await abortable(this.docker.ping(), signal);
    } catch (e) {
      if (e instanceof ProviderError) throw e;
      throw new ProviderError(`cannot reach the Docker engine: ${messageOf(e)}; is dockerd running and is its socket readable by Molthub?`, "unreachable");
    }
  }

  private owns(info: ContainerInfo, bot: BotRef): boolean {
    const labels = info.Config.Labels ?? {};
    return labels[LABELS.managed] === "true" && labels[LABELS.botId] === bot.id;
  }

  /** null when no such container. */
  private async inspect(nameOrId: string, signal: AbortSignal): Promise<ContainerInfo | null> {
    try {
      return await abortable(this.docker.getContainer(nameOrId).inspect(), signal);
    } catch (e) {
      if (statusOf(e) === 404) return null;
      if (e instanceof ProviderError) throw e;
      throw new ProviderError(`cannot inspect container ${nameOrId}: ${messageOf(e)}`, "unreachable");
    }
  }

  /** The bot's container, null when there is none; refuses a foreign container that took the name. */
  private async inspectOwned(bot: BotRef, signal: AbortSignal): Promise<ContainerInfo | null> {
    const name = containerName(bot);
    const info = await this.inspect(name, signal);
    if (info && !this.owns(info, bot)) {
      throw new ProviderError(`a container named ${name} exists but is not Molthub's container for bot ${bot.name} (its labels differ); rename or remove it, Molthub will not touch it`, "failed");
    }
    return info;
  }
}
