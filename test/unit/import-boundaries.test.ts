import { describe, expect, it } from "vitest";
import { importGraph, findCycles, boundaryViolations, RULES } from "../helpers/import-graph.ts";

/**
 * The layering in docs/architecture.md, enforced: every relative import in src/, providers/ and views/ is read
 * (type-only imports too: a type edge is still a dependency of the design) and each forbidden edge is named.
 */
describe("import boundaries", () => {
  const graph = importGraph();

  it("reads the whole tree", () => {
    expect(graph.size).toBeGreaterThan(150);
    expect([...graph.keys()]).toContain("src/main.ts");
  });

  it.each(RULES.map((r) => [r.name, r] as const))("%s", (_name, rule) => {
    expect(boundaryViolations(graph, [rule])).toEqual([]);
  });

  it("has no import cycles", () => {
    expect(findCycles(graph).map((c) => c.join(" → "))).toEqual([]);
  });

  it("names a planted forbidden edge and a planted cycle", () => {
    const planted = new Map(graph);
    planted.set("src/domain/manifest.ts", [...(graph.get("src/domain/manifest.ts") ?? []), "src/db/client.ts"]);
    planted.set("src/core/events.ts", [...(graph.get("src/core/events.ts") ?? []), "src/core/context.ts"]);
    planted.set("src/core/context.ts", [...(graph.get("src/core/context.ts") ?? []), "src/core/events.ts"]);
    expect(boundaryViolations(planted, RULES)).toContainEqual(expect.stringContaining("src/domain/manifest.ts → src/db/client.ts"));
    expect(findCycles(planted).map((c) => c.join(" → "))).toContainEqual(expect.stringMatching(/src\/core\/(context|events)\.ts → src\/core\/(events|context)\.ts/));
  });
});
