import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import ts from "typescript";

const ROOT = resolve(import.meta.dirname, "../..");
const TREES = ["src", "providers", "views"];

/** file (repo-relative) → the repo-relative files it imports (static, dynamic, `export … from`, type-only). */
export type ImportGraph = Map<string, string[]>;

function sourceFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) return sourceFiles(p);
    return /\.tsx?$/.test(name) && !name.endsWith(".d.ts") ? [p] : [];
  });
}

export function importGraph(root = ROOT): ImportGraph {
  const graph: ImportGraph = new Map();
  for (const abs of TREES.flatMap((t) => (existsSync(join(root, t)) ? sourceFiles(join(root, t)) : []))) {
    // the compiler's own pre-processor finds every import form, including `import("…")` and `import type`
    const { importedFiles } = ts.preProcessFile(readFileSync(abs, "utf8"), true, true);
    const deps = importedFiles
      .map((f) => f.fileName)
      .filter((spec) => spec.startsWith("."))
      .map((spec) => relative(root, resolve(dirname(abs), spec)))
      .filter((p) => /\.tsx?$/.test(p));
    graph.set(relative(root, abs), [...new Set(deps)]);
  }
  return graph;
}

export interface Rule {
  name: string;
  /** the files the rule is about */
  from: RegExp;
  /** an import it forbids; `to(file, dep)` may compare the two */
  forbids: (dep: string, file: string) => boolean;
}

const under = (dir: string) => (p: string) => p.startsWith(`${dir}/`);
const serviceLayerAndUp = /^src\/(services|api|web|server|cli)\/|^src\/main\.ts$/;

/** The rules of docs/architecture.md ("Layers and rules"). */
export const RULES: Rule[] = [
  {
    name: "domain/ imports only domain/ (pure: nothing with side effects)",
    from: /^src\/domain\//,
    forbids: (dep) => !under("src/domain")(dep),
  },
  {
    name: "core/ imports only core/, domain/, db/ and secrets/",
    from: /^src\/core\//,
    forbids: (dep) => !/^src\/(core|domain|db|secrets)\//.test(dep),
  },
  {
    name: "fleet/ imports only core/, domain/, db/ and secrets/",
    from: /^src\/fleet\//,
    forbids: (dep) => !/^src\/(fleet|core|domain|db|secrets)\//.test(dep),
  },
  {
    name: "a service never imports another service",
    from: /^src\/services\//,
    forbids: (dep, file) => under("src/services")(dep) && dep !== file,
  },
  {
    name: "nothing below the services imports services/, api/, web/, server/ or cli/",
    from: /^(src\/(fleet|core|domain|db|secrets|hosts|ssh|gateway|reconciler)\/|providers\/)/,
    forbids: (dep) => serviceLayerAndUp.test(dep),
  },
  {
    name: "api/ and web/ never import db/",
    from: /^src\/(api|web)\//,
    forbids: (dep) => under("src/db")(dep),
  },
  {
    name: "api/ and web/ never import the reconciler or providers (they go through services/)",
    from: /^src\/(api|web)\//,
    forbids: (dep) => under("src/reconciler")(dep) || /^providers\/(?!registry\.ts$)/.test(dep),
  },
  {
    name: "views/ never imports services/",
    from: /^views\//,
    forbids: (dep) => under("src/services")(dep),
  },
  {
    name: "a provider imports only its own folder and the shared provider modules, never another provider's",
    from: /^providers\/(?!registry\.ts$)/,
    forbids: (dep, file) => {
      const m = /^providers\/([^/]+)\//.exec(dep);
      if (!m) return false;
      const own = /^providers\/([^/]+)\//.exec(file)?.[1];
      return m[1] !== own && !SHARED_PROVIDER_DIRS.includes(m[1]!);
    },
  },
];

/** Provider folders that hold shared code, not a target kind. */
export const SHARED_PROVIDER_DIRS = ["ssh"];

/** Every forbidden edge, as "rule: file → dep". */
export function boundaryViolations(graph: ImportGraph, rules: Rule[]): string[] {
  const out: string[] = [];
  for (const [file, deps] of graph) {
    for (const rule of rules) {
      if (!rule.from.test(file)) continue;
      for (const dep of deps) if (rule.forbids(dep, file)) out.push(`${rule.name}: ${file} → ${dep}`);
    }
  }
  return out.sort();
}

/** The import cycles (Tarjan's strongly connected components), each as a closed path through its files. */
export function findCycles(graph: ImportGraph): string[][] {
  let index = 0;
  const idx = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const sccs: string[][] = [];
  const visit = (v: string): void => {
    idx.set(v, index);
    low.set(v, index++);
    stack.push(v);
    onStack.add(v);
    for (const w of graph.get(v) ?? []) {
      if (!graph.has(w)) continue;
      if (!idx.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (onStack.has(w)) low.set(v, Math.min(low.get(v)!, idx.get(w)!));
    }
    if (low.get(v) === idx.get(v)) {
      const scc: string[] = [];
      let w: string;
      do {
        w = stack.pop()!;
        onStack.delete(w);
        scc.push(w);
      } while (w !== v);
      if (scc.length > 1 || (graph.get(v) ?? []).includes(v)) sccs.push(scc);
    }
  };
  for (const v of [...graph.keys()].sort()) if (!idx.has(v)) visit(v);
  return sccs.map((scc) => closedPath(graph, scc));
}

/** A readable cycle through a component: follow edges inside it from its first file back to that file. */
function closedPath(graph: ImportGraph, scc: string[]): string[] {
  const inside = new Set(scc);
  const start = [...scc].sort()[0]!;
  const path = [start];
  const seen = new Set([start]);
  let cur = start;
  for (;;) {
    const next = (graph.get(cur) ?? []).filter((d) => inside.has(d));
    if (next.includes(start) && path.length > 1) return [...path, start];
    const step = next.find((d) => !seen.has(d)) ?? next[0];
    if (!step || step === start) return [...path, start];
    path.push(step);
    seen.add(step);
    cur = step;
    if (path.length > scc.length + 1) return [...path, "…"];
  }
}
