import { readFileSync } from "node:fs";
import { defineConfig, type Plugin } from "vitest/config";

/**
 * The binary embeds assets with `import x from "…" with { type: "text" }` (Bun). Vite does not know
 * that attribute, so in tests the same files load as a string module.
 */
const TEXT_ASSET = /(\/src\/web\/ui\/static\/[^?]+|\/migrations\/[^/?]+\.sql|\/htmx\.org\/dist\/htmx\.min\.js)$/;
function textAssets(): Plugin {
  const PREFIX = "\0molthub-text:";
  return {
    name: "molthub-text-assets",
    enforce: "pre",
    // resolve to a virtual id so Vite's own CSS/JS handling (and native loading of node_modules) never sees them
    async resolveId(source, importer, options) {
      if (source.startsWith(PREFIX)) return source;
      const r = await this.resolve(source, importer, { ...options, skipSelf: true });
      const path = r?.id?.split("?")[0];
      return path && TEXT_ASSET.test(path) ? `${PREFIX}${path}.txt` : null;
    },
    load(id) {
      if (!id.startsWith(PREFIX)) return null;
      return `export default ${JSON.stringify(readFileSync(id.slice(PREFIX.length, -4), "utf8"))};`;
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
    pool: "forks",
    fileParallelism: false,
    testTimeout: 30_000,
    hookTimeout: 180_000,
  },
});
