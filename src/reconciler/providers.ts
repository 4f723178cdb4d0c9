import { join } from "node:path";
import type { Settings } from "../config.ts";
import type { Logger } from "../log.ts";
import type { Provider, ProviderCapabilities, BotRef } from "../../providers/provider.ts";
import { ProviderError } from "../../providers/provider.ts";
import { layoutFor, type BotLayout } from "../domain/openclaw-config.ts";
import { LocalProvider } from "../../providers/local/index.ts";
import { CONTAINER_STATE_DIR as DOCKER_STATE_DIR } from "../../providers/docker/spec.ts";
import { remoteLayout, type HostAccess } from "../hosts/access.ts";

/**
 * A provider whose module is loaded on first use. The Docker provider pulls in dockerode (gRPC, ssh2), the
 * remote providers ssh2: loading them only when such a bot exists keeps start-up fast and idle memory small.
 * `layout` answers until the module is loaded (it gets `warm` to start loading); after that the provider's own
 * layout() is used.
 */
function lazyProvider(
  kind: Provider["kind"],
  capabilities: ProviderCapabilities,
  layout: (bot: BotRef, warm: () => void) => BotLayout,
  load: () => Promise<Provider>,
): Provider {
  let loaded: Promise<Provider> | undefined;
  let instance: Provider | undefined;
  const get = () =>
    (loaded ??= load().then(
      (p) => (instance = p),
      (e) => {
        loaded = undefined; // a failed load is retried on the next call
        throw e;
      },
    ));
  const warm = () => void get().catch(() => {});
  const p: Provider = {
    kind,
    capabilities,
    layout: (bot) => (instance ? instance.layout(bot) : layout(bot, warm)),
    ensure: async (bot, signal) => (await get()).ensure(bot, signal),
    configure: async (bot, signal) => (await get()).configure(bot, signal),
    start: async (bot, signal) => (await get()).start(bot, signal),
    stop: async (bot, opts, signal) => (await get()).stop(bot, opts, signal),
    observe: async (bot, signal) => (await get()).observe(bot, signal),
    logs: async function* (bot, opts, signal) {
      yield* (await get()).logs(bot, opts, signal);
    },
    destroy: async (bot, opts, signal) => (await get()).destroy(bot, opts, signal),
    endpoint: async (bot, signal) => (await get()).endpoint(bot, signal),
  };
  if (capabilities.validate) p.validate = async (bot, signal) => (await get()).validate!(bot, signal);
  return p;
}

/** A systemd or launchd provider for the hosts of the registry (`spec.target: { provider, host, version }`). */
function remoteProvider(kind: "systemd" | "launchd", logger: Logger, hosts: HostAccess | undefined): Provider {
  const noHosts = () => new ProviderError(`${kind} bots need registered hosts, and this appliance was started without the host registry`, "invalid_config");
  return lazyProvider(
    kind,
    { validate: true, logs: true, followLogs: true, survivesControlPlane: true },
    (bot, warm) => {
      // before the module is loaded: the registry's cached host info gives the same layout as the provider's
      if (!hosts) throw noHosts();
      const host = (bot.target as { host?: string }).host ?? "";
      const info = hosts.lookup?.(bot.workspaceId, host);
      if (!info) {
        warm();
        void hosts.get(bot.workspaceId, host).catch(() => {}); // the provider's own cache fills on its next call
        throw new ProviderError(`the details of host ${host} are not loaded yet; this is retried automatically (if it persists run \`molthub host doctor ${host}\`)`, "unreachable");
      }
      const r = remoteLayout(info);
      const dir = r.botDir(bot.name);
      return { stateDir: dir, configPath: `${dir}/openclaw.json`, envFile: r.envFile(bot.name), logFile: `${dir}/logs/gateway.log` };
    },
    async () => {
      if (!hosts) throw noHosts();
      const log = logger.child({ provider: kind });
      if (kind === "systemd") return new (await import("../../providers/systemd/index.ts")).SystemdProvider({ hosts, logger: log });
      return new (await import("../../providers/launchd/index.ts")).LaunchdProvider({ hosts, logger: log });
    },
  );
}

/**
 * The Docker provider: the local engine, and (with the host registry) the engines of registered hosts over SSH
 * (`spec.target: { provider: docker, host: nas, image }`). `closeAll()` closes its SSH forwards (shutdown).
 */
function dockerProvider(settings: Settings, logger: Logger, rootDir: string, hosts: HostAccess | undefined): Provider & { closeAll(): Promise<void> } {
  let instance: import("../../providers/docker/index.ts").DockerProvider | undefined;
  const p = lazyProvider("docker", { validate: false, logs: true, followLogs: true, survivesControlPlane: true },
    () => layoutFor(DOCKER_STATE_DIR),
    async () => {
      const { DockerProvider } = await import("../../providers/docker/index.ts");
      return (instance = new DockerProvider({
        rootDir, resolvConf: settings.botResolvConf,
        openclawMount: settings.dockerMountOpenclaw && settings.openclawDir ? { hostNodeModulesDir: join(settings.openclawDir, "..") } : undefined,
        logger: logger.child({ provider: "docker" }),
        hosts,
      }));
    });
  return Object.assign(p, { closeAll: async () => instance?.closeAll() });
}

/**
 * The providers this appliance offers, configured from settings. Adding a target kind is adding a
 * folder under providers/ and a line here. `extras.hosts` (the host registry) enables the SSH targets:
 * systemd, launchd and Docker engines on registered hosts.
 */
export function createProviders(settings: Settings, logger: Logger, extras: { hosts?: HostAccess } = {}): Partial<Record<string, Provider>> {
  const root = join(settings.dataDir, "bots");
  const dockerRoot = join(root, "docker");
  return {
    local: new LocalProvider({
      rootDir: join(root, "local"), openclawDir: settings.openclawDir, nodeBin: settings.openclawNode,
      installDir: join(settings.dataDir, "openclaw"), resolvConf: settings.botResolvConf, logger: logger.child({ provider: "local" }),
    }),
    docker: dockerProvider(settings, logger, dockerRoot, extras.hosts),
    systemd: remoteProvider("systemd", logger, extras.hosts),
    launchd: remoteProvider("launchd", logger, extras.hosts),
  };
}
