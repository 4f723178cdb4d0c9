import { join } from "node:path";
import type { Settings } from "../config.ts";
import type { Logger } from "../log.ts";
import type { Provider } from "../../providers/provider.ts";
import { LocalProvider } from "../../providers/local/index.ts";
import { DockerProvider } from "../../providers/docker/index.ts";

/**
 * The providers this appliance offers, configured from settings. Adding a target kind is adding a
 * folder under providers/ and a line here.
 */
export function createProviders(settings: Settings, logger: Logger): Partial<Record<string, Provider>> {
  const root = join(settings.dataDir, "bots");
  return {
    local: new LocalProvider({
      rootDir: join(root, "local"),
      openclawDir: settings.openclawDir,
      nodeBin: settings.openclawNode,
      installDir: join(settings.dataDir, "openclaw"),
      resolvConf: settings.botResolvConf,
      logger: logger.child({ provider: "local" }),
    }),
    docker: new DockerProvider({
      rootDir: join(root, "docker"),
      resolvConf: settings.botResolvConf,
      openclawMount: settings.dockerMountOpenclaw && settings.openclawDir ? { hostNodeModulesDir: join(settings.openclawDir, "..") } : undefined,
      logger: logger.child({ provider: "docker" }),
    }),
  };
}
