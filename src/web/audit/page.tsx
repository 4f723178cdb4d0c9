/** @jsxImportSource hono/jsx */
import type { AuditEntryView } from "../../services/audit.ts";
import { Alert, Field, type FormState, PageHead, Time } from "../ui/components.tsx";

function summaryText(summary: unknown): string {
  if (summary === null || summary === undefined) return "";
  if (typeof summary === "object" && Object.keys(summary as object).length === 0) return "";
  const s = JSON.stringify(summary);
  return s.length > 400 ? `${s.slice(0, 399)}…` : s;
}

/** Table rows for audit entries; `compact` is the dashboard's three-column version. */
export function AuditRows(props: { items: AuditEntryView[]; compact?: boolean }) {
  return (
    <>
      {props.items.map((e) =>
        props.compact ? (
          <tr>
            <td>
              <Time ms={e.ts} />
            </td>
            <td>{e.actor}</td>
            <td>
              <code>{e.action}</code>
            </td>
          </tr>
        ) : (
          <tr>
            <td>
              <Time ms={e.ts} />
            </td>
            <td>
              <div>{e.actor}</div>
              <div class="muted small">{e.actorType}</div>
            </td>
            <td>
              <code>{e.action}</code>
            </td>
            <td>
              <div>{e.resourceType}</div>
              {e.resourceId && (
                <div class="muted small mono" title={e.resourceId}>
                  {e.resourceId.length > 24 ? `${e.resourceId.slice(0, 23)}…` : e.resourceId}
                </div>
              )}
            </td>
            <td class="summary-cell">
              {summaryText(e.summary) ? <code>{summaryText(e.summary)}</code> : <span class="muted">—</span>}
            </td>
          </tr>
        ),
      )}
    </>
  );
}

export interface AuditPageData {
  filters: FormState;
  items: AuditEntryView[];
  /** the URL of this exact view, for the live refresh */
  selfUrl: string;
  olderUrl: string | null;
  newestUrl: string | null;
  exportQuery: string;
  filtered: boolean;
}

export function AuditPage(props: { data: AuditPageData }) {
  const d = props.data;
  const f = d.filters;
  const invalid = Object.keys(f.errors).length > 0;
  return (
    <>
      <PageHead
        title="Audit"
        lead="Every change in this workspace, newest first. Entries are hash-chained, so an edited or removed entry is detected."
      >
        <div class="form-actions">
          <a class="btn btn-sm" href={`/api/v1/audit/export?format=csv${d.exportQuery}`} download>
            Export CSV
          </a>
          <a class="btn btn-sm" href={`/api/v1/audit/export?format=jsonl${d.exportQuery}`} download>
            Export JSON lines
          </a>
        </div>
      </PageHead>

      <search aria-label="Filter audit entries">
        <form method="get" action="/audit" class="card">
          <div class="filters">
            <Field label="Actor" name="actor" form={f} placeholder="email or token:name" maxlength={200} />
            <Field label="Action" name="action" form={f} placeholder="e.g. member.*" maxlength={100} />
            <Field label="Resource type" name="resourceType" form={f} placeholder="e.g. token" maxlength={50} />
            <Field label="From (UTC)" name="from" type="date" form={f} />
            <Field label="To (UTC)" name="to" type="date" form={f} />
            <div class="form-actions">
              <button type="submit" class="btn-primary">
                Filter
              </button>
              {d.filtered && (
                <a class="btn btn-ghost" href="/audit">
                  Clear
                </a>
              )}
            </div>
          </div>
          <p class="hint">An action ending in * matches a prefix in the list (e.g. member.*); exports match exact actions.</p>
        </form>
      </search>

      <div
        class="section"
        id="audit-results"
        hx-get={d.selfUrl}
        hx-trigger="molthub:changed from:body"
        hx-select="#audit-results"
        hx-swap="outerHTML"
      >
        {invalid ? (
          <Alert kind="error" title="The filters are not valid.">
            Fix the highlighted fields above and filter again.
          </Alert>
        ) : (
          <>
            <div class="table-wrap">
              <table>
                <caption class="visually-hidden">Audit entries</caption>
                <thead>
                  <tr>
                    <th scope="col">Time</th>
                    <th scope="col">Actor</th>
                    <th scope="col">Action</th>
                    <th scope="col">Resource</th>
                    <th scope="col">Details</th>
                  </tr>
                </thead>
                <tbody>
                  {d.items.length === 0 ? (
                    <tr class="empty-row">
                      <td colspan={5}>{d.filtered ? "No entries match these filters." : "No audit entries yet."}</td>
                    </tr>
                  ) : (
                    <AuditRows items={d.items} />
                  )}
                </tbody>
              </table>
            </div>
            <nav class="table-foot" aria-label="Audit pages">
              <span class="muted small">
                {d.items.length} {d.items.length === 1 ? "entry" : "entries"} shown
              </span>
              <span class="form-actions">
                {d.newestUrl && (
                  <a class="btn btn-sm" href={d.newestUrl}>
                    Newest
                  </a>
                )}
                {d.olderUrl && (
                  <a class="btn btn-sm" href={d.olderUrl} rel="next">
                    Older
                  </a>
                )}
              </span>
            </nav>
          </>
        )}
      </div>
    </>
  );
}
