/**
 * Local port forwarding over the pool (the `ssh -L` idea, without an ssh binary): a TCP server on
 * 127.0.0.1:<ephemeral> whose every accepted connection is piped through a fresh SSH channel opened by `open()`
 * (`direct-tcpip` to a loopback port on the host, or `direct-streamlocal` to a unix socket such as
 * /var/run/docker.sock).
 *
 * - Each new local connection asks the pool for its CURRENT connection, so a forward survives reconnects (host
 *   restarted, keepalive dropped a half-open link): connections in flight die with the old SSH connection, the
 *   next one reconnects. Host-key pinning is the pool's: a changed key refuses the channel before authentication.
 * - The listener binds 127.0.0.1 only; nothing else on the network can use it.
 * - `close()` stops listening and destroys the sockets and channels in flight.
 */
import { chmodSync, rmSync } from "node:fs";
import { createServer, type Server, type Socket } from "node:net";
import type { Duplex } from "node:stream";

export interface LocalForward {
  /** the local port on 127.0.0.1 (0 when listening on a unix socket) */
  readonly port: number;
  /** the local unix socket, when the forward listens on one */
  readonly path?: string;
  /** what the forward reaches, for messages (`127.0.0.1:18800 on nas`) */
  readonly target: string;
  /** local connections currently piped */
  readonly active: number;
  readonly closed: boolean;
  close(): Promise<void>;
}

export interface ForwardOptions {
  /** opens one channel to the target; called once per accepted local connection */
  open: () => Promise<Duplex>;
  target: string;
  /** errors opening a channel (unreachable host, refused port); the local socket is closed either way */
  onError?: (err: Error) => void;
  /**
   * Listen on this unix socket (made 0600) instead of a 127.0.0.1 port: only this user can connect, which matters
   * when the target is root-equivalent (a Docker engine socket). Its directory should be private (0700).
   */
  listenPath?: string;
}

export async function startLocalForward(opts: ForwardOptions): Promise<LocalForward> {
  const sockets = new Set<Socket>();
  const channels = new Set<Duplex>();
  let closed = false;
  const server: Server = createServer({ pauseOnConnect: true }, (sock) => {
    if (closed) return void sock.destroy();
    sockets.add(sock);
    sock.once("close", () => sockets.delete(sock));
    sock.on("error", () => {});
    opts.open().then(
      (ch) => {
        if (closed || sock.destroyed) {
          ch.destroy();
          return;
        }
        channels.add(ch);
        const end = () => {
          channels.delete(ch);
          if (!sock.destroyed) sock.destroy();
          if (!ch.destroyed) ch.destroy();
        };
        ch.on("error", end);
        ch.once("close", end);
        sock.once("close", end);
        sock.pipe(ch);
        ch.pipe(sock);
        sock.resume();
      },
      (err: Error) => {
        opts.onError?.(err);
        sock.destroy();
      },
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    const ready = () => {
      server.off("error", reject);
      resolve();
    };
    if (opts.listenPath) {
      rmSync(opts.listenPath, { force: true }); // a stale socket from an earlier run
      const old = process.umask(0o177); // created 0600 from the start, not chmod-ed after a window
      try {
        server.listen(opts.listenPath, ready);
      } finally {
        process.umask(old);
      }
    } else server.listen(0, "127.0.0.1", ready);
  });
  server.unref(); // a forward never keeps the process alive by itself
  const addr = server.address();
  const port = addr && typeof addr === "object" ? addr.port : 0;
  if (opts.listenPath) chmodSync(opts.listenPath, 0o600);
  return {
    port,
    path: opts.listenPath,
    target: opts.target,
    get active() {
      return sockets.size;
    },
    get closed() {
      return closed;
    },
    async close() {
      if (closed) return;
      closed = true;
      for (const ch of channels) ch.destroy();
      for (const s of sockets) s.destroy();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}
