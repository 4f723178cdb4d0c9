/**
 * Issue 4's end-to-end path through the REAL appliance (a child process: `bun src/main.ts serve`, its reconciler and
 * health checks) against the REAL systemd + sshd host container (test/infra/systemd-host.ts) running a REAL OpenClaw
 * 2026.9.6 gateway — everything over the appliance's HTTP API:
 *
 * add hosts (appliance-generated keys; the container then boots with them in authorized_keys) → probe → trust the
 * presented fingerprint → doctor (systemd, lingering, OpenClaw 2026.9.6, Node 26) → apply a bot as a USER unit (login
 * molt) → running, revision 1 live, ready through the SSH tunnel → hot change (to an openai/* model) verified live →
 * logs, and a followed log stream (SSE) → the host container restarts → the unit comes back by itself (enabled +
 * lingering + Restart=always; this is where OpenClaw used to exit 78 after that model change, see
 * docs/providers-remote.md) and the appliance reconnects (a fresh ready health snapshot) → the host key is swapped →
 * every call refused before authentication (sshd logs no login), host status key_mismatch, an alert event with old
 * and new fingerprints, one audit entry → explicit re-trust → the bot is reachable again → delete with purge removes
 * unit, env file and state dir. Then the same bot as a SYSTEM unit (login root, runs as the service user) → ready →
 * delete with purge.
 *
 * One gateway at a time. The container shares this machine's loopback (host network) and resolves no names (DNS
 * sinkhole), so gateways reach nothing outside.
 */
import { afterAll, beforeAll, expect, it, vi } from "vitest";
import { generateEd25519KeyPair } from "../../src/ssh/keys.ts";
import { type Appliance, startAppliance, waitForBot } from "../helpers/appliance.ts";
import { checkComponents, describeWithComponent, fixtures } from "../infra/components.ts";
import { freeLoopbackPort, type SystemdHost, startSystemdHost } from "../infra/systemd-host.ts";

const needs = await checkComponents("docker", "systemd-host-image", "openclaw");
vi.setConfig({ testTimeout: 180_000 });
const VERSION = "2026.9.6";

interface Host {
  id: string;
  name: string;
  status: string;
  statusReason: string;
  fingerprint: string | null;
  seenFingerprint: string | null;
  init: string | null;
  doctor: { findings: { id: string; level: string; message: string; fix: string }[] } | null;
}
interface HostEvent {
  id: number;
  level: string;
  type: string;
  message: string;
  data: Record<string, unknown>;
}

describeWithComponent("SSH hosts end to end through the appliance (real systemd host, real OpenClaw)", needs, () => {
  let a: Appliance;
  let host: SystemdHost;
  let sshPort = 0;
  const bot = "nas-bot";
  const sysBot = "nas-sysbot";
  const fx = fixtures();

  const manifest = (name: string, hostName: string, model: string) => ({
    apiVersion: "molthub/v1",
    kind: "Bot",
    metadata: { name, labels: { suite: "hosts-appliance" } },
    spec: {
      target: { provider: "systemd", host: hostName, version: VERSION },
      openclaw: {
        models: { catalogRefresh: { enabled: false } },
        update: { checkOnStart: false },
        agents: { defaults: { model } },
      },
      secrets: { ANTHROPIC_API_KEY: { secret: "anthropic-key" } },
    },
  });
  const asMolt = (...argv: string[]) =>
    host.exec(["runuser", "-u", "molt", "--", "env", "XDG_RUNTIME_DIR=/run/user/1000", ...argv]);
  const userUnit = "/home/molt/.config/systemd/user/molthub-nas-bot.service";
  const moltBotDir = "/home/molt/.molthub/bots/nas-bot";
  const exists = (path: string) => host.exec(["test", "-e", path]).status === 0;
  const unitState = () =>
    asMolt("systemctl", "--user", "show", "-p", "ActiveState,MainPID,NRestarts", "molthub-nas-bot.service").stdout;
  const getHost = async (name: string) => (await a.api<{ host: Host; events: HostEvent[] }>("GET", `/api/v1/hosts/${name}`)).body;
  /** the latest health snapshot is ready and newer than `since` */
  const waitHealthy = (name: string, since: number, timeoutMs = 150_000) =>
    waitForBot(a, name, (b) => b.bot.status === "running" && b.health?.ready === true && b.health.ts > since, timeoutMs);
  /** sshd's "Accepted publickey" lines since `sinceMs` (the container shares this machine's clock) */
  const acceptedLogins = (sinceMs: number) =>
    host
      .exec(["journalctl", "--no-pager", "-o", "cat", "-u", "ssh.service", "--since", `@${Math.floor(sinceMs / 1000)}`])
      .stdout.split("\n")
      .filter((l) => l.includes("Accepted publickey"));

  beforeAll(async () => {
    a = await startAppliance();
    expect((await a.api("PUT", "/api/v1/secrets/anthropic-key", { value: "sk-ant-canary-hosts-0123456789" })).status).toBe(200);
    sshPort = await freeLoopbackPort();
    // registered before the host boots: the appliance generates the keys that go into authorized_keys
    const keys: string[] = [];
    for (const [name, username] of [
      ["nas", "molt"],
      ["nas-root", "root"],
    ] as const) {
      const r = await a.api<{ host: Host; publicKey: string; probeError: string | null }>("POST", "/api/v1/hosts", {
        name,
        address: "127.0.0.1",
        port: sshPort,
        username,
      });
      expect(r.status).toBe(201);
      expect(r.body.host.status).toBe("untrusted");
      expect(JSON.stringify(r.body)).not.toMatch(/PRIVATE KEY/);
      expect(r.body.publicKey).toMatch(new RegExp(`^ssh-ed25519 AAAA\\S+ molthub@${name}$`));
      keys.push(r.body.publicKey);
    }
    host = await startSystemdHost({ authorizedKeys: keys, port: sshPort });
  }, 180_000);

  afterAll(async () => {
    if (a) {
      for (const name of [bot, sysBot]) {
        if ((await a.api("GET", `/api/v1/bots/${name}`)).status !== 200) continue;
        await a.api("DELETE", `/api/v1/bots/${name}?purge=true`).catch(() => {});
        const deadline = Date.now() + 60_000;
        while ((await a.api("GET", `/api/v1/bots/${name}`)).status !== 404 && Date.now() < deadline) await Bun.sleep(500);
      }
      await a.kill("SIGTERM");
    }
    await host?.stop(); // the gateways die with the container
  }, 120_000);

  it("probe → trust the presented fingerprint → doctor: systemd, lingering, OpenClaw 2026.9.6 with Node 26", async () => {
    const p = await a.api<Host>("POST", "/api/v1/hosts/nas/probe");
    expect(p.body).toMatchObject({ status: "untrusted", fingerprint: null, seenFingerprint: host.fingerprint });

    const t = await a.api<Host>("POST", "/api/v1/hosts/nas/trust", { fingerprint: host.fingerprint });
    expect(t.status).toBe(200);
    expect(t.body).toMatchObject({ status: "ok", fingerprint: host.fingerprint });
    const d = await a.api<Host>("POST", "/api/v1/hosts/nas/doctor");
    expect(d.status).toBe(200);
    const f = Object.fromEntries(d.body.doctor!.findings.map((x) => [x.id, x]));
    expect(f.init).toMatchObject({ level: "ok", message: expect.stringMatching(/^systemd \d+ is PID 1/) });
    expect(f.linger).toMatchObject({ level: "ok", message: expect.stringContaining("lingering is enabled for molt") });
    expect(f.openclaw).toMatchObject({
      level: "ok",
      message: `OpenClaw ${VERSION} installed under /home/molt/.molthub/openclaw`,
    });
    expect(f.node).toMatchObject({ level: "ok", message: `Node v${fx.nodeVersion} beside OpenClaw ${VERSION}` });
    expect(d.body.doctor!.findings.filter((x) => x.level === "error")).toEqual([]);
    expect(d.body).toMatchObject({ status: "ok", init: "systemd" });
  }, 120_000);

  it("applies a bot as a user unit: running, revision 1 live, ready through the tunnel", async () => {
    const r = await a.api("POST", "/api/v1/bots/apply", manifest(bot, "nas", "anthropic/claude-sonnet-4-5"));
    expect(r.status).toBe(200);
    expect(r.body.action).toBe("created");
    const started = Date.now();
    const d = await waitHealthy(bot, 0, 170_000);
    expect(d.bot.appliedRevision).toBe(1);
    console.log(`systemd bot ready through the tunnel in ${Date.now() - started} ms`);
    expect(d.events.map((e: { type: string }) => e.type)).toContain("revision.live");
    // a user unit of molt, the gateway bound to loopback, secrets only in the 0600 env file
    expect(
      host
        .exec(["stat", "-c", "%a %U", userUnit, `${moltBotDir}/gateway.env`, `${moltBotDir}/openclaw.json`])
        .stdout.trim()
        .split("\n"),
    ).toEqual(["644 molt", "600 molt", "600 molt"]);
    const cfg = JSON.parse(host.exec(["cat", `${moltBotDir}/openclaw.json`]).stdout);
    expect(cfg.gateway).toMatchObject({ bind: "loopback", port: d.bot.port });
    expect(cfg.agents.defaults.model).toBe("anthropic/claude-sonnet-4-5");
    expect(JSON.stringify(cfg)).not.toContain("sk-ant-canary");
    expect(host.exec(["cat", userUnit]).stdout).not.toContain("sk-ant-canary");
    expect(unitState()).toContain("ActiveState=active");
    const pid = Number(/MainPID=(\d+)/.exec(unitState())![1]);
    expect(host.exec(["ps", "-o", "user=", "-p", String(pid)]).stdout.trim()).toBe("molt");
    const hostView = await getHost("nas");
    expect(hostView.host.status).toBe("ok");
  }, 180_000);

  it("applies a hot change live and verifies it (revision 2, same gateway process)", async () => {
    const pid = /MainPID=(\d+)/.exec(unitState())![1];
    // an openai/* model: OpenClaw then wants the @openclaw/codex plugin on every later start (see the restart step)
    const r = await a.api("POST", "/api/v1/bots/apply", manifest(bot, "nas", "openai/gpt-4o-mini"));
    expect(r.body).toMatchObject({ action: "updated", revision: 2 });
    expect(r.body.changes.map((x: { path: string }) => x.path)).toEqual(["agents.defaults.model"]);
    await waitForBot(a, bot, (b) => b.bot.appliedRevision === 2 && b.bot.status === "running", 90_000);
    expect(JSON.parse(host.exec(["cat", `${moltBotDir}/openclaw.json`]).stdout).agents.defaults.model).toBe("openai/gpt-4o-mini");
    expect(/MainPID=(\d+)/.exec(unitState())![1]).toBe(pid); // hot: no restart
  }, 120_000);

  it("serves the journal's lines, and streams them with follow=true", async () => {
    const r = await a.api("GET", `/api/v1/bots/${bot}/logs?tail=50`);
    expect(r.status).toBe(200);
    const text = String(r.body);
    expect(text).toMatch(/\[gateway\]/);
    expect(text).not.toContain("sk-ant-canary");

    const ac = new AbortController();
    const res = await fetch(`${a.base}/api/v1/bots/${bot}/logs?follow=true&tail=5`, {
      headers: { authorization: `Bearer ${a.token}` },
      signal: ac.signal,
    });
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toContain("text/event-stream");
    let buf = "";
    const deadline = Date.now() + 30_000;
    const reader = res.body!.getReader();
    try {
      while (!/event: line\ndata: .+/.test(buf) && Date.now() < deadline) {
        const { value, done } = await reader.read();
        if (done) break;
        buf += new TextDecoder().decode(value);
      }
    } finally {
      ac.abort();
      await reader.cancel().catch(() => {});
    }
    expect(buf).toMatch(/event: line\ndata: .+/);
    expect(buf).not.toContain("sk-ant-canary");
  }, 60_000);

  it("the host restarts: the unit comes back by itself and the appliance reconnects", async () => {
    const before = unitState();
    const restartedAt = Date.now();
    await host.restart();
    // the gateway came back without Molthub (enabled + lingering + Restart=always), past OpenClaw's start-up
    // plugin repair for the openai model (it used to exit 78 here when the host has no npm)
    let st = unitState();
    for (let i = 0; i < 120 && !/ActiveState=active/.test(st); i++) {
      await Bun.sleep(500);
      st = unitState();
    }
    expect(
      st,
      `unit after the restart:\n${asMolt("systemctl", "--user", "status", "--no-pager", "-n", "30", "molthub-nas-bot.service").stdout}`,
    ).toContain("ActiveState=active");
    expect(st).not.toBe(before);
    const d = await waitHealthy(bot, restartedAt, 150_000);
    expect(d.bot.appliedRevision).toBe(2);
    // …and it never exited 78 on the way (Molthub's reconciler would restart it later, hiding the failure)
    // (the whole container journal — one gateway runs there; as root `--user-unit` would also match _UID=0)
    const journal = host.exec(["journalctl", "--no-pager", "-o", "cat", "--since", `@${Math.floor(restartedAt / 1000)}`]).stdout;
    expect(journal).toMatch(/\[gateway\] ready/);
    expect(journal).not.toMatch(/status=78|requires state migration/);
    expect(journal).toMatch(/npm is not installed on this host \(Molthub's stand-in/); // the plugin repair met the stand-in
    console.log(`bot ready again ${Date.now() - restartedAt} ms after the host restart began`);
  }, 180_000);

  it("a swapped host key is refused before authentication, alerted and audited; re-trust brings the bot back", async () => {
    const oldFp = host.fingerprint;
    const newKey = generateEd25519KeyPair("molthub-test-host-2");
    const swappedAt = Date.now();
    await host.restart(newKey);
    // the appliance keeps trying (health checks, reconciles): the host is marked key_mismatch
    let h = await getHost("nas");
    for (let i = 0; i < 120 && h.host.status !== "key_mismatch"; i++) {
      await Bun.sleep(500);
      h = await getHost("nas");
    }
    expect(h.host).toMatchObject({ status: "key_mismatch", fingerprint: oldFp, seenFingerprint: newKey.fingerprint });
    expect(h.host.statusReason).toContain(`pinned ${oldFp}`);
    expect(h.host.statusReason).toContain(newKey.fingerprint);
    const alerts = h.events.filter((e) => e.type === "alert");
    expect(alerts).toHaveLength(1);
    expect(alerts[0]).toMatchObject({ level: "error", data: { kind: "key_mismatch", old: oldFp, new: newKey.fingerprint } });
    // refused before authentication: no login since sshd came up with the new key (the appliance's own
    // connection attempts are cut during key exchange, so its key is never even offered)
    await Bun.sleep(6_000); // a health interval or so of further refused attempts
    const sshd = host.exec([
      "journalctl",
      "--no-pager",
      "-o",
      "cat",
      "-u",
      "ssh.service",
      "--since",
      `@${Math.floor(swappedAt / 1000)}`,
    ]).stdout;
    expect(sshd).toMatch(/Disconnected from 127\.0\.0\.1 port \d+ \[preauth\]/);
    expect(acceptedLogins(swappedAt)).toEqual([]);
    const audit = await a.api<{ items: { action: string; summary: unknown }[] }>("GET", "/api/v1/audit?action=host.key_mismatch");
    expect(audit.body.items).toHaveLength(1);
    expect(JSON.stringify(audit.body.items[0]!.summary)).toContain(newKey.fingerprint);
    // the bot says why it cannot be reached, naming the fix: its TargetReachable condition (src/fleet/target-condition.ts)
    const target = (x: any) => x.bot.conditions?.find((c: { type: string }) => c.type === "TargetReachable");
    const b = await waitForBot(a, bot, (x) => target(x)?.reason === "HostKeyChanged", 60_000);
    expect(target(b)).toMatchObject({ status: "False" });
    expect(target(b).message).toContain(`molthub host trust nas --fingerprint ${newKey.fingerprint}`);

    // an explicit, audited re-trust; then the bot is reachable again (its unit kept running on the host)
    const t = await a.api<Host>("POST", "/api/v1/hosts/nas/trust", { fingerprint: newKey.fingerprint });
    expect(t.status).toBe(200);
    expect(t.body).toMatchObject({ status: "ok", fingerprint: newKey.fingerprint });
    const retrust = await a.api<{ items: unknown[] }>("GET", "/api/v1/audit?action=host.retrust");
    expect(retrust.body.items).toHaveLength(1);
    const d = await waitHealthy(bot, Date.now(), 120_000);
    expect(d.bot.appliedRevision).toBe(2);
    expect(target(d)).toMatchObject({ status: "True", reason: "HostReachable" });
    expect(acceptedLogins(swappedAt).length).toBeGreaterThan(0);
    console.log(`bot reachable again ${Date.now() - swappedAt} ms after the key swap began`);
  }, 180_000);

  it("delete with purge removes the unit, the env file and the state dir", async () => {
    expect((await a.api("DELETE", `/api/v1/bots/${bot}?purge=true`)).status).toBe(202);
    const deadline = Date.now() + 90_000;
    while ((await a.api("GET", `/api/v1/bots/${bot}`)).status !== 404 && Date.now() < deadline) await Bun.sleep(500);
    expect((await a.api("GET", `/api/v1/bots/${bot}`)).status).toBe(404);
    expect(exists(userUnit)).toBe(false);
    expect(exists(`${moltBotDir}/gateway.env`)).toBe(false);
    expect(exists(moltBotDir)).toBe(false);
    expect(asMolt("systemctl", "--user", "show", "-p", "LoadState", "molthub-nas-bot.service").stdout.trim()).toBe(
      "LoadState=not-found",
    );
    expect(a.logs.join("")).not.toContain("sk-ant-canary");
  }, 120_000);

  it("the same bot as a system unit (login root): runs as the service user, ready, then deleted with purge", async () => {
    const t = await a.api<Host>("POST", "/api/v1/hosts/nas-root/trust", { fingerprint: host.fingerprint });
    expect(t.body).toMatchObject({ status: "ok" });
    const doc = await a.api<Host>("POST", "/api/v1/hosts/nas-root/doctor");
    expect(doc.body.doctor!.findings.filter((x) => x.level === "error")).toEqual([]);
    const r = await a.api("POST", "/api/v1/bots/apply", manifest(sysBot, "nas-root", "anthropic/claude-sonnet-4-5"));
    expect(r.status).toBe(200);
    const d = await waitHealthy(sysBot, 0, 170_000);
    expect(d.bot.appliedRevision).toBe(1);
    const unit = "/etc/systemd/system/molthub-nas-sysbot.service";
    const dir = "/var/lib/molthub/bots/nas-sysbot";
    expect(host.exec(["cat", unit]).stdout).toContain("User=molthub");
    const pid = /MainPID=(\d+)/.exec(host.exec(["systemctl", "show", "-p", "MainPID", "molthub-nas-sysbot.service"]).stdout)![1];
    expect(host.exec(["ps", "-o", "user=", "-p", pid!]).stdout.trim()).toBe("molthub");
    expect(host.exec(["stat", "-c", "%a %U", `${dir}/gateway.env`]).stdout.trim()).toBe("600 root");

    expect((await a.api("DELETE", `/api/v1/bots/${sysBot}?purge=true`)).status).toBe(202);
    const deadline = Date.now() + 90_000;
    while ((await a.api("GET", `/api/v1/bots/${sysBot}`)).status !== 404 && Date.now() < deadline) await Bun.sleep(500);
    expect((await a.api("GET", `/api/v1/bots/${sysBot}`)).status).toBe(404);
    expect(exists(unit)).toBe(false);
    expect(exists(`${dir}/gateway.env`)).toBe(false);
    expect(exists(dir)).toBe(false);
    expect(host.exec(["systemctl", "is-active", "molthub-nas-sysbot.service"]).stdout.trim()).not.toBe("active");
  }, 180_000);
});
