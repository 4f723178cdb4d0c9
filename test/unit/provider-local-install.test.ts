/**
 * Managed OpenClaw installs (`ensure` without MOLTHUB_OPENCLAW_DIR), with a fake `npm` and a fake Node so
 * nothing is downloaded: npm runs with --ignore-scripts into a partial dir that is moved in place, OpenClaw's
 * postinstall is finished with the install's own Node, the version is checked, and a marker makes the next
 * ensure a no-op. A failing npm leaves nothing half-installed.
 */
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { INSTALL_MARKER, LIFECYCLE_PENDING, nodePackageName } from "../../providers/local/install.ts";
import { LocalProvider } from "../../providers/local/provider.ts";
import { type BotRuntime, ProviderError } from "../../providers/provider.ts";

const dir = mkdtempSync(join(tmpdir(), "molthub-local-install-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const calls = join(dir, "npm-calls.txt");

/** A Node stand-in: prints a version for openclaw.mjs, finishes the lifecycle for the postinstall script. */
const FAKE_NODE = `#!/bin/sh
case "$1" in
  */openclaw.mjs) [ "$2" = --version ] && echo "OpenClaw 2026.9.6 (fake)";;
  scripts/postinstall-bundled-plugins.mjs) rm -f ${LIFECYCLE_PENDING};;
  *) exit 3;;
esac
`;

function fakeNpm(name: string, fail = false): string {
  const fakeNode = join(dir, "fake-node");
  writeFileSync(fakeNode, FAKE_NODE);
  chmodSync(fakeNode, 0o755);
  const script = `#!/bin/sh
printf '%s\\n' "$*" >> ${JSON.stringify(calls)}
${fail ? 'echo "npm ERR! 404 Not Found - GET https://registry.npmjs.org/openclaw" >&2; exit 1' : ""}
prefix=""
while [ $# -gt 0 ]; do [ "$1" = --prefix ] && prefix=$2; shift; done
pkg="$prefix/node_modules/openclaw"
mkdir -p "$pkg/scripts" "$prefix/node_modules/${nodePackageName()}/bin"
echo '{"name":"openclaw","version":"2026.9.6"}' > "$pkg/package.json"
echo '// fake' > "$pkg/openclaw.mjs"
touch "$pkg/${LIFECYCLE_PENDING}"
cp ${JSON.stringify(fakeNode)} "$prefix/node_modules/${nodePackageName()}/bin/node"
`;
  const path = join(dir, name);
  writeFileSync(path, script);
  chmodSync(path, 0o755);
  return path;
}

function bot(version = "2026.9.6"): BotRuntime {
  return {
    id: "b1",
    name: "b1",
    workspaceId: "ws",
    target: { provider: "local", version },
    port: 20_000,
    config: {},
    configHash: "",
    env: {},
  };
}

describe("LocalProvider.ensure with a managed install", () => {
  it("installs once with --ignore-scripts, finishes the postinstall, marks it complete and skips it next time", async () => {
    rmSync(calls, { force: true });
    const installDir = join(dir, "openclaw");
    const p = new LocalProvider({ rootDir: join(dir, "bots"), installDir, npmBin: fakeNpm("npm-ok") });
    await p.ensure(bot(), AbortSignal.timeout(20_000));
    const root = join(installDir, "2026.9.6");
    expect(existsSync(join(root, INSTALL_MARKER))).toBe(true);
    expect(existsSync(join(root, "node_modules/openclaw", LIFECYCLE_PENDING))).toBe(false);
    expect(readdirSync(installDir)).toEqual(["2026.9.6"]); // no partial dir left
    const first = readFileSync(calls, "utf8").trim().split("\n");
    expect(first).toHaveLength(1);
    expect(first[0]).toMatch(/^install --ignore-scripts .*--prefix \S+ openclaw@2026\.9\.6 node-linux-\w+@26\.10\.0$/);

    await p.ensure(bot(), AbortSignal.timeout(20_000));
    await new LocalProvider({ rootDir: join(dir, "bots"), installDir, npmBin: fakeNpm("npm-ok") }).ensure(
      bot(),
      AbortSignal.timeout(20_000),
    );
    expect(readFileSync(calls, "utf8").trim().split("\n")).toHaveLength(1);
    expect((await p.observe({ ...bot(), name: "other" }, AbortSignal.timeout(5_000))).openclawVersion).toBe("2026.9.6");
  });

  it("reports a failing npm with its output and leaves nothing half-installed", async () => {
    const installDir = join(dir, "openclaw-fail");
    mkdirSync(installDir);
    const p = new LocalProvider({ rootDir: join(dir, "bots"), installDir, npmBin: fakeNpm("npm-fail", true) });
    const err = await p.ensure(bot(), AbortSignal.timeout(20_000)).then(
      () => null,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(ProviderError);
    expect((err as Error).message).toMatch(/404 Not Found/);
    expect((err as Error).message).toMatch(/MOLTHUB_OPENCLAW_DIR/);
    expect(readdirSync(installDir)).toEqual([]);
  });

  it("refuses a version that is not a version before running anything", async () => {
    const p = new LocalProvider({ rootDir: join(dir, "bots"), installDir: join(dir, "openclaw-x"), npmBin: "/nonexistent/npm" });
    await expect(p.ensure(bot("--registry=http://evil"), AbortSignal.timeout(5_000))).rejects.toMatchObject({
      code: "invalid_config",
    });
  });

  it("needs an install dir or MOLTHUB_OPENCLAW_DIR", async () => {
    const p = new LocalProvider({ rootDir: join(dir, "bots") });
    await expect(p.ensure(bot(), AbortSignal.timeout(5_000))).rejects.toThrow(/MOLTHUB_OPENCLAW_DIR/);
  });

  it("a bot switched to a version not installed yet: validate and start say so with a typed code, not exit 127", async () => {
    const installDir = join(dir, "openclaw");
    const p = new LocalProvider({ rootDir: join(dir, "bots"), installDir, npmBin: "/nonexistent/npm" });
    for (const step of [
      () => p.validate(bot("2026.9.7"), AbortSignal.timeout(5_000)),
      () => p.start(bot("2026.9.7"), AbortSignal.timeout(5_000)),
    ]) {
      const err = await step().then(
        () => null,
        (e: unknown) => e,
      );
      expect(err).toMatchObject({ code: "not_installed" });
      expect((err as Error).message).toMatch(
        /^OpenClaw 2026\.9\.7 is not installed on this machine yet .*Molthub installs it before it starts/,
      );
    }
  });

  it("honours the abort signal while npm runs", async () => {
    const slow = join(dir, "npm-slow");
    writeFileSync(slow, "#!/bin/sh\nexec sleep 60\n");
    chmodSync(slow, 0o755);
    const p = new LocalProvider({ rootDir: join(dir, "bots"), installDir: join(dir, "openclaw-slow"), npmBin: slow });
    const t0 = Date.now();
    await expect(p.ensure(bot(), AbortSignal.timeout(300))).rejects.toMatchObject({ code: "timeout" });
    expect(Date.now() - t0).toBeLessThan(3_000);
  });
});
