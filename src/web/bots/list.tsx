/** @jsxImportSource hono/jsx */
import type { Role } from "../../core/context.ts";
import type { PathChange } from "../../domain/openclaw-config.ts";
import type { EvaluationResult } from "../../domain/policy.ts";
import type { BotView } from "../../services/bots.ts";
import { ChangesTable } from "../ui/changes-table.tsx";
import { Alert, BoxIcon, canOperate, EmptyState, type ManifestProblem, PageHead, ProblemList } from "../ui/components.tsx";
import { PolicyResults } from "../ui/policy-results.tsx";
import { firstFailing } from "./conditions.tsx";
import { Revisions, StatusLine, Target } from "./status.tsx";

/** The bots page: the live list, and the form that dry-runs or applies pasted manifests. */

export interface ApplyState {
  text: string;
  mode?: "dry-run" | "apply";
  results?: {
    name: string;
    action: "created" | "updated" | "unchanged";
    revision: number;
    changes: PathChange[];
    policy?: EvaluationResult;
  }[];
  error?: { message: string; problems: ManifestProblem[]; policy?: EvaluationResult };
}

export interface BotsListData {
  bots: BotView[];
  role: Role | null;
  apply: ApplyState;
}

const EXAMPLE = `apiVersion: molthub/v1
kind: Bot
metadata: { name: support-bot, fleet: homelab, environment: prod }
spec:
  target: { provider: local, version: 2026.9.6 }
  openclaw:
    agents: { defaults: { model: anthropic/claude-sonnet-4-5 } }
  secrets: { ANTHROPIC_API_KEY: { secret: anthropic-api-key } }`;

function BotsTable(props: { bots: BotView[] }) {
  return (
    <div class="table-wrap">
      <table>
        <caption class="visually-hidden">Bots</caption>
        <thead>
          <tr>
            <th scope="col">Name</th>
            <th scope="col">Status</th>
            <th scope="col">Revision</th>
            <th scope="col">Target</th>
            <th scope="col">Fleet / environment</th>
          </tr>
        </thead>
        <tbody>
          {props.bots.map((b) => (
            <tr>
              <td>
                <a href={`/bots/${b.name}`} class="bot-link">
                  {b.name}
                </a>
              </td>
              <td class="status-cell">
                {/* what is wrong now, with its fix, rather than the last step's reason */}
                <StatusLine bot={b} reason={firstFailing(b)?.message} />
              </td>
              <td>
                <Revisions bot={b} />
              </td>
              <td>
                <Target bot={b} />
              </td>
              <td>
                {b.fleet || b.environment ? (
                  <>
                    {b.fleet ?? <span class="muted">—</span>} / {b.environment ?? <span class="muted">—</span>}
                  </>
                ) : (
                  <span class="muted">—</span>
                )}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

function ApplyResults(props: { apply: ApplyState }) {
  const { results, mode } = props.apply;
  if (!results) return null;
  const dry = mode === "dry-run";
  return (
    <div class="apply-results" aria-live="polite">
      <Alert kind={dry ? "info" : "ok"} title={dry ? "Dry run: nothing was stored." : "Applied."}>
        {results.length === 1 ? "One manifest" : `${results.length} manifests`} checked. Applying would store a new revision for
        each one that changed; the reconciler then rolls it out.
      </Alert>
      {results.map((r) => (
        <div class="apply-doc">
          <h3>
            {r.name}{" "}
            <span class={`badge ${r.action === "unchanged" ? "" : r.action === "created" ? "badge-ok" : "badge-info"}`.trim()}>
              {r.action === "unchanged" ? "unchanged" : dry ? `would be ${r.action}` : r.action}
            </span>
            {r.action !== "unchanged" && <span class="muted small"> revision {r.revision}</span>}
          </h3>
          <PolicyResults result={r.policy} />
          <ChangesTable changes={r.changes} caption={`Config changes for ${r.name}`} empty="No config changes." />
        </div>
      ))}
    </div>
  );
}

export function BotsListPage(props: { data: BotsListData }) {
  const d = props.data;
  const op = canOperate(d.role);
  return (
    <>
      <PageHead title="Bots" lead="The OpenClaw gateways Molthub runs for this workspace. Status updates live.">
        {op && (
          <a class="btn btn-primary" href="/bots/new">
            New bot
          </a>
        )}
      </PageHead>

      <div
        id="bots-live"
        hx-get="/bots"
        hx-trigger="molthub:changed from:body, molthub:bot from:body"
        hx-select="#bots-live"
        hx-swap="outerHTML"
      >
        {d.bots.length === 0 ? (
          <EmptyState title="No bots yet" icon={<BoxIcon />}>
            {op ? (
              <p>
                Create one with the <a href="/bots/new">new-bot wizard</a>, or paste a manifest below.
              </p>
            ) : (
              <p>An operator can create bots here; you can watch them once they exist.</p>
            )}
          </EmptyState>
        ) : (
          <BotsTable bots={d.bots} />
        )}
      </div>

      {op ? (
        <section class="card section" aria-labelledby="apply-h" id="apply">
          <h2 id="apply-h">Apply a manifest</h2>
          <p class="card-sub">
            Paste one or more Bot manifests (YAML documents separated by <code>---</code>, or JSON). A dry run shows what would
            change, path by path; nothing is stored until you apply.
          </p>
          {d.apply.error && <ProblemList title={d.apply.error.message} problems={d.apply.error.problems} />}
          <PolicyResults result={d.apply.error?.policy} />
          <ApplyResults apply={d.apply} />
          <form method="post" action="/bots/apply" class="stack">
            <div class="field">
              <label for="f-manifest">Manifest (YAML or JSON)</label>
              <textarea
                id="f-manifest"
                name="manifest"
                class="code-input"
                rows={14}
                spellcheck={false}
                autocomplete="off"
                required
                placeholder={EXAMPLE}
                aria-describedby="f-manifest-hint"
                aria-invalid={d.apply.error ? "true" : undefined}
              >
                {d.apply.text}
              </textarea>
              <p class="hint" id="f-manifest-hint">
                Secrets are references to names under <a href="/secrets">Secrets</a>; never paste a secret value into a manifest.
              </p>
            </div>
            <div class="form-actions">
              <button type="submit" name="mode" value="dry-run">
                Dry run
              </button>
              <button type="submit" name="mode" value="apply" class="btn-primary">
                Apply
              </button>
            </div>
          </form>
        </section>
      ) : (
        <p class="muted section">Only operators, admins and owners can create or change bots.</p>
      )}
    </>
  );
}
