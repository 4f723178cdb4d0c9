/** @jsxImportSource hono/jsx */
import type { EvaluationResult, Violation } from "../../domain/policy.ts";
import { Alert } from "./components.tsx";

/** Policy findings beside a form: what blocks, what warns and what an exception waives. */

/** A finding that stops a revision from being applied: an enforced rule at error severity. */
export function blocking(v: Violation): boolean {
  return v.mode === "enforce" && v.severity === "error";
}

/**
 * Policy findings on a form before it is submitted: blocking violations in red with their fix as a merge
 * patch, warnings and advisory findings as warnings, waived findings with their exception.
 */
export function PolicyResults(props: { result: EvaluationResult | undefined; title?: string }) {
  const r = props.result;
  if (!r || (r.violations.length === 0 && r.excepted.length === 0)) return null;
  const blockers = r.violations.filter(blocking);
  const warnings = r.violations.filter((v) => !blocking(v));
  return (
    <div class="policy-results" aria-live="polite">
      {blockers.length > 0 && (
        <Alert
          kind="error"
          title={
            props.title ??
            `Blocked by policy: ${blockers.length} rule${blockers.length === 1 ? "" : "s"} must pass before this can be saved.`
          }
        >
          <ul class="problems">
            {blockers.map((v) => (
              <li>
                <code>{v.path || "(config)"}</code> — {v.message}{" "}
                <span class="muted">
                  ({v.packId}/{v.ruleId})
                </span>
                {v.fix && (
                  <div class="policy-fix">
                    Fix (merge patch on the config): <code>{JSON.stringify(v.fix)}</code>
                  </div>
                )}
              </li>
            ))}
          </ul>
          <p class="small">
            Change the manifest (or the layer that sets the value), or ask an admin for an exception on the{" "}
            <a href="/policies">Policies</a> page.
          </p>
        </Alert>
      )}
      {warnings.length > 0 && (
        <Alert kind="warn" title={`Policy warnings (${warnings.length}): these do not block.`}>
          <ul class="problems">
            {warnings.map((v) => (
              <li>
                <code>{v.path || "(config)"}</code> — {v.message}{" "}
                <span class="muted">
                  ({v.packId}/{v.ruleId}, {v.mode === "advisory" ? "advisory pack" : "warning"})
                </span>
                {v.fix && (
                  <div class="policy-fix">
                    Fix: <code>{JSON.stringify(v.fix)}</code>
                  </div>
                )}
              </li>
            ))}
          </ul>
        </Alert>
      )}
      {r.excepted.length > 0 && (
        <Alert kind="info" title="Waived by an exception:">
          <ul class="problems">
            {r.excepted.map((v) => (
              <li>
                <code>{v.path || "(config)"}</code> — {v.packId}/{v.ruleId}, until {v.exception.expiresAt.slice(0, 10)}:{" "}
                {v.exception.reason}
              </li>
            ))}
          </ul>
        </Alert>
      )}
    </div>
  );
}
