import { existsSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { assertVersion } from "../checks.ts";
import { lastLines } from "../command-output.ts";
import { ProviderError } from "../provider.ts";
import { childEnv, npmEnv } from "./child-env.ts";
import { runCommand } from "./command.ts";

/**
 * OpenClaw installs for local bots: an existing one named by the operator, or one per version that the
 * provider installs from npm.
 *
 * OpenClaw needs Node >=24.16 (<25) or >=26.1, which the host rarely has, so a managed install brings its
 * own Node 26 from the npm package `node-linux-<arch>`. npm runs with --ignore-scripts (OpenClaw's preinstall
 * refuses an older Node running npm); OpenClaw's local-only postinstall is then finished with Node 26. Without
 * it the first gateway start tries to finish it and fails ("package lifecycle is incomplete").
 */

export interface OpenClawInstall {
  /** the `openclaw` package dir (holds openclaw.mjs) */
  openclawDir: string;
  /** Node >= 24.16 */
  nodeBin: string;
}

const NODE_PACKAGE_VERSION = "26.10.0";
export const INSTALL_MARKER = ".molthub-install-complete";
/** OpenClaw's postinstall removes this file; while it exists the install is unfinished. */
export const LIFECYCLE_PENDING = ".openclaw-lifecycle-pending";

const NPM_TIMEOUT_MS = 20 * 60_000;
const POSTINSTALL_TIMEOUT_MS = 10 * 60_000;
const VERSION_TIMEOUT_MS = 30_000;

export function nodePackageName(arch: string = process.arch): string {
  if (arch === "x64" || arch === "arm64") return `node-linux-${arch}`;
  throw new ProviderError(
    `local bots need a Node 26 build for linux-${arch}, which Molthub cannot install; install OpenClaw yourself and set MOLTHUB_OPENCLAW_DIR and MOLTHUB_OPENCLAW_NODE`,
    "failed",
  );
}

/** The layout of a managed install of `version` under `installDir`. */
export function managedInstall(
  installDir: string,
  version: string,
  nodeBin?: string,
): OpenClawInstall & { root: string; marker: string } {
  assertVersion(version);
  const root = join(installDir, version);
  return {
    root,
    marker: join(root, INSTALL_MARKER),
    openclawDir: join(root, "node_modules", "openclaw"),
    nodeBin: nodeBin ?? join(root, "node_modules", nodePackageName(), "bin", "node"),
  };
}

/** The version in the package's package.json, without running anything; null when unreadable. */
export function packageVersion(openclawDir: string): string | null {
  try {
    const v = (JSON.parse(readFileSync(join(openclawDir, "package.json"), "utf8")) as { version?: unknown }).version;
    return typeof v === "string" ? v : null;
  } catch {
    return null;
  }
}

/** Why `install` cannot run a gateway (missing files, unfinished postinstall), or null. */
export function installProblem(install: OpenClawInstall): string | null {
  if (!existsSync(join(install.openclawDir, "openclaw.mjs")))
    return `no OpenClaw at ${install.openclawDir} (openclaw.mjs is missing)`;
  if (!existsSync(install.nodeBin)) return `no Node binary at ${install.nodeBin}`;
  if (existsSync(join(install.openclawDir, LIFECYCLE_PENDING))) {
    return `the OpenClaw install at ${install.openclawDir} is unfinished: run \`${install.nodeBin} scripts/postinstall-bundled-plugins.mjs\` in that directory`;
  }
  return null;
}

/** Runs `node openclaw.mjs --version` and returns the version it prints ("OpenClaw 2026.9.6 (eb377ac)"). */
export async function probeVersion(install: OpenClawInstall, signal: AbortSignal): Promise<string> {
  return withScratchDir(async (scratch) => {
    const r = await runCommand([install.nodeBin, join(install.openclawDir, "openclaw.mjs"), "--version"], {
      env: childEnv({ HOME: scratch, TMPDIR: scratch }),
      cwd: scratch,
      timeoutMs: VERSION_TIMEOUT_MS,
      signal,
    });
    const m = /OpenClaw\s+(\d{4}\.\d{1,2}\.\d{1,2}(?:-[0-9A-Za-z.]+)?)/.exec(r.stdout);
    if (r.code !== 0 || !m) {
      throw new ProviderError(
        `\`openclaw --version\` failed with ${install.nodeBin} (exit ${r.code ?? r.signal}): ${lastLines(r.stderr || r.stdout, 5) || "no output"}. Check that the Node binary is >= 24.16 and the install is complete`,
        "failed",
      );
    }
    return m[1]!;
  });
}

/**
 * Installs `openclaw@<version>` and Node 26 into `<installDir>/<version>` unless already complete
 * (marker file). Idempotent; an interrupted install is discarded and redone.
 */
export async function installManaged(opts: {
  installDir: string;
  version: string;
  npmBin: string;
  signal: AbortSignal;
  log: (msg: string, fields?: Record<string, unknown>) => void;
}): Promise<OpenClawInstall> {
  const target = managedInstall(opts.installDir, opts.version);
  if (existsSync(target.marker) && !installProblem(target)) return target;

  // 1. npm into a partial dir beside the final one, so a half install never sits at the final path.
  mkdirSync(opts.installDir, { recursive: true, mode: 0o755 });
  const partial = join(opts.installDir, `.${opts.version}.partial-${process.pid}`);
  rmSync(partial, { recursive: true, force: true });
  mkdirSync(partial, { recursive: true });
  writeFileSync(
    join(partial, "package.json"),
    `${JSON.stringify({ name: "molthub-openclaw", private: true, description: "OpenClaw runtime installed by Molthub" })}\n`,
  );
  const started = Date.now();
  opts.log("installing OpenClaw from npm", { version: opts.version, dir: target.root });
  try {
    const r = await runCommand(
      [
        opts.npmBin,
        "install",
        "--ignore-scripts",
        "--save-exact",
        "--no-audit",
        "--no-fund",
        "--loglevel=warn",
        "--prefix",
        partial,
        `openclaw@${opts.version}`,
        `${nodePackageName()}@${NODE_PACKAGE_VERSION}`,
      ],
      { env: npmEnv(), cwd: partial, timeoutMs: NPM_TIMEOUT_MS, signal: opts.signal },
    );
    if (r.code !== 0) {
      throw new ProviderError(
        `npm could not install openclaw@${opts.version} (exit ${r.code ?? r.signal}): ${lastLines(r.stderr || r.stdout, 8)}. Check that the npm registry is reachable, or install OpenClaw yourself and set MOLTHUB_OPENCLAW_DIR`,
        "failed",
      );
    }
    // 2. Move it in place (nothing in the tree depends on its absolute path until the postinstall ran).
    rmSync(target.root, { recursive: true, force: true });
    renameSync(partial, target.root);
  } finally {
    rmSync(partial, { recursive: true, force: true });
  }

  // 3. Finish OpenClaw's postinstall with Node 26, in the package dir.
  await withScratchDir(async (scratch) => {
    const r = await runCommand([target.nodeBin, "scripts/postinstall-bundled-plugins.mjs"], {
      env: childEnv({ HOME: scratch, TMPDIR: scratch }),
      cwd: target.openclawDir,
      timeoutMs: POSTINSTALL_TIMEOUT_MS,
      signal: opts.signal,
    });
    if (r.code !== 0)
      throw new ProviderError(
        `OpenClaw's postinstall failed (exit ${r.code ?? r.signal}): ${lastLines(r.stderr || r.stdout, 8)}`,
        "failed",
      );
  });

  // 4. Verify, then mark complete.
  const problem = installProblem(target);
  if (problem) throw new ProviderError(`OpenClaw ${opts.version} was installed but is not usable: ${problem}`, "failed");
  const printed = await probeVersion(target, opts.signal);
  if (printed !== opts.version)
    throw new ProviderError(
      `npm installed OpenClaw ${printed} where ${opts.version} was asked for; remove ${target.root} and retry`,
      "failed",
    );
  writeFileSync(
    target.marker,
    `openclaw@${opts.version} ${nodePackageName()}@${NODE_PACKAGE_VERSION} ${new Date().toISOString()}\n`,
  );
  opts.log("installed OpenClaw", { version: opts.version, ms: Date.now() - started });
  return target;
}

/** A private temp dir (HOME/TMPDIR for short-lived OpenClaw commands), removed afterwards. */
export async function withScratchDir<T>(fn: (dir: string) => Promise<T>): Promise<T> {
  const dir = mkdtempSync(join(tmpdir(), "molthub-openclaw-"));
  try {
    return await fn(dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
