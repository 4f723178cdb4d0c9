/**
 * SshPool against an in-process ssh2 Server on 127.0.0.1 (no docker): the server side proves that a refused host
 * key (pinned mismatch, probe) never reaches authentication; channel limits queue instead of failing; deadlines
 * cover a server that never answers; errors say what to do and never carry the private key.
 */
import { type AddressInfo, createServer as createTcpServer, type Socket, type Server as TcpServer } from "node:net";
import { type Connection, Server } from "ssh2";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { fingerprintSha256, HostKeyMismatchError, HostKeyNotPinnedError } from "../../src/ssh/hostkey.ts";
import { generateEd25519KeyPair } from "../../src/ssh/keys.ts";
import { probeHostKey, SshError, type SshHostConfig, SshPool } from "../../src/ssh/pool.ts";

const hostKey = generateEd25519KeyPair("unit-host");
const clientKey = generateEd25519KeyPair("unit-client");
const clientBlob = Buffer.from(clientKey.publicKey.split(" ")[1]!, "base64");

let server: Server;
let port = 0;
let authEvents = 0;
let open = 0;
let maxOpen = 0;

beforeAll(async () => {
  server = new Server({ hostKeys: [hostKey.privateKey] }, (client: Connection) => {
    client.on("authentication", (ctx) => {
      authEvents++;
      if (ctx.method === "publickey" && ctx.username === "molt" && Buffer.compare(ctx.key.data, clientBlob) === 0)
        return ctx.accept();
      ctx.reject(["publickey"]);
    });
    client.on("ready", () => {
      client.on("session", (accept) => {
        const session = accept();
        session.on("exec", (acceptExec, _reject, info) => {
          const ch = acceptExec();
          open++;
          maxOpen = Math.max(maxOpen, open);
          let finished = false;
          const done = (code: number) => {
            if (finished) return;
            finished = true;
            open--;
            try {
              ch.exit(code);
              ch.end();
            } catch {}
          };
          ch.on("close", () => {
            if (!finished) (finished = true), open--;
          });
          // a tiny fake shell: `exec sleepms N` and `exec echo WORD`
          const m = /^exec (\S+) ?(.*)$/.exec(info.command);
          if (m?.[1] === "sleepms") setTimeout(() => done(0), Number(m[2]));
          else if (m?.[1] === "echo") {
            ch.write(`${m[2]}\n`);
            done(0);
          } else done(127);
        });
      });
    });
    client.on("error", () => {});
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()));
  port = (server.address() as AddressInfo).port;
});

afterAll(() => new Promise<void>((r) => server.close(() => r())));

const cfg = (over: Partial<SshHostConfig> = {}): SshHostConfig => ({
  host: "127.0.0.1",
  port,
  username: "molt",
  privateKey: clientKey.privateKey,
  hostKey: { mode: "pinned", fingerprint: hostKey.fingerprint },
  readyTimeoutMs: 5_000,
  ...over,
});

describe("SshPool host keys (server-side view)", () => {
  it("pinned and matching: authenticates once and reuses the connection", async () => {
    const pool = new SshPool();
    pool.setHost("a", cfg());
    const before = authEvents;
    expect(await pool.exec("a", ["echo", "hi"])).toMatchObject({ code: 0, stdout: "hi\n" });
    expect(await pool.exec("a", ["echo", "again"])).toMatchObject({ code: 0, stdout: "again\n" });
    expect(authEvents - before).toBeGreaterThanOrEqual(1);
    expect(pool.stats("a")).toMatchObject({ connects: 1, authAttempts: 1, lastFingerprint: hostKey.fingerprint });
    pool.close();
  });

  it("pinned mismatch: HostKeyMismatchError and the server never sees an authentication request", async () => {
    const other = generateEd25519KeyPair("other");
    const pool = new SshPool();
    pool.setHost("m", cfg({ hostKey: { mode: "pinned", fingerprint: other.fingerprint } }));
    const before = authEvents;
    const err = await pool.exec("m", ["echo", "x"]).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(HostKeyMismatchError);
    expect(err).toMatchObject({ expected: other.fingerprint, actual: hostKey.fingerprint, code: "host_key_mismatch" });
    expect(String((err as Error).message)).not.toContain("PRIVATE KEY");
    await new Promise((r) => setTimeout(r, 100));
    expect(authEvents).toBe(before);
    expect(pool.stats("m").authAttempts).toBe(0);
    pool.close();
  });

  it("probe: reports the fingerprint for confirmation, never authenticates", async () => {
    const before = authEvents;
    const p = await probeHostKey({ host: "127.0.0.1", port });
    expect(p.fingerprint).toBe(hostKey.fingerprint);
    expect(fingerprintSha256(Buffer.from(p.publicKey.split(" ")[1]!, "base64"))).toBe(hostKey.fingerprint);
    const pool = new SshPool();
    pool.setHost("p", cfg({ hostKey: { mode: "probe" } }));
    await expect(pool.exec("p", ["echo", "x"])).rejects.toBeInstanceOf(HostKeyNotPinnedError);
    await new Promise((r) => setTimeout(r, 100));
    expect(authEvents).toBe(before);
    pool.close();
  });

  it("a wrong client key: the error says where to add the public key", async () => {
    const pool = new SshPool();
    const wrong = generateEd25519KeyPair("wrong");
    pool.setHost("w", cfg({ privateKey: wrong.privateKey }));
    const err = await pool.exec("w", ["echo", "x"]).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SshError);
    expect(err).toMatchObject({ code: "auth_failed" });
    expect((err as Error).message).toContain("add the appliance's public key to ~/.ssh/authorized_keys of molt on 127.0.0.1");
    expect((err as Error).message).not.toContain(wrong.privateKey.slice(40, 80));
    pool.close();
  });
});

describe("SshPool channels and deadlines", () => {
  it("queues commands beyond maxChannels on the one connection instead of failing", async () => {
    const pool = new SshPool();
    pool.setHost("c", cfg({ maxChannels: 2 }));
    maxOpen = 0;
    const rs = await Promise.all(Array.from({ length: 6 }, () => pool.exec("c", ["sleepms", "100"])));
    expect(rs.every((r) => r.code === 0)).toBe(true);
    expect(maxOpen).toBe(2);
    expect(pool.stats("c")).toMatchObject({ connects: 1, activeChannels: 0 });
    pool.close();
  });

  it("a command timing out does not disturb another on the same connection", async () => {
    const pool = new SshPool();
    pool.setHost("t", cfg());
    const [slow, fast] = await Promise.allSettled([
      pool.exec("t", ["sleepms", "5000"], { timeoutMs: 300 }),
      pool.exec("t", ["sleepms", "600"], { timeoutMs: 5_000 }),
    ]);
    expect(slow).toMatchObject({ status: "rejected", reason: { code: "timeout" } });
    expect(fast).toMatchObject({ status: "fulfilled", value: { code: 0 } });
    expect(pool.stats("t").connects).toBe(1);
    pool.close();
  });

  it("a timed-out command keeps its slot until its channel is closed, then frees it", async () => {
    const pool = new SshPool();
    pool.setHost("k", cfg({ maxChannels: 1 }));
    const t0 = Date.now();
    await expect(pool.exec("k", ["sleepms", "10000"], { timeoutMs: 200 })).rejects.toMatchObject({ code: "timeout" });
    expect(Date.now() - t0).toBeLessThan(1_000);
    expect(pool.stats("k").activeChannels).toBe(1); // TERM sent; KILL + close after the grace period
    expect(await pool.exec("k", ["echo", "next"], { timeoutMs: 5_000 })).toMatchObject({ code: 0, stdout: "next\n" });
    expect(pool.stats("k")).toMatchObject({ activeChannels: 0, connects: 1 });
    pool.close();
  });

  it("the deadline covers a server that accepts TCP but never speaks SSH", async () => {
    const sockets = new Set<Socket>();
    const silent: TcpServer = createTcpServer((sock) => {
      sockets.add(sock);
      sock.on("error", () => {});
    });
    await new Promise<void>((r) => silent.listen(0, "127.0.0.1", () => r()));
    const p = (silent.address() as AddressInfo).port;
    try {
      const pool = new SshPool();
      pool.setHost("s", cfg({ port: p, readyTimeoutMs: 60_000 }));
      const t0 = Date.now();
      await expect(pool.exec("s", ["echo", "x"], { timeoutMs: 400 })).rejects.toMatchObject({ code: "timeout" });
      expect(Date.now() - t0).toBeLessThan(2_000);
      pool.close();
    } finally {
      for (const sock of sockets) sock.destroy();
      await new Promise<void>((r) => silent.close(() => r()));
    }
  });

  it("unknown host ids, malformed pins and a closed pool are clear errors", async () => {
    const pool = new SshPool();
    expect(() => pool.setHost("bad", cfg({ hostKey: { mode: "pinned", fingerprint: "MD5:00:11" } }))).toThrow(
      /not a SHA256 host key fingerprint/,
    );
    await expect(pool.exec("nope", ["echo"])).rejects.toMatchObject({ code: "unknown_host" });
    pool.setHost("x", cfg());
    pool.close();
    await expect(pool.exec("x", ["echo"])).rejects.toMatchObject({ code: "closed" });
  });
});
