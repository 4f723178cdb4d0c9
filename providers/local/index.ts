/**
 * The local target kind: a bot as an OpenClaw gateway process on the appliance's own host (./provider.ts).
 * This declaration loads at start-up; the implementation on first use.
 */
import { join } from "node:path";
import * as z from "zod";
import { versionSchema } from "../../src/domain/names.ts";
import { type BotLayout, layoutFor } from "../../src/domain/openclaw-config.ts";
import { type BotRef, ProviderError, type ProviderModule } from "../provider.ts";

const localTargetSchema = z.strictObject({
  provider: z.literal("local"),
  version: versionSchema,
});

const SAFE_SEGMENT = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$/;

/** A bot's files under `<rootDir>/<workspaceId>/<botName>/`; ids and names that could escape the root are refused. */
export function localLayout(rootDir: string, bot: Pick<BotRef, "workspaceId" | "name">): BotLayout {
  for (const [what, v] of [
    ["workspace id", bot.workspaceId],
    ["bot name", bot.name],
  ] as const) {
    if (!SAFE_SEGMENT.test(v) || v === "." || v === "..")
      throw new ProviderError(`the ${what} "${v}" cannot be used as a directory name`, "invalid_config");
  }
  return layoutFor(join(rootDir, bot.workspaceId, bot.name));
}

export const local: ProviderModule<"local", typeof localTargetSchema> = {
  kind: "local",
  label: "This machine",
  description: "an OpenClaw gateway process next to Molthub, on this machine",
  targetSchema: localTargetSchema,
  capabilities: { validate: true, logs: true, followLogs: true, survivesControlPlane: true },
  layout: (bot, deps) => localLayout(join(deps.botsDir, "local"), bot),
  async load(deps) {
    const { LocalProvider } = await import("./provider.ts");
    return new LocalProvider({
      rootDir: join(deps.botsDir, "local"),
      openclawDir: deps.openclawDir,
      nodeBin: deps.openclawNode,
      installDir: deps.installDir,
      resolvConf: deps.resolvConf,
      logger: deps.logger.child({ provider: "local" }),
    });
  },
};
