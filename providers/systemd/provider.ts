/**
 * The systemd provider: one unit per bot (`molthub-<bot>.service`) on a registered SSH host, no agent.
 *
 * - Connecting as a normal user → a user unit in `~/.config/systemd/user/`, managed with `systemctl --user`. It
 *   keeps running after the SSH session ends only with lingering (`loginctl enable-linger <user>`): ensure()
 *   refuses without it and says so (the host doctor reports it too).
 * - Connecting as root → a system unit in `/etc/systemd/system/` that runs as the dedicated account `molthub`
 *   (created with useradd when missing; no login shell). The bot dir is that account's; the env file stays root's
 *   (systemd reads it before dropping privileges), so the gateway cannot rewrite its own environment.
 * - Files (unit, openclaw.json, the 0600 env file) go over SFTP with atomic renames; commands are argv.
 * - State from `systemctl show`, logs from `journalctl` (user units fall back to the gateway's own log file when
 *   the user cannot read the journal — a volatile journal without the systemd-journal group), the gateway reached
 *   through an SSH port forward so it sees a loopback client (providers/ssh).
 * The module declaration (kind, target schema, capabilities, layout) is ./index.ts; this file is loaded on first use.
 */
import { type BotRef, type BotRuntime, type ObservedState, ProviderError } from "../provider.ts";
import { renderSystemdEnvFile } from "../ssh/env-file.ts";
import { tailArgv } from "../ssh/remote-host.ts";
import { type HostCtx, type RemoteProviderOptions, RemoteServiceProvider, sleep } from "../ssh/service-provider.ts";
import { systemd } from "./index.ts";
import {
  journalArgv,
  ownerMarker,
  parseShow,
  renderUnit,
  SERVICE_USER,
  showArgv,
  systemctl,
  type UnitScope,
  unitDir,
  unitName,
  unitPath,
} from "./unit.ts";

export interface SystemdProviderOptions extends RemoteProviderOptions {
  /** TimeoutStopSec of the units (default 330, like OpenClaw's own) */
  timeoutStopSec?: number;
}

export class SystemdProvider extends RemoteServiceProvider {
  readonly kind = "systemd" as const;
  readonly capabilities = systemd.capabilities;
  /** per pool id: can the login user read its units' journal? */
  private readonly journalOk = new Map<string, boolean>();

  constructor(private readonly sopts: SystemdProviderOptions) {
    super(sopts);
  }

  private scope(ctx: HostCtx): UnitScope {
    return ctx.info.isRoot ? "system" : "user";
  }

  protected runAs(ctx: HostCtx): string | undefined {
    return ctx.info.isRoot ? SERVICE_USER : undefined;
  }

  protected renderEnv(env: Record<string, string>): string {
    return renderSystemdEnvFile(env);
  }

  protected async prepareHost(ctx: HostCtx, _bot: BotRuntime, signal: AbortSignal): Promise<void> {
    if (ctx.info.init && ctx.info.init !== "systemd") {
      throw new ProviderError(
        `host ${ctx.info.name} runs ${ctx.info.init}, not systemd; use provider ${ctx.info.init === "launchd" ? "launchd" : "docker"} for it`,
        "invalid_config",
      );
    }
    if (this.scope(ctx) === "user") {
      const r = await this.run(ctx, ["loginctl", "show-user", "-p", "Linger", "--value", "--", ctx.info.username], signal);
      if (r.stdout.trim() !== "yes") {
        throw new ProviderError(
          `lingering is off for ${ctx.info.username} on ${ctx.info.name}, so its user units stop when the SSH session ends: ` +
            `run \`sudo loginctl enable-linger ${ctx.info.username}\` on the host (or register it with user root for system units)`,
          "failed",
        );
      }
      return;
    }
    const id = await this.run(ctx, ["id", "-u", "--", SERVICE_USER], signal);
    if (id.code !== 0) {
      await this.must(
        ctx,
        [
          "useradd",
          "--system",
          "--user-group",
          "--home-dir",
          ctx.layout.base,
          "--no-create-home",
          "--shell",
          "/usr/sbin/nologin",
          "--",
          SERVICE_USER,
        ],
        signal,
        `creating the service user ${SERVICE_USER}`,
      );
      this.log.info("service user created", { host: ctx.info.name, user: SERVICE_USER });
    }
    await this.must(ctx, ["mkdir", "-p", "--", `${ctx.layout.base}/bots`], signal, "creating the bots dir");
    await this.must(
      ctx,
      ["chmod", "0755", "--", ctx.layout.base, `${ctx.layout.base}/bots`],
      signal,
      "opening the bots dir to the service user",
    );
  }

  /** Refuses to overwrite or remove a unit file that is not this bot's. */
  private async checkOwnership(ctx: HostCtx, bot: BotRef, signal: AbortSignal): Promise<boolean> {
    const path = unitPath(this.scope(ctx), ctx.info.home, bot.name);
    const existing = await this.read(ctx, path, signal);
    if (existing === null) return false;
    if (!existing.split("\n").includes(ownerMarker(bot.id))) {
      throw new ProviderError(
        `${path} on ${ctx.info.name} exists but is not Molthub's unit for bot ${bot.name} (another workspace's bot of that name, or a hand-written unit); rename the bot or remove that unit`,
        "failed",
      );
    }
    return true;
  }

  protected async installService(ctx: HostCtx, bot: BotRuntime, signal: AbortSignal): Promise<void> {
    const scope = this.scope(ctx);
    const p = this.paths(ctx, bot);
    await this.checkOwnership(ctx, bot, signal);
    // an npm that fails cleanly, last on the unit's PATH: without any npm, OpenClaw's start-up plugin repair
    // (an openai/* model wants @openclaw/codex) exits 78 on every restart — see providers/ssh/npm-fallback.ts
    const fallback = await this.installNpmFallback(ctx, signal);
    const text = renderUnit({
      scope,
      bot,
      botDir: p.botDir,
      envFile: p.envFile,
      nodeBin: p.nodeBin,
      entry: p.entry,
      runAs: this.runAs(ctx),
      timeoutStopSec: this.sopts.timeoutStopSec,
      fallbackBinDir: fallback,
    });
    await this.must(ctx, ["mkdir", "-p", "--", unitDir(scope, ctx.info.home)], signal, "creating the unit dir");
    await this.write(ctx, unitPath(scope, ctx.info.home, bot.name), text, 0o644, signal);
    await this.must(ctx, systemctl(scope, "daemon-reload"), signal, "systemctl daemon-reload", { timeoutMs: 60_000 });
  }

  protected async startService(ctx: HostCtx, bot: BotRuntime, signal: AbortSignal): Promise<void> {
    const scope = this.scope(ctx);
    await this.run(ctx, systemctl(scope, "reset-failed", "--", unitName(bot.name)), signal);
    await this.must(
      ctx,
      systemctl(scope, "enable", "--now", "--", unitName(bot.name)),
      signal,
      `starting ${unitName(bot.name)}`,
      { timeoutMs: 60_000 },
    );
    this.log.info("unit started", { bot: bot.name, host: ctx.info.name, scope });
  }

  protected async stopService(ctx: HostCtx, bot: BotRef, deadlineMs: number, signal: AbortSignal): Promise<void> {
    const scope = this.scope(ctx);
    const unit = unitName(bot.name);
    const st0 = parseShow((await this.run(ctx, showArgv(scope, bot.name), signal)).stdout);
    if (!st0.loaded) return;
    // disabled too: a stopped bot must stay stopped across a reboot of the host (start() enables it again)
    await this.run(ctx, systemctl(scope, "disable", "--", unit), signal);
    if (st0.active === "inactive" || st0.active === "failed") return;
    await this.must(ctx, systemctl(scope, "stop", "--no-block", "--", unit), signal, `stopping ${unit}`);
    const until = Date.now() + Math.max(0, deadlineMs);
    const poll = this.opts.pollMs ?? 500;
    for (;;) {
      const st = parseShow((await this.run(ctx, showArgv(scope, bot.name), signal)).stdout);
      if (st.active === "inactive" || st.active === "failed") return;
      if (Date.now() >= until) break;
      await sleep(poll, signal);
    }
    this.log.warn("gateway did not stop in time; killing it", { bot: bot.name, host: ctx.info.name, deadlineMs });
    await this.run(ctx, systemctl(scope, "kill", "--signal=SIGKILL", "--", unit), signal);
    for (let i = 0; i < 20; i++) {
      const st = parseShow((await this.run(ctx, showArgv(scope, bot.name), signal)).stdout);
      if (st.active === "inactive" || st.active === "failed") return;
      await sleep(poll, signal);
    }
    throw new ProviderError(
      `${unit} on ${ctx.info.name} did not stop even after SIGKILL; check \`systemctl${scope === "user" ? " --user" : ""} status ${unit}\` there`,
      "timeout",
    );
  }

  protected async serviceState(ctx: HostCtx, bot: BotRef, signal: AbortSignal): Promise<ObservedState> {
    const r = await this.run(ctx, showArgv(this.scope(ctx), bot.name), signal);
    if (r.code !== 0)
      throw new ProviderError(`systemctl show failed on ${ctx.info.name}: ${r.stderr.trim() || `exit ${r.code}`}`, "failed");
    const st = parseShow(r.stdout);
    if (!st.loaded) return { exists: false, running: false, detail: "no unit" };
    const running = (st.active === "active" || st.active === "reloading") && st.pid > 0;
    // auto-restart: the gateway died and systemd will start it again in RestartSec — not running, with its exit
    const exited =
      !running &&
      st.exitStatus !== undefined &&
      (st.active === "failed" || st.sub === "auto-restart" || st.active === "inactive");
    return {
      exists: true,
      running,
      pid: running ? st.pid : undefined,
      exitCode: exited ? st.exitStatus : undefined,
      openclawVersion: ctx.target.version,
      detail: `${st.active}/${st.sub}${st.restarts ? ` (${st.restarts} restarts)` : ""}${st.enabled ? `, ${st.enabled}` : ""}`,
    };
  }

  private async canReadJournal(ctx: HostCtx, bot: BotRef, signal: AbortSignal): Promise<boolean> {
    if (ctx.info.isRoot) return true;
    const known = this.journalOk.get(ctx.poolId);
    if (known !== undefined) return known;
    const r = await this.run(ctx, journalArgv("user", bot.name, { follow: false, tail: 1 }), signal);
    const ok = r.code === 0 && !/insufficient permissions|No journal files were (found|opened)/i.test(r.stderr);
    this.journalOk.set(ctx.poolId, ok);
    if (!ok) this.log.info("journal not readable by the login user; using the gateway log file", { host: ctx.info.name });
    return ok;
  }

  protected async *serviceLogs(
    ctx: HostCtx,
    bot: BotRef,
    opts: { follow: boolean; tail: number },
    signal: AbortSignal,
  ): AsyncIterable<string> {
    const argv = (await this.canReadJournal(ctx, bot, signal))
      ? journalArgv(this.scope(ctx), bot.name, opts)
      : tailArgv(this.paths(ctx, bot).logFile, opts);
    yield* ctx.remote.stream(argv, signal);
  }

  protected async removeService(ctx: HostCtx, bot: BotRef, signal: AbortSignal): Promise<void> {
    const scope = this.scope(ctx);
    const owned = await this.checkOwnership(ctx, bot, signal);
    if (!owned) return;
    await this.run(ctx, systemctl(scope, "reset-failed", "--", unitName(bot.name)), signal);
    await this.must(ctx, ["rm", "-f", "--", unitPath(scope, ctx.info.home, bot.name)], signal, "removing the unit file");
    await this.must(ctx, systemctl(scope, "daemon-reload"), signal, "systemctl daemon-reload", { timeoutMs: 60_000 });
  }
}
