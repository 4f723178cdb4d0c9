/**
 * The systemd target kind: one unit per bot on a registered Linux host, reached over SSH (./provider.ts).
 * This declaration loads at start-up; the implementation (and ssh2 through the pool) on first use.
 */
import * as z from "zod";
import { nameSchema, versionSchema } from "../../src/domain/names.ts";
import type { ProviderModule } from "../provider.ts";
import { hostBotLayout, noHostRegistry } from "../ssh/layout.ts";

const systemdTargetSchema = z.strictObject({
  provider: z.literal("systemd"),
  host: nameSchema,
  version: versionSchema,
  unit: z.enum(["user", "system"]).optional(),
});

export const systemd: ProviderModule<"systemd", typeof systemdTargetSchema> = {
  kind: "systemd",
  label: "systemd",
  description: "a systemd unit on a Linux host, over a pinned SSH connection",
  targetSchema: systemdTargetSchema,
  capabilities: { validate: true, logs: true, followLogs: true, survivesControlPlane: true },
  hostInit: "systemd",
  layout: (bot, deps, warm) => hostBotLayout("systemd", deps.hosts, bot, warm),
  async load(deps) {
    if (!deps.hosts) throw noHostRegistry("systemd");
    const { SystemdProvider } = await import("./provider.ts");
    return new SystemdProvider({ hosts: deps.hosts, logger: deps.logger.child({ provider: "systemd" }) });
  },
};
