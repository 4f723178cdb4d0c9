/**
 * SshPool against a REAL systemd + sshd host (the `molthub-test/systemd-host` image from
 * `bash test/infra/fixtures.sh --with-systemd-host`), run on 127.0.0.1 with --network host, a per-run host key
 * and an authorized_keys made by src/ssh/keys.ts.
 *
 * probe → fingerprint equals `ssh-keygen -lf` → pinned exec as molt → the injection payload table through real
 * remote exec (argv and env), no side effect → a timed-out command is killed while a concurrent one on the same
 * connection succeeds → abort (exec and execStream) → `systemctl --user` → sftp write (mode 0600, atomic) and read
 * → benchmark pooled vs fresh connection → half-open (docker pause) detected by keepalive, then reconnect →
 * `docker restart` → reconnect → host key swapped → HostKeyMismatchError before authentication.
 *
 * Needs dockerd and the image; skipped without them, except under CI (describeWithComponent fails the run).
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, expect, it } from "vitest";
import { HostKeyMismatchError, HostKeyNotPinnedError } from "../../src/ssh/hostkey.ts";
import { generateEd25519KeyPair, type SshKeyPair } from "../../src/ssh/keys.ts";
import { probeHostKey, SshError, type SshHostConfig, SshPool } from "../../src/ssh/pool.ts";
import { ShellQuoteError } from "../../src/ssh/quote.ts";
import { checkComponents, describeWithComponent, fixtures } from "../infra/components.ts";

const fx = fixtures();
const needs = await checkComponents("docker", "systemd-host-image");

const PAYLOADS: string[] = [
  "; touch /tmp/pwned",
  "$(touch /tmp/pwned)",
  "`touch /tmp/pwned`",
  "\ntouch /tmp/pwned",
  "& touch /tmp/pwned",
  "| touch /tmp/pwned",
  "> /tmp/pwned",
  "a;b",
  "`id`",
  "$(id)",
  "&& echo and",
  "|| echo or",
  "line1\nline2",
  "cr\rcr",
  "\r\n",
  "-rf",
  "--foo=bar",
  "-",
  "--",
  "'",
  "'\\''",
  '"',
  '"$HOME"',
  "it's",
  "a b  c",
  " spaced ",
  "\ttab",
  "*",
  "/etc/*",
  "?",
  "[a-z]",
  "{a,b}",
  "~",
  "~root",
  "$HOME",
  "${HOME}",
  "$((1+1))",
  "\\",
  "!",
  "#comment",
  "a=b",
  "2>&1",
  "ünïcødé ✓",
  "",
];

function sh(cmd: string, args: string[], timeoutMs = 60_000): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(cmd, args, { timeout: timeoutMs, encoding: "utf8" });
  return { status: r.status, stdout: r.stdout ?? "", stderr: r.stderr ?? "" };
}

function docker(...args: string[]): string {
  const r = sh("docker", args, 120_000);
  if (r.status !== 0) throw new Error(`docker ${args.join(" ")} failed: ${r.stderr}`);
  return r.stdout.trim();
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once("error", reject);
    s.listen(0, "127.0.0.1", () => {
      const a = s.address();
      s.close(() => (a && typeof a === "object" ? resolve(a.port) : reject(new Error("no port"))));
    });
  });
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};

describeWithComponent("ssh transport against a real systemd + sshd host", needs, () => {
  const name = `molthub-test-ssh-${process.pid}-${Date.now().toString(36)}`;
  let dir = "";
  let port = 0;
  let hostKey: SshKeyPair;
  let clientKey: SshKeyPair;
  let pool: SshPool;
  let cfg: SshHostConfig;
  const events: string[] = [];

  /** Wait until sshd presents a host key (probe: no authentication). */
  async function waitForSsh(expectFingerprint?: string, ms = 60_000): Promise<string> {
    const until = Date.now() + ms;
    let last: unknown;
    while (Date.now() < until) {
      try {
        const p = await probeHostKey({ host: "127.0.0.1", port, readyTimeoutMs: 3_000 });
        if (!expectFingerprint || p.fingerprint === expectFingerprint) return p.fingerprint;
        last = new Error(`still the old key ${p.fingerprint}`);
      } catch (e) {
        last = e;
      }
      await sleep(250);
    }
    throw new Error(`sshd on 127.0.0.1:${port} did not come up: ${String(last)}`);
  }

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "molthub-ssh-"));
    port = await freePort();
    hostKey = generateEd25519KeyPair("molthub-test-host");
    clientKey = generateEd25519KeyPair("molthub-test-appliance");
    writeFileSync(join(dir, "host_ed25519_key"), hostKey.privateKey, { mode: 0o600 });
    writeFileSync(join(dir, "host_ed25519_key.pub"), `${hostKey.publicKey}\n`, { mode: 0o644 });
    writeFileSync(join(dir, "authorized_keys"), `${clientKey.publicKey}\n`, { mode: 0o644 });
    writeFileSync(join(dir, "port.conf"), `Port ${port}\n`, { mode: 0o644 });
    docker(
      "run",
      "-d",
      "--name",
      name,
      "--network",
      "host",
      "--stop-signal",
      "SIGRTMIN+3",
      "--cap-add",
      "SYS_ADMIN",
      "--security-opt",
      "seccomp=unconfined",
      "--security-opt",
      "apparmor=unconfined",
      "--tmpfs",
      "/run",
      "--tmpfs",
      "/run/lock",
      "--tmpfs",
      "/tmp",
      "-v",
      "/sys/fs/cgroup:/sys/fs/cgroup:ro",
      "-v",
      `${join(dir, "port.conf")}:/etc/ssh/sshd_config.d/port.conf:ro`,
      "-v",
      `${join(dir, "host_ed25519_key")}:/etc/ssh/ssh_host_ed25519_key:ro`,
      "-v",
      `${join(dir, "authorized_keys")}:/home/molt/.ssh/authorized_keys:ro`,
      "-v",
      `${fx.resolvConf}:/etc/resolv.conf:ro`,
      "--label",
      "molthub.test=ssh-transport",
      fx.systemdImage,
    );
    await waitForSsh();
    cfg = {
      host: "127.0.0.1",
      port,
      username: "molt",
      privateKey: clientKey.privateKey,
      hostKey: { mode: "pinned", fingerprint: hostKey.fingerprint },
      keepaliveIntervalMs: 500,
      keepaliveCountMax: 3,
      readyTimeoutMs: 5_000,
    };
    pool = new SshPool({ defaultTimeoutMs: 20_000, log: (e) => events.push(e) });
    pool.setHost("h1", cfg);
  });

  afterAll(() => {
    pool?.close();
    if (dir) {
      spawnSync("docker", ["rm", "-f", name], { timeout: 60_000 });
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("probe reads the host key without authenticating; its fingerprint equals ssh-keygen -lf", async () => {
    const p = await probeHostKey({ host: "127.0.0.1", port });
    const lf = sh("ssh-keygen", ["-lf", join(dir, "host_ed25519_key.pub")]);
    expect(lf.status).toBe(0);
    expect(p.fingerprint).toBe(lf.stdout.split(" ")[1]);
    expect(p.fingerprint).toBe(hostKey.fingerprint);
    expect(p.keyType).toBe("ssh-ed25519");
    expect(p.publicKey).toBe(hostKey.publicKey.split(" ").slice(0, 2).join(" "));

    // a host in probe mode refuses to run commands and reports the key for confirmation, without auth
    const probePool = new SshPool();
    probePool.setHost("p", { ...cfg, hostKey: { mode: "probe" } });
    const err = await probePool.exec("p", ["id"]).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(HostKeyNotPinnedError);
    expect((err as HostKeyNotPinnedError).actual).toBe(hostKey.fingerprint);
    expect(probePool.stats("p").authAttempts).toBe(0);
    probePool.close();
  });

  it("pinned: exec `id -un` as molt over one reused connection", async () => {
    const r = await pool.exec("h1", ["id", "-un"]);
    expect(r).toMatchObject({ code: 0, signal: null, stdout: "molt\n", stderr: "" });
    const r2 = await pool.exec("h1", ["sh", "-c", "echo out; echo err >&2; exit 3"]);
    expect(r2).toMatchObject({ code: 3, stdout: "out\n", stderr: "err\n" });
    const r3 = await pool.exec("h1", ["cat"], { stdin: "from stdin\n" });
    expect(r3.stdout).toBe("from stdin\n");
    expect(pool.stats("h1")).toMatchObject({ connected: true, connects: 1, authAttempts: 1 });
  });

  it("injection table through real remote exec: every payload comes back identical, nothing runs", async () => {
    await pool.exec("h1", ["rm", "-f", "/tmp/pwned"]);
    for (const p of PAYLOADS) {
      const r = await pool.exec("h1", ["printf", "%s\\n", p], { timeoutMs: 5_000 });
      expect({ p, out: r.stdout, code: r.code }).toEqual({ p, out: `${p}\n`, code: 0 });
    }
    // all at once: each payload is exactly one argument
    const all = await pool.exec("h1", ["printf", "%s\\0", ...PAYLOADS]);
    expect(all.stdout.split("\0").slice(0, -1)).toEqual(PAYLOADS);
    // through the env field (names validated, values quoted)
    for (const p of PAYLOADS) {
      const r = await pool.exec("h1", ["sh", "-c", 'printf "%s\\n" "$MOLT_V"'], { env: { MOLT_V: p }, timeoutMs: 5_000 });
      expect({ p, out: r.stdout }).toEqual({ p, out: `${p}\n` });
    }
    // through the command name itself
    const bad = await pool.exec("h1", ["; touch /tmp/pwned"]);
    expect(bad.code).toBe(127);
    // no side effect, checked with a separate exec
    const t = await pool.exec("h1", ["test", "-e", "/tmp/pwned"]);
    expect(t.code).toBe(1);
    // NUL is refused before anything is sent
    await expect(pool.exec("h1", ["printf", "%s", "a\0b"])).rejects.toThrow(ShellQuoteError);
    await expect(pool.exec("h1", ["id"], { env: { "X;touch /tmp/pwned": "1" } })).rejects.toThrow(
      /invalid environment variable name/,
    );
    expect(pool.stats("h1").connects).toBe(1);
  });

  it("a command past its timeout is killed (its channel only) while a concurrent command on the same connection succeeds", async () => {
    const connects = pool.stats("h1").connects;
    const t0 = Date.now();
    const [slow, ok] = await Promise.allSettled([
      pool.exec("h1", ["sh", "-c", "echo $$ > /tmp/slow.pid; echo started; exec sleep 300"], { timeoutMs: 1_500 }),
      pool.exec("h1", ["sh", "-c", "sleep 3; echo ok"], { timeoutMs: 15_000 }),
    ]);
    expect(slow.status).toBe("rejected");
    const err = (slow as PromiseRejectedResult).reason as SshError;
    expect(err).toBeInstanceOf(SshError);
    expect(err.code).toBe("timeout");
    expect(err.message).toMatch(/timed out after 1500 ms/);
    expect(err.partial?.stdout).toBe("started\n");
    expect(ok).toEqual({ status: "fulfilled", value: expect.objectContaining({ code: 0, stdout: "ok\n" }) });
    expect(Date.now() - t0).toBeLessThan(10_000);
    // the timed-out process is gone on the host
    let alive = 0;
    for (let i = 0; i < 20; i++) {
      alive = (await pool.exec("h1", ["sh", "-c", 'kill -0 "$(cat /tmp/slow.pid)" 2>/dev/null']))?.code ?? 1;
      if (alive !== 0) break;
      await sleep(250);
    }
    expect(alive).not.toBe(0);
    // same connection throughout, and still usable
    expect(pool.stats("h1").connects).toBe(connects);
    expect((await pool.exec("h1", ["echo", "after"])).stdout).toBe("after\n");
  });

  it("cancels with an AbortSignal (exec and execStream) within a bound", async () => {
    const ac = new AbortController();
    const t0 = Date.now();
    setTimeout(() => ac.abort(), 300);
    const err = await pool.exec("h1", ["sleep", "300"], { signal: ac.signal, timeoutMs: 60_000 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SshError);
    expect((err as SshError).code).toBe("aborted");
    expect(Date.now() - t0).toBeLessThan(3_000);
    // already aborted: nothing is started
    await expect(pool.exec("h1", ["id"], { signal: AbortSignal.abort() })).rejects.toMatchObject({ code: "aborted" });

    const sc = new AbortController();
    const got: string[] = [];
    for await (const line of pool.execStream("h1", ["sh", "-c", 'i=0; while :; do echo "line $i"; i=$((i+1)); sleep 0.1; done'], {
      signal: sc.signal,
    })) {
      got.push(line);
      if (got.length === 3) sc.abort();
    }
    expect(got.slice(0, 3)).toEqual(["line 0", "line 1", "line 2"]);
    // a stream of a command that exits ends by itself, last line without newline included
    const lines: string[] = [];
    for await (const l of pool.execStream("h1", ["printf", "a\\nb\\nc"])) lines.push(l);
    expect(lines).toEqual(["a", "b", "c"]);
    // break out of the loop early also stops the remote command
    for await (const _ of pool.execStream("h1", ["sh", "-c", "echo $$ > /tmp/stream.pid; exec yes"])) break;
    let alive = 0;
    for (let i = 0; i < 20; i++) {
      alive = (await pool.exec("h1", ["sh", "-c", 'kill -0 "$(cat /tmp/stream.pid)" 2>/dev/null'])).code ?? 1;
      if (alive !== 0) break;
      await sleep(250);
    }
    expect(alive).not.toBe(0);
    expect(pool.stats("h1").activeChannels).toBe(0);
  });

  it("systemctl --user works for molt", async () => {
    const r = await pool.exec("h1", ["systemctl", "--user", "is-system-running"], { timeoutMs: 15_000 });
    expect(r.stdout.trim()).toMatch(/^(running|degraded|starting|initializing)$/);
  });

  it("sftpWrite is atomic with mode 0600; sftpRead reads it back", async () => {
    const path = "/home/molt/molthub-test.env";
    await pool.sftpWrite("h1", path, "A=1\n", 0o600);
    await pool.sftpWrite("h1", path, "SECRET=two; $(touch /tmp/pwned)\n", 0o600); // replaces the existing file
    expect((await pool.exec("h1", ["stat", "-c", "%a", "--", path])).stdout.trim()).toBe("600");
    expect((await pool.sftpRead("h1", path)).toString()).toBe("SECRET=two; $(touch /tmp/pwned)\n");
    await pool.sftpWrite("h1", "/home/molt/molthub-test.json", Buffer.from("{}"), 0o640);
    expect((await pool.exec("h1", ["stat", "-c", "%a", "--", "/home/molt/molthub-test.json"])).stdout.trim()).toBe("640");
    const ls = await pool.exec("h1", ["ls", "-a", "/home/molt"]);
    expect(ls.stdout).not.toMatch(/\.tmp-/);
    await expect(pool.sftpWrite("h1", "/nonexistent-dir/x", "x")).rejects.toMatchObject({ code: "sftp" });
    await expect(pool.sftpRead("h1", "/home/molt/nope")).rejects.toMatchObject({ code: "sftp" });
    expect((await pool.exec("h1", ["test", "-e", "/tmp/pwned"])).code).toBe(1);
  });

  it("benchmark: pooled exec vs a fresh connection per command (20 each, medians)", async () => {
    const pooled: number[] = [];
    for (let i = 0; i < 20; i++) {
      const t = performance.now();
      await pool.exec("h1", ["true"]);
      pooled.push(performance.now() - t);
    }
    const fresh: number[] = [];
    for (let i = 0; i < 20; i++) {
      const t = performance.now();
      const p = new SshPool();
      p.setHost("f", cfg);
      await p.exec("f", ["true"]);
      p.close();
      fresh.push(performance.now() - t);
    }
    const mp = median(pooled);
    const mf = median(fresh);
    console.log(
      `[bench] ssh exec \`true\`: pooled median ${mp.toFixed(1)} ms, fresh connection median ${mf.toFixed(1)} ms (n=20 each)`,
    );
    expect(mp).toBeLessThan(mf);
  }, 60_000);

  it("half-open connection (host frozen) is detected by keepalive and the next exec reconnects", async () => {
    const connects = pool.stats("h1").connects;
    docker("pause", name);
    try {
      const until = Date.now() + 10_000;
      while (pool.stats("h1").connected && Date.now() < until) await sleep(100);
      expect(pool.stats("h1").connected).toBe(false);
    } finally {
      docker("unpause", name);
    }
    const r = await pool.exec("h1", ["id", "-un"]);
    expect(r.stdout).toBe("molt\n");
    expect(pool.stats("h1").connects).toBe(connects + 1);
  }, 30_000);

  it("docker restart: the dropped connection is replaced on next use", async () => {
    const connects = pool.stats("h1").connects;
    docker("restart", name);
    await waitForSsh(hostKey.fingerprint);
    let r: Awaited<ReturnType<typeof pool.exec>>;
    const until = Date.now() + 20_000;
    for (;;) {
      try {
        r = await pool.exec("h1", ["id", "-un"], { timeoutMs: 5_000 });
        break;
      } catch (e) {
        // sshd may answer key exchange a moment before logins are accepted (systemd still starting)
        if (Date.now() > until) throw e;
        await sleep(250);
      }
    }
    expect(r.stdout).toBe("molt\n");
    expect(pool.stats("h1").connects).toBeGreaterThan(connects);
  }, 60_000);

  it("a swapped host key is refused with HostKeyMismatchError before authentication", async () => {
    const newHost = generateEd25519KeyPair("molthub-test-host-2");
    writeFileSync(join(dir, "host_ed25519_key"), newHost.privateKey); // same inode: the bind mount sees it
    docker("restart", name);
    await waitForSsh(newHost.fingerprint);
    const auths = pool.stats("h1").authAttempts;
    const err = await pool.exec("h1", ["id"], { timeoutMs: 10_000 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(HostKeyMismatchError);
    expect(err).toMatchObject({ expected: hostKey.fingerprint, actual: newHost.fingerprint });
    expect((err as Error).message).toMatch(/before authentication/);
    expect((err as Error).message).not.toContain("PRIVATE KEY");
    expect(pool.stats("h1").authAttempts).toBe(auths);
    expect(pool.stats("h1").lastFingerprint).toBe(newHost.fingerprint);
    // re-pinned after confirmation: works again
    pool.setHost("h1", { ...cfg, hostKey: { mode: "pinned", fingerprint: newHost.fingerprint } });
    expect((await pool.exec("h1", ["id", "-un"])).stdout).toBe("molt\n");
    // a wrong client key gets an error that says what to do
    const other = new SshPool();
    other.setHost("x", {
      ...cfg,
      privateKey: generateEd25519KeyPair().privateKey,
      hostKey: { mode: "pinned", fingerprint: newHost.fingerprint },
    });
    await expect(other.exec("x", ["id"])).rejects.toThrow(
      /add the appliance's public key to ~\/\.ssh\/authorized_keys of molt on 127\.0\.0\.1/,
    );
    other.close();
    // nothing listening: unreachable, with advice
    const gone = new SshPool();
    gone.setHost("g", { ...cfg, port: await freePort() });
    await expect(gone.exec("g", ["id"])).rejects.toMatchObject({ code: "unreachable" });
    gone.close();
  }, 60_000);
});
