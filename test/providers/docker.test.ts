/**
 * The provider contract against the Docker provider: a REAL dockerd and a REAL OpenClaw gateway in the test image
 * (a plain Node 26 image with the fixture install mounted read-only), network `host` (the gateway binds 127.0.0.1),
 * DNS-sinkholed. Needs dockerd, the image and the OpenClaw install (`bash test/infra/fixtures.sh`); skipped without
 * them, except under CI, where their absence fails the run.
 */
import { mkdtempSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import Dockerode from "dockerode";
import { docker } from "../../providers/docker/index.ts";
import { CONTAINER_STATE_DIR, containerName } from "../../providers/docker/spec.ts";
import type { BotRef } from "../../providers/provider.ts";
import { silentLogger } from "../../src/log.ts";
import { checkComponents, describeWithComponent, fixtures } from "../infra/components.ts";
import { parseEnviron, providerContract, type TargetFile } from "./contract.ts";

const fx = fixtures();
const needs = await checkComponents("docker", "node-image", "openclaw");
const engine = new Dockerode();

describeWithComponent(
  `docker provider contract with a real OpenClaw ${fx.openclawVersion} gateway in ${fx.nodeImage}`,
  needs,
  () =>
    providerContract("docker", async () => {
      const dir = mkdtempSync(join(tmpdir(), "molthub-contract-docker-"));
      const botsDir = join(dir, "bots");
      const inspect = (bot: BotRef) =>
        engine
          .getContainer(containerName(bot))
          .inspect()
          .catch(() => null);

      /** The host dir bind-mounted at the container's state dir: from the container when there is one. */
      async function stateDirOnHost(bot: BotRef): Promise<string> {
        const mount = (await inspect(bot))?.Mounts.find((m) => m.Destination === CONTAINER_STATE_DIR);
        return mount?.Source ?? join(botsDir, "docker", bot.workspaceId, bot.name);
      }

      return {
        module: docker,
        deps: {
          botsDir,
          installDir: join(dir, "openclaw"),
          openclawDir: fx.openclawDir,
          openclawNode: fx.openclawNode,
          resolvConf: fx.resolvConf,
          dockerMountOpenclaw: true,
          logger: silentLogger,
        },
        target: { provider: "docker", image: fx.nodeImage, network: "host", memory: "1536m", cpus: 1.5 },
        // layout() paths are the container's; the file is where the state dir's bind mount puts it on this host
        async readFile(path, bot): Promise<TargetFile | null> {
          const onHost = join(await stateDirOnHost(bot), relative(CONTAINER_STATE_DIR, path));
          try {
            return { mode: statSync(onHost).mode, text: readFileSync(onHost, "utf8") };
          } catch {
            return null;
          }
        },
        // the gateway process itself: the container's init and Env carry no secret, the launcher loads the env file
        // into the environment it execs the gateway with (providers/docker/spec.ts)
        async processEnv(bot) {
          const info = await inspect(bot);
          const top = await engine.getContainer(info!.Id).top({ ps_args: "-eo pid,args" });
          const gw = (top.Processes as string[][]).find((p) => /^(openclaw-gateway$|node \S+ gateway run$)/.test(p[1] ?? ""));
          if (!gw) throw new Error(`no gateway process in ${info!.Name}: ${JSON.stringify(top.Processes)}`);
          return parseEnviron(readFileSync(`/proc/${gw[0]}/environ`, "utf8"));
        },
        // everything the engine shows to whoever may use its API: every field of inspect, and the process list
        async visible(bot) {
          const info = (await inspect(bot))!;
          const top = await engine.getContainer(info.Id).top({ ps_args: "-ef" });
          return { "docker inspect": JSON.stringify(info), "docker top": JSON.stringify(top) };
        },
        teardown: async () => rmSync(dir, { recursive: true, force: true }),
      };
    }),
);
