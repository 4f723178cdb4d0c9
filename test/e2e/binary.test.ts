import { Database } from "bun:sqlite";
import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

/**
 * The compiled single binary, end to end: built into a directory of its own, started from an empty
 * working directory, claimed over HTTP, used through the API and its own client commands, stopped
 * with SIGTERM, then checked offline. No MOLTHUB_* variable reaches it: the environment is an allowlist.
 */
const repo = resolve(import.meta.dirname, "../..");
const bun = join(repo, "node_modules/.bin/bun");
const PASSWORD = "e2e-password-that-is-long";
const EMAIL = "owner@e2e.test";

let root: string;
let binDir: string;
let bin: string;
let workDir: string;
let dataDir: string;
/** Every byte any process printed, to check no secret leaks. */
const allOutput: string[] = [];
const started: Bun.Subprocess[] = [];

function baseEnv(extra: Record<string, string> = {}): Record<string, string> {
  const env: Record<string, string> = {};
  for (const k of ["PATH", "HOME"]) if (process.env[k]) env[k] = process.env[k]!;
  return { ...env, ...extra };
}

interface Result {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs the binary to completion with an optional stdin, bounded by a timeout. */
async function run(args: string[], opts: { stdin?: string; timeoutMs?: number; cwd?: string } = {}): Promise<Result> {
  const proc = Bun.spawn([bin, ...args], {
    cwd: opts.cwd ?? workDir,
    env: baseEnv(),
    stdin: "pipe",
    stdout: "pipe",
    stderr: "pipe",
    timeout: opts.timeoutMs ?? 20_000,
    killSignal: "SIGKILL",
  });
  started.push(proc);
  if (opts.stdin !== undefined) proc.stdin.write(opts.stdin);
  await proc.stdin.end();
  const [stdout, stderr, code] = await Promise.all([
    new Response(proc.stdout).text(),
    new Response(proc.stderr).text(),
    proc.exited,
  ]);
  allOutput.push(stdout, stderr);
  return { code: proc.signalCode ? null : code, stdout, stderr };
}

/** A long-running `serve` whose output is collected as it arrives. */
class Server {
  stdout = "";
  stderr = "";
  readonly proc: Bun.Subprocess<"ignore", "pipe", "pipe">;
  readonly done: Promise<void>;
  constructor(args: string[]) {
    this.proc = Bun.spawn([bin, "serve", ...args], {
      cwd: workDir,
      env: baseEnv(),
      stdin: "ignore",
      stdout: "pipe",
      stderr: "pipe",
    });
    started.push(this.proc);
    const pump = async (s: ReadableStream<Uint8Array>, key: "stdout" | "stderr") => {
      const dec = new TextDecoder();
      const reader = s.getReader();
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        this[key] += dec.decode(value, { stream: true });
      }
    };
    this.done = Promise.all([pump(this.proc.stdout, "stdout"), pump(this.proc.stderr, "stderr")]).then(() => {
      allOutput.push(this.stdout, this.stderr);
    });
  }

  /** Waits until `re` matches stdout; fails early if the process exits. */
  async waitFor(re: RegExp, timeoutMs = 10_000): Promise<RegExpMatchArray> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const m = this.stdout.match(re);
      if (m) return m;
      if (this.proc.exitCode !== null)
        throw new Error(`server exited (${this.proc.exitCode}) before ${re}:\n${this.stdout}\n${this.stderr}`);
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${re}:\n${this.stdout}\n${this.stderr}`);
      await Bun.sleep(20);
    }
  }

  logLines(): Record<string, unknown>[] {
    return this.stdout
      .split("\n")
      .filter((l) => l.startsWith("{"))
      .map((l) => JSON.parse(l) as Record<string, unknown>);
  }
}

beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), "molthub-e2e-"));
  binDir = join(root, "bin");
  workDir = join(root, "cwd");
  dataDir = join(root, "data");
  mkdirSync(binDir);
  mkdirSync(workDir);
  bin = join(binDir, "molthub");
  const build = Bun.spawn([bun, "run", "build"], {
    cwd: repo,
    env: baseEnv({ MOLTHUB_BUILD_OUT: bin }),
    stdout: "pipe",
    stderr: "pipe",
    timeout: 170_000,
  });
  const [out, err, code] = await Promise.all([
    new Response(build.stdout).text(),
    new Response(build.stderr).text(),
    build.exited,
  ]);
  if (code !== 0) throw new Error(`bun run build failed (${code}):\n${out}\n${err}`);
});

afterAll(async () => {
  for (const p of started) {
    if (p.exitCode === null && p.signalCode === null) {
      p.kill("SIGKILL");
      await p.exited;
    }
  }
  if (root) rmSync(root, { recursive: true, force: true });
});

describe("the single binary", () => {
  it("sits alone in its directory and answers --help, version and an unknown command", async () => {
    expect(readdirSync(binDir)).toEqual(["molthub"]);
    expect(readdirSync(workDir)).toEqual([]);
    const help = await run(["--help"]);
    expect(help.code).toBe(0);
    expect(help.stdout).toContain("Usage: molthub <command>");
    const version = await run(["version"]);
    expect(version.code).toBe(0);
    expect(version.stdout.trim()).toMatch(/^\d+\.\d+\.\d+/);
    const unknown = await run(["frobnicate"]);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain('unknown command "frobnicate"');
    expect(readdirSync(workDir)).toEqual([]); // nothing written beside the caller
  });

  it("refuses a data dir that cannot be written", async () => {
    const file = join(root, "a-file");
    writeFileSync(file, "x");
    const r = await run(["serve", "--data-dir", join(file, "data"), "--port", "0"]);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain("not writable");
    expect(r.stderr).not.toContain("unexpected error");
  });

  it("refuses a broken config file, naming the setting", async () => {
    const cfg = join(root, "broken.yaml");
    writeFileSync(cfg, 'port: "abc"\n');
    const r = await run(["serve", "--data-dir", join(root, "unused-data"), "--config", cfg]);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/\bport\b/);
    expect(r.stderr).toContain(cfg);
    expect(r.stderr).not.toContain("unexpected error");
  });

  describe("a running appliance", () => {
    let server: Server;
    let base: string;
    let port: number;
    let setupToken: string;
    let cookie: string;
    let adminToken: string;
    let cliToken: string;

    it("starts from an empty directory, logs where it listens and prints the setup URL", async () => {
      server = new Server(["--data-dir", dataDir, "--port", "0"]);
      const listening = await server.waitFor(/^\{.*"msg":"molthub listening".*\}$/m);
      const line = JSON.parse(listening[0]) as { url: string; dataDir: string };
      base = line.url;
      expect(base).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
      expect(line.dataDir).toBe(dataDir);
      port = Number(new URL(base).port);
      expect(port).toBeGreaterThan(0);
      const m = await server.waitFor(/^\s+(http:\/\/\S+)\/setup\?token=(mhu_[A-Za-z0-9_-]+)\s*$/m);
      expect(m[1]).toBe(base);
      setupToken = m[2]!;
      // the offline alternative names a command that exists where the user is: this binary, by its path
      const offline = await server.waitFor(/\(or offline: (\S+) user add --data-dir (\S+) /);
      expect(offline[1]).toBe(bin);
      expect(offline[2]).toBe(dataDir);
      expect(readdirSync(workDir)).toEqual([]);
      const res = await fetch(`${base}/healthz`);
      expect(res.status).toBe(200);
    });

    it("a second instance on the same port fails and says the port is in use", async () => {
      const r = await run(["serve", "--data-dir", join(root, "data2"), "--port", String(port)]);
      expect(r.code).not.toBe(0);
      expect(r.code).not.toBeNull();
      expect(r.stderr).toContain("in use");
      expect((await fetch(`${base}/healthz`)).status).toBe(200); // the first one is unharmed
    });

    it("is claimed with the setup token over HTTP", async () => {
      // what a browser does first: open the setup URL (the token is in the query string)
      const page = await fetch(`${base}/setup?token=${setupToken}`, { headers: { accept: "text/html" } });
      expect(page.status).toBeLessThan(500);
      await page.text();

      const wrong = await fetch(`${base}/api/v1/setup`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ token: "mhu_wrongwrongwrong", email: EMAIL, name: "Owner", password: PASSWORD }),
      });
      expect(wrong.status).toBe(403);

      const res = await fetch(`${base}/api/v1/setup`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ token: setupToken, email: EMAIL, name: "Owner", password: PASSWORD }),
      });
      expect(res.status).toBe(201);
      expect(await res.json()).toMatchObject({ userId: expect.any(String), workspaceId: expect.any(String) });

      const again = await fetch(`${base}/api/v1/setup`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ token: setupToken, email: "x@e2e.test", name: "X", password: PASSWORD }),
      });
      expect(again.status).toBe(403);
      const pending = (await (await fetch(`${base}/api/v1/setup`)).json()) as { pending: boolean };
      expect(pending.pending).toBe(false);
    });

    it("signs in and creates a token with the session cookie", async () => {
      const login = await fetch(`${base}/api/v1/auth/login`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ email: EMAIL, password: PASSWORD }),
      });
      expect(login.status).toBe(200);
      expect(await login.json()).toMatchObject({ mfaRequired: false });
      const setCookie = login.headers.get("set-cookie")!;
      expect(setCookie).toMatch(/HttpOnly/i);
      cookie = setCookie.split(";")[0]!;

      const crossSite = await fetch(`${base}/api/v1/tokens`, {
        method: "POST",
        headers: { "content-type": "application/json", cookie, origin: "http://evil.example" },
        body: JSON.stringify({ name: "evil", role: "admin" }),
      });
      expect(crossSite.status).toBe(403);

      const res = await fetch(`${base}/api/v1/tokens`, {
        method: "POST",
        headers: { "content-type": "application/json", cookie, origin: base },
        body: JSON.stringify({ name: "e2e", role: "admin", expiresInDays: 1 }),
      });
      expect(res.status).toBe(201);
      const body = (await res.json()) as { token: string; item: { role: string; prefix: string } };
      expect(body.token).toMatch(/^mht_[A-Za-z0-9_-]+$/);
      expect(body.item.role).toBe("admin");
      expect(body.token.startsWith(body.item.prefix)).toBe(true);
      adminToken = body.token;
    });

    it("the token works as a Bearer on /me and /audit", async () => {
      const me = await fetch(`${base}/api/v1/me`, { headers: { authorization: `Bearer ${adminToken}` } });
      expect(me.status).toBe(200);
      expect(await me.json()).toMatchObject({ type: "token", role: "admin", label: "token:e2e" });

      const audit = await fetch(`${base}/api/v1/audit`, { headers: { authorization: `Bearer ${adminToken}` } });
      expect(audit.status).toBe(200);
      const { items } = (await audit.json()) as { items: { action: string; actor: string }[] };
      const actions = items.map((i) => i.action);
      expect(actions).toEqual(expect.arrayContaining(["setup.complete", "session.create", "token.create"]));
      expect(items.find((i) => i.action === "token.create")!.actor).toBe(EMAIL);

      const bad = await fetch(`${base}/api/v1/me`, { headers: { authorization: "Bearer mht_not-a-real-token" } });
      expect(bad.status).toBe(401);
    });

    it("`token create --email` signs in with the password on stdin and prints only the token", async () => {
      const r = await run(["token", "create", "--server", base, "--email", EMAIL, "--name", "from-cli", "--password-stdin"], {
        stdin: `${PASSWORD}\n`,
      });
      expect(r.code).toBe(0);
      expect(r.stdout).toMatch(/^mht_[A-Za-z0-9_-]+\n$/);
      expect(r.stderr).toContain('token "from-cli" (operator)');
      cliToken = r.stdout.trim();
      const me = await fetch(`${base}/api/v1/me`, { headers: { authorization: `Bearer ${cliToken}` } });
      expect(me.status).toBe(200);
      expect(await me.json()).toMatchObject({ type: "token", role: "operator", label: "token:from-cli" });
    });

    it("`token create` with a wrong password fails without a token", async () => {
      const r = await run(["token", "create", "--server", base, "--email", EMAIL, "--name", "nope"], {
        stdin: "not-the-password-at-all\n",
      });
      expect(r.code).toBe(1);
      expect(r.stdout).toBe("");
      expect(r.stderr).toContain("sign-in failed");
    });

    it("`audit verify --server --token` checks the chain through the API", async () => {
      const r = await run(["audit", "verify", "--server", base, "--token", adminToken]);
      expect(r.stderr).toBe("");
      expect(r.code).toBe(0);
      expect(r.stdout).toMatch(/^audit chain ok: \d+ entries verified/);
      // verifying needs admin: the operator token from the CLI is refused
      const op = await run(["audit", "verify", "--server", base, "--token", cliToken]);
      expect(op.code).toBe(1);
      expect(op.stderr).toContain("admin");
    });

    it("stops on SIGTERM with exit code 0 within 5 s and logs that it stopped", async () => {
      const t0 = Date.now();
      server.proc.kill("SIGTERM");
      const code = await Promise.race([server.proc.exited, Bun.sleep(5_000).then(() => "timeout" as const)]);
      expect(code).toBe(0);
      expect(Date.now() - t0).toBeLessThan(5_000);
      await server.done;
      const msgs = server.logLines().map((l) => l.msg);
      expect(msgs).toContain("shutting down");
      expect(msgs[msgs.length - 1]).toBe("stopped");
      await expect(fetch(`${base}/healthz`, { signal: AbortSignal.timeout(2000) })).rejects.toThrow();
    });

    it("logged the setup token only in the setup banner and never the password", () => {
      const lines = `${server.stdout}\n${server.stderr}`.split("\n");
      const withToken = lines.filter((l) => l.includes(setupToken));
      expect(withToken).toEqual([`    ${base}/setup?token=${setupToken}`]);
      // the request log has the path without the query string
      const requests = server.logLines().filter((l) => l.msg === "request");
      expect(requests.some((l) => l.path === "/setup")).toBe(true);
      expect(requests.some((l) => l.path === "/api/v1/setup" && l.status === 201)).toBe(true);
      for (const t of [adminToken, cliToken, cookie.split("=")[1]!]) expect(server.stdout + server.stderr).not.toContain(t);
      expect(server.stderr).toBe("");
    });

    it("`doctor` is happy with the stopped installation", async () => {
      const r = await run(["doctor", "--data-dir", dataDir, "--port", String(port)]);
      expect(r.code).toBe(0);
      expect(r.stdout).not.toContain("FAIL");
      expect(r.stdout).toMatch(/^ok {4}database: integrity_check ok$/m);
      expect(r.stdout).toMatch(/^ok {4}migrations: schema is current$/m);
      expect(r.stdout).toMatch(/^ok {4}audit chain: \d+ entries verified$/m);
      expect(r.stdout).toMatch(new RegExp(`^ok {4}port: 127\\.0\\.0\\.1:${port} is free$`, "m"));
    });

    it("`audit verify --data-dir` passes offline, and names an entry edited behind its back", async () => {
      const ok = await run(["audit", "verify", "--data-dir", dataDir]);
      expect(ok.code).toBe(0);
      expect(ok.stdout).toMatch(/^audit chain ok: \d+ entries verified/);

      const db = new Database(join(dataDir, "molthub.db"));
      try {
        db.exec("UPDATE audit_log SET summary = '{}' WHERE id = 2");
      } finally {
        db.close();
      }
      const broken = await run(["audit", "verify", "--data-dir", dataDir]);
      expect(broken.code).toBe(1);
      expect(broken.stdout).toContain("audit chain BROKEN at entry 2");
      expect(broken.stdout).toContain("1 entries before it are intact");

      const doctor = await run(["doctor", "--data-dir", dataDir, "--port", String(port)]);
      expect(doctor.code).toBe(1);
      expect(doctor.stdout).toMatch(/^FAIL {2}audit chain: broken at entry 2/m);
    });
  });

  it("never printed the password anywhere", () => {
    expect(allOutput.length).toBeGreaterThan(10);
    for (const out of allOutput) expect(out).not.toContain(PASSWORD);
  });
});
