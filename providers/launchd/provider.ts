/**
 * The launchd provider: one LaunchAgent per bot (`~/Library/LaunchAgents/dev.molthub.<bot>.plist`) on a macOS host
 * reached over SSH as the login user, no agent.
 *
 * UNTESTED ON A REAL MAC: no macOS is available to this project. The plist and the exact launchctl sequence are
 * pure functions pinned by unit tests (test/unit/provider-launchd.test.ts), and the provider is run there against
 * a fake pool that records every argv and file. Please report what differs on your Mac.
 *
 * - Load: `launchctl enable` + `launchctl bootstrap <domain> <plist>`; already loaded → `launchctl kickstart`.
 *   The domain is `gui/<uid>` when the user has a GUI login session, else `user/<uid>` (a headless Mac).
 * - Stop/unload: `launchctl bootout <domain>/<label>` (SIGTERM, SIGKILL after ExitTimeOut).
 * - State: `launchctl print <domain>/<label>` (state, pid, last exit code). Logs: the job's StandardOutPath file
 *   (`<bot dir>/logs/stdout.log`) with `tail -n N [-F]`.
 * - Secrets: a 0600 env file sourced by a constant `/bin/sh -c` wrapper, never the plist (see plist.ts).
 * - Endpoint: the same SSH port forward as systemd (providers/ssh).
 * The module declaration (kind, target schema, capabilities, layout) is ./index.ts; this file is loaded on first use.
 */
import { type BotRef, type BotRuntime, type ObservedState, ProviderError } from "../provider.ts";
import { renderShellEnvFile } from "../ssh/env-file.ts";
import { tailArgv } from "../ssh/remote-host.ts";
import { type HostCtx, type RemoteProviderOptions, RemoteServiceProvider, sleep } from "../ssh/service-provider.ts";
import { launchd } from "./index.ts";
import { guiDomain, launchctl, launchdLabel, parseLaunchctlPrint, plistPath, renderPlist, userDomain } from "./plist.ts";

export interface LaunchdProviderOptions extends RemoteProviderOptions {
  /** ExitTimeOut of the jobs in seconds (default 30) */
  exitTimeOut?: number;
}

export class LaunchdProvider extends RemoteServiceProvider {
  readonly kind = "launchd" as const;
  readonly capabilities = launchd.capabilities;
  /** per pool id: the launchd domain of the login user */
  private readonly domains = new Map<string, string>();

  constructor(private readonly lopts: LaunchdProviderOptions) {
    super(lopts);
  }

  protected runAs(): string | undefined {
    return undefined;
  }

  protected renderEnv(env: Record<string, string>): string {
    return renderShellEnvFile(env);
  }

  protected async prepareHost(ctx: HostCtx, _bot: BotRuntime, signal: AbortSignal): Promise<void> {
    if (ctx.info.isRoot) {
      throw new ProviderError(
        `the launchd provider runs LaunchAgents as the login user; register ${ctx.info.name} with a normal user, not root`,
        "invalid_config",
      );
    }
    if (ctx.info.init && ctx.info.init !== "launchd") {
      throw new ProviderError(
        `host ${ctx.info.name} runs ${ctx.info.init}, not launchd; use provider ${ctx.info.init === "systemd" ? "systemd" : "docker"} for it`,
        "invalid_config",
      );
    }
    await this.domain(ctx, signal);
  }

  /** gui/<uid> when the user has a GUI session, else user/<uid>. */
  async domain(ctx: HostCtx, signal: AbortSignal): Promise<string> {
    const known = this.domains.get(ctx.poolId);
    if (known) return known;
    const id = await this.must(ctx, ["id", "-u"], signal, "reading the user id");
    const uid = Number(id.stdout.trim());
    if (!Number.isInteger(uid) || uid < 0)
      throw new ProviderError(`\`id -u\` on ${ctx.info.name} printed ${JSON.stringify(id.stdout.trim())}`, "failed");
    const gui = await this.run(ctx, launchctl.printDomain(guiDomain(uid)), signal);
    const domain = gui.code === 0 ? guiDomain(uid) : userDomain(uid);
    this.domains.set(ctx.poolId, domain);
    return domain;
  }

  protected async installService(ctx: HostCtx, bot: BotRuntime, signal: AbortSignal): Promise<void> {
    const p = this.paths(ctx, bot);
    const path = plistPath(ctx.info.home, bot.name);
    // the same npm stand-in as systemd units get, last on the PATH (OpenClaw exits 78 at start when npm is missing)
    const fallbackBinDir = await this.installNpmFallback(ctx, signal);
    const text = renderPlist({
      bot,
      botDir: p.botDir,
      envFile: p.envFile,
      nodeBin: p.nodeBin,
      entry: p.entry,
      exitTimeOut: this.lopts.exitTimeOut,
      fallbackBinDir,
    });
    const existing = await this.read(ctx, path, signal);
    if (existing !== null && !existing.includes(`<string>${bot.id}</string>`)) {
      throw new ProviderError(
        `${path} on ${ctx.info.name} exists but is not Molthub's LaunchAgent for bot ${bot.name}; rename the bot or remove that file`,
        "failed",
      );
    }
    await this.must(
      ctx,
      ["mkdir", "-p", "--", `${ctx.info.home}/Library/LaunchAgents`],
      signal,
      "creating ~/Library/LaunchAgents",
    );
    await this.write(ctx, path, text, 0o644, signal);
    await this.must(ctx, launchctl.lint(path), signal, "plutil -lint of the plist");
  }

  protected async startService(ctx: HostCtx, bot: BotRuntime, signal: AbortSignal): Promise<void> {
    const domain = await this.domain(ctx, signal);
    await this.run(ctx, launchctl.enable(domain, bot.name), signal);
    const st = parseLaunchctlPrint(...(await this.printService(ctx, domain, bot, signal)));
    if (st.loaded) {
      if (!st.running)
        await this.must(ctx, launchctl.kickstart(domain, bot.name), signal, `launchctl kickstart ${launchdLabel(bot.name)}`);
      return;
    }
    await this.must(
      ctx,
      launchctl.bootstrap(domain, plistPath(ctx.info.home, bot.name)),
      signal,
      `launchctl bootstrap ${launchdLabel(bot.name)}`,
      { timeoutMs: 60_000 },
    );
    this.log.info("launch agent loaded", { bot: bot.name, host: ctx.info.name, domain });
  }

  private async printService(ctx: HostCtx, domain: string, bot: BotRef, signal: AbortSignal): Promise<[number | null, string]> {
    const r = await this.run(ctx, launchctl.print(domain, bot.name), signal);
    return [r.code, `${r.stdout}\n${r.stderr}`];
  }

  protected async stopService(ctx: HostCtx, bot: BotRef, deadlineMs: number, signal: AbortSignal): Promise<void> {
    const domain = await this.domain(ctx, signal);
    const st = parseLaunchctlPrint(...(await this.printService(ctx, domain, bot, signal)));
    if (!st.loaded) return;
    // bootout waits for the job to exit (SIGTERM, then SIGKILL after ExitTimeOut) and unloads it, so a stopped bot
    // stays stopped (RunAtLoad/KeepAlive no longer apply); start() bootstraps it again
    const r = await this.run(ctx, launchctl.bootout(domain, bot.name), signal, { timeoutMs: Math.max(deadlineMs, 0) + 45_000 });
    if (r.code !== 0) {
      const again = parseLaunchctlPrint(...(await this.printService(ctx, domain, bot, signal)));
      if (again.loaded)
        throw new ProviderError(
          `launchctl bootout ${launchdLabel(bot.name)} failed on ${ctx.info.name} (exit ${r.code}): ${r.stderr.trim()}`,
          "failed",
        );
    }
    for (let i = 0; i < 10; i++) {
      const again = parseLaunchctlPrint(...(await this.printService(ctx, domain, bot, signal)));
      if (!again.loaded) return;
      await sleep(this.opts.pollMs ?? 500, signal);
    }
  }

  protected async serviceState(ctx: HostCtx, bot: BotRef, signal: AbortSignal): Promise<ObservedState> {
    const domain = await this.domain(ctx, signal);
    const st = parseLaunchctlPrint(...(await this.printService(ctx, domain, bot, signal)));
    if (!st.loaded) return { exists: false, running: false, detail: "not loaded" };
    return {
      exists: true,
      running: st.running,
      pid: st.running ? st.pid : undefined,
      exitCode: !st.running && st.lastExit !== undefined ? st.lastExit : undefined,
      openclawVersion: ctx.target.version,
      detail: `${st.state ?? "unknown"}${st.lastExit !== undefined ? ` (last exit ${st.lastExit})` : ""}`,
    };
  }

  protected async *serviceLogs(
    ctx: HostCtx,
    bot: BotRef,
    opts: { follow: boolean; tail: number },
    signal: AbortSignal,
  ): AsyncIterable<string> {
    yield* ctx.remote.stream(tailArgv(`${this.paths(ctx, bot).botDir}/logs/stdout.log`, opts), signal);
  }

  protected async removeService(ctx: HostCtx, bot: BotRef, signal: AbortSignal): Promise<void> {
    const path = plistPath(ctx.info.home, bot.name);
    const existing = await this.read(ctx, path, signal);
    if (existing === null) return;
    if (!existing.includes(`<string>${bot.id}</string>`))
      throw new ProviderError(
        `${path} on ${ctx.info.name} is not Molthub's LaunchAgent for bot ${bot.name}; left in place`,
        "failed",
      );
    await this.must(ctx, ["rm", "-f", "--", path], signal, "removing the plist");
  }
}
