/**
 * The exec relay: a loopback TCP server whose every connection is piped, through `docker exec`, to a tiny Node
 * program inside the bot's container that connects to the gateway on the container's own 127.0.0.1.
 *
 * Why: a bridge-network gateway binds loopback inside its namespace and nothing is published, so there is no
 * port to reach from the host; and a published port would arrive from the bridge as a non-loopback client that
 * OpenClaw makes pair manually. Through the relay the gateway sees a loopback client, exactly as for a
 * host-network container, and no port leaves the host. It works the same over a remote Docker engine.
 *
 * Per connection: exec create (AttachStdin/Stdout/Stderr, no TTY so bytes pass untouched) → exec start with
 * `hijack: true, stdin: true` (dockerode hands back the raw upgraded socket: our writes are the program's stdin,
 * its stdout/stderr come back multiplexed) → client bytes go to stdin, stdout frames go to the client, stderr
 * frames are the relay's own diagnostics. A client FIN half-closes stdin, which the program turns into a FIN to
 * the gateway; when the gateway closes, the program exits and the exec stream ends.
 */
import { createServer, type Server, type Socket } from "node:net";
import type { Duplex } from "node:stream";
import type Dockerode from "dockerode";
import { FrameDemuxer } from "./stream.ts";

/**
 * Runs inside the container as `node -e RELAY_PROGRAM <port>`. After stdin ends it gives the gateway 10 s to
 * finish (half-closed HTTP); if the exec's attach connection was simply dropped, that also ends it.
 */
export const RELAY_PROGRAM = [
  `const s=require("net").connect(+process.argv[1],"127.0.0.1");`,
  `s.setNoDelay(true);`,
  `process.stdin.pipe(s);`,
  `s.pipe(process.stdout);`,
  `process.stdin.on("end",()=>setTimeout(()=>process.exit(0),10000).unref());`,
  `s.on("error",(e)=>{process.stderr.write("relay: "+e.message+"\\n");process.exit(1)});`,
  `s.on("close",()=>process.exit(0));`,
].join("");

export interface RelayLogger {
  debug(msg: string, fields?: Record<string, unknown>): void;
}

export interface ExecRelay {
  /** the loopback port the relay listens on */
  port: number;
  /** connections currently relayed */
  active(): number;
  /** stops listening and cuts every relayed connection (and with it each exec's stdin) */
  close(): Promise<void>;
}

/**
 * Starts a relay to `127.0.0.1:<targetPort>` inside `container` (pin it by id, so a replacement container is
 * never reached by mistake).
 *
 * @example
 * const relay = await startExecRelay({ container: docker.getContainer(id), targetPort: 18800 });
 * await fetch(`http://127.0.0.1:${relay.port}/readyz`);
 * await relay.close();
 */
export async function startExecRelay(opts: {
  container: Dockerode.Container;
  targetPort: number;
  logger?: RelayLogger;
}): Promise<ExecRelay> {
  const { container, targetPort } = opts;
  const log = opts.logger;
  const clients = new Set<Socket>();
  const streams = new Set<Duplex>();
  let closed = false;

  const bridge = async (client: Socket): Promise<void> => {
    const exec = await container.exec({
      Cmd: ["node", "-e", RELAY_PROGRAM, String(targetPort)],
      AttachStdin: true,
      AttachStdout: true,
      AttachStderr: true,
      Tty: false,
    });
    if (closed || client.destroyed) return void client.destroy();
    const stream = await exec.start({ hijack: true, stdin: true });
    if (closed || client.destroyed) {
      stream.destroy();
      return void client.destroy();
    }
    streams.add(stream);
    let diagnostics = "";
    const demux = new FrameDemuxer((kind, payload) => {
      if (kind === "stdout") {
        if (!client.write(payload)) stream.pause();
      } else if (diagnostics.length < 2000) {
        diagnostics += payload.toString("utf8");
      }
    });
    client.on("drain", () => stream.resume());
    stream.on("data", (chunk: Buffer) => demux.push(chunk));
    stream.on("end", () => client.end());
    stream.on("error", (e) => {
      log?.debug("relay stream error", { err: e.message });
      client.destroy();
    });
    stream.on("close", () => {
      streams.delete(stream);
      if (diagnostics) log?.debug("relay connection ended", { port: targetPort, diagnostics: diagnostics.trim() });
      if (!client.writableEnded) client.destroy();
    });
    stream.on("drain", () => client.resume());
    client.on("data", (chunk: Buffer) => {
      if (!stream.write(chunk)) client.pause();
    });
    // half-close: the program sees stdin end and passes the FIN on to the gateway
    client.on("end", () => stream.end());
    client.on("close", () => stream.destroy());
    client.resume();
  };

  const server: Server = createServer({ pauseOnConnect: true, allowHalfOpen: true }, (client) => {
    if (closed) return void client.destroy();
    clients.add(client);
    client.setNoDelay(true);
    client.on("close", () => clients.delete(client));
    client.on("error", () => client.destroy());
    bridge(client).catch((e: Error) => {
      log?.debug("relay could not exec into the container", { err: e.message });
      client.destroy();
    });
  });

  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      server.off("error", reject);
      resolve();
    });
  });
  const address = server.address();
  if (!address || typeof address === "string") throw new Error("the relay did not get a TCP port");

  return {
    port: address.port,
    active: () => streams.size,
    close: async () => {
      if (closed) return;
      closed = true;
      const done = new Promise<void>((resolve) => server.close(() => resolve()));
      for (const s of streams) s.destroy();
      for (const c of clients) c.destroy();
      await done;
    },
  };
}
