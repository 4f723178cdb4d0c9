import { readFileSync } from "node:fs";
import { defineConfig, type Plugin } from "vitest/config";

/**
 * The binary embeds assets with `import x from "…" with { type: "text" }` (Bun). Vite does not know
 * that attribute, so in tests the same files load as a string module.
 */
const TEXT_ASSET = /(\/views\/static\/[^?]+|\/migrations\/[^/?]+\.sql|\/htmx\.org\/dist\/htmx\.min\.js)$/;
function textAssets(): Plugin {
  return {
    name: "molthub-text-assets",
    enforce: "pre",
    load(id) {
      const path = id.split("?")[0]!;
      if (!TEXT_ASSET.test(path)) return null;
      return `export default ${JSON.stringify(readFileSync(path, "utf8"))};`;
    },
  };
}

// Tests run under Bun (`bun --bun vitest`) because the store is bun:sqlite.
// Integration tests drive real gateways (~1 GiB each), so files run one at a time.
export default defineConfig({
  plugins: [textAssets()],
  oxc: { jsx: { runtime: "automatic", importSource: "hono/jsx" } },
  test: {
    include: ["test/**/*.test.ts", "test/**/*.test.tsx", "src/**/*.test.ts", "providers/**/*.test.ts"],
    // htmx is imported as text (see textAssets); it must go through Vite rather than be loaded natively
    server: { deps: { inline: ["htmx.org"] } },
    pool: "forks",
    fileParallelism: false,
    testTimeout: 30_000,
    hookTimeout: 180_000,
  },
});
