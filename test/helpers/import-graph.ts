import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import ts from "typescript";

const ROOT = resolve(import.meta.dirname, "../..");
const TREES = ["src", "providers"];

/** How a file depends on another: `static` runs at load, `type` is erased, `dynamic` loads on first use. */
export type EdgeKind = "static" | "type" | "dynamic";

/** file (repo-relative) → the repo-relative files it imports, each with the kind of import. */
export type ImportGraph = Map<string, { to: string; kind: EdgeKind }[]>;

function sourceFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) return sourceFiles(p);
    return /\.tsx?$/.test(name) && !name.endsWith(".d.ts") ? [p] : [];
  });
}

/** Every import of a file, read with the compiler's own parser (so `import type`, `export … from` and `import()` all count). */
function importsOf(abs: string): { spec: string; kind: EdgeKind }[] {
  const src = ts.createSourceFile(
    abs,
    readFileSync(abs, "utf8"),
    ts.ScriptTarget.Latest,
    true,
    abs.endsWith("x") ? ts.ScriptKind.TSX : ts.ScriptKind.TS,
  );
  const out: { spec: string; kind: EdgeKind }[] = [];
  const visit = (n: ts.Node): void => {
    if (ts.isImportDeclaration(n) && ts.isStringLiteral(n.moduleSpecifier)) {
      const c = n.importClause;
      const typeOnly =
        !!c &&
        (c.isTypeOnly ||
          (!c.name &&
            !!c.namedBindings &&
            ts.isNamedImports(c.namedBindings) &&
            c.namedBindings.elements.length > 0 &&
            c.namedBindings.elements.every((e) => e.isTypeOnly)));
      out.push({ spec: n.moduleSpecifier.text, kind: typeOnly ? "type" : "static" });
    } else if (ts.isExportDeclaration(n) && n.moduleSpecifier && ts.isStringLiteral(n.moduleSpecifier)) {
      out.push({ spec: n.moduleSpecifier.text, kind: n.isTypeOnly ? "type" : "static" });
    } else if (
      ts.isCallExpression(n) &&
      n.expression.kind === ts.SyntaxKind.ImportKeyword &&
      n.arguments[0] &&
      ts.isStringLiteral(n.arguments[0])
    ) {
      out.push({ spec: n.arguments[0].text, kind: "dynamic" });
    } else if (ts.isImportTypeNode(n) && ts.isLiteralTypeNode(n.argument) && ts.isStringLiteral(n.argument.literal)) {
      out.push({ spec: n.argument.literal.text, kind: "type" });
    }
    ts.forEachChild(n, visit);
  };
  visit(src);
  return out;
}

export function importGraph(root = ROOT): ImportGraph {
  const graph: ImportGraph = new Map();
  for (const abs of TREES.flatMap((t) => (existsSync(join(root, t)) ? sourceFiles(join(root, t)) : []))) {
    const deps = new Map<string, EdgeKind>();
    for (const { spec, kind } of importsOf(abs)) {
      if (!spec.startsWith(".")) continue;
      const to = relative(root, resolve(dirname(abs), spec));
      if (!/\.tsx?$/.test(to)) continue;
      // the strongest kind wins: a file imported for a value and for a type is a static dependency
      const prev = deps.get(to);
      if (!prev || kind === "static" || (kind === "dynamic" && prev === "type")) deps.set(to, kind);
    }
    graph.set(
      relative(root, abs),
      [...deps].map(([to, kind]) => ({ to, kind })),
    );
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
    name: "domain/ imports only domain/ and the provider registry (pure: nothing with side effects)",
    from: /^src\/domain\//,
    // the registry is the one list of target kinds: the manifest's target union and the wizard derive from it
    forbids: (dep) => !under("src/domain")(dep) && dep !== "providers/registry.ts",
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
    name: "web/ui/ (shared layout and components) never imports services/",
    from: /^src\/web\/ui\//,
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
const SHARED_PROVIDER_DIRS = ["ssh"];

/** Every forbidden edge, as "rule: file → dep". */
export function boundaryViolations(graph: ImportGraph, rules: Rule[]): string[] {
  const out: string[] = [];
  for (const [file, deps] of graph) {
    for (const rule of rules) {
      if (!rule.from.test(file)) continue;
      for (const { to } of deps) if (rule.forbids(to, file)) out.push(`${rule.name}: ${file} → ${to}`);
    }
  }
  return out.sort();
}

/**
 * The import cycles that make load order matter: static imports only (a type import is erased, a dynamic one
 * loads on first use). Tarjan's strongly connected components, each as a closed path through its files.
 */
export function findCycles(full: ImportGraph): string[][] {
  const graph = new Map([...full].map(([f, deps]) => [f, deps.filter((d) => d.kind === "static").map((d) => d.to)]));
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
function closedPath(graph: Map<string, string[]>, scc: string[]): string[] {
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
