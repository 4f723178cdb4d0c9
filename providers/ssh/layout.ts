/**
 * Where a bot of a remote service provider (systemd, launchd) keeps its files on its host: the shared remote layout
 * (src/hosts/host-access.ts: /var/lib/molthub as root, ~/.molthub otherwise) plus the log file inside the bot dir.
 * Pure, so the providers' module declarations answer `layout()` with it before their implementation is loaded.
 */
import type { BotLayout } from "../../src/domain/openclaw-config.ts";
import { type HostAccess, type RemoteLayout, remoteLayout } from "../../src/hosts/host-access.ts";
import { type BotRef, ProviderError } from "../provider.ts";

/** The bot's files on the host. */
export function remoteBotLayout(layout: RemoteLayout, bot: string): BotLayout {
  const dir = layout.botDir(bot);
  return { stateDir: dir, configPath: `${dir}/openclaw.json`, envFile: layout.envFile(bot), logFile: `${dir}/logs/gateway.log` };
}

/**
 * The layout of a bot on a registered host from the registry's cached host info (no network), for a provider not
 * loaded yet. Without that info (right after start-up) it starts loading the provider and the host's details and
 * refuses with an `unreachable` error that the reconciler retries.
 */
export function hostBotLayout(kind: string, hosts: HostAccess | undefined, bot: BotRef, warm: () => void): BotLayout {
  if (!hosts) throw noHostRegistry(kind);
  const host = (bot.target as { host?: string }).host ?? "";
  const info = hosts.lookup?.(bot.workspaceId, host);
  if (!info) {
    warm();
    void hosts.get(bot.workspaceId, host).catch(() => {}); // the provider's own cache fills on its next call
    throw new ProviderError(
      `the details of host ${host} are not loaded yet; this is retried automatically (if it persists run \`molthub host doctor ${host}\`)`,
      "unreachable",
    );
  }
  return remoteBotLayout(remoteLayout(info), bot.name);
}

export function noHostRegistry(kind: string): ProviderError {
  return new ProviderError(
    `${kind} bots need registered hosts, and this appliance was started without the host registry`,
    "invalid_config",
  );
}
