/**
 * Molthub's dir of stand-ins on a host (`<base>/fallback-bin`), searched LAST on a gateway's PATH.
 *
 * Why: when a configured model needs an OpenClaw plugin that is not bundled (e.g. `openai/*` models want
 * `@openclaw/codex`), every gateway START runs a "repair missing configured plugin installs" step that spawns
 * `npm view …`. A failing npm (offline, no registry) is a warning and the gateway starts degraded — but when there is
 * no `npm` at all, the spawn fails with ENOENT, which OpenClaw 2026.9.6 treats as a failed *startup state
 * migration* and exits 78 ("requires state migration … Command failed during launch or output capture (ENOENT)").
 * A hot `config.patch` does not run that step, so the bot worked until its first restart (host reboot, crash).
 * Hosts where OpenClaw was pre-placed (no Node/npm of the system) hit it every time; the local provider never
 * does because the appliance's own PATH has npm. The stand-in makes "no npm" look like "npm failed"; a real npm
 * anywhere earlier on the PATH always wins.
 */
import type { RemoteLayout } from "../../src/hosts/host-access.ts";
import { assertSafePath } from "../checks.ts";

export function fallbackBinDir(layout: RemoteLayout): string {
  const dir = `${layout.base}/fallback-bin`;
  assertSafePath(dir, "fallback bin dir");
  return dir;
}

/** The `npm` stand-in: says why on stderr and exits 1, like an npm that cannot reach its registry. */
export const NPM_FALLBACK_SCRIPT = [
  "#!/bin/sh",
  "# Managed by Molthub: stands in for npm on a host without it, so OpenClaw's plugin repair fails cleanly",
  "# (a warning) instead of refusing to start. Installing npm on the host makes this unused.",
  `echo "npm is not installed on this host (Molthub's stand-in was called: npm $1); install npm here to let OpenClaw fetch plugins" >&2`,
  "exit 1",
  "",
].join("\n");
