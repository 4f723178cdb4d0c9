import { defineConfig } from "vitest/config";

// Tests run under Bun (`bun --bun vitest`) because the store is bun:sqlite.
// Integration tests drive real gateways (~1 GiB each), so files run one at a time.
export default defineConfig({
  esbuild: { jsx: "automatic", jsxImportSource: "hono/jsx" },
  test: {
    include: ["test/**/*.test.ts", "test/**/*.test.tsx", "src/**/*.test.ts", "providers/**/*.test.ts"],
    pool: "forks",
    fileParallelism: false,
    testTimeout: 30_000,
    hookTimeout: 180_000,
  },
});
