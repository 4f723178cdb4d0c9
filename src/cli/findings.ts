/** Policy findings as the CLI prints them: `policy check`, `policy get`, and an apply that policy refused. */

export interface Violation {
  packId: string;
  ruleId: string;
  severity: "error" | "warning";
  mode: "enforce" | "advisory";
  path: string;
  message: string;
  fix?: Record<string, unknown>;
}
export interface Excepted extends Violation {
  exception: { reason: string; expiresAt: string; botName?: string };
}
export interface Evaluation {
  blocked: boolean;
  violations: Violation[];
  excepted: Excepted[];
}

export function blocking(v: Violation): boolean {
  return v.mode === "enforce" && v.severity === "error";
}

/** Violations (blocking first), warnings, and waived findings, each with its fix as a merge patch. */
export function printFindings(title: string, e: Evaluation, write: (line: string) => void = (l) => console.log(l)): void {
  write(`${title}: ${e.blocked ? "BLOCKED by policy" : e.violations.length ? "passes, with warnings" : "passes"}`);
  const sorted = [...e.violations].sort((a, b) => Number(blocking(b)) - Number(blocking(a)));
  for (const v of sorted) {
    write(
      `  ${blocking(v) ? "✗" : "!"} ${v.packId}/${v.ruleId}${v.path ? ` at ${v.path}` : ""}: ${v.message}${blocking(v) ? "" : ` (${v.mode === "advisory" ? "advisory" : "warning"})`}`,
    );
    if (v.fix) write(`      fix (merge patch): ${JSON.stringify(v.fix)}`);
  }
  for (const v of e.excepted)
    write(
      `  ~ ${v.packId}/${v.ruleId}${v.path ? ` at ${v.path}` : ""}: waived until ${v.exception.expiresAt.slice(0, 10)} (${v.exception.reason})`,
    );
}
