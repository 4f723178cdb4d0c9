/**
 * The launcher a Docker bot's container runs (`node -e ENV_FILE_LAUNCHER <env file> <entry> gateway run`, see
 * providers/docker/spec.ts), run by the REAL Node of the OpenClaw fixture (Node 26; the launcher needs
 * `process.execve`, which the system Node 20 lacks):
 *
 * - the environment it hands over is the container's with the env file laid over it, parsed exactly like
 *   `parseEnvFile` (values literal to the end of the line: quotes, `$`, backticks, `#`, CR handling);
 * - it replaces itself (same PID): signals reach the program's own handlers and its exit code is the launcher's;
 * - the values are in the program's /proc environ and not in its argv;
 * - a missing or malformed file, or a Node without execve, exits 78 and names the file, never a value.
 *
 * Needs the OpenClaw fixture install (`bash test/infra/fixtures.sh`); skipped without it, except under CI.
 */
import { spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, expect, it } from "vitest";
import { ENV_FILE_LAUNCHER } from "../../providers/docker/spec.ts";
import { parseEnvFile } from "../../providers/env-file.ts";
import { renderEnvFile } from "../../src/domain/openclaw-config.ts";
import { checkComponents, describeWithComponent, fixtures } from "../infra/components.ts";

const fx = fixtures();
const needs = await checkComponents("openclaw");
const CANARY = "canary-7f3e9a1c5b2d4e6f";

interface Run {
  pid: number;
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** Runs `node [preload] -e LAUNCHER <file> -e <program>` with `env`; `onStdout` sees the output as it comes. */
function launch(
  file: string,
  program: string,
  opts: { env?: Record<string, string>; preload?: string; onStdout?: (text: string, pid: number) => void } = {},
): Promise<Run> {
  const argv = [...(opts.preload ? ["-r", opts.preload] : []), "-e", ENV_FILE_LAUNCHER, file, "-e", program];
  const child = spawn(fx.openclawNode, argv, { env: opts.env ?? { PATH: "/usr/bin:/bin" }, stdio: ["ignore", "pipe", "pipe"] });
  let stdout = "";
  let stderr = "";
  child.stdout.on("data", (c: Buffer) => {
    stdout += c.toString();
    opts.onStdout?.(stdout, child.pid!);
  });
  child.stderr.on("data", (c: Buffer) => {
    stderr += c.toString();
  });
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new Error(`the launcher did not finish within 20 s (stdout ${stdout}, stderr ${stderr})`));
    }, 20_000);
    child.once("error", reject);
    child.once("close", (code, signal) => {
      clearTimeout(timer);
      resolve({ pid: child.pid!, code, signal, stdout, stderr });
    });
  });
}

describeWithComponent(`the Docker env-file launcher under Node ${fx.nodeVersion}`, needs, () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), "molthub-launcher-"));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const file = (name: string, text: string) => {
    const path = join(dir, name);
    writeFileSync(path, text, { mode: 0o600 });
    return path;
  };

  it("hands over the container's environment with the env file laid over it, parsed like parseEnvFile", async () => {
    const values = {
      OPENCLAW_GATEWAY_TOKEN: `${CANARY}-token`,
      ANTHROPIC_API_KEY: CANARY,
      EQUALS: "a=b==c",
      SPACES: "  padded value  ",
      QUOTES: `'single' "double"`,
      SHELL_LIKE: "$HOME ${X} `id` $(id) \\ back # hash ; | & %h",
      EMPTY: "",
      OVERRIDE: "from-file",
      UNICODE: "grüße ✓",
    };
    // renderEnvFile's output plus what a hand edit might add: comments, blank lines, CRLF
    const text = `# a comment\n\n${renderEnvFile(values)}CRLF=x\r\n`;
    const path = file("env", text);
    const run = await launch(path, "process.stdout.write(JSON.stringify(process.env))", {
      env: { PATH: "/usr/bin:/bin", KEEP: "container", OVERRIDE: "container" },
    });
    expect(run.stderr).toBe("");
    expect(run.code).toBe(0);
    const env = JSON.parse(run.stdout) as Record<string, string>;
    expect(env).toMatchObject({ ...parseEnvFile(text), KEEP: "container", PATH: "/usr/bin:/bin" });
    expect(env).toMatchObject(values);
    expect(env.CRLF).toBe("x");
  });

  it("replaces itself: same PID, values in the environ and not in the argv, signals and exit codes pass through", async () => {
    const path = file("env-signal", renderEnvFile({ SECRET_VALUE: CANARY }));
    const seen: { cmdline?: string; environ?: string; samePid?: boolean } = {};
    let signalled = false;
    const program = [
      'process.on("SIGTERM", () => process.exit(42));',
      'process.stdout.write("pid " + process.pid + "\\n");',
      "setInterval(() => {}, 1000);",
    ].join(" ");
    const run = await launch(path, program, {
      onStdout: (text, pid) => {
        if (signalled || !/pid \d+\n/.test(text)) return;
        signalled = true;
        seen.samePid = Number(/pid (\d+)/.exec(text)![1]) === pid;
        seen.cmdline = readFileSync(`/proc/${pid}/cmdline`, "utf8");
        seen.environ = readFileSync(`/proc/${pid}/environ`, "utf8");
        process.kill(pid, "SIGTERM");
      },
    });
    expect(seen.samePid).toBe(true);
    expect(seen.environ!.split("\0")).toContain(`SECRET_VALUE=${CANARY}`);
    expect(seen.cmdline).not.toContain(CANARY);
    // the program's own SIGTERM handler ran, and its exit code is what the launcher's parent sees
    expect(run).toMatchObject({ code: 42, signal: null });

    const exit = await launch(path, "process.exit(7)");
    expect(exit.code).toBe(7);
    const killed = await launch(path, 'process.kill(process.pid, "SIGKILL")');
    expect(killed.signal).toBe("SIGKILL");
  });

  it("a missing or malformed env file exits 78 naming the file, never a value", async () => {
    const missing = await launch(join(dir, "absent.env"), "process.exit(0)");
    expect(missing.code).toBe(78);
    expect(missing.stderr).toContain(`cannot read the bot's env file ${join(dir, "absent.env")} (ENOENT)`);

    const bad = file("env-bad", `GOOD=1\n${CANARY} without an equals sign\n`);
    const malformed = await launch(bad, "process.exit(0)");
    expect(malformed.code).toBe(78);
    expect(malformed.stderr).toContain(`${bad} has a line without KEY=value`);
    expect(malformed.stderr).not.toContain(CANARY);
  });

  it("a Node without process.execve exits 78 and says which Node is needed", async () => {
    const preload = file("no-execve.cjs", "delete process.execve;\n");
    const path = file("env-ok", renderEnvFile({ SECRET_VALUE: CANARY }));
    const run = await launch(path, "process.exit(0)", { preload });
    expect(run.code).toBe(78);
    expect(run.stderr).toMatch(/has no process\.execve \(Node >= 22\.15 is needed\)/);
    expect(run.stderr).not.toContain(CANARY);
  });
});
