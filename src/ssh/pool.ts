/**
 * SshPool: one ssh2 connection per host, reused by every command, with a new channel per command.
 *
 * - Keepalive (ssh2 keepaliveInterval/keepaliveCountMax) detects half-open connections; a dropped connection is
 *   forgotten and the next call reconnects.
 * - Every call has a deadline (connect + channel + command). A command that times out or is cancelled gets TERM,
 *   then KILL, on ITS channel, which is then closed; the connection and the other commands on it are untouched.
 * - Commands are argv, quoted by `buildRemoteCommand` (never concatenated); the remote shell `exec`s the command so
 *   channel signals reach it.
 * - Host keys are checked in key exchange (see hostkey.ts): a mismatch is refused before authentication.
 * - The private key is only handed to ssh2; it never appears in errors, logs or `stats()`.
 */
import { randomBytes } from "node:crypto";
import type { Client, ClientChannel, SFTPWrapper } from "ssh2";
import { type LocalForward, startLocalForward } from "./forward.ts";
import {
  decideHostKey,
  fingerprintSha256,
  HostKeyMismatchError,
  HostKeyNotPinnedError,
  type HostKeyPolicy,
  keyTypeOf,
  normalizeFingerprint,
} from "./hostkey.ts";
import { ssh2 } from "./lib.ts";
import { buildRemoteCommand } from "./quote.ts";

export interface SshHostConfig {
  host: string;
  port?: number;
  username: string;
  /** OpenSSH-format private key. Never logged. */
  privateKey: Buffer | string;
  hostKey: HostKeyPolicy;
  /** SSH-level keepalive interval (default 15 s); `keepaliveCountMax` unanswered ones drop the connection. */
  keepaliveIntervalMs?: number;
  keepaliveCountMax?: number;
  /** TCP connect + key exchange + authentication (default 10 s). */
  readyTimeoutMs?: number;
  /** Concurrent channels per connection (OpenSSH's MaxSessions defaults to 10). Default 8. */
  maxChannels?: number;
}

export interface ExecOptions {
  /** Deadline for the whole call: connect, open channel, run. Default: the pool's defaultTimeoutMs. */
  timeoutMs?: number;
  signal?: AbortSignal;
  stdin?: string | Buffer;
  env?: Record<string, string>;
  /** Output cap per stream (default 16 MiB); beyond it output is dropped and `truncated` is set. */
  maxOutputBytes?: number;
}

export interface ExecResult {
  /** Exit status, or null when the command died from a signal. */
  code: number | null;
  signal: string | null;
  stdout: string;
  stderr: string;
  truncated?: boolean;
}

export interface ExecStreamOptions {
  /** Deadline to connect and start the command (default: defaultTimeoutMs). The stream then runs until abort. */
  timeoutMs?: number;
  signal?: AbortSignal;
  env?: Record<string, string>;
  /** Also yield stderr lines (default: stdout only). */
  includeStderr?: boolean;
}

export interface SftpOptions {
  timeoutMs?: number;
  signal?: AbortSignal;
}

export interface HostStats {
  connected: boolean;
  /** Connections opened (TCP + handshake started). */
  connects: number;
  /** Times the authentication handler ran (0 when a host key was refused). */
  authAttempts: number;
  /** Fingerprint the server presented on the last handshake. */
  lastFingerprint?: string;
  activeChannels: number;
}

export interface SshPoolOptions {
  defaultTimeoutMs?: number;
  /** Structured events (connect, disconnect, timeout); values never include key material. */
  log?: (event: string, fields: Record<string, unknown>) => void;
}

export type SshErrorCode =
  | "auth_failed"
  | "unreachable"
  | "timeout"
  | "aborted"
  | "connection_lost"
  | "channel"
  | "unknown_host"
  | "closed"
  | "sftp";

export class SshError extends Error {
  override name = "SshError";
  constructor(
    readonly code: SshErrorCode,
    message: string,
    readonly partial?: { stdout: string; stderr: string },
  ) {
    super(message);
  }
}

interface Conn {
  client: Client;
  ready: Promise<void>;
  closed: boolean;
  active: number;
  waiters: Array<() => void>;
  /** Called when the connection goes away, to fail the operations on it. */
  onLost: Set<(err: Error) => void>;
}

interface HostState {
  cfg: SshHostConfig;
  conn?: Conn;
  stats: { connects: number; authAttempts: number; lastFingerprint?: string };
}

/** A deadline shared by the steps of one call: rejects with timeout/aborted. */
class Deadline {
  readonly controller = new AbortController();
  reason?: SshError;
  private timer: ReturnType<typeof setTimeout>;
  private readonly onAbort: () => void;
  constructor(
    readonly timeoutMs: number,
    private readonly outer: AbortSignal | undefined,
    what: string,
  ) {
    this.timer = setTimeout(() => this.fire(new SshError("timeout", `${what} timed out after ${timeoutMs} ms`)), timeoutMs);
    this.onAbort = () => this.fire(new SshError("aborted", `${what} was cancelled`));
    if (outer?.aborted) this.onAbort();
    else outer?.addEventListener("abort", this.onAbort, { once: true });
  }
  get signal(): AbortSignal {
    return this.controller.signal;
  }
  private fire(err: SshError): void {
    if (this.reason) return;
    this.reason = err;
    this.controller.abort(err);
  }
  /** Reject when the deadline fires. */
  race<T>(p: Promise<T>): Promise<T> {
    if (this.reason) return Promise.reject(this.reason);
    return new Promise<T>((resolve, reject) => {
      const onAbort = () => reject(this.reason);
      this.signal.addEventListener("abort", onAbort, { once: true });
      p.then(
        (v) => {
          this.signal.removeEventListener("abort", onAbort);
          resolve(v);
        },
        (e) => {
          this.signal.removeEventListener("abort", onAbort);
          reject(e);
        },
      );
    });
  }
  dispose(): void {
    clearTimeout(this.timer);
    this.outer?.removeEventListener("abort", this.onAbort);
  }
}

const DEFAULTS = { port: 22, keepaliveIntervalMs: 15_000, keepaliveCountMax: 3, readyTimeoutMs: 10_000, maxChannels: 8 };
const KILL_GRACE_MS = 1_000;

function where(cfg: SshHostConfig): string {
  return `${cfg.username}@${cfg.host}:${cfg.port ?? DEFAULTS.port}`;
}

/** Turn an ssh2/socket error into an error that says what to do. */
function explainConnectError(cfg: SshHostConfig, err: Error & { level?: string; code?: string }): Error {
  if (err instanceof HostKeyMismatchError || err instanceof HostKeyNotPinnedError || err instanceof SshError) return err;
  const port = cfg.port ?? DEFAULTS.port;
  if (err.level === "client-authentication") {
    return new SshError(
      "auth_failed",
      `authentication failed for ${where(cfg)}: add the appliance's public key to ~/.ssh/authorized_keys of ${cfg.username} on ${cfg.host} ` +
        `(file mode 0600 or 0644, ~/.ssh 0700, owned by ${cfg.username})`,
    );
  }
  const net = err.code ?? "";
  if (
    ["ECONNREFUSED", "ENOTFOUND", "EHOSTUNREACH", "ENETUNREACH", "ETIMEDOUT", "EAI_AGAIN", "ECONNRESET"].includes(net) ||
    err.level === "client-timeout"
  ) {
    return new SshError(
      "unreachable",
      `cannot reach ${cfg.host}:${port} (${net || err.message}): check that the host is up, sshd listens on port ${port} and no firewall blocks it`,
    );
  }
  return new SshError("unreachable", `ssh connection to ${cfg.host}:${port} failed: ${err.message}`);
}

export class SshPool {
  private readonly hosts = new Map<string, HostState>();
  private readonly defaultTimeoutMs: number;
  private readonly log: (event: string, fields: Record<string, unknown>) => void;
  private closed = false;
  /** Channels whose 'close' has fired (ssh2 emits it once). */
  private readonly closedChannels = new WeakSet<ClientChannel>();

  constructor(opts: SshPoolOptions = {}) {
    this.defaultTimeoutMs = opts.defaultTimeoutMs ?? 60_000;
    this.log = opts.log ?? (() => {});
  }

  /** Add or replace a host. A changed config drops the existing connection (new key, new pin, new address). */
  setHost(id: string, cfg: SshHostConfig): void {
    if (cfg.hostKey?.mode === "pinned")
      normalizeFingerprint(cfg.hostKey.fingerprint); // throws on a malformed pin
    else if (cfg.hostKey?.mode !== "probe")
      throw new Error(`host ${id}: hostKey must be { mode: "pinned", fingerprint } or { mode: "probe" }`);
    const prev = this.hosts.get(id);
    if (prev?.conn) this.drop(prev, new SshError("connection_lost", `host ${id} was reconfigured`));
    this.hosts.set(id, { cfg: { ...cfg }, stats: prev?.stats ?? { connects: 0, authAttempts: 0 } });
  }

  removeHost(id: string): void {
    const st = this.hosts.get(id);
    if (st?.conn) this.drop(st, new SshError("closed", `host ${id} was removed`));
    this.hosts.delete(id);
  }

  stats(id: string): HostStats {
    const st = this.state(id);
    return { connected: !!st.conn && !st.conn.closed, activeChannels: st.conn?.active ?? 0, ...st.stats };
  }

  /** Drop the connection of a host (the next call reconnects). */
  disconnect(id: string): void {
    const st = this.hosts.get(id);
    if (st?.conn) this.drop(st, new SshError("connection_lost", `connection to host ${id} was closed`));
  }

  close(): void {
    this.closed = true;
    for (const st of this.hosts.values()) if (st.conn) this.drop(st, new SshError("closed", "the ssh pool was closed"));
  }

  private state(id: string): HostState {
    const st = this.hosts.get(id);
    if (!st) throw new SshError("unknown_host", `unknown ssh host ${JSON.stringify(id)}`);
    return st;
  }

  private drop(st: HostState, err: Error): void {
    const conn = st.conn;
    if (!conn) return;
    st.conn = undefined;
    if (!conn.closed) {
      conn.closed = true;
      for (const f of [...conn.onLost]) f(err);
      for (const w of conn.waiters.splice(0)) w();
      conn.client.end();
      setTimeout(() => conn.client.destroy(), 1_000).unref?.();
    }
  }

  private connect(id: string, st: HostState): Conn {
    const cfg = st.cfg;
    const port = cfg.port ?? DEFAULTS.port;
    const client: Client = new (ssh2().Client)();
    let keyRefusal: Error | undefined;
    let handedKey = false;
    const conn: Conn = { client, closed: false, active: 0, waiters: [], onLost: new Set(), ready: Promise.resolve() };
    st.stats.connects++;
    this.log("ssh.connect", { host: id, address: `${cfg.host}:${port}`, user: cfg.username });
    conn.ready = new Promise<void>((resolve, reject) => {
      let settled = false;
      client.once("ready", () => {
        settled = true;
        resolve();
      });
      client.on("error", (err: Error & { level?: string }) => {
        const e = keyRefusal ?? explainConnectError(cfg, err);
        if (!settled) {
          settled = true;
          reject(e);
        } else {
          this.log("ssh.error", { host: id, message: err.message });
        }
        if (st.conn === conn)
          this.drop(st, new SshError("connection_lost", `connection to ${cfg.host}:${port} lost: ${err.message}`));
        else conn.closed = true;
      });
      client.on("close", () => {
        if (!settled) {
          settled = true;
          reject(keyRefusal ?? new SshError("unreachable", `connection to ${cfg.host}:${port} closed during the handshake`));
        }
        this.log("ssh.disconnect", { host: id });
        if (st.conn === conn) this.drop(st, new SshError("connection_lost", `connection to ${cfg.host}:${port} was lost`));
        conn.closed = true;
      });
    });
    conn.ready.catch(() => {});
    client.connect({
      host: cfg.host,
      port,
      username: cfg.username,
      readyTimeout: cfg.readyTimeoutMs ?? DEFAULTS.readyTimeoutMs,
      keepaliveInterval: cfg.keepaliveIntervalMs ?? DEFAULTS.keepaliveIntervalMs,
      keepaliveCountMax: cfg.keepaliveCountMax ?? DEFAULTS.keepaliveCountMax,
      hostVerifier: (key: Buffer) => {
        let d: ReturnType<typeof decideHostKey>;
        try {
          d = decideHostKey(cfg.hostKey, key);
        } catch (e) {
          keyRefusal = e as Error;
          return false;
        }
        st.stats.lastFingerprint = d.fingerprint;
        if (d.accept) return true;
        keyRefusal =
          d.reason === "mismatch"
            ? new HostKeyMismatchError(cfg.host, port, d.expected!, d.fingerprint)
            : new HostKeyNotPinnedError(cfg.host, port, d.fingerprint, d.keyType);
        this.log("ssh.hostkey_refused", { host: id, reason: d.reason, fingerprint: d.fingerprint });
        return false;
      },
      authHandler: (_methodsLeft, _partial, next) => {
        st.stats.authAttempts++;
        if (handedKey) return next(false as never);
        handedKey = true;
        next({ type: "publickey", username: cfg.username, key: cfg.privateKey });
      },
    });
    return conn;
  }

  /** A ready connection with a free channel slot; call the returned release() when the channel is done. */
  private async acquire(id: string, dl: Deadline): Promise<{ conn: Conn; release: () => void }> {
    if (this.closed) throw new SshError("closed", "the ssh pool was closed");
    const st = this.state(id);
    for (let attempt = 0; ; attempt++) {
      let conn = st.conn;
      if (!conn || conn.closed) {
        conn = this.connect(id, st);
        st.conn = conn;
      }
      try {
        await dl.race(conn.ready);
      } catch (e) {
        if (st.conn === conn && e !== dl.reason) this.drop(st, e as Error);
        throw e;
      }
      if (conn.closed) {
        if (attempt < 1) continue; // lost between ready and now: one fresh try
        throw new SshError("connection_lost", `connection to ${st.cfg.host} was lost`);
      }
      const max = st.cfg.maxChannels ?? DEFAULTS.maxChannels;
      while (conn.active >= max && !conn.closed) {
        let wake!: () => void;
        const slot = new Promise<void>((r) => (wake = r));
        conn.waiters.push(wake);
        try {
          await dl.race(slot);
        } catch (e) {
          // gave up waiting: leave the queue so a freed slot goes to a live caller
          const i = conn.waiters.indexOf(wake);
          if (i >= 0) conn.waiters.splice(i, 1);
          throw e;
        }
      }
      if (conn.closed) continue;
      conn.active++;
      let released = false;
      const c = conn;
      return {
        conn: c,
        release: () => {
          if (released) return;
          released = true;
          c.active--;
          c.waiters.shift()?.();
        },
      };
    }
  }

  /**
   * Open an exec channel. `setup` runs synchronously in ssh2's callback, before any event of the channel can be
   * emitted (an exit status can arrive in the same packet as the channel confirmation).
   */
  private openExec(conn: Conn, command: string, dl: Deadline, setup: (ch: ClientChannel) => void): Promise<ClientChannel> {
    return dl.race(
      new Promise<ClientChannel>((resolve, reject) => {
        conn.client.exec(command, (err, ch) => {
          if (err) return reject(new SshError("channel", `could not start the command: ${err.message}`));
          if (dl.reason) {
            // the deadline fired while the channel was opening: nobody will use it
            this.stopChannel(ch);
            return;
          }
          ch.once("close", () => this.closedChannels.add(ch));
          setup(ch);
          resolve(ch);
        });
      }),
    );
  }

  /**
   * Send a signal on a channel. ssh2's Channel.signal() refuses once stdin was ended (we always end it), so use
   * the protocol directly while the channel is open; OpenSSH delivers it to the command's process group.
   */
  private sendSignal(ch: ClientChannel, name: string): void {
    const c = ch as unknown as {
      outgoing?: { id: number; state: string };
      _client?: { _protocol?: { signal(id: number, s: string): void } };
    };
    try {
      if ((c.outgoing?.state === "open" || c.outgoing?.state === "eof") && c._client?._protocol)
        c._client._protocol.signal(c.outgoing.id, name);
      else ch.signal(name);
    } catch {}
  }

  /** TERM, then KILL after a grace period, then close — all on this channel only. */
  private stopChannel(ch: ClientChannel): void {
    this.sendSignal(ch, "TERM");
    const t = setTimeout(() => {
      this.sendSignal(ch, "KILL");
      try {
        ch.close();
      } catch {}
    }, KILL_GRACE_MS);
    t.unref?.();
    ch.once("close", () => clearTimeout(t));
  }

  /** Run argv on the host; resolves with the exit status (a non-zero exit is not an error). */
  async exec(id: string, argv: readonly string[], opts: ExecOptions = {}): Promise<ExecResult> {
    const command = buildRemoteCommand(argv, opts.env);
    const dl = new Deadline(
      opts.timeoutMs ?? this.defaultTimeoutMs,
      opts.signal,
      `ssh command ${JSON.stringify(argv[0])} on ${id}`,
    );
    let lease: { conn: Conn; release: () => void } | undefined;
    let execChannel: ClientChannel | undefined;
    try {
      lease = await this.acquire(id, dl);
      const conn = lease.conn;
      const max = opts.maxOutputBytes ?? 16 * 1024 * 1024;
      return await new Promise<ExecResult>((resolve, reject) => {
        const out: Buffer[] = [];
        const err: Buffer[] = [];
        let outLen = 0;
        let errLen = 0;
        let truncated = false;
        let code: number | null = null;
        let sig: string | null = null;
        let sawExit = false;
        let done = false;
        let channel: ClientChannel | undefined;
        const partial = () => ({ stdout: Buffer.concat(out).toString("utf8"), stderr: Buffer.concat(err).toString("utf8") });
        const finish = (e?: Error) => {
          if (done) return;
          done = true;
          dl.signal.removeEventListener("abort", onDeadline);
          conn.onLost.delete(onLost);
          if (e) return reject(e);
          const r: ExecResult = { code, signal: sig, ...partial() };
          if (truncated) r.truncated = true;
          resolve(r);
        };
        const onDeadline = () => {
          if (channel) this.stopChannel(channel);
          const r = dl.reason!;
          finish(new SshError(r.code, r.message, partial()));
        };
        const onLost = (e: Error) =>
          finish(new SshError("connection_lost", `${e.message} while running ${JSON.stringify(argv[0])}`, partial()));
        conn.onLost.add(onLost);
        dl.signal.addEventListener("abort", onDeadline, { once: true });
        if (dl.reason) return onDeadline();
        this.openExec(conn, command, dl, (ch) => {
          channel = ch;
          execChannel = ch;
          ch.on("data", (b: Buffer) => {
            if (outLen + b.length > max) truncated = true;
            else {
              out.push(b);
              outLen += b.length;
            }
          });
          ch.stderr.on("data", (b: Buffer) => {
            if (errLen + b.length > max) truncated = true;
            else {
              err.push(b);
              errLen += b.length;
            }
          });
          ch.on("exit", (c: number | null, s?: string) => {
            sawExit = true;
            code = typeof c === "number" ? c : null;
            sig = s ?? null;
          });
          ch.on("close", () => {
            if (!sawExit && !done) {
              return finish(
                new SshError("channel", `the channel of ${JSON.stringify(argv[0])} closed without an exit status`, partial()),
              );
            }
            finish();
          });
          ch.on("error", (e: Error) => finish(new SshError("channel", e.message, partial())));
          if (opts.stdin !== undefined) ch.end(opts.stdin);
          else ch.end();
        }).catch((e: Error) => finish(e === dl.reason ? new SshError(dl.reason.code, dl.reason.message, partial()) : e));
      });
    } finally {
      dl.dispose();
      if (lease) this.releaseAfterClose(lease, execChannel);
    }
  }

  /**
   * Free the channel slot once the channel is really closed (a timed-out command's channel lingers for the TERM →
   * KILL grace), so the connection never holds more open channels than maxChannels.
   */
  private releaseAfterClose(lease: { conn: Conn; release: () => void }, ch: ClientChannel | undefined): void {
    if (!ch || lease.conn.closed || this.closedChannels.has(ch)) {
      lease.release();
      return;
    }
    const conn = lease.conn;
    const done = () => {
      ch.removeListener("close", done);
      conn.onLost.delete(done);
      lease.release();
    };
    ch.once("close", done);
    conn.onLost.add(done);
  }

  /**
   * Run a long-lived command (e.g. `journalctl -f`) and yield its output line by line. Ends when the command exits
   * or `signal` aborts (the command then gets TERM/KILL on its channel); breaking out of the loop also stops it.
   */
  async *execStream(id: string, argv: readonly string[], opts: ExecStreamOptions = {}): AsyncGenerator<string, void, undefined> {
    const command = buildRemoteCommand(argv, opts.env);
    const dl = new Deadline(
      opts.timeoutMs ?? this.defaultTimeoutMs,
      opts.signal,
      `ssh stream ${JSON.stringify(argv[0])} on ${id}`,
    );
    let lease: { conn: Conn; release: () => void } | undefined;
    let ch: ClientChannel | undefined;
    try {
      lease = await this.acquire(id, dl);
      const lines: string[] = [];
      let ended = false;
      let failure: Error | undefined;
      let wake: (() => void) | undefined;
      const notify = () => {
        const w = wake;
        wake = undefined;
        w?.();
      };
      const splitter = () => {
        let rest = "";
        return {
          push: (b: Buffer) => {
            rest += b.toString("utf8");
            const parts = rest.split("\n");
            rest = parts.pop()!;
            for (const p of parts) lines.push(p.endsWith("\r") ? p.slice(0, -1) : p);
            notify();
          },
          flush: () => {
            if (rest) lines.push(rest);
            rest = "";
          },
        };
      };
      const so = splitter();
      const se = splitter();
      ch = await this.openExec(lease.conn, command, dl, (c) => {
        c.on("data", so.push);
        if (opts.includeStderr) c.stderr.on("data", se.push);
        else c.stderr.resume();
        c.on("close", () => {
          so.flush();
          se.flush();
          ended = true;
          notify();
        });
      });
      dl.dispose(); // the start deadline is over; from now on only the caller's signal ends the stream
      const c = ch;
      const onAbort = () => {
        this.stopChannel(c);
        ended = true;
        notify();
      };
      const onLost = (e: Error) => {
        failure = new SshError("connection_lost", e.message);
        ended = true;
        notify();
      };
      lease.conn.onLost.add(onLost);
      if (opts.signal?.aborted) onAbort();
      else opts.signal?.addEventListener("abort", onAbort, { once: true });
      c.end();
      try {
        for (;;) {
          if (lines.length > 0) {
            yield lines.shift()!;
            continue;
          }
          if (failure) throw failure;
          if (ended) return;
          await new Promise<void>((r) => (wake = r));
        }
      } finally {
        opts.signal?.removeEventListener("abort", onAbort);
        lease.conn.onLost.delete(onLost);
        if (!ended) this.stopChannel(c);
      }
    } finally {
      dl.dispose();
      lease?.release();
    }
  }

  private async withSftp<T>(id: string, what: string, opts: SftpOptions, fn: (sftp: SFTPWrapper) => Promise<T>): Promise<T> {
    const dl = new Deadline(opts.timeoutMs ?? this.defaultTimeoutMs, opts.signal, `${what} on ${id}`);
    let lease: { conn: Conn; release: () => void } | undefined;
    let sftp: SFTPWrapper | undefined;
    try {
      lease = await this.acquire(id, dl);
      const conn = lease.conn;
      sftp = await dl.race(
        new Promise<SFTPWrapper>((resolve, reject) =>
          conn.client.sftp((err, s) => {
            if (err)
              return reject(
                new SshError("sftp", `could not start sftp: ${err.message} (is the sftp subsystem enabled in sshd_config?)`),
              );
            if (dl.reason) return s.end();
            resolve(s);
          }),
        ),
      );
      let lost: (e: Error) => void = () => {};
      const lostP = new Promise<never>(
        (_, reject) => (lost = (e) => reject(new SshError("connection_lost", `${e.message} during ${what}`))),
      );
      lostP.catch(() => {});
      conn.onLost.add(lost);
      try {
        return await dl.race(Promise.race([fn(sftp), lostP]));
      } finally {
        conn.onLost.delete(lost);
      }
    } finally {
      try {
        sftp?.end();
      } catch {}
      dl.dispose();
      lease?.release();
    }
  }

  /** Write a file atomically: a temp file beside it with `mode`, then rename over the target. */
  async sftpWrite(id: string, path: string, data: string | Buffer, mode = 0o600, opts: SftpOptions = {}): Promise<void> {
    if (path.includes("\0") || path === "") throw new SshError("sftp", "invalid remote path");
    const slash = path.lastIndexOf("/");
    const tmp = `${path.slice(0, slash + 1)}.${path.slice(slash + 1)}.tmp-${randomBytes(6).toString("hex")}`;
    const buf = typeof data === "string" ? Buffer.from(data, "utf8") : data;
    await this.withSftp(id, `sftp write ${path}`, opts, async (sftp) => {
      const call = <T>(f: (cb: (err: Error | null | undefined, v?: T) => void) => void) =>
        new Promise<T>((resolve, reject) =>
          f((err, v) => (err ? reject(new SshError("sftp", `${err.message} (${path})`)) : resolve(v as T))),
        );
      const handle = await call<Buffer>((cb) => sftp.open(tmp, "wx", { mode }, cb));
      try {
        let off = 0;
        while (off < buf.length) {
          const n = Math.min(32 * 1024, buf.length - off);
          await call<void>((cb) => sftp.write(handle, buf, off, n, off, (e) => cb(e)));
          off += n;
        }
        await call<void>((cb) => sftp.fchmod(handle, mode, (e) => cb(e))); // the remote umask may have narrowed it
      } catch (e) {
        await call<void>((cb) => sftp.close(handle, (e2) => cb(e2))).catch(() => {});
        await call<void>((cb) => sftp.unlink(tmp, (e2) => cb(e2))).catch(() => {});
        throw e;
      }
      await call<void>((cb) => sftp.close(handle, (e) => cb(e)));
      try {
        await call<void>((cb) => sftp.ext_openssh_rename(tmp, path, (e) => cb(e)));
      } catch (e) {
        await call<void>((cb) => sftp.unlink(tmp, (e2) => cb(e2))).catch(() => {});
        throw e;
      }
    });
  }

  /**
   * A local TCP listener on 127.0.0.1:<ephemeral> piped to `target` on the host (see forward.ts). Each local
   * connection opens a channel on the host's current pooled connection (reconnecting when needed), so the forward
   * outlives reconnects. Forward channels do not take exec slots (sshd's MaxSessions counts sessions only).
   */
  async forward(
    id: string,
    target: ForwardTarget,
    opts: { timeoutMs?: number; listenPath?: string } = {},
  ): Promise<LocalForward> {
    this.state(id); // unknown host: fail now, not on the first connection
    const host = target.host ?? "127.0.0.1";
    if (target.socketPath === undefined && (!Number.isInteger(target.port) || target.port! <= 0 || target.port! > 65535)) {
      throw new SshError("channel", `invalid forward port ${String(target.port)}`);
    }
    const what = target.socketPath !== undefined ? `${target.socketPath} on ${id}` : `${host}:${target.port} on ${id}`;
    return startLocalForward({
      target: what,
      listenPath: opts.listenPath,
      onError: (e) => this.log("ssh.forward_error", { host: id, target: what, message: e.message }),
      open: () => this.openForwardChannel(id, target, what, opts.timeoutMs ?? Math.min(this.defaultTimeoutMs, 30_000)),
    });
  }

  /** protected: HostPool (src/hosts/directory.ts) reports each forward channel's outcome like any other call */
  protected async openForwardChannel(id: string, target: ForwardTarget, what: string, timeoutMs: number): Promise<ClientChannel> {
    const dl = new Deadline(timeoutMs, undefined, `ssh forward to ${what}`);
    try {
      const lease = await this.acquire(id, dl);
      lease.release(); // the channel slot is only needed to make sure the connection is up
      const conn = lease.conn;
      return await dl.race(
        new Promise<ClientChannel>((resolve, reject) => {
          const cb = (err: Error | undefined, ch: ClientChannel) => {
            if (err) return reject(new SshError("channel", `could not open a forward to ${what}: ${err.message}`));
            if (dl.reason) {
              ch.destroy();
              return;
            }
            const onLost = () => ch.destroy();
            conn.onLost.add(onLost);
            ch.once("close", () => conn.onLost.delete(onLost));
            resolve(ch);
          };
          if (target.socketPath !== undefined) conn.client.openssh_forwardOutStreamLocal(target.socketPath, cb);
          else conn.client.forwardOut("127.0.0.1", 0, target.host ?? "127.0.0.1", target.port!, cb);
        }),
      );
    } finally {
      dl.dispose();
    }
  }

  /** Read a whole remote file. */
  async sftpRead(id: string, path: string, opts: SftpOptions = {}): Promise<Buffer> {
    return this.withSftp(
      id,
      `sftp read ${path}`,
      opts,
      (sftp) =>
        new Promise<Buffer>((resolve, reject) =>
          sftp.readFile(path, (err, b) => (err ? reject(new SshError("sftp", `${err.message} (${path})`)) : resolve(b))),
        ),
    );
  }
}

export interface ForwardTarget {
  /** a TCP port on the host (`direct-tcpip`); host defaults to 127.0.0.1 */
  host?: string;
  port?: number;
  /** or a unix socket on the host (`direct-streamlocal@openssh.com`), e.g. /var/run/docker.sock */
  socketPath?: string;
}

/**
 * Connect only far enough to read the host key and return its fingerprint, for the user to confirm.
 * No authentication is attempted (the verifier says no, so ssh2 never gets to it).
 */
export async function probeHostKey(target: {
  host: string;
  port?: number;
  readyTimeoutMs?: number;
}): Promise<{ fingerprint: string; keyType: string; publicKey: string }> {
  const port = target.port ?? DEFAULTS.port;
  const client: Client = new (ssh2().Client)();
  return new Promise((resolve, reject) => {
    let seen: { fingerprint: string; keyType: string; publicKey: string } | undefined;
    let settled = false;
    const settle = (f: () => void) => {
      if (settled) return;
      settled = true;
      f();
      client.destroy();
    };
    client.on("error", (err: Error & { level?: string; code?: string }) =>
      settle(() =>
        seen
          ? resolve(seen)
          : reject(
              explainConnectError(
                { host: target.host, port, username: "(probe)", privateKey: "", hostKey: { mode: "probe" } },
                err,
              ),
            ),
      ),
    );
    client.on("close", () =>
      settle(() =>
        seen ? resolve(seen) : reject(new SshError("unreachable", `${target.host}:${port} closed before sending a host key`)),
      ),
    );
    client.on("ready", () => settle(() => reject(new SshError("unreachable", "unexpected: authenticated during a probe"))));
    client.connect({
      host: target.host,
      port,
      username: "probe",
      readyTimeout: target.readyTimeoutMs ?? DEFAULTS.readyTimeoutMs,
      hostVerifier: (key: Buffer) => {
        const keyType = keyTypeOf(key);
        seen = { fingerprint: fingerprintSha256(key), keyType, publicKey: `${keyType} ${key.toString("base64")}` };
        return false;
      },
      authHandler: (_m, _p, next) => next(false as never),
    });
  });
}
