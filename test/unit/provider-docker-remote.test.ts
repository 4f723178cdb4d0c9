/**
 * The wiring of remote Docker engines (spec.target.host) in the Docker provider, without SSH or dockerd: a recording
 * fake of the pool (every argv checked by the real quoting), a recording fake of the engine, and a local engine
 * that throws when touched.
 *
 * - a bot with `host` gets that host's engine (through a forward to its Docker socket, made once per host), a bot
 *   without it the local engine;
 * - the state dir, config and env file are written on the host (SFTP + argv commands), never on the local disk;
 * - the endpoint of a host-network bot is a forward to the gateway's loopback port, closed by destroy (and every
 *   forward by closeAll);
 * - errors say what to do (no host registry, no socket, a login without the docker group).
 */
import { mkdtempSync, readdirSync, rmSync } from "node:fs";
import { createServer as createHttpServer } from "node:http";
import { connect, createServer as createTcpServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Readable } from "node:stream";
import type Dockerode from "dockerode";
import { afterAll, beforeEach, describe, expect, it } from "vitest";
import { defaultRemoteEngine } from "../../providers/docker/engine.ts";
import { DockerProvider } from "../../providers/docker/provider.ts";
import { LABELS } from "../../providers/docker/spec.ts";
import { type BotRuntime, ProviderError } from "../../providers/provider.ts";
import { GATEWAY_TOKEN_ENV } from "../../src/domain/openclaw-config.ts";
import type { HostInfo } from "../../src/hosts/host-access.ts";
import type { LocalForward } from "../../src/ssh/forward.ts";
import type { ForwardTarget } from "../../src/ssh/pool.ts";
import { FakePool, fakeHosts, hostInfo, isPortOwners, portOwnersOutput, type Responder } from "./provider-systemd-fake.ts";

const TOKEN = "tok-0123456789abcdef0123456789abcdef";
const signal = () => AbortSignal.timeout(10_000);

/**
 * Records forward targets and carries out `mv -f -- a b` on its files (the staged env file must be where start()
 * looks for it); otherwise the systemd tests' fake (a real loopback listener per forward).
 */
class RecordingPool extends FakePool {
  targets: { host: string; target: ForwardTarget; fwd: LocalForward }[] = [];
  override async exec(...args: Parameters<FakePool["exec"]>): ReturnType<FakePool["exec"]> {
    const res = await super.exec(...args);
    const [, argv] = args;
    if (res.code === 0 && argv[0] === "mv" && argv[1] === "-f" && argv[2] === "--") {
      const f = this.files.get(argv[3]!);
      if (f) {
        this.files.delete(argv[3]!);
        this.files.set(argv[4]!, f);
      }
    }
    return res;
  }
  override async forward(host?: string, target?: ForwardTarget): Promise<LocalForward> {
    const fwd = await super.forward();
    this.targets.push({ host: host!, target: target!, fwd });
    return fwd;
  }
}

interface FakeContainer {
  Id: string;
  Name: string;
  Image: string;
  Config: { Labels: Record<string, string> };
  HostConfig: Dockerode.HostConfig;
  State: { Running: boolean; Restarting: boolean; Paused: boolean; Status: string; FinishedAt: string; ExitCode: number };
}

/** Just enough of a Docker engine for the provider's calls, recording them. */
function fakeEngine(opts: { pingError?: Error } = {}) {
  const calls: string[] = [];
  const containers = new Map<string, FakeContainer>();
  const notFound = () => Object.assign(new Error("no such container"), { statusCode: 404 });
  const find = (nameOrId: string) => containers.get(nameOrId) ?? [...containers.values()].find((c) => c.Id === nameOrId);
  let created: Dockerode.ContainerCreateOptions | undefined;
  const engine = {
    async ping() {
      calls.push("ping");
      if (opts.pingError) throw opts.pingError;
      return "OK";
    },
    getImage: (image: string) => ({
      inspect: async () => {
        calls.push(`image.inspect ${image}`);
        return { Id: "sha256:image", Config: { Labels: { "org.opencontainers.image.version": "2026.9.6" } } };
      },
    }),
    async createContainer(spec: Dockerode.ContainerCreateOptions & { name: string }) {
      calls.push(`create ${spec.name}`);
      created = spec;
      const c: FakeContainer = {
        Id: `${spec.name}-id`,
        Name: `/${spec.name}`,
        Image: "sha256:image",
        Config: { Labels: spec.Labels ?? {} },
        HostConfig: spec.HostConfig ?? {},
        State: {
          Running: false,
          Restarting: false,
          Paused: false,
          Status: "created",
          FinishedAt: "0001-01-01T00:00:00Z",
          ExitCode: 0,
        },
      };
      containers.set(spec.name, c);
      return { id: c.Id };
    },
    getContainer: (nameOrId: string) => ({
      inspect: async () => {
        const c = find(nameOrId);
        if (!c) throw notFound();
        return structuredClone(c);
      },
      start: async () => {
        calls.push(`start ${nameOrId}`);
        const c = find(nameOrId);
        if (!c) throw notFound();
        c.State = { ...c.State, Running: true, Status: "running" };
      },
      stop: async () => {
        calls.push(`stop ${nameOrId}`);
        const c = find(nameOrId);
        if (!c) throw notFound();
        c.State = { ...c.State, Running: false, Status: "exited", FinishedAt: "2026-01-01T00:00:00Z" };
      },
      // the listener check of a host-network container (providers/docker/listener.ts): the gateway, pid 7 in the
      // container, holds the socket listening on 127.0.0.1:18800
      exec: async (o: { Cmd: string[] }) => ({
        start: async () => {
          calls.push(`exec ${nameOrId} ${o.Cmd[0]}`);
          const out = Buffer.from(
            "/proc/net/tcp:   0: 0100007F:4970 00000000:0000 0A 00000000:00000000 00:00000000 00000000  1000        0 4242 1\n" +
              "-- molthub fds --\n/proc/7/fd:\nlrwx------ 1 node node 64 Dec  2 10:00 21 -> socket:[4242]\n",
          );
          const header = Buffer.alloc(8);
          header[0] = 1;
          header.writeUInt32BE(out.length, 4);
          return Readable.from([Buffer.concat([header, out])]);
        },
      }),
      remove: async () => {
        calls.push(`remove ${nameOrId}`);
        const c = find(nameOrId);
        if (!c) throw notFound();
        containers.delete(c.Name.slice(1));
      },
    }),
    async listContainers(o: { filters: { label: string[] } }) {
      const want = o.filters.label.map((l) => l.split("="));
      return [...containers.values()].filter((c) => want.every(([k, v]) => c.Config.Labels[k!] === v)).map((c) => ({ Id: c.Id }));
    },
  };
  return { engine: engine as unknown as Dockerode, calls, containers, created: () => created };
}

const untouchable = new Proxy(
  {},
  {
    get: (_t, p) => {
      throw new Error(`the local engine was touched (${String(p)})`);
    },
  },
) as unknown as Dockerode;

function bot(host: string | undefined, over: Partial<BotRuntime> = {}): BotRuntime {
  return {
    id: "bot-1",
    name: "support",
    workspaceId: "ws-1",
    port: 18800,
    target: {
      provider: "docker",
      image: "molthub-test/node26:26.10.0",
      network: "host",
      memory: "2g",
      cpus: 2,
      ...(host ? { host } : {}),
    },
    config: { gateway: { port: 18800 } },
    configHash: "hash-1",
    env: { [GATEWAY_TOKEN_ENV]: TOKEN, OPENCLAW_STATE_DIR: "/home/node/.openclaw" },
    ...over,
  };
}

describe("DockerProvider with a remote engine (spec.target.host)", () => {
  const localRoot = mkdtempSync(join(tmpdir(), "molthub-docker-remote-unit-"));
  afterAll(() => rmSync(localRoot, { recursive: true, force: true }));

  let pool: RecordingPool;
  let remote: ReturnType<typeof fakeEngine>;
  let made: { forward: LocalForward; host: HostInfo }[];
  let warnings: string[];
  const root = hostInfo({ poolId: "pool-nas", name: "nas", username: "root", isRoot: true, home: "/root" });
  const molt = hostInfo({ poolId: "pool-pi", name: "pi", username: "molt", isRoot: false, home: "/home/molt" });

  /** `id -u` answers per host; everything else exits 0 unless `extra` says otherwise. */
  const responder =
    (extra: Responder = () => undefined): Responder =>
    (argv, call) => {
      const r = extra(argv, call);
      if (r) return r;
      if (argv.join(" ") === "id -u") return { stdout: call.host === "pool-nas" ? "0\n" : "1001\n" };
      return undefined;
    };

  function makeProvider(over: Partial<ConstructorParameters<typeof DockerProvider>[0]> = {}): DockerProvider {
    return new DockerProvider({
      docker: untouchable,
      rootDir: localRoot,
      hosts: fakeHosts(pool, [root, molt]),
      remoteEngine: (forward, host) => {
        made.push({ forward, host });
        return remote.engine;
      },
      logger: { debug() {}, info() {}, warn: (m) => warnings.push(m) },
      ...over,
    });
  }

  beforeEach(() => {
    pool = new RecordingPool(responder());
    remote = fakeEngine();
    made = [];
    warnings = [];
  });

  it("a bot with a host runs on that host's engine, reached through one forward to its Docker socket", async () => {
    const p = makeProvider();
    const b = bot("nas");
    await p.ensure(b, signal());
    await p.configure(b, signal());
    await p.start(b, signal());
    expect(await p.observe(b, signal())).toMatchObject({
      exists: true,
      running: true,
      containerId: "molthub-ws1-support-id",
      openclawVersion: "2026.9.6",
    });
    expect(remote.calls).toEqual([
      "ping",
      "image.inspect molthub-test/node26:26.10.0",
      "create molthub-ws1-support",
      "start molthub-ws1-support-id",
      "image.inspect sha256:image", // observe: the OpenClaw version from the image's label
    ]);
    // one engine forward for the host, to its Docker socket, reused by every step
    expect(pool.targets.map((t) => [t.host, t.target])).toEqual([["pool-nas", { socketPath: "/var/run/docker.sock" }]]);
    expect(made).toHaveLength(1);
    expect(made[0]!.host.name).toBe("nas");
    expect(made[0]!.forward).toBe(pool.targets[0]!.fwd);
    expect(p.openForwards().engines).toEqual(["pool-nas"]);
    // the container binds the host's state dir (root login: /var/lib/molthub/docker/...)
    const spec = remote.created()!;
    expect(spec.HostConfig!.Binds).toContain("/var/lib/molthub/docker/ws-1/support:/home/node/.openclaw:rw");
    expect(spec.Labels).toMatchObject({ [LABELS.botId]: "bot-1", [LABELS.managed]: "true" });
    // the host's env file is bound read-only; its values are in no field of the spec
    expect(spec.HostConfig!.Binds).toContain(
      "/var/lib/molthub/docker/ws-1/support/molthub.env:/home/node/.openclaw/molthub.env:ro",
    );
    expect(JSON.stringify(spec)).not.toContain(TOKEN);
  });

  it("a bot without a host keeps the local engine and never opens a forward", async () => {
    const local = fakeEngine();
    const p = makeProvider({ docker: local.engine });
    await p.ensure(bot(undefined), signal());
    expect(local.calls[0]).toBe("ping");
    expect(pool.targets).toEqual([]);
    expect(pool.calls).toEqual([]);
    expect(remote.calls).toEqual([]);
  });

  it("configure writes the state dir, config and env file on the host (SFTP + argv), not on the local disk", async () => {
    const p = makeProvider();
    const b = bot("nas");
    await p.configure(b, signal());
    const dir = "/var/lib/molthub/docker/ws-1/support";
    expect(pool.commands()).toEqual([
      "id -u",
      `mkdir -p -m 0700 -- ${dir}`,
      `chmod 0700 -- ${dir}`,
      `chown 1000:1000 -- ${dir}`,
      // root login: the config is handed to the container's uid before it replaces the old one
      `chown 1000:1000 -- ${dir}/openclaw.json.molthub-new`,
      `mv -f -- ${dir}/openclaw.json.molthub-new ${dir}/openclaw.json`,
      // and so is the env file: the container reads it (bound read-only), no other account on the host can
      `chown 1000:1000 -- ${dir}/molthub.env.molthub-new`,
      `mv -f -- ${dir}/molthub.env.molthub-new ${dir}/molthub.env`,
    ]);
    expect(pool.files.get(`${dir}/openclaw.json`)).toEqual({
      data: `${JSON.stringify(b.config, null, 2)}\n`,
      mode: 0o600,
    });
    const env = pool.files.get(`${dir}/molthub.env`)!;
    expect(env.mode).toBe(0o600);
    expect(env.data).toContain(`${GATEWAY_TOKEN_ENV}=${TOKEN}`);
    // the secret is in the uploaded file only, never in a command
    expect(pool.calls.map((c) => c.line).join("\n")).not.toContain(TOKEN);
    expect(readdirSync(localRoot)).toEqual([]);

    // start checks the env file on the host and binds it; the engine is never told its values
    await p.start(b, signal());
    expect(JSON.stringify(remote.created())).not.toContain(TOKEN);
  });

  it("a non-root login keeps the files its own (with a warning) under ~/.molthub/docker", async () => {
    const p = makeProvider();
    await p.configure(bot("pi"), signal());
    const dir = "/home/molt/.molthub/docker/ws-1/support";
    expect(pool.commands()).toEqual(["id -u", `mkdir -p -m 0700 -- ${dir}`, `chmod 0700 -- ${dir}`]);
    expect([...pool.files.keys()].sort()).toEqual([`${dir}/molthub.env`, `${dir}/openclaw.json`]);
    expect(warnings.join("\n")).toMatch(/not chowned to uid 1000/);
  });

  it("a remote root dir can be set (it must be a plain absolute path: it ends up in a bind spec)", async () => {
    const p = makeProvider({ remoteRootDir: (h) => `/srv/bots-${h.name}` });
    await p.configure(bot("nas"), signal());
    expect(pool.commands()).toContain("mkdir -p -m 0700 -- /srv/bots-nas/ws-1/support");
    const bad = makeProvider({ remoteRootDir: () => "/srv/my bots:x" });
    await expect(bad.configure(bot("nas"), signal())).rejects.toMatchObject({ code: "invalid_config" });
  });

  it("ensure checks the mounted paths on the host, not here", async () => {
    pool = new RecordingPool(
      responder((argv) => (argv[0] === "test" && argv[2] === "/etc/molthub/resolv.conf" ? { code: 1 } : undefined)),
    );
    const p = makeProvider({
      resolvConf: "/etc/molthub/resolv.conf",
      openclawMount: { hostNodeModulesDir: "/opt/openclaw/node_modules" },
    });
    const err = await p.ensure(bot("nas"), signal()).catch((e) => e);
    expect(err).toBeInstanceOf(ProviderError);
    expect(err.message).toBe("the resolv.conf to mount (/etc/molthub/resolv.conf) does not exist on host nas");
    expect(pool.commands()).toEqual([
      "test -e /opt/openclaw/node_modules/openclaw/openclaw.mjs",
      "test -e /etc/molthub/resolv.conf",
    ]);
  });

  it("the endpoint is a forward to the gateway's loopback port on the host, reused, and closed by destroy", async () => {
    const p = makeProvider();
    const b = bot("nas");
    await p.configure(b, signal());
    await p.start(b, signal());
    const ep = await p.endpoint(b, signal());
    const toGateway = pool.targets.filter((t) => t.target.port !== undefined);
    expect(toGateway.map((t) => [t.host, t.target])).toEqual([["pool-nas", { host: "127.0.0.1", port: 18800 }]]);
    const fwd = toGateway[0]!.fwd;
    // the fake forward serves /healthz: the URL leads through it, once the container proved the port is its own
    expect((await fetch(`${ep.httpUrl}/healthz`)).status).toBe(200);
    expect(remote.calls).toContain("exec molthub-ws1-support-id sh");
    await ep.close(); // keeps the forward for the next caller
    const again = await p.endpoint(b, signal());
    expect((await fetch(`${again.httpUrl}/healthz`)).status).toBe(200);
    await again.close();
    expect(pool.targets.filter((t) => t.target.port !== undefined)).toHaveLength(1);
    expect(p.openForwards().endpoints).toEqual(["bot-1"]);

    await p.destroy(b, { purge: false }, signal());
    expect(fwd.closed).toBe(true);
    expect(p.openForwards().endpoints).toEqual([]);
    expect(remote.containers.size).toBe(0);
    expect(remote.calls).toEqual(expect.arrayContaining(["stop molthub-ws1-support-id", "remove molthub-ws1-support-id"]));

    // shutdown closes the engine forward too
    const engineFwd = pool.targets.find((t) => t.target.socketPath)!.fwd;
    expect(engineFwd.closed).toBe(false);
    await p.closeAll();
    expect(engineFwd.closed).toBe(true);
    expect(p.openForwards()).toEqual({ engines: [], endpoints: [] });
    await pool.closeAll();
  });

  it("portFree asks the engine's host (ss over SSH) before the container runs, and the container once it runs", async () => {
    let held = false;
    pool = new RecordingPool(
      responder((argv) => (held && isPortOwners(argv) ? portOwnersOutput(Number(argv[4]), { pid: 555 }) : undefined)),
    );
    const p = makeProvider();
    const b = bot("nas");
    expect(await p.portFree(b, 18800, signal())).toBe(true);
    held = true;
    expect(await p.portFree(b, 18800, signal())).toBe(false);
    expect(pool.commands().filter((c) => c.startsWith("sh -c"))).toHaveLength(2);
    // running: the container's own view decides (the fake container's gateway holds 18800)
    await p.configure(b, signal());
    await p.start(b, signal());
    expect(await p.portFree(b, 18800, signal())).toBe(true);
    expect(remote.calls).toContain("exec molthub-ws1-support-id sh");
  });

  it("destroy with purge removes the state dir on the host after checking where it resolves", async () => {
    const dir = "/var/lib/molthub/docker/ws-1/support";
    const answers =
      (resolvesTo: string): Responder =>
      (argv) => {
        const line = argv.join(" ");
        if (line === `test -L ${dir}`) return { code: 1 };
        if (line === `realpath -- ${dir}`) return { stdout: `${resolvesTo}\n` };
        if (line === "realpath -- /var/lib/molthub/docker") return { stdout: "/var/lib/molthub/docker\n" };
        return undefined;
      };
    pool = new RecordingPool(responder(answers(dir)));
    await makeProvider().destroy(bot("nas"), { purge: true }, signal());
    expect(pool.commands()).toContain(`rm -rf -- ${dir}`);

    pool = new RecordingPool(responder(answers("/etc")));
    const err = await makeProvider()
      .destroy(bot("nas"), { purge: true }, signal())
      .catch((e) => e);
    expect(err).toBeInstanceOf(ProviderError);
    expect(err.message).toMatch(/refusing to purge .* resolves outside/);
    expect(pool.commands().some((c) => c.startsWith("rm "))).toBe(false);
  });

  it("logs tail the gateway's log file on the host over SSH", async () => {
    pool = new RecordingPool(responder(), () => ["line 1", "line 2"]);
    const lines: string[] = [];
    for await (const l of makeProvider().logs(bot("nas"), { follow: true, tail: 5 }, signal())) lines.push(l);
    expect(lines).toEqual(["line 1", "line 2"]);
    expect(pool.streams.map((s) => s.argv.join(" "))).toEqual([
      "tail -n 5 -F -- /var/lib/molthub/docker/ws-1/support/logs/gateway.log",
    ]);
  });

  it("says what to do when the host's engine cannot be used", async () => {
    // no socket
    remote = fakeEngine({ pingError: new Error("socket hang up") });
    pool = new RecordingPool(responder((argv) => (argv[0] === "test" && argv[1] === "-S" ? { code: 1 } : undefined)));
    let err = await makeProvider()
      .ensure(bot("nas"), signal())
      .catch((e) => e);
    expect(err).toMatchObject({ code: "unreachable" });
    expect(err.message).toContain("there is no Docker socket at /var/run/docker.sock on host nas");

    // a login without the docker group
    pool = new RecordingPool(responder((argv) => (argv[0] === "test" && argv[1] === "-r" ? { code: 1 } : undefined)));
    err = await makeProvider()
      .ensure(bot("pi"), signal())
      .catch((e) => e);
    expect(err.message).toContain("molt on host pi may not use the Docker socket /var/run/docker.sock");
    expect(err.message).toContain("sudo usermod -aG docker molt");

    // socket fine, engine still silent: sshd's forwarding settings
    pool = new RecordingPool(responder());
    err = await makeProvider()
      .ensure(bot("nas"), signal())
      .catch((e) => e);
    expect(err.message).toContain("cannot reach the Docker engine on host nas through SSH (socket hang up)");
    expect(err.message).toContain("AllowStreamLocalForwarding");
  });

  it("refuses a host target when the appliance has no host registry", async () => {
    const p = new DockerProvider({ docker: untouchable, rootDir: localRoot });
    const err = await p.ensure(bot("nas"), signal()).catch((e) => e);
    expect(err).toBeInstanceOf(ProviderError);
    expect(err.code).toBe("invalid_config");
    expect(err.message).toContain("started without the host registry");
    expect(err.issues).toEqual([{ path: "spec.target.host", message: "no host registry" }]);
  });
});

describe("defaultRemoteEngine", () => {
  it("opens a fresh connection (so a fresh SSH channel) per request: no keep-alive onto a dropped connection", async () => {
    const engine = createHttpServer((_req, res) => {
      res.writeHead(200, { "content-type": "text/plain", "api-version": "1.47" });
      res.end("OK");
    });
    await new Promise<void>((r) => engine.listen(0, "127.0.0.1", () => r()));
    let connections = 0;
    // stands in for the pool forward: one accepted connection = one channel
    const forward = createTcpServer((sock) => {
      connections++;
      const up = connect((engine.address() as { port: number }).port, "127.0.0.1");
      sock.pipe(up).pipe(sock);
      sock.on("error", () => up.destroy());
      up.on("error", () => sock.destroy());
    });
    await new Promise<void>((r) => forward.listen(0, "127.0.0.1", () => r()));
    try {
      const fwd: LocalForward = {
        port: (forward.address() as { port: number }).port,
        target: "fake",
        active: 0,
        closed: false,
        close: async () => {},
      };
      const docker = defaultRemoteEngine(fwd, hostInfo());
      for (let i = 0; i < 3; i++) expect(String(await docker.ping())).toBe("OK");
      expect(connections).toBe(3);
    } finally {
      await new Promise<void>((r) => forward.close(() => r()));
      engine.closeAllConnections();
      await new Promise<void>((r) => engine.close(() => r()));
    }
  });
});
