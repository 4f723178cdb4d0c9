/**
 * The launchd target kind: one LaunchAgent per bot on a registered macOS host, reached over SSH (./provider.ts).
 * This declaration loads at start-up; the implementation (and ssh2 through the pool) on first use.
 */
import * as z from "zod";
import { nameSchema, versionSchema } from "../../src/domain/names.ts";
import type { ProviderModule } from "../provider.ts";
import { hostBotLayout, noHostRegistry } from "../ssh/layout.ts";

const launchdTargetSchema = z.strictObject({
  provider: z.literal("launchd"),
  host: nameSchema,
  version: versionSchema,
  // LaunchAgents always run as the login user; `unit` is accepted (and checked against the login) like systemd's
  unit: z.enum(["user", "system"]).optional(),
});

export const launchd: ProviderModule<"launchd", typeof launchdTargetSchema> = {
  kind: "launchd",
  label: "launchd",
  description: "a LaunchAgent on a macOS host, over a pinned SSH connection (not yet tried on a real Mac)",
  targetSchema: launchdTargetSchema,
  capabilities: { validate: true, logs: true, followLogs: true, survivesControlPlane: true },
  hostInit: "launchd",
  layout: (bot, deps, warm) => hostBotLayout("launchd", deps.hosts, bot, warm),
  async load(deps) {
    if (!deps.hosts) throw noHostRegistry("launchd");
    const { LaunchdProvider } = await import("./provider.ts");
    return new LaunchdProvider({ hosts: deps.hosts, logger: deps.logger.child({ provider: "launchd" }) });
  },
};
