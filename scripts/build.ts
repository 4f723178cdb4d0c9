// Compiles the appliance into one self-contained binary: dist/molthub.
// Migrations and the web UI's static assets (src/web/ui/static/) are imported as text, so they are inside the binary.

import { join } from "node:path";
import { $ } from "bun";

const root = join(import.meta.dir, "..");
const target = process.env.MOLTHUB_BUILD_TARGET; // e.g. bun-linux-arm64 for cross builds
const out = process.env.MOLTHUB_BUILD_OUT ?? join(root, "dist/molthub");
const started = performance.now();
const args = [
  "build",
  "--compile",
  "--minify",
  "--external",
  "cpu-features",
  "--bytecode",
  "--format=esm",
  join(root, "src/main.ts"),
  "--outfile",
  out,
];
if (target) args.push(`--target=${target}`);
await $`${process.execPath} ${args}`.cwd(root);
console.log(`built ${out} in ${Math.round(performance.now() - started)} ms`);
