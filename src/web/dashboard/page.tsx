/** @jsxImportSource hono/jsx */
import type { Role } from "../../core/context.ts";
import type { AuditEntryView } from "../../services/audit.ts";
import { AuditRows } from "../audit/page.tsx";
import { EmptyState, PageHead, RoleBadge, Stat, Time } from "../ui/components.tsx";

export interface DashboardData {
  userName: string;
  workspace: { name: string; slug: string; createdAt: number };
  role: Role;
  members: number;
  tokens: { active: number; scope: "workspace" | "mine" };
  recent: AuditEntryView[];
  /** audit entries in the last 24 hours; `more` when the count hit its cap */
  lastDay: { count: number; more: boolean };
  totpEnabled: boolean;
}

/** The home page: who and where you are, real counts, recent activity, and what to do next. */
export function DashboardPage(props: { data: DashboardData }) {
  const d = props.data;
  const admin = d.role === "admin" || d.role === "owner";
  return (
    <>
      <PageHead
        title={`Welcome, ${d.userName}`}
        lead={
          <>
            You are <RoleBadge role={d.role} /> in the workspace <strong>{d.workspace.name}</strong>{" "}
            <span class="muted">({d.workspace.slug})</span>.
          </>
        }
      />
      <div id="dashboard-live" hx-get="/" hx-trigger="molthub:changed from:body" hx-select="#dashboard-live" hx-swap="outerHTML">
        <div class="stats">
          <a class="stat" href="/settings/members">
            <span class="stat-label">Members</span>
            <span class="stat-value">{d.members}</span>
            <span class="stat-note">in this workspace</span>
          </a>
          <a class="stat" href="/settings/tokens">
            <span class="stat-label">Active API tokens</span>
            <span class="stat-value">{d.tokens.active}</span>
            <span class="stat-note">{d.tokens.scope === "workspace" ? "across the workspace" : "of yours"}</span>
          </a>
          <a class="stat" href="/audit">
            <span class="stat-label">Audit entries</span>
            <span class="stat-value">
              {d.lastDay.count}
              {d.lastDay.more ? "+" : ""}
            </span>
            <span class="stat-note">in the last 24 hours</span>
          </a>
          <Stat label="Workspace created">
            <Time ms={d.workspace.createdAt} />
          </Stat>
        </div>

        <div class="grid-dash">
          <section class="card" aria-labelledby="recent-h">
            <div class="section-head">
              <h2 id="recent-h">Recent activity</h2>
              <a href="/audit">Full audit log</a>
            </div>
            {d.recent.length === 0 ? (
              <p class="muted">Nothing has happened in this workspace yet.</p>
            ) : (
              <div class="table-wrap">
                <table>
                  <caption class="visually-hidden">Latest audit entries</caption>
                  <thead>
                    <tr>
                      <th scope="col">Time</th>
                      <th scope="col">Actor</th>
                      <th scope="col">Action</th>
                    </tr>
                  </thead>
                  <tbody>
                    <AuditRows items={d.recent} compact />
                  </tbody>
                </table>
              </div>
            )}
          </section>

          <section class="card" aria-labelledby="start-h">
            <h2 id="start-h" class="card-title">
              Getting started
            </h2>
            <p class="card-sub">What this version of Molthub can do today, and where to read on.</p>
            <ol class="steps">
              {admin && (
                <li>
                  <a href="/settings/members">Add your team</a> and give each person the least role they need.
                </li>
              )}
              {!d.totpEnabled && (
                <li>
                  <a href="/settings/account">Turn on two-step verification</a> for your account.
                </li>
              )}
              <li>
                <a href="/settings/tokens">Create an API token</a> for the <code>molthub</code> CLI or your automation.
              </li>
              <li>
                <a href="/connectors">Add your provider keys as connectors</a> (or <a href="/secrets">secrets</a>), then{" "}
                <a href="/templates">create a bot from a template</a> — it runs as a local process, a Docker container or a
                systemd unit on one of your <a href="/hosts">hosts</a>, and stays as declared.
              </li>
              <li>
                Share settings across bots with <a href="/profiles">profiles</a> and <a href="/overlays">overlays</a>;{" "}
                <a href="/policies">policy packs</a> refuse unsafe configurations before anything is applied.
              </li>
              <li>
                Read the <a href="/api/docs">API reference</a>: everything in this UI is also available over the JSON API.
              </li>
              <li>
                Every change is recorded in the tamper-evident <a href="/audit">audit log</a>; export it as CSV or JSON lines.
              </li>
            </ol>
            <p class="muted small">
              Fleets and change sets are not available in this version yet; their sections in the menu say what they will manage.
              The project's <code>docs/</code> folder describes the architecture and operations.
            </p>
          </section>
        </div>
      </div>
    </>
  );
}

export function NoWorkspacePage(props: { email: string }) {
  return (
    <>
      <PageHead title="Dashboard" />
      <EmptyState title="You are not in any workspace">
        <p>
          You are signed in as <strong>{props.email}</strong>, but no workspace lists you as a member. Ask an owner or admin to
          add you under Settings → Members.
        </p>
      </EmptyState>
    </>
  );
}
