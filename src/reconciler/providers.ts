import { join } from "node:path";
import type { Settings } from "../config.ts";
import type { Logger } from "../log.ts";
import type { Provider, ProviderCapabilities, BotRef } from "../../providers/provider.ts";
import { layoutFor } from "../domain/openclaw-config.ts";
import { LocalProvider } from "../../providers/local/index.ts";
import { CONTAINER_STATE_DIR as DOCKER_STATE_DIR } from "../../providers/docker/spec.ts";

/**
 * A provider whose module is loaded on first use. The Docker provider pulls in dockerode (gRPC, ssh2):
 * loading it only when a Docker bot exists keeps start-up fast and idle memory small.
 */
function lazyProvider(kind: Provider["kind"], capabilities: ProviderCapabilities, layout: (bot: BotRef) => ReturnType<Provider["layout"]>, load: () => Promise<Provider>): Provider {
  let loaded: Promise<Provider> | undefined;
  const get = () => (loaded ??= load());
  const p: Provider = {
    kind,
    capabilities,
    layout,
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

/**
 * The providers this appliance offers, configured from settings. Adding a target kind is adding a
 * folder under providers/ and a line here.
 */
export function createProviders(settings: Settings, logger: Logger): Partial<Record<string, Provider>> {
  const root = join(settings.dataDir, "bots");
  const dockerRoot = join(root, "docker");
  return {
    local: new LocalProvider({
      rootDir: join(root, "local"), openclawDir: settings.openclawDir, nodeBin: settings.openclawNode,
      installDir: join(settings.dataDir, "openclaw"), resolvConf: settings.botResolvConf, logger: logger.child({ provider: "local" }),
    }),
    docker: lazyProvider("docker", { validate: false, logs: true, followLogs: true, survivesControlPlane: true },
      () => layoutFor(DOCKER_STATE_DIR),
      async () => {
        const { DockerProvider } = await import("../../providers/docker/index.ts");
        return new DockerProvider({
          rootDir: dockerRoot, resolvConf: settings.botResolvConf,
          openclawMount: settings.dockerMountOpenclaw && settings.openclawDir ? { hostNodeModulesDir: join(settings.openclawDir, "..") } : undefined,
          logger: logger.child({ provider: "docker" }),
        });
      }),
  };
}
