/**
 * The Docker provider proves a host-network bot's port against a REAL dockerd before any token goes there
 * (providers/docker/listener.ts): one `docker exec` in the bot's container reads the host's TCP table (same network
 * namespace) and the container's own fds (own PID namespace).
 * - the container's process (uid 1000, all capabilities dropped, like a bot's) holds the port: endpoint() passes
 *   and a connection reaches it; portFree() agrees;
 * - a plain TCP server in this test process holds the bot's port while the container listens elsewhere: endpoint()
 *   refuses with `foreign_listener` naming this process, and the server receives nothing.
 * No OpenClaw: a stand-in listener runs in a container carrying the bot's ownership labels.
 */
import { randomUUID } from "node:crypto";
import Dockerode from "dockerode";
import { afterAll, beforeAll, expect, it } from "vitest";
import { DockerProvider } from "../../providers/docker/provider.ts";
import { containerName, LABELS } from "../../providers/docker/spec.ts";
import { ForeignListenerError } from "../../providers/listener.ts";
import type { BotRef } from "../../providers/provider.ts";
import { checkComponents, describeWithComponent, fixtures } from "../infra/components.ts";
import { freeLoopbackPort } from "../infra/systemd-host.ts";

const needs = await checkComponents("docker", "node-image");
const docker = new Dockerode();
const workspaceId = randomUUID();

function botOn(name: string, port: number): BotRef {
  return {
    id: `bot-${name}-${workspaceId.slice(0, 8)}`,
    name,
    workspaceId,
    target: { provider: "docker", image: fixtures().nodeImage, network: "host" },
    port,
  } as BotRef;
}

/** A container owned by `bot` whose process answers "gw" on `listenPort`. */
async function standIn(bot: BotRef, listenPort: number): Promise<Dockerode.Container> {
  const c = await docker.createContainer({
    name: containerName(bot),
    Image: fixtures().nodeImage,
    User: "1000:1000",
    Cmd: ["node", "-e", `require("net").createServer((s)=>s.end("gw")).listen(${listenPort},"127.0.0.1")`],
    Labels: { [LABELS.managed]: "true", [LABELS.botId]: bot.id, "molthub.test": "port-proof" },
    HostConfig: { NetworkMode: "host", Init: true, CapDrop: ["ALL"], SecurityOpt: ["no-new-privileges"] },
  });
  await c.start();
  return c;
}

async function raw(port: number): Promise<string> {
  return new Promise((resolve) => {
    let got = "";
    Bun.connect({
      hostname: "127.0.0.1",
      port,
      socket: {
        data: (_s, d) => void (got += Buffer.from(d).toString()),
        close: () => resolve(got),
        error: () => resolve(got),
        connectError: () => resolve(got),
      },
    }).catch(() => resolve(got));
  });
}

describeWithComponent("docker provider: the port of a host-network bot is proven against a real engine", needs, () => {
  const containers: Dockerode.Container[] = [];
  const provider = new DockerProvider({ rootDir: "/tmp/molthub-docker-port-unused", docker });

  beforeAll(async () => {
    const old = await docker.listContainers({ all: true, filters: { label: ["molthub.test=port-proof"] } });
    for (const c of old) await docker.getContainer(c.Id).remove({ force: true });
  });
  afterAll(async () => {
    await provider.closeAll();
    for (const c of containers) await c.remove({ force: true }).catch(() => {});
  });

  it("the container's own process holds the port: endpoint() passes, portFree() agrees", async () => {
    const bot = botOn("own", await freeLoopbackPort());
    containers.push(await standIn(bot, bot.port));
    let ep: Awaited<ReturnType<DockerProvider["endpoint"]>> | undefined;
    for (let i = 0; i < 100; i++) {
      ep = await provider.endpoint(bot, AbortSignal.timeout(20_000));
      const got = await raw(Number(new URL(ep.httpUrl).port));
      await ep.close();
      if (got === "gw") break; // the stand-in may still be starting: nothing listens yet
      ep = undefined;
      await Bun.sleep(200);
    }
    expect(ep).toBeDefined();
    expect(await provider.portFree(bot, bot.port, AbortSignal.timeout(20_000))).toBe(true);
  }, 60_000);

  it("a process outside the container holds the port: refused, named, sent nothing", async () => {
    const bot = botOn("squat", await freeLoopbackPort());
    containers.push(await standIn(bot, await freeLoopbackPort()));
    let received = 0;
    const server = Bun.listen({
      hostname: "127.0.0.1",
      port: bot.port,
      socket: { open: () => void received++, data: (_s, d) => void (received += d.length) },
    });
    try {
      const err = await provider.endpoint(bot, AbortSignal.timeout(20_000)).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(ForeignListenerError);
      expect((err as Error).message).toContain(`port ${bot.port} on 127.0.0.1 is held by pid ${process.pid}`);
      expect((err as Error).message).toContain(`a process of its container ${containerName(bot)}`);
      expect(await provider.portFree(bot, bot.port, AbortSignal.timeout(20_000))).toBe(false);
      expect(received).toBe(0);
    } finally {
      server.stop(true);
    }
  }, 60_000);
});
