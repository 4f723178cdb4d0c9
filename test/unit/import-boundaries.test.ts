import { describe, expect, it } from "vitest";
import { boundaryViolations, type EdgeKind, findCycles, importGraph, RULES } from "../helpers/import-graph.ts";

/**
 * The layering in docs/architecture.md, enforced: every relative import in src/ and providers/ is read
 * (type-only imports too: a type edge is still a dependency of the design) and each forbidden edge is named.
 * Cycles are counted on static imports, the ones that make load order matter.
 */
describe("import boundaries", () => {
  const graph = importGraph();

  it("reads the whole tree", () => {
    expect(graph.size).toBeGreaterThan(100);
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
    const plant = (from: string, to: string, kind: EdgeKind = "static") =>
      planted.set(from, [...(planted.get(from) ?? []), { to, kind }]);
    plant("src/domain/manifest.ts", "src/db/client.ts", "type");
    plant("src/core/events.ts", "src/core/context.ts");
    plant("src/core/context.ts", "src/core/events.ts");
    expect(boundaryViolations(planted, RULES)).toContainEqual(
      expect.stringContaining("src/domain/manifest.ts → src/db/client.ts"),
    );
    expect(findCycles(planted).map((c) => c.join(" → "))).toContainEqual(
      expect.stringMatching(/src\/core\/(context|events)\.ts → src\/core\/(events|context)\.ts/),
    );
  });
});
