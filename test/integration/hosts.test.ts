/**
 * Hosts against a REAL systemd + sshd host (test/infra/systemd-host.ts; image from
 * `bash test/infra/fixtures.sh --with-systemd-host`), through the HTTP API of a test appliance:
 *
 * add (generated key for molt, uploaded key for root) → public key into the container's authorized_keys → probe →
 * untrusted host refused → wrong fingerprint refused → trust → doctor (systemd, lingering, OpenClaw 2026.9.6 with
 * Node 26 from the bind-mounted fixture prefix) → HostInfo → install detects the existing version / no npm is a
 * finding → wrong user: auth_failed + finding → unreachable → host key swapped: refused before auth, key_mismatch,
 * alert event with both fingerprints, ONE audit entry → explicit re-trust works → delete.
 */
import { afterAll, beforeAll, expect, it } from "vitest";
import { hostAccessFor } from "../../src/hosts/directory.ts";
import { HostKeyMismatchError } from "../../src/ssh/hostkey.ts";
import { generateEd25519KeyPair } from "../../src/ssh/keys.ts";
import { makeTestApp } from "../helpers/app.ts";
import { checkComponents, describeWithComponent, fixtures } from "../infra/components.ts";
import { freeLoopbackPort, type SystemdHost, startSystemdHost } from "../infra/systemd-host.ts";

const needs = await checkComponents("docker", "systemd-host-image", "openclaw");
const fx = fixtures();

interface Host {
  id: string;
  name: string;
  status: string;
  statusReason: string;
  fingerprint: string | null;
  seenFingerprint: string | null;
  publicKey: string;
  os: string | null;
  init: string | null;
  lastSeenAt: number | null;
  doctor: { findings: { id: string; level: string; message: string; fix: string }[] } | null;
}

describeWithComponent("hosts against a real systemd + sshd host", needs, () => {
  const t = makeTestApp();
  let cookie = "";
  let ws = "";
  let port = 0;
  let host: SystemdHost;
  const rootKey = generateEd25519KeyPair("uploaded-root");
  let moltPub = "";
  const access = () => hostAccessFor(t.deps);

  const api = async <T = Host>(
    method: string,
    path: string,
    json?: unknown,
  ): Promise<{ status: number; body: T; text: string }> => {
    const res = await t.req(path, { method, cookie, ...(json !== undefined ? { json } : {}) });
    const text = await res.text();
    return { status: res.status, body: (text ? JSON.parse(text) : {}) as T, text };
  };
  const audit = (action: string) =>
    t.store.sqlite.query("SELECT summary FROM audit_log WHERE action = ?").all(action) as { summary: string }[];

  beforeAll(async () => {
    const o = await t.setupOwner();
    cookie = o.cookie;
    ws = o.workspaceId;
    port = await freeLoopbackPort();
    // registered before the host exists: its key must go into authorized_keys first
    const a = await api<{ host: Host; publicKey: string; probeError: string | null }>("POST", "/api/v1/hosts", {
      name: "nas",
      address: "127.0.0.1",
      port,
      username: "molt",
    });
    expect(a.status).toBe(201);
    expect(a.body.probeError).toMatch(/cannot reach 127\.0\.0\.1/);
    expect(a.body.host.status).toBe("untrusted");
    expect(a.text).not.toMatch(/PRIVATE KEY/);
    moltPub = a.body.publicKey;
    expect(moltPub).toMatch(/^ssh-ed25519 AAAA\S+ molthub@nas$/);
    const b = await api<{ host: Host; publicKey: string }>("POST", "/api/v1/hosts", {
      name: "nas-root",
      address: "127.0.0.1",
      port,
      username: "root",
      privateKey: rootKey.privateKey,
    });
    expect(b.status).toBe(201);
    expect(b.text).not.toMatch(/PRIVATE KEY/);
    expect(b.body.publicKey.split(" ").slice(0, 2)).toEqual(rootKey.publicKey.split(" ").slice(0, 2));
    host = await startSystemdHost({ authorizedKeys: [moltPub, b.body.publicKey], port });
  }, 120_000);

  afterAll(async () => {
    hostAccessFor(t.deps).close();
    await host?.stop();
    t.store.close();
  });

  it("probe reads the key without logging in; an unconfirmed host is refused with what to do", async () => {
    const p = await api("POST", "/api/v1/hosts/nas/probe");
    expect(p.status).toBe(200);
    expect(p.body).toMatchObject({ status: "untrusted", fingerprint: null, seenFingerprint: host.fingerprint });
    await expect(access().get(ws, "nas")).rejects.toThrow(/confirm the fingerprint first: molthub host trust nas/);
    await expect(access().get(ws, "nope")).rejects.toThrow(/no host named nope/);
    // the doctor refuses too, with a finding
    const d = await api("POST", "/api/v1/hosts/nas/doctor");
    expect(d.body.doctor!.findings[0]).toMatchObject({ id: "connection", level: "error" });
    expect(d.body.doctor!.findings[0]!.fix).toContain("molthub host trust nas");
  });

  it("trust: a fingerprint other than the presented one is refused; the right one is pinned and audited", async () => {
    const wrong = await api("POST", "/api/v1/hosts/nas/trust", { fingerprint: generateEd25519KeyPair().fingerprint });
    expect(wrong.status).toBe(409);
    expect(wrong.text).toContain(`presents ${host.fingerprint}`);
    const bad = await api<{ error: { details: { path: string }[] } }>("POST", "/api/v1/hosts/nas/trust", {
      fingerprint: "; rm -rf /",
    });
    expect(bad.status).toBe(400);
    expect(bad.body.error.details[0]!.path).toBe("fingerprint");
    expect((await api("GET", "/api/v1/hosts/nas")).text).toContain('"fingerprint":null');

    const ok = await api("POST", "/api/v1/hosts/nas/trust", { fingerprint: host.fingerprint });
    expect(ok.status).toBe(200);
    expect(ok.body).toMatchObject({ status: "ok", fingerprint: host.fingerprint });
    expect(ok.body.lastSeenAt).not.toBeNull(); // the trust logged in once
    expect(audit("host.trust").map((a) => JSON.parse(a.summary))).toEqual([
      expect.objectContaining({ name: "nas", old: null, new: host.fingerprint }),
    ]);
    expect((await api("POST", "/api/v1/hosts/nas-root/trust", { fingerprint: host.fingerprint })).body.status).toBe("ok");
  });

  it("doctor (user molt): systemd, lingering, OpenClaw and Node from the fixture prefix, all with no errors", async () => {
    const d = await api("POST", "/api/v1/hosts/nas/doctor");
    expect(d.status).toBe(200);
    const f = Object.fromEntries(d.body.doctor!.findings.map((x) => [x.id, x]));
    expect(f.init).toMatchObject({ level: "ok", message: expect.stringMatching(/^systemd \d+ is PID 1/) });
    expect(f.linger).toMatchObject({ level: "ok", message: expect.stringContaining("lingering is enabled for molt") });
    expect(f.openclaw).toMatchObject({
      level: "ok",
      message: `OpenClaw ${fx.openclawVersion} installed under /home/molt/.molthub/openclaw`,
    });
    expect(f.node).toMatchObject({ level: "ok", message: `Node v${fx.nodeVersion} beside OpenClaw ${fx.openclawVersion}` });
    expect(f.os!.message).toMatch(/Debian GNU\/Linux 12/);
    for (const id of ["ports", "disk", "memory", "connection"]) expect(f[id]).toBeDefined();
    expect(d.body.doctor!.findings.filter((x) => x.level === "error")).toEqual([]);
    expect(d.body).toMatchObject({ status: "ok", init: "systemd" });

    const info = await access().get(ws, "nas");
    expect(info).toMatchObject({ name: "nas", home: "/home/molt", platform: "linux-x64", isRoot: false, init: "systemd" });
    expect((await access().pool.exec(info.poolId, ["id", "-un"])).stdout).toBe("molt\n");
  }, 60_000);

  it("doctor (root, uploaded key): system units, OpenClaw under /var/lib/molthub", async () => {
    const d = await api("POST", "/api/v1/hosts/nas-root/doctor");
    const f = Object.fromEntries(d.body.doctor!.findings.map((x) => [x.id, x]));
    expect(f.linger!.message).toMatch(/connecting as root: bots run as system units/);
    expect(f.openclaw!.message).toBe(`OpenClaw ${fx.openclawVersion} installed under /var/lib/molthub/openclaw`);
    const info = await access().get(ws, "nas-root");
    expect(info).toMatchObject({ isRoot: true, home: "/root", platform: "linux-x64" });
  }, 60_000);

  it("install: an existing version is detected and kept; a missing one on a host without npm is a clear finding, nothing left behind", async () => {
    const present = await api<{ result: { outcome: string; prefix: string; nodeVersion: string } | null; finding: unknown }>(
      "POST",
      "/api/v1/hosts/nas/install",
      { version: fx.openclawVersion },
    );
    expect(present.status).toBe(200);
    expect(present.body.result).toMatchObject({
      outcome: "present",
      prefix: `/home/molt/.molthub/openclaw/${fx.openclawVersion}`,
      nodeVersion: `v${fx.nodeVersion}`,
    });
    expect(present.body.finding).toBeNull();

    const missing = await api<{ result: unknown; finding: { level: string; message: string; fix: string } }>(
      "POST",
      "/api/v1/hosts/nas/install",
      { version: "2026.9.7" },
    );
    expect(missing.body.result).toBeNull();
    expect(missing.body.finding).toMatchObject({
      level: "error",
      message: expect.stringContaining("npm is not installed on nas"),
    });
    expect(missing.body.finding.fix).toContain("/home/molt/.molthub/openclaw/2026.9.7");
    const ls = await access().pool.exec((await access().get(ws, "nas")).poolId, ["ls", "-A", "/home/molt/.molthub/openclaw"]);
    expect(ls.stdout.trim().split("\n")).toEqual([fx.openclawVersion]);
    // every attempt is recorded
    const ev = await api<{ items: { type: string; level: string; message: string }[] }>("GET", "/api/v1/hosts/nas/events");
    const installs = ev.body.items.filter((e) => e.type === "install").map((e) => `${e.level}: ${e.message}`);
    expect(installs).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^info: OpenClaw 2026\.9\.6 is already installed/),
        expect.stringMatching(/^error: install of OpenClaw 2026\.9\.7 failed: npm is not installed/),
      ]),
    );
    // injection through the version is refused before anything reaches the host
    const inj = await api("POST", "/api/v1/hosts/nas/install", { version: "2026.9.6; touch /tmp/pwned" });
    expect(inj.status).toBe(400);
  }, 60_000);

  it("wrong user: trust pins the key but login fails → auth_failed with a finding naming cause and fix", async () => {
    expect(
      (await api("POST", "/api/v1/hosts", { name: "nas-wrong", address: "127.0.0.1", port, username: "daemon" })).status,
    ).toBe(201);
    const tr = await api("POST", "/api/v1/hosts/nas-wrong/trust", { fingerprint: host.fingerprint });
    expect(tr.body).toMatchObject({ status: "auth_failed", fingerprint: host.fingerprint });
    expect(tr.body.statusReason).toMatch(/authorized_keys of daemon/);
    const t0 = Date.now();
    const d = await api("POST", "/api/v1/hosts/nas-wrong/doctor");
    expect(Date.now() - t0).toBeLessThan(30_000);
    expect(d.body.doctor!.findings).toEqual([
      expect.objectContaining({
        id: "connection",
        level: "error",
        message: expect.stringMatching(/daemon@127\.0\.0\.1:\d+ refused the appliance's key/),
      }),
    ]);
    expect(d.body.doctor!.findings[0]!.fix).toMatch(/authorized_keys/);
    expect(d.body.status).toBe("auth_failed");
    expect((await api("DELETE", "/api/v1/hosts/nas-wrong")).status).toBe(200);
  }, 60_000);

  it("unreachable: probe fails with the cause, within the timeout", async () => {
    const gone = await freeLoopbackPort();
    const a = await api<{ host: Host; probeError: string }>("POST", "/api/v1/hosts", {
      name: "gone",
      address: "127.0.0.1",
      port: gone,
      username: "molt",
    });
    expect(a.body.probeError).toMatch(/cannot reach 127\.0\.0\.1:\d+ \(ECONNREFUSED\)/);
    expect(a.body.host.statusReason).toMatch(/probe failed: cannot reach/);
  });

  it("host key swapped: refused before authentication, key_mismatch recorded once with both fingerprints; explicit re-trust works", async () => {
    const info = await access().get(ws, "nas");
    const oldFp = host.fingerprint;
    const newKey = generateEd25519KeyPair("swapped");
    await host.restart(newKey);
    const auths = access().pool.stats(info.poolId).authAttempts;
    const err = await access()
      .pool.exec(info.poolId, ["id"], { timeoutMs: 15_000 })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(HostKeyMismatchError);
    expect(access().pool.stats(info.poolId).authAttempts).toBe(auths);
    // a second refusal (same new key) records nothing new
    await access()
      .pool.exec(info.poolId, ["id"], { timeoutMs: 15_000 })
      .catch(() => {});
    const g = await api<{ host: Host; events: { type: string; level: string; message: string; data: Record<string, string> }[] }>(
      "GET",
      "/api/v1/hosts/nas",
    );
    expect(g.body.host).toMatchObject({ status: "key_mismatch", fingerprint: oldFp, seenFingerprint: newKey.fingerprint });
    const alerts = g.body.events.filter((e) => e.type === "alert");
    expect(alerts).toHaveLength(1);
    expect(alerts[0]).toMatchObject({ level: "error", data: { kind: "key_mismatch", old: oldFp, new: newKey.fingerprint } });
    expect(alerts[0]!.message).toContain(oldFp);
    expect(alerts[0]!.message).toContain(newKey.fingerprint);
    const entries = audit("host.key_mismatch").map((a) => JSON.parse(a.summary));
    expect(entries).toEqual([{ name: "nas", old: oldFp, new: newKey.fingerprint }]);
    // providers are refused, naming both fingerprints
    await expect(access().get(ws, "nas")).rejects.toThrow(
      new RegExp(`pinned ${oldFp.replace(/[+/]/g, "\\$&")}, it now presents ${newKey.fingerprint.replace(/[+/]/g, "\\$&")}`),
    );
    // the doctor says what to do
    const d = await api("POST", "/api/v1/hosts/nas/doctor");
    expect(d.body.doctor!.findings[0]!.fix).toContain(`molthub host trust nas --fingerprint ${newKey.fingerprint}`);
    expect(d.body.status).toBe("key_mismatch");
    // the UI shows the alert with both fingerprints and a re-trust form
    const page = await (await t.req("/hosts/nas", { cookie })).text();
    expect(page).toContain("The host key changed");
    expect(page).toContain(oldFp);
    expect(page).toContain(newKey.fingerprint);
    expect(page).toContain("Re-trust the new key");

    // re-trusting the OLD fingerprint is refused (the host presents the new one)
    expect((await api("POST", "/api/v1/hosts/nas/trust", { fingerprint: oldFp })).status).toBe(409);
    const re = await api("POST", "/api/v1/hosts/nas/trust", { fingerprint: newKey.fingerprint });
    expect(re.body).toMatchObject({ status: "ok", fingerprint: newKey.fingerprint });
    expect(audit("host.retrust").map((a) => JSON.parse(a.summary))).toEqual([
      expect.objectContaining({ name: "nas", old: oldFp, new: newKey.fingerprint, previousStatus: "key_mismatch" }),
    ]);
    const again = await access().get(ws, "nas");
    expect((await access().pool.exec(again.poolId, ["id", "-un"])).stdout).toBe("molt\n");
    const ev = await api<{ items: { type: string; data: Record<string, string> }[] }>("GET", "/api/v1/hosts/nas/events");
    expect(ev.body.items.find((e) => e.type === "retrust")!.data).toEqual({ old: oldFp, new: newKey.fingerprint });
  }, 120_000);

  it("lists hosts with status, fingerprint, last seen and bot counts; keys never in responses", async () => {
    const l = await api<{ items: Host[] }>("GET", "/api/v1/hosts");
    expect(l.body.items.map((h) => [h.name, h.status])).toEqual([
      ["gone", "untrusted"],
      ["nas", "ok"],
      ["nas-root", "ok"],
    ]);
    expect(l.text).not.toMatch(/PRIVATE KEY|privateKey/);
    const page = await (await t.req("/hosts", { cookie })).text();
    expect(page).toContain("nas-root");
    expect(page).not.toMatch(/PRIVATE KEY/);
  });
});
