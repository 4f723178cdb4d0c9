import { Database } from "bun:sqlite";
import { existsSync, mkdtempSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { embeddedMigrations } from "../../src/db/migrations.gen.ts";

/**
 * The offline CLI commands, run as a real process (`bun src/main.ts …`) against a data dir.
 * Passwords only ever travel on stdin; the environment is an allowlist so no MOLTHUB_* leaks in.
 */
const repo = resolve(import.meta.dirname, "../..");
const bun = join(repo, "node_modules/.bin/bun");
const PASSWORD = "a-long-enough-password-1";
const NEW_PASSWORD = "another-long-password-2";

let root: string;
let dataDir: string;
const outputs: string[] = [];

beforeAll(() => {
  root = mkdtempSync(join(tmpdir(), "molthub-cli-"));
  dataDir = join(root, "data");
});
afterAll(() => rmSync(root, { recursive: true, force: true }));

function baseEnv(): Record<string, string> {
  const env: Record<string, string> = {};
  for (const k of ["PATH", "HOME"]) if (process.env[k]) env[k] = process.env[k]!;
  return env;
}

/** Runs the CLI with `stdin` piped in (or closed empty), bounded by a timeout. */
async function cli(
  args: string[],
  opts: { stdin?: string; timeoutMs?: number; env?: Record<string, string> } = {},
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const proc = Bun.spawn([bun, "src/main.ts", ...args], {
    cwd: repo,
    env: { ...baseEnv(), ...opts.env },
    stdin: "pipe",
    stdout: "pipe",
    stderr: "pipe",
    timeout: opts.timeoutMs ?? 20_000,
    killSignal: "SIGKILL",
  });
  if (opts.stdin !== undefined) proc.stdin.write(opts.stdin);
  await proc.stdin.end();
  const [stdout, stderr, code] = await Promise.all([
    new Response(proc.stdout).text(),
    new Response(proc.stderr).text(),
    proc.exited,
  ]);
  outputs.push(stdout, stderr);
  return { code: proc.signalCode ? null : code, stdout, stderr };
}

function db(): Database {
  return new Database(join(dataDir, "molthub.db"));
}

describe("offline CLI against a data dir", () => {
  it("migrate --status before any store says everything is pending", async () => {
    const r = await cli(["migrate", "--status", "--data-dir", dataDir]);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/no store at .*molthub\.db yet/);
    expect(existsSync(join(dataDir, "molthub.db"))).toBe(false);
  });

  it("audit verify without a store fails clearly", async () => {
    const r = await cli(["audit", "verify", "--data-dir", dataDir]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("no store at");
  });

  it("user add with the password piped on stdin creates the owner", async () => {
    const r = await cli(["user", "add", "--email", "a@b.c", "--role", "owner", "--data-dir", dataDir, "--password-stdin"], {
      stdin: `${PASSWORD}\n`,
    });
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/user a@b\.c created \(owner\) in workspace /);
    expect(statSync(dataDir).mode & 0o777).toBe(0o700);
    expect(statSync(join(dataDir, "master.key")).mode & 0o777).toBe(0o600);
    const d = db();
    try {
      const u = d.query("SELECT id, email, password_hash FROM users").all() as {
        id: string;
        email: string;
        password_hash: string;
      }[];
      expect(u.map((x) => x.email)).toEqual(["a@b.c"]);
      expect(await Bun.password.verify(PASSWORD, u[0]!.password_hash)).toBe(true);
      expect(d.query("SELECT role FROM memberships WHERE user_id = ?").get(u[0]!.id)).toEqual({ role: "owner" });
      expect(d.query("SELECT action FROM audit_log").all()).toEqual([{ action: "user.create" }]);
    } finally {
      d.close();
    }
  });

  it("a too-short password is refused with the rule", async () => {
    const r = await cli(["user", "add", "--email", "short@b.c", "--role", "viewer", "--data-dir", dataDir], { stdin: "short\n" });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("at least 10 characters");
    const d = db();
    try {
      expect(d.query("SELECT count(*) AS n FROM users WHERE email = 'short@b.c'").get()).toEqual({ n: 0 });
    } finally {
      d.close();
    }
  });

  it("no password on stdin is refused", async () => {
    const r = await cli(["user", "add", "--email", "empty@b.c", "--data-dir", dataDir], { stdin: "" });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("expected the password on standard input");
  });

  it("a second user with the same email is a conflict", async () => {
    const r = await cli(["user", "add", "--email", "A@B.C", "--data-dir", dataDir], { stdin: `${PASSWORD}\n` });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("already exists");
  });

  it("flags are checked: missing --email and a bad role exit 2", async () => {
    const noEmail = await cli(["user", "add", "--data-dir", dataDir], { stdin: `${PASSWORD}\n` });
    expect(noEmail.code).toBe(2);
    expect(noEmail.stderr).toContain("--email is required");
    const badRole = await cli(["user", "add", "--email", "r@b.c", "--role", "god", "--data-dir", dataDir], {
      stdin: `${PASSWORD}\n`,
    });
    expect(badRole.code).toBe(2);
    expect(badRole.stderr).toContain("--role must be one of");
    const unknownFlag = await cli(["user", "add", "--email", "r@b.c", "--pasword", "x", "--data-dir", dataDir]);
    expect(unknownFlag.code).toBe(2);
  });

  it("user passwd changes the password (stdin) and an unknown user is not found", async () => {
    const r = await cli(["user", "passwd", "--email", "a@b.c", "--data-dir", dataDir, "--password-stdin"], {
      stdin: `${NEW_PASSWORD}\n`,
    });
    expect(r.code).toBe(0);
    expect(r.stdout).toContain("password changed for a@b.c");
    const d = db();
    try {
      const u = d.query("SELECT password_hash FROM users WHERE email = 'a@b.c'").get() as { password_hash: string };
      expect(await Bun.password.verify(NEW_PASSWORD, u.password_hash)).toBe(true);
      expect(await Bun.password.verify(PASSWORD, u.password_hash)).toBe(false);
    } finally {
      d.close();
    }
    const missing = await cli(["user", "passwd", "--email", "nobody@b.c", "--data-dir", dataDir], { stdin: `${NEW_PASSWORD}\n` });
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain("no user with the email nobody@b.c");
    const short = await cli(["user", "passwd", "--email", "a@b.c", "--data-dir", dataDir], { stdin: "tiny\n" });
    expect(short.code).toBe(1);
    expect(short.stderr).toContain("at least 10 characters");
  });

  it("migrate --status lists every migration as applied", async () => {
    const r = await cli(["migrate", "--status", "--data-dir", dataDir]);
    expect(r.code).toBe(0);
    const lines = r.stdout.trim().split("\n");
    expect(lines[0]).toMatch(/^MIGRATION\s+STATE\s+AT$/);
    expect(lines[1]).toMatch(/^0000_init\s+applied\s+\d{4}-\d\d-\d\dT/);
    expect(lines.length).toBe(1 + embeddedMigrations.length);
    for (const m of embeddedMigrations) expect(r.stdout).toMatch(new RegExp(`${m.tag}\\s+applied`));
  });

  it("migrate on a current store changes nothing", async () => {
    const r = await cli(["migrate", "--data-dir", dataDir]);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain("nothing to migrate");
  });

  it("audit verify --data-dir checks the chain offline", async () => {
    const r = await cli(["audit", "verify", "--data-dir", dataDir]);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain("audit chain ok: 2 entries verified"); // user.create, user.password.reset
  });

  it("audit verify --data-dir stays offline when MOLTHUB_TOKEN and MOLTHUB_URL are set: the flag wins", async () => {
    // the environment points at a port nothing listens on: going there would fail to connect
    const env = { MOLTHUB_TOKEN: "mh_left-in-the-shell", MOLTHUB_URL: "http://127.0.0.1:9" };
    const r = await cli(["audit", "verify", "--data-dir", dataDir], { env });
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    expect(r.stdout).toContain("audit chain ok: 2 entries verified");
    // without the flag the token in the environment means the server
    const server = await cli(["audit", "verify"], { env });
    expect(server.code).toBe(1);
    expect(server.stderr).toContain("127.0.0.1:9");
  });

  it("flags for the other mode are refused, not ignored", async () => {
    const both = await cli(["audit", "verify", "--data-dir", dataDir, "--server", "http://127.0.0.1:9"]);
    expect(both.code).toBe(2);
    expect(both.stderr).toContain("--data-dir and --server contradict each other");
    const offlineOnly = await cli(["migrate", "--status", "--token", "mh_x"]);
    expect(offlineOnly.code).toBe(2);
    expect(offlineOnly.stderr).toContain("`molthub migrate` runs offline against the data dir; --token does not apply");
    const serverOnly = await cli(["get", "bots", "--data-dir", dataDir]);
    expect(serverOnly.code).toBe(2);
    expect(serverOnly.stderr).toContain("`molthub get` talks to a running server; --data-dir does not apply");
  });

  it("audit verify reports an edited entry and exits 1", async () => {
    const d = db();
    try {
      d.exec("UPDATE audit_log SET summary = '{}' WHERE id = 1");
    } finally {
      d.close();
    }
    const r = await cli(["audit", "verify", "--data-dir", dataDir]);
    expect(r.code).toBe(1);
    expect(r.stdout).toContain("audit chain BROKEN at entry 1");
  });

  it("audit verify without the master key fails closed", async () => {
    const other = join(root, "no-key");
    const add = await cli(["user", "add", "--email", "k@b.c", "--data-dir", other], { stdin: `${PASSWORD}\n` });
    expect(add.code).toBe(0);
    rmSync(join(other, "master.key"));
    const r = await cli(["audit", "verify", "--data-dir", other]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("no master key");
  });

  it("version, help and an unknown command", async () => {
    const v = await cli(["version"]);
    expect(v.code).toBe(0);
    expect(v.stdout.trim()).toMatch(/^\d+\.\d+\.\d+/);
    const h = await cli(["--help"]);
    expect(h.code).toBe(0);
    expect(h.stdout).toContain("Usage: molthub <command>");
    const u = await cli(["frobnicate"]);
    expect(u.code).toBe(2);
    expect(u.stderr).toContain('unknown command "frobnicate"');
  });

  it("no password ever reached stdout or stderr", () => {
    const all = outputs.join("\n");
    expect(all).not.toContain(PASSWORD);
    expect(all).not.toContain(NEW_PASSWORD);
  });
});
