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
 * containers whose labels say they are this bot's. Secrets reach the container only as a file: the bot's 0600 env
 * file (owned by uid 1000), bound read-only and loaded by a launcher that execs the gateway (spec.ts), so no field of
 * `docker inspect` — Env, Cmd, labels, mounts — carries one (docs/decisions/0010-secrets-as-files.md).
 *
 * Test/offline mode (`openclawMount`): any plain Node image runs OpenClaw from an npm install mounted read-only
 * at /app/node_modules (`node /app/node_modules/openclaw/openclaw.mjs gateway run`).
 *
 * Remote engines (`spec.target.host`, with `hosts`): the Docker engine of a registered SSH host, reached through a
 * pool forward to its /var/run/docker.sock (engine.ts). The bot's state dir, env file and config are then written
 * on that host over SFTP (under `<remote base>/docker`), bind mounts and `resolvConf`/`openclawMount` paths are
 * the host's, and the endpoint of a host-network container is a pool forward to its loopback port (the exec relay
 * still serves bridge containers, through the same engine API).
 *
 * The module declaration (kind, target schema, capabilities, layout) is ./index.ts; this file (and dockerode with
 * it) is loaded on first use.
 *
 * @example
 * const docker = new DockerProvider({ rootDir: "/var/lib/molthub/bots" });
 * await docker.ensure(bot, signal); await docker.configure(bot, signal); await docker.start(bot, signal);
 * const ep = await docker.endpoint(bot, signal); // ws://127.0.0.1:<port>
 */
import { relative, resolve, sep } from "node:path";
import Dockerode from "dockerode";
import { VERSION_RE } from "../../src/domain/names.ts";
import { type BotLayout, renderEnvFile } from "../../src/domain/openclaw-config.ts";
import type { HostAccess, HostInfo } from "../../src/hosts/host-access.ts";
import { assertPort, assertSafePath } from "../checks.ts";
import { parseEnvFile } from "../env-file.ts";
import { RecentProofs } from "../guarded-endpoint.ts";
import {
  abortable,
  type BotRef,
  type BotRuntime,
  type Endpoint,
  type ObservedState,
  type Provider,
  ProviderError,
} from "../provider.ts";
import { toProviderError } from "../ssh/errors.ts";
import { BotForwards } from "../ssh/forwards.ts";
import type { RemotePool } from "../ssh/remote-host.ts";
import {
  defaultRemoteRoot,
  type EngineFiles,
  localFiles,
  type RemoteEngineFactory,
  RemoteEngines,
  remoteFiles,
} from "./engine.ts";
import { dockerLayout, docker as dockerModule } from "./index.ts";
import { containerExitCause, enginePortFree, hostNetworkEndpoint } from "./listener.ts";
import { containerLogs } from "./logs.ts";
import { startExecRelay } from "./relay.ts";
import {
  assertPathSegment,
  buildContainerSpec,
  CONTAINER_STATE_DIR,
  containerEnv,
  containerName,
  type DockerTarget,
  imagePinProblem,
  LABELS,
  openclawEntry,
  versionCacheKey,
} from "./spec.ts";
import { FrameDemuxer } from "./stream.ts";

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
  /** registered SSH hosts: enables `spec.target.host` (that host's Docker engine, over the shared pool) */
  hosts?: HostAccess;
  /** a remote host's state root (default `<remote base>/docker`: /var/lib/molthub/docker as root, ~/.molthub/docker otherwise) */
  remoteRootDir?: (host: HostInfo) => string;
  /** the Docker socket on remote hosts (default /var/run/docker.sock) */
  remoteSocketPath?: string;
  /** makes a remote engine's client from its forward (default: dockerode over HTTP to the forward's loopback port) */
  remoteEngine?: RemoteEngineFactory;
  /** deadline of one SSH command or SFTP transfer on a remote host; default 30 s */
  remoteCommandTimeoutMs?: number;
}

/** One Docker engine and the disk its bind mounts resolve on. */
interface Engine {
  docker: Dockerode;
  files: EngineFiles;
  /** state root on the engine's machine */
  rootDir: string;
  /** for messages: "the local Docker engine", "the Docker engine on host nas" */
  name: string;
  /** set for the engine of a registered host */
  host?: HostInfo;
}

type ContainerInfo = Dockerode.ContainerInspectInfo;

function statusOf(e: unknown): number | undefined {
  return (e as { statusCode?: number } | null)?.statusCode;
}

function messageOf(e: unknown): string {
  const err = e as { json?: { message?: string }; message?: string } | null;
  return (err?.json?.message ?? err?.message ?? String(e)).trim();
}

export class DockerProvider implements Provider {
  readonly kind = "docker" as const;
  readonly capabilities = dockerModule.capabilities;

  private readonly docker: Dockerode;
  private readonly rootDir: string;
  private readonly log: DockerProviderLogger;
  private readonly versions = new Map<string, string>();
  private readonly local: Engine;
  /** remote engines by pool id (created on first use) */
  private readonly remotes?: RemoteEngines;
  /** remote files per host login (caches the login's uid) */
  private readonly remoteDisks = new Map<string, EngineFiles>();
  /** one SSH forward per remote host-network bot (by bot id), kept until destroy */
  private readonly forwards = new BotForwards();
  /** recent proofs that a host-network bot's port is its container's */
  private readonly proofs = new RecentProofs();

  constructor(private readonly opts: DockerProviderOptions) {
    this.docker = opts.docker ?? new Dockerode();
    this.rootDir = resolve(opts.rootDir);
    this.log = opts.logger ?? quiet;
    this.local = { docker: this.docker, files: localFiles(this.log), rootDir: this.rootDir, name: "the local Docker engine" };
    if (opts.hosts)
      this.remotes = new RemoteEngines(opts.hosts.pool as RemotePool, {
        socketPath: opts.remoteSocketPath,
        factory: opts.remoteEngine,
      });
  }

  // ------------------------------------------------------------------------------------------ engines

  /** The bot's engine: the local one, or (with `spec.target.host`) the registered host's, reached over SSH. */
  private async engine(bot: BotRef): Promise<Engine> {
    const target = this.target(bot);
    if (!target.host) return this.local;
    const hosts = this.opts.hosts;
    if (!hosts || !this.remotes) {
      throw new ProviderError(
        `bot ${bot.name} targets the Docker engine of host ${target.host}, and this appliance was started without the host registry; drop spec.target.host to use the local engine`,
        "invalid_config",
        [{ path: "spec.target.host", message: "no host registry" }],
      );
    }
    let host: HostInfo;
    try {
      host = await hosts.get(bot.workspaceId, target.host);
    } catch (e) {
      throw toProviderError(e, `host ${target.host}`);
    }
    const rootDir = (this.opts.remoteRootDir ?? defaultRemoteRoot)(host);
    try {
      assertSafePath(rootDir, `Docker state root on ${host.name}`);
    } catch (e) {
      throw new ProviderError((e as Error).message, "invalid_config");
    }
    // keyed by the login too: a host re-registered with another user gets a fresh uid check
    const diskKey = `${host.poolId}\0${host.username}\0${host.home}`;
    let files = this.remoteDisks.get(diskKey);
    if (!files) {
      files = remoteFiles({ pool: hosts.pool as RemotePool, host, log: this.log, timeoutMs: this.opts.remoteCommandTimeoutMs });
      this.remoteDisks.set(diskKey, files);
    }
    return { docker: await this.remotes.get(host), files, rootDir, name: `the Docker engine on host ${host.name}`, host };
  }

  /**
   * Close every SSH forward this provider opened (remote engines and bot endpoints); appliance shutdown. A later
   * call opens them again.
   */
  async closeAll(): Promise<void> {
    await this.forwards.closeAll();
    this.remoteDisks.clear();
    await this.remotes?.closeAll();
  }

  /** Hosts (pool ids) whose engine forward is open, and the bots with an endpoint forward. */
  openForwards(): { engines: string[]; endpoints: string[] } {
    return { engines: this.remotes?.open() ?? [], endpoints: this.forwards.ids() };
  }

  // ------------------------------------------------------------------------------------------ layout

  /** Paths as the gateway sees them, inside the container (the official image's state dir). */
  layout(_bot: BotRef): BotLayout {
    return dockerLayout();
  }

  /** The bot's state dir on the (local) Docker host. */
  hostDir(bot: Pick<BotRef, "workspaceId" | "name">): string {
    return this.dirOn(this.local, bot);
  }

  /** The bot's state dir on the machine of `eng`. */
  private dirOn(eng: Engine, bot: Pick<BotRef, "workspaceId" | "name">): string {
    try {
      assertPathSegment("workspace id", bot.workspaceId);
      assertPathSegment("bot name", bot.name);
    } catch (e) {
      throw new ProviderError((e as Error).message, "invalid_config");
    }
    return eng.files.join(eng.rootDir, bot.workspaceId, bot.name);
  }

  /** A container path under the state dir mapped to the host dir (e.g. the log file). */
  private hostPath(eng: Engine, bot: BotRef, containerPath: string): string {
    const rel = relative(CONTAINER_STATE_DIR, containerPath);
    if (rel.startsWith("..") || rel.startsWith(sep))
      throw new ProviderError(`${containerPath} is outside the state dir ${CONTAINER_STATE_DIR}`, "invalid_config");
    return eng.files.join(this.dirOn(eng, bot), rel);
  }

  // ------------------------------------------------------------------------------------------ ensure

  async ensure(bot: BotRuntime, signal: AbortSignal): Promise<void> {
    const target = this.target(bot);
    this.assertPinned(target.image);
    const eng = await this.engine(bot);
    await this.ping(eng, signal);
    const on = eng.host ? ` on host ${eng.host.name}` : "";
    if (this.opts.openclawMount) {
      const entry = eng.files.join(this.opts.openclawMount.hostNodeModulesDir, "openclaw", "openclaw.mjs");
      if (!(await eng.files.exists(entry, signal))) {
        throw new ProviderError(
          `no OpenClaw install at ${this.opts.openclawMount.hostNodeModulesDir}${on} (missing openclaw/openclaw.mjs); install it there or drop openclawMount to use the official image`,
          "not_found",
        );
      }
    }
    if (this.opts.resolvConf && !(await eng.files.exists(this.opts.resolvConf, signal))) {
      throw new ProviderError(`the resolv.conf to mount (${this.opts.resolvConf}) does not exist${on}`, "invalid_config");
    }
    const present = await abortable(eng.docker.getImage(target.image).inspect(), signal).then(
      () => true,
      (e) => {
        if (e instanceof ProviderError) throw e;
        if (statusOf(e) === 404) return false;
        throw new ProviderError(`could not inspect image ${target.image}${on}: ${messageOf(e)}`, "unreachable");
      },
    );
    if (present) return;
    this.log.info("pulling image", { image: target.image, ...(eng.host ? { host: eng.host.name } : {}) });
    try {
      await this.pull(eng.docker, target.image, signal);
    } catch (e) {
      if (signal.aborted) throw e;
      throw new ProviderError(
        `image ${target.image} is not available ${eng.host ? `on host ${eng.host.name}` : "locally"} and could not be pulled: ${messageOf(e)}; load it with docker load (docker save on a machine that has it) or make its registry reachable`,
        "not_found",
      );
    }
  }

  private async pull(docker: Dockerode, image: string, signal: AbortSignal): Promise<void> {
    const timeoutMs = this.opts.pullTimeoutMs ?? 600_000;
    const ctl = new AbortController();
    const onAbort = () => ctl.abort(signal.reason);
    signal.addEventListener("abort", onAbort, { once: true });
    const timer = setTimeout(() => ctl.abort(new Error(`timed out after ${Math.round(timeoutMs / 1000)} s`)), timeoutMs);
    try {
      const stream = (await abortable(docker.pull(image, { abortSignal: ctl.signal }), ctl.signal)) as NodeJS.ReadableStream;
      const events = await abortable(
        new Promise<{ error?: string; errorDetail?: { message?: string } }[]>((res, rej) =>
          docker.modem.followProgress(
            stream,
            (err: Error | null, out: { error?: string; errorDetail?: { message?: string } }[]) => (err ? rej(err) : res(out)),
          ),
        ),
        ctl.signal,
      );
      const failed = events.find((ev) => ev.error || ev.errorDetail);
      if (failed) throw new Error(failed.errorDetail?.message ?? failed.error ?? "pull failed");
      await docker.getImage(image).inspect();
    } catch (e) {
      if (ctl.signal.aborted && !signal.aborted)
        throw new Error(String((ctl.signal.reason as Error)?.message ?? "pull timed out"));
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
      if (/[\r\n\0]/.test(v) || /[=\s]/.test(k))
        throw new ProviderError(
          `the environment entry ${k} cannot be written to an env file (line break, NUL or bad name)`,
          "invalid_config",
        );
    }
    const eng = await this.engine(bot);
    const dir = this.dirOn(eng, bot);
    const layout = this.layout(bot);
    // uid/gid 1000 when we may chown (root); otherwise the files stay ours (rootless setups map ids themselves)
    const owner = await eng.files.containerOwner(signal);
    await eng.files.ensurePrivateDir(dir, owner, signal);
    await eng.files.writeAtomic(
      this.hostPath(eng, bot, layout.configPath),
      `${JSON.stringify(bot.config, null, 2)}\n`,
      0o600,
      owner,
      signal,
    );
    // The env file is the only way secrets reach the container (bound read-only, loaded by the launcher), so it is
    // the container user's, 0600, in the 0700 state dir: no other account on the Docker host can read it. The
    // container paths are written over the bot's own entries: they win, as in the container's Env.
    await eng.files.writeAtomic(
      this.hostPath(eng, bot, layout.envFile),
      renderEnvFile({ ...bot.env, ...containerEnv() }),
      0o600,
      owner,
      signal,
    );
  }

  private async readEnvFile(eng: Engine, bot: BotRef, signal: AbortSignal): Promise<Record<string, string>> {
    const path = this.hostPath(eng, bot, this.layout(bot).envFile);
    const text = await eng.files.readText(path, signal);
    if (text === null) {
      throw new ProviderError(
        `the env file ${path}${eng.host ? ` on host ${eng.host.name}` : ""} is missing; configure() must run before start()`,
        "not_found",
      );
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
    const eng = await this.engine(bot);
    const docker = eng.docker;
    // read back only to refuse a missing or hand-edited file here rather than in the container; its values stay out of the spec
    await this.readEnvFile(eng, bot, signal);
    const spec = buildContainerSpec({
      bot: { ...bot, target },
      configHash: bot.configHash,
      hostStateDir: this.dirOn(eng, bot),
      hostEnvFile: this.hostPath(eng, bot, this.layout(bot).envFile),
      resolvConf: this.opts.resolvConf,
      openclawMount: this.opts.openclawMount,
      readonlyRootfs: this.opts.readonlyRootfs,
    });
    let info = await this.inspectOwned(eng, bot, signal);
    if (info && info.Config.Labels?.[LABELS.specHash] !== spec.Labels![LABELS.specHash]) {
      // image, resources, network or command changed: the container must be replaced (config changes are
      // hot-applied over RPC and never get here; a new env file only needs the stop + start the reconciler does)
      this.log.info("recreating the container: its image, resources, network or command changed", {
        bot: bot.name,
        container: info.Id.slice(0, 12),
      });
      await this.stopContainer(eng, info, this.opts.stopTimeoutMs ?? 30_000, signal);
      await abortable(docker.getContainer(info.Id).remove({ v: true }), signal).catch((e) => {
        if (statusOf(e) !== 404) throw new ProviderError(`could not remove the old container ${spec.name}: ${messageOf(e)}`);
      });
      info = null;
    }
    let id = info?.Id;
    if (!id) {
      try {
        const created = await abortable(docker.createContainer(spec), signal);
        id = created.id;
      } catch (e) {
        if (statusOf(e) === 409)
          throw new ProviderError(
            `a container named ${spec.name} already exists (created concurrently or not Molthub's); retry, or remove it if it is not a bot`,
            "failed",
          );
        if (e instanceof ProviderError) throw e;
        if (statusOf(e) === 404)
          throw new ProviderError(
            `image ${target.image} is not on the Docker host${eng.host ? ` ${eng.host.name}` : ""}; run ensure (or docker load it)`,
            "not_found",
          );
        throw new ProviderError(`could not create container ${spec.name}: ${messageOf(e)}`, "failed");
      }
    }
    if (info?.State.Running) return;
    try {
      await abortable(docker.getContainer(id).start(), signal);
    } catch (e) {
      if (statusOf(e) === 304) return; // already started
      throw new ProviderError(`could not start container ${spec.name}: ${messageOf(e)}`, "failed");
    }
  }

  async stop(bot: BotRef, opts: { deadlineMs: number }, signal: AbortSignal): Promise<void> {
    const eng = await this.engine(bot);
    const info = await this.inspectOwned(eng, bot, signal);
    if (!info) return;
    await this.stopContainer(eng, info, opts.deadlineMs, signal);
  }

  /** SIGTERM, then Docker's own SIGKILL after `deadlineMs`. Idempotent. */
  private async stopContainer(eng: Engine, info: ContainerInfo, deadlineMs: number, signal: AbortSignal): Promise<void> {
    if (!info.State.Running && !info.State.Restarting && !info.State.Paused) return;
    const t = Math.max(0, Math.ceil(deadlineMs / 1000));
    try {
      await abortable(eng.docker.getContainer(info.Id).stop({ t }), signal);
    } catch (e) {
      const status = statusOf(e);
      if (status === 304 || status === 404) return;
      throw e instanceof ProviderError
        ? e
        : new ProviderError(`could not stop container ${info.Name.replace(/^\//, "")}: ${messageOf(e)}`, "failed");
    }
  }

  // ------------------------------------------------------------------------------------------ observe

  async observe(bot: BotRef, signal: AbortSignal): Promise<ObservedState> {
    const eng = await this.engine(bot);
    const name = containerName(bot);
    const info = await this.inspect(eng, name, signal);
    if (!info) return { exists: false, running: false };
    if (!this.owns(info, bot)) {
      return {
        exists: false,
        running: false,
        detail: `a container named ${name} exists but is not Molthub's container for this bot; rename or remove it`,
      };
    }
    const st = info.State;
    const finished = !st.Running && !!st.FinishedAt && !st.FinishedAt.startsWith("0001-");
    return {
      exists: true,
      running: st.Running,
      containerId: info.Id,
      exitCode: finished ? st.ExitCode : undefined,
      detail: st.Restarting ? "restarting" : st.Status,
      openclawVersion: await this.openclawVersion(eng, info, signal),
    };
  }

  /** From the image's OCI version label, else `openclaw --version` in the running container; cached per image. */
  private async openclawVersion(eng: Engine, info: ContainerInfo, signal: AbortSignal): Promise<string | undefined> {
    const key = versionCacheKey(info.Image, this.opts.openclawMount);
    const cached = this.versions.get(key);
    if (cached) return cached;
    try {
      let version: string | undefined;
      if (!this.opts.openclawMount) {
        const image = await abortable(eng.docker.getImage(info.Image).inspect(), signal);
        const label = image.Config?.Labels?.["org.opencontainers.image.version"];
        if (label && VERSION_RE.test(label)) version = label;
      }
      if (!version && info.State.Running) {
        const out = await this.execOutput(eng, info.Id, [...openclawEntry(this.opts.openclawMount), "--version"], 30_000, signal);
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
  private async execOutput(
    eng: Engine,
    containerId: string,
    cmd: string[],
    timeoutMs: number,
    signal: AbortSignal,
  ): Promise<string> {
    const exec = await abortable(
      eng.docker.getContainer(containerId).exec({ Cmd: cmd, AttachStdout: true, AttachStderr: true, Tty: false }),
      signal,
    );
    const stream = await abortable(exec.start({ hijack: true, stdin: false }), signal);
    const chunks: Buffer[] = [];
    const demux = new FrameDemuxer((_k, p) => chunks.push(Buffer.from(p)));
    try {
      await abortable(
        new Promise<void>((res, rej) => {
          const timer = setTimeout(() => rej(new Error(`${cmd.join(" ")} took longer than ${timeoutMs / 1000} s`)), timeoutMs);
          stream.on("data", (c: Buffer) => demux.push(c));
          stream.on("end", () => {
            clearTimeout(timer);
            res();
          });
          stream.on("close", () => {
            clearTimeout(timer);
            res();
          });
          stream.on("error", (e) => {
            clearTimeout(timer);
            rej(e);
          });
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
    const eng = await this.engine(bot);
    const file = this.hostPath(eng, bot, this.layout(bot).logFile);
    if (await eng.files.exists(file, signal)) {
      yield* eng.files.followLog(file, opts, signal);
      return;
    }
    const info = await this.inspectOwned(eng, bot, signal);
    if (!info) throw new ProviderError(`bot ${bot.name} has no container and no log file yet`, "not_found");
    yield* containerLogs(eng.docker.getContainer(info.Id), opts, signal);
  }

  // ------------------------------------------------------------------------------------------ destroy

  async destroy(bot: BotRef, opts: { purge: boolean }, signal: AbortSignal): Promise<void> {
    const eng = await this.engine(bot);
    // by label as well as by name: a leftover from an interrupted recreate still carries the bot id
    const listed = await abortable(
      eng.docker.listContainers({ all: true, filters: { label: [`${LABELS.managed}=true`, `${LABELS.botId}=${bot.id}`] } }),
      signal,
    ).catch((e) => {
      if (e instanceof ProviderError) throw e;
      throw new ProviderError(`cannot reach ${eng.name}: ${messageOf(e)}`, "unreachable");
    });
    const ids = new Set(listed.map((c) => c.Id));
    const named = await this.inspect(eng, containerName(bot), signal);
    if (named && this.owns(named, bot)) ids.add(named.Id);
    else if (named)
      this.log.warn("leaving a container that has this bot's name but is not Molthub's", { container: named.Id.slice(0, 12) });
    for (const id of ids) {
      const info = await this.inspect(eng, id, signal);
      if (!info || !this.owns(info, bot)) continue;
      await this.stopContainer(eng, info, this.opts.stopTimeoutMs ?? 30_000, signal);
      await abortable(eng.docker.getContainer(id).remove({ v: true, force: true }), signal).catch((e) => {
        if (e instanceof ProviderError) throw e;
        if (statusOf(e) !== 404)
          throw new ProviderError(`could not remove container ${id.slice(0, 12)}: ${messageOf(e)}`, "failed");
      });
    }
    await this.forwards.close(bot.id);
    // removes `<rootDir>/<workspaceId>/<name>` after checking it is that exact leaf and not a symlink
    if (opts.purge) await eng.files.purgeDir(this.dirOn(eng, bot), eng.rootDir, signal);
  }

  // ------------------------------------------------------------------------------------------ endpoint

  async endpoint(bot: BotRef, signal: AbortSignal): Promise<Endpoint> {
    const eng = await this.engine(bot);
    const info = await this.inspectOwned(eng, bot, signal);
    if (!info) throw new ProviderError(`bot ${bot.name} has no container (${containerName(bot)}); start it first`, "not_found");
    const mode = info.HostConfig.NetworkMode;
    if (mode === "host") {
      // the host's port space: prove the listener is the container's before any connection (./listener.ts)
      const container = eng.docker.getContainer(info.Id);
      const always = this.opts.relay === "always";
      const relay = always ? await startExecRelay({ container, targetPort: bot.port, logger: this.log }) : undefined;
      const upstream = async () => {
        if (relay) return { host: "127.0.0.1", port: relay.port };
        if (!eng.host) return { host: "127.0.0.1", port: bot.port };
        assertPort(bot.port);
        return {
          host: "127.0.0.1",
          port: await this.forwards.localPort(this.opts.hosts!.pool, bot, eng.host.poolId, eng.host.name),
        };
      };
      if (eng.host && !relay) await upstream(); // open the forward now: its failure is this call's
      const ep = await hostNetworkEndpoint(
        {
          container,
          containerName: `${containerName(bot)} (${info.Id.slice(0, 12)})`,
          bot,
          hostName: eng.host?.name,
          upstream,
          proofs: this.proofs,
          mainPid: info.State.Pid,
        },
        signal,
      ).catch(async (e) => {
        await relay?.close();
        throw e;
      });
      return {
        ...ep,
        close: async () => {
          await ep.close();
          await relay?.close();
        },
      };
    }
    // bridge: the relay dials 127.0.0.1 in the container's OWN network namespace, where only the container's
    // processes can listen, so there is no foreign listener to rule out.
    // works for a remote engine too: each relayed connection is an exec through the engine API
    const relay = await startExecRelay({ container: eng.docker.getContainer(info.Id), targetPort: bot.port, logger: this.log });
    return { wsUrl: `ws://127.0.0.1:${relay.port}`, httpUrl: `http://127.0.0.1:${relay.port}`, close: () => relay.close() };
  }

  async portFree(bot: BotRef, port: number, signal: AbortSignal): Promise<boolean> {
    assertPort(port);
    const eng = await this.engine(bot);
    const info = await this.inspectOwned(eng, bot, signal);
    const hosts = this.opts.hosts;
    return enginePortFree(
      {
        port,
        network: info ? info.HostConfig.NetworkMode : this.target(bot).network,
        container: info?.State.Running ? eng.docker.getContainer(info.Id) : undefined,
        remote:
          eng.host && hosts
            ? { pool: hosts.pool as RemotePool, host: eng.host, timeoutMs: this.opts.remoteCommandTimeoutMs ?? 30_000 }
            : undefined,
      },
      signal,
    );
  }

  async exitCause(bot: BotRef, signal: AbortSignal): Promise<string | undefined> {
    const eng = await this.engine(bot);
    const info = await this.inspectOwned(eng, bot, signal);
    return info ? containerExitCause(eng.docker.getContainer(info.Id), signal) : undefined;
  }

  // ------------------------------------------------------------------------------------------ helpers

  private target(bot: BotRef): DockerTarget {
    if (bot.target.provider !== "docker")
      throw new ProviderError(`bot ${bot.name} targets ${bot.target.provider}, not docker`, "invalid_config");
    return bot.target;
  }

  private assertPinned(image: string): void {
    if (this.opts.allowLatest) return;
    const problem = imagePinProblem(image);
    if (problem)
      throw new ProviderError(`image not pinned: ${problem}`, "invalid_config", [
        { path: "spec.target.image", message: problem },
      ]);
  }

  private async ping(eng: Engine, signal: AbortSignal): Promise<void> {
    try {
      await abortable(eng.docker.ping(), signal);
    } catch (e) {
      if (e instanceof ProviderError) throw e;
      if (eng.host) throw await this.explainRemoteEngine(eng.host, e, signal);
      throw new ProviderError(
        `cannot reach the Docker engine: ${messageOf(e)}; is dockerd running and is its socket readable by Molthub?`,
        "unreachable",
      );
    }
  }

  /**
   * Why a remote engine did not answer, in words that say what to do: the SSH connection itself (unreachable, key
   * changed), no socket, a login user without access to it, or sshd refusing to forward to a unix socket.
   */
  private async explainRemoteEngine(host: HostInfo, cause: unknown, signal: AbortSignal): Promise<ProviderError> {
    const pool = this.opts.hosts!.pool as RemotePool;
    const sock = this.remotes!.socketPath;
    const timeoutMs = this.opts.remoteCommandTimeoutMs ?? 30_000;
    try {
      const exists = await pool.exec(host.poolId, ["test", "-S", sock], { timeoutMs, signal });
      if (exists.code !== 0) {
        return new ProviderError(
          `there is no Docker socket at ${sock} on host ${host.name}: install Docker there and start dockerd (\`systemctl enable --now docker\`)`,
          "unreachable",
        );
      }
      if (!host.isRoot) {
        const rw = await pool.exec(host.poolId, ["test", "-r", sock, "-a", "-w", sock], { timeoutMs, signal });
        if (rw.code !== 0) {
          return new ProviderError(
            `${host.username} on host ${host.name} may not use the Docker socket ${sock}: add it to the docker group (\`sudo usermod -aG docker ${host.username}\`) or register the host with user root`,
            "unreachable",
          );
        }
      }
    } catch (e) {
      return toProviderError(e, `the Docker engine on host ${host.name}`);
    }
    return new ProviderError(
      `cannot reach the Docker engine on host ${host.name} through SSH (${messageOf(cause)}): check that dockerd runs there and that its sshd allows forwarding to unix sockets (AllowStreamLocalForwarding yes, DisableForwarding no)`,
      "unreachable",
    );
  }

  private owns(info: ContainerInfo, bot: BotRef): boolean {
    const labels = info.Config.Labels ?? {};
    return labels[LABELS.managed] === "true" && labels[LABELS.botId] === bot.id;
  }

  /** null when no such container. */
  private async inspect(eng: Engine, nameOrId: string, signal: AbortSignal): Promise<ContainerInfo | null> {
    try {
      return await abortable(eng.docker.getContainer(nameOrId).inspect(), signal);
    } catch (e) {
      if (statusOf(e) === 404) return null;
      if (e instanceof ProviderError) throw e;
      throw new ProviderError(`cannot inspect container ${nameOrId}: ${messageOf(e)}`, "unreachable");
    }
  }

  /** The bot's container, null when there is none; refuses a foreign container that took the name. */
  private async inspectOwned(eng: Engine, bot: BotRef, signal: AbortSignal): Promise<ContainerInfo | null> {
    const name = containerName(bot);
    const info = await this.inspect(eng, name, signal);
    if (info && !this.owns(info, bot)) {
      throw new ProviderError(
        `a container named ${name} exists but is not Molthub's container for bot ${bot.name} (its labels differ); rename or remove it, Molthub will not touch it`,
        "failed",
      );
    }
    return info;
  }
}
