/**
 * The Docker target kind: one container per bot on the local Docker engine, or on a registered host's engine over
 * SSH (./provider.ts). This declaration loads at start-up; the implementation, and dockerode with it, on first use.
 */
import { join } from "node:path";
import * as z from "zod";
import { nameSchema } from "../../src/domain/names.ts";
import { type BotLayout, layoutFor } from "../../src/domain/openclaw-config.ts";
import type { ProviderModule } from "../provider.ts";
import { CONTAINER_STATE_DIR, imagePinProblem } from "./spec.ts";

const dockerTargetSchema = z.strictObject({
  provider: z.literal("docker"),
  image: z
    .string()
    .min(1)
    .regex(/^[^\s]+$/, "no spaces"),
  host: nameSchema.optional().describe("a registered host whose Docker engine is used (over SSH); the local engine when absent"),
  network: z.enum(["host", "bridge"]).default("host"),
  memory: z
    .string()
    .regex(/^\d+(\.\d+)?[kmg]?$/i, "like 2g or 512m")
    .default("2g"),
  cpus: z.number().positive().max(64).default(2),
});

/** Paths as the gateway sees them, inside the container (the official image's state dir), on any engine. */
export function dockerLayout(): BotLayout {
  return layoutFor(CONTAINER_STATE_DIR);
}

export const docker: ProviderModule<"docker", typeof dockerTargetSchema> = {
  kind: "docker",
  label: "Docker",
  description: "a hardened container from a pinned image, on this machine's Docker engine or a host's over SSH",
  targetSchema: dockerTargetSchema,
  capabilities: { validate: false, logs: true, followLogs: true, survivesControlPlane: true },
  layout: () => dockerLayout(),
  targetProblems(target) {
    const problem = imagePinProblem(target.image);
    return problem ? [{ path: "image", message: problem }] : [];
  },
  async load(deps) {
    const { DockerProvider } = await import("./provider.ts");
    return new DockerProvider({
      rootDir: join(deps.botsDir, "docker"),
      resolvConf: deps.resolvConf,
      openclawMount:
        deps.dockerMountOpenclaw && deps.openclawDir ? { hostNodeModulesDir: join(deps.openclawDir, "..") } : undefined,
      logger: deps.logger.child({ provider: "docker" }),
      hosts: deps.hosts,
    });
  },
};
