/**
 * A gateway endpoint that proves the listener before every connection.
 *
 * Why per connection: the gateway client reconnects on its own (after a gateway restart, a dropped socket, a
 * gateway still starting), so a proof made once when the endpoint was handed out says nothing about the socket a
 * later reconnect reaches. The guard is a loopback TCP server: each accepted connection waits, paused, until
 * `prove()` says the bot's port is held by the bot's own process, and only then is it connected through to the
 * port (or to the SSH forward that reaches it). A refused connection is closed before a single byte of the client
 * — the `connect` frame carries the gateway token — leaves this process; `refusal()` says why, for the error the
 * caller reports instead of a bare "connection closed".
 */
import { connect, createServer, type Server, type Socket } from "node:net";
import { type Endpoint, ProviderError } from "./provider.ts";

export interface GuardOptions {
  /** where a proven connection goes: the gateway's port itself, or the local end of an SSH forward to it */
  upstream: () => Promise<{ host: string; port: number }>;
  /** resolves when the port is the bot's; rejects with the reason (a ForeignListenerError) otherwise */
  prove: (signal: AbortSignal) => Promise<void>;
  /** deadline of one proof (default 15 s) */
  proveTimeoutMs?: number;
  onRefused?: (err: ProviderError) => void;
}

/**
 * Starts the guard on 127.0.0.1:<ephemeral>. `close()` stops it and cuts its connections.
 *
 * @example
 * const ep = await guardedEndpoint({ upstream: async () => ({ host: "127.0.0.1", port: 18800 }), prove: (s) => proveOwn(s) });
 * const client = new GatewayClient({ url: ep.wsUrl, token }); // the token only ever reaches a proven listener
 */
export async function guardedEndpoint(opts: GuardOptions): Promise<Endpoint> {
  const sockets = new Set<Socket>();
  let closed = false;
  let refused: ProviderError | undefined;

  const pass = async (client: Socket): Promise<void> => {
    const signal = AbortSignal.timeout(opts.proveTimeoutMs ?? 15_000);
    await opts.prove(signal);
    const target = await opts.upstream();
    if (closed || client.destroyed) return void client.destroy();
    const up = connect({ host: target.host, port: target.port });
    sockets.add(up);
    up.setNoDelay(true);
    up.on("close", () => {
      sockets.delete(up);
      if (!client.writableEnded) client.destroy();
    });
    up.on("error", () => client.destroy());
    client.on("close", () => up.destroy());
    up.once("connect", () => {
      refused = undefined;
      client.pipe(up);
      up.pipe(client);
      client.resume();
    });
  };

  const server: Server = createServer({ pauseOnConnect: true, allowHalfOpen: true }, (client) => {
    if (closed) return void client.destroy();
    sockets.add(client);
    client.setNoDelay(true);
    client.on("close", () => sockets.delete(client));
    client.on("error", () => client.destroy());
    pass(client).catch((e: unknown) => {
      const err =
        e instanceof ProviderError ? e : new ProviderError(`the gateway port could not be checked: ${String(e)}`, "failed");
      refused = err;
      opts.onRefused?.(err);
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
  if (!address || typeof address === "string") throw new ProviderError("the endpoint guard did not get a TCP port", "failed");
  return {
    wsUrl: `ws://127.0.0.1:${address.port}`,
    httpUrl: `http://127.0.0.1:${address.port}`,
    refusal: () => refused,
    close: async () => {
      if (closed) return;
      closed = true;
      const done = new Promise<void>((resolve) => server.close(() => resolve()));
      for (const s of sockets) s.destroy();
      await done;
    },
  };
}

/**
 * Positive proofs, per bot, for a short time: a remote proof costs SSH round trips, and an endpoint's first
 * proof is followed at once by its first connections. Only a proof for the same owner pid counts.
 */
export class RecentProofs {
  private readonly proofs = new Map<string, { pid: number; until: number }>();
  constructor(private readonly ttlMs = 3_000) {}

  /** the pid proven for `botId` within the last ttl, if any */
  fresh(botId: string): number | undefined {
    const p = this.proofs.get(botId);
    if (!p) return undefined;
    if (Date.now() > p.until) {
      this.proofs.delete(botId);
      return undefined;
    }
    return p.pid;
  }

  remember(botId: string, pid: number): void {
    this.proofs.set(botId, { pid, until: Date.now() + this.ttlMs });
  }

  forget(botId: string): void {
    this.proofs.delete(botId);
  }
}
