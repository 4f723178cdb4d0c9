/** @jsxImportSource hono/jsx */
import { roleRank, type Role } from "../../src/core/context.ts";
import type { BotView } from "../../src/services/bots.ts";
import type { PathChange } from "../../src/domain/openclaw-config.ts";
import type { EvaluationResult } from "../../src/domain/policy.ts";
import { PolicyResults } from "./policies.tsx";
import { Alert, BoxIcon, Crumbs, EmptyState, PageHead, ProblemList, Stat, Time, type ManifestProblem } from "../components.tsx";

/** Operators and above run bots; viewers only look. */
export function canOperate(role: Role | null | undefined): boolean {
  return roleRank(role) >= roleRank("operator");
}

// ---------- small pieces ----------

const STATUS_KIND: Record<BotView["status"], string> = {
  running: "badge-ok",
  degraded: "badge-warn",
  error: "badge-danger",
  stopped: "",
  pending: "badge-info badge-busy",
  creating: "badge-info badge-busy",
  starting: "badge-info badge-busy",
  stopping: "badge-info badge-busy",
  deleting: "badge-info badge-busy",
};

export function StatusBadge(props: { status: BotView["status"] }) {
  return <span class={`badge ${STATUS_KIND[props.status] ?? ""}`.trim()}>{props.status}</span>;
}

/** The status, what the operator asked for when it differs, and the reason. */
export function StatusLine(props: { bot: BotView }) {
  const b = props.bot;
  const wanted = b.desiredState !== "running" || b.status === "stopped" ? b.desiredState : null;
  return (
    <span class="status-line">
      <StatusBadge status={b.status} />
      {wanted && wanted !== b.status && <span class="badge">wanted: {wanted}</span>}
      {b.statusReason && <span class="status-reason">{b.statusReason}</span>}
    </span>
  );
}

export function Revisions(props: { bot: BotView }) {
  const b = props.bot;
  const settled = b.appliedRevision === b.desiredRevision;
  return (
    <span class="nowrap" title="live revision / desired revision">
      {b.appliedRevision === null ? <span class="muted">—</span> : `r${b.appliedRevision}`} / r{b.desiredRevision}
      {!settled && <span class="visually-hidden"> (not yet live)</span>}
    </span>
  );
}

export function Target(props: { bot: BotView }) {
  const b = props.bot;
  return <code>{`${b.provider}@${b.host}:${b.port}`}</code>;
}

/** A config value in a change table: JSON, shortened; an absent value is a dash. */
export function Value(props: { v: unknown }) {
  if (props.v === undefined) return <span class="muted">absent</span>;
  const s = JSON.stringify(props.v);
  return <code class="change-value">{s.length > 300 ? s.slice(0, 299) + "…" : s}</code>;
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === "object" && !Array.isArray(v);
}

function isSecretRef(v: Record<string, unknown>): boolean {
  const keys = Object.keys(v).sort().join(",");
  return keys === "id,provider,source" && typeof v.id === "string";
}

/**
 * Leaf paths: a whole section that appears or disappears (every path of a new bot) is listed key by key,
 * so the table reads the same for a new bot as for a change.
 */
export function leafChanges(changes: PathChange[]): PathChange[] {
  const out: PathChange[] = [];
  const walk = (path: string, from: unknown, to: unknown) => {
    // a SecretRef ({source, provider, id}) reads best as one value
    const objFrom = isPlainObject(from) && !isSecretRef(from);
    const objTo = isPlainObject(to) && !isSecretRef(to);
    if ((objFrom || from === undefined) && (objTo || to === undefined) && (objFrom || objTo)) {
      const a = objFrom ? (from as Record<string, unknown>) : {};
      const b = objTo ? (to as Record<string, unknown>) : {};
      const keys = [...new Set([...Object.keys(a), ...Object.keys(b)])].sort();
      if (keys.length === 0) out.push({ path, from, to });
      for (const k of keys) walk(`${path}.${k}`, a[k], b[k]);
      return;
    }
    out.push({ path, from, to });
  };
  for (const ch of changes) walk(ch.path, ch.from, ch.to);
  return out;
}

export function ChangesTable(props: { changes: PathChange[]; caption: string; empty?: string }) {
  if (props.changes.length === 0) return <p class="muted">{props.empty ?? "No changes."}</p>;
  const changes = leafChanges(props.changes);
  return (
    <div class="table-wrap">
      <table class="changes">
        <caption class="visually-hidden">{props.caption}</caption>
        <thead>
          <tr>
            <th scope="col">Path</th>
            <th scope="col">From</th>
            <th scope="col">To</th>
          </tr>
        </thead>
        <tbody>
          {changes.map((ch) => (
            <tr>
              <td>
                <code>{ch.path}</code>
              </td>
              <td class="change-from">
                <Value v={ch.from} />
              </td>
              <td class="change-to">
                <Value v={ch.to} />
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

// ---------- the list ----------

export interface ApplyState {
  text: string;
  mode?: "dry-run" | "apply";
  results?: { name: string; action: "created" | "updated" | "unchanged"; revision: number; changes: PathChange[]; policy?: EvaluationResult }[];
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

export function BotsTable(props: { bots: BotView[] }) {
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
                <StatusLine bot={b} />
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
        {results.length === 1 ? "One manifest" : `${results.length} manifests`} checked. Applying would store a new revision for each one that
        changed; the reconciler then rolls it out.
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

      <div id="bots-live" hx-get="/bots" hx-trigger="molthub:changed from:body, molthub:bot from:body" hx-select="#bots-live" hx-swap="outerHTML">
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
            Paste one or more Bot manifests (YAML documents separated by <code>---</code>, or JSON). A dry run shows what would change, path by
            path; nothing is stored until you apply.
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

// ---------- one bot ----------

export interface BotEventView {
  id: number;
  ts: number;
  level: "info" | "warn" | "error";
  type: string;
  message: string;
}

export interface RevisionRow {
  revision: number;
  configHash: string;
  source: string;
  actor: string;
  createdAt: number;
}

export interface BotPageData {
  bot: BotView;
  role: Role | null;
  revisions: RevisionRow[];
  events: BotEventView[];
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  health: Record<string, any> | null;
  job: { id: number; kind: string; state: string; attempt: number } | null;
  manifestYaml: string;
  configJson: string;
  /** metadata.description of the manifest */
  description?: string;
  /** a refused action, shown at the top */
  error?: string;
}

const ACTION_LABEL = { start: "Start", stop: "Stop", restart: "Restart", pause: "Pause", resume: "Resume" } as const;
type ActionName = keyof typeof ACTION_LABEL;

function actionsFor(b: BotView): ActionName[] {
  if (b.status === "deleting") return [];
  if (b.desiredState === "stopped") return ["start"];
  if (b.desiredState === "paused") return ["resume", "restart", "stop"];
  return ["restart", "pause", "stop"];
}

const ACTION_HINT: Record<ActionName, string> = {
  start: "Start the gateway again.",
  stop: "Stop the gateway; its data stays.",
  restart: "Restart the gateway process.",
  pause: "Keep the gateway up but stop its channels.",
  resume: "Turn the channels back on.",
};

function BotActions(props: { bot: BotView }) {
  const b = props.bot;
  const actions = actionsFor(b);
  return (
    <div class="bot-actions">
      {actions.length > 0 && (
        <form method="post" action={`/bots/${b.name}/actions`} class="inline-form" aria-label={`Actions for ${b.name}`}>
          {actions.map((a) => (
            <button
              type="submit"
              name="action"
              value={a}
              class={a === "stop" ? "btn-sm btn-danger" : "btn-sm"}
              title={ACTION_HINT[a]}
              data-confirm={a === "stop" ? `Stop ${b.name}? Its channels go offline until you start it again.` : undefined}
            >
              {ACTION_LABEL[a]}
            </button>
          ))}
        </form>
      )}
      {b.status !== "deleting" && (
        <details class="danger-zone">
          <summary class="btn btn-sm btn-ghost">Delete…</summary>
          <form method="post" action={`/bots/${b.name}/delete`} class="stack danger-form" data-confirm={`Delete the bot ${b.name}? This cannot be undone.`}>
            <div class="check">
              <input type="checkbox" id="f-purge" name="purge" value="on" />
              <label for="f-purge">Also delete its data (state directory, sessions, logs)</label>
            </div>
            <button type="submit" class="btn-danger btn-sm">
              Delete {b.name}
            </button>
          </form>
        </details>
      )}
    </div>
  );
}

function bytes(n: unknown): string | null {
  if (typeof n !== "number" || !Number.isFinite(n)) return null;
  if (n >= 1024 ** 3) return `${(n / 1024 ** 3).toFixed(2)} GiB`;
  if (n >= 1024 ** 2) return `${Math.round(n / 1024 ** 2)} MiB`;
  return `${Math.round(n / 1024)} KiB`;
}

export function duration(ms: unknown): string | null {
  if (typeof ms !== "number" || !Number.isFinite(ms) || ms < 0) return null;
  const s = Math.floor(ms / 1000);
  const d = Math.floor(s / 86400);
  const h = Math.floor((s % 86400) / 3600);
  const m = Math.floor((s % 3600) / 60);
  if (d) return `${d} d ${h} h`;
  if (h) return `${h} h ${m} min`;
  if (m) return `${m} min ${s % 60} s`;
  return `${s} s`;
}

function obj(v: unknown): Record<string, unknown> | null {
  return v !== null && typeof v === "object" && !Array.isArray(v) ? (v as Record<string, unknown>) : null;
}

/** A channel entry from the gateway's health: its name and a short state, whatever shape the gateway sends. */
function channelState(v: unknown): { text: string; kind: string } {
  const o = obj(v);
  if (!o) return typeof v === "string" ? { text: v, kind: "" } : { text: v === true ? "ok" : v === false ? "down" : "", kind: v === true ? "badge-ok" : v === false ? "badge-warn" : "" };
  const err = o.lastError ?? o.error;
  if (typeof err === "string" && err) return { text: err.length > 80 ? err.slice(0, 79) + "…" : err, kind: "badge-warn" };
  if (o.ok === false || o.running === false || o.connected === false) return { text: "not running", kind: "badge-warn" };
  if (o.connected === true) return { text: "connected", kind: "badge-ok" };
  if (o.running === true || o.ok === true) return { text: "running", kind: "badge-ok" };
  if (o.configured === true) return { text: "configured", kind: "" };
  return { text: "", kind: "" };
}

function Channels(props: { health: Record<string, unknown> }) {
  const fromHealth = obj(obj(props.health.health)?.channels);
  if (fromHealth && Object.keys(fromHealth).length) {
    return (
      <ul class="chips">
        {Object.entries(fromHealth).map(([name, v]) => {
          const s = channelState(v);
          return (
            <li>
              <span class={`badge ${s.kind}`.trim()}>{name}</span>
              {s.text && <span class="muted small"> {s.text}</span>}
            </li>
          );
        })}
      </ul>
    );
  }
  const summary = obj(props.health.status)?.channelSummary;
  if (Array.isArray(summary) && summary.length) {
    return (
      <ul class="chips">
        {summary.slice(0, 20).map((v) => {
          const o = obj(v);
          const label = typeof v === "string" ? v : String(o?.label ?? o?.id ?? o?.channel ?? JSON.stringify(v));
          return <li class="small">{label}</li>;
        })}
      </ul>
    );
  }
  return <span class="muted">none reported</span>;
}

export function HealthPanel(props: { health: Record<string, unknown> | null }) {
  const h = props.health;
  if (!h) {
    return (
      <p class="muted">
        No health data yet. Molthub checks each running bot every 30 seconds by default; the first check follows its start.
      </p>
    );
  }
  const readyz = obj(h.readyz);
  const health = obj(h.health);
  const status = obj(h.status);
  const loop = obj(health?.eventLoop);
  const rss = bytes(obj(status?.processMemory)?.rssBytes);
  const uptime = duration(readyz?.uptimeMs);
  const failing = Array.isArray(readyz?.failing) ? (readyz!.failing as unknown[]).map(String) : [];
  return (
    <>
      {typeof h.error === "string" && (
        <Alert kind="warn" title="The last health check could not reach the gateway.">
          {h.error}
        </Alert>
      )}
      <dl class="kv health">
        <dt>Ready</dt>
        <dd>
          {h.ready ? <span class="badge badge-ok">ready</span> : <span class="badge badge-warn">not ready</span>}
          {failing.length > 0 && <span class="muted small"> failing: {failing.join(", ")}</span>}
          <span class="muted small">
            {" "}
            checked <Time ms={typeof h.ts === "number" ? h.ts : null} />
          </span>
        </dd>
        <dt>Channels</dt>
        <dd>
          <Channels health={h} />
        </dd>
        <dt>Memory</dt>
        <dd>{rss ? `${rss} resident` : <span class="muted">—</span>}</dd>
        <dt>Event loop</dt>
        <dd>
          {loop ? (
            <>
              {typeof loop.delayP99Ms === "number" ? `p99 delay ${Math.round(loop.delayP99Ms * 10) / 10} ms` : "—"}{" "}
              {loop.degraded === true ? <span class="badge badge-warn">degraded</span> : <span class="badge badge-ok">ok</span>}
            </>
          ) : (
            <span class="muted">—</span>
          )}
        </dd>
        <dt>OpenClaw version</dt>
        <dd>{typeof status?.runtimeVersion === "string" ? status.runtimeVersion : <span class="muted">—</span>}</dd>
        <dt>Uptime</dt>
        <dd>{uptime ?? <span class="muted">—</span>}</dd>
      </dl>
    </>
  );
}

const LEVEL_KIND: Record<string, string> = { info: "", warn: "badge-warn", error: "badge-danger" };

export function EventsTimeline(props: { events: BotEventView[] }) {
  if (props.events.length === 0) return <p class="muted">No events yet.</p>;
  return (
    <ol class="timeline">
      {props.events.map((e) => (
        <li class={`tl-${e.level}`}>
          <div class="tl-meta">
            <span class={`badge ${LEVEL_KIND[e.level] ?? ""}`.trim()}>{e.level}</span>
            <Time ms={e.ts} />
            <code class="tl-type">{e.type}</code>
          </div>
          <div class="tl-message">{e.message}</div>
        </li>
      ))}
    </ol>
  );
}

function RevisionsTable(props: { bot: BotView; revisions: RevisionRow[] }) {
  const b = props.bot;
  return (
    <div class="table-wrap">
      <table>
        <caption class="visually-hidden">Revisions of {b.name}</caption>
        <thead>
          <tr>
            <th scope="col">Revision</th>
            <th scope="col">Source</th>
            <th scope="col">By</th>
            <th scope="col">Created</th>
            <th scope="col">Config hash</th>
          </tr>
        </thead>
        <tbody>
          {props.revisions.map((r) => (
            <tr>
              <td class="nowrap">
                <a href={`/bots/${b.name}/revisions/${r.revision}`}>r{r.revision}</a>
                {r.revision === b.appliedRevision && <span class="badge badge-ok">live</span>}
                {r.revision === b.desiredRevision && r.revision !== b.appliedRevision && <span class="badge badge-info">desired</span>}
              </td>
              <td>{r.source}</td>
              <td>{r.actor}</td>
              <td>
                <Time ms={r.createdAt} />
              </td>
              <td>
                <code title={r.configHash}>{r.configHash.slice(0, 12)}</code>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

export function DiffForm(props: { name: string; revisions: number[]; from?: number; to?: number }) {
  const revs = props.revisions;
  if (revs.length < 2) return <p class="muted small">Diffs appear once the bot has a second revision.</p>;
  const to = props.to ?? revs[0]!;
  const from = props.from ?? revs[1]!;
  return (
    <form method="get" action={`/bots/${props.name}/diff`} class="diff-form" aria-label="Compare revisions">
      <RevisionSelect id="f-from" name="from" label="From" revs={revs} selected={from} />
      <RevisionSelect id="f-to" name="to" label="To" revs={revs} selected={to} />
      <button type="submit">Compare</button>
    </form>
  );
}

function RevisionSelect(props: { id: string; name: string; label: string; revs: number[]; selected: number }) {
  return (
    <div class="field">
      <label for={props.id}>{props.label}</label>
      <select id={props.id} name={props.name}>
        {props.revs.map((r) => (
          <option value={String(r)} selected={r === props.selected}>
            r{r}
          </option>
        ))}
      </select>
    </div>
  );
}

function LogViewer(props: { name: string }) {
  const src = `/api/v1/bots/${props.name}/logs`;
  return (
    <section class="card section log-card" aria-labelledby="logs-h" data-log-viewer data-src={src}>
      <div class="section-head">
        <h2 id="logs-h">Logs</h2>
        <a class="btn btn-sm" href={`${src}?tail=5000`} download={`${props.name}.log`} data-log-download>
          Download
        </a>
      </div>
      <div class="log-controls" data-log-controls hidden>
        <div class="field">
          <label for="log-filter">Filter</label>
          <input type="search" id="log-filter" maxlength={200} placeholder="text in the line" autocomplete="off" data-log-filter />
        </div>
        <div class="check">
          <input type="checkbox" id="log-follow" checked data-log-follow />
          <label for="log-follow">Follow</label>
        </div>
        <button type="button" class="btn-sm" data-log-clear>
          Clear
        </button>
        <span class="muted small log-state" role="status" data-log-state></span>
      </div>
      <pre class="log-view" tabindex={0} aria-label={`Log of ${props.name}`} data-log-output>
        <span class="muted" data-log-placeholder>
          The live log appears here when JavaScript is on.
        </span>
      </pre>
      <p class="muted small" data-log-nojs>
        Without JavaScript: <a href={`${src}?tail=200`}>open the last 200 lines</a> as text.
      </p>
    </section>
  );
}

export function BotPage(props: { data: BotPageData }) {
  const d = props.data;
  const b = d.bot;
  const op = canOperate(d.role);
  return (
    <>
      <Crumbs trail={[{ href: "/bots", label: "Bots" }]} here={b.name} />
      <PageHead title={b.name} lead={d.description ?? `An OpenClaw gateway on ${b.provider === "local" ? "this machine" : `${b.provider} (${b.host})`}.`}>
        {op ? <BotActions bot={b} /> : undefined}
      </PageHead>
      {d.error && <Alert kind="error">{d.error}</Alert>}

      <div
        id="bot-live"
        hx-get={`/bots/${b.name}`}
        hx-trigger="molthub:changed from:body, molthub:bot from:body"
        hx-select="#bot-live"
        hx-select-oob="#bot-revisions"
        hx-swap="outerHTML"
      >
        <div class="stats bot-stats">
          <div class="stat">
            <span class="stat-label">Status</span>
            <span class="stat-value-sm">
              <StatusLine bot={b} />
            </span>
            {d.job && (
              <span class="stat-note job-note">
                <span class="spinner" aria-hidden="true"></span> {d.job.kind} {d.job.state}
                {d.job.attempt > 1 ? `, attempt ${d.job.attempt}` : ""}
              </span>
            )}
          </div>
          <Stat label="Revision live / desired" note={<>drift policy: {b.drift}</>}>
            <Revisions bot={b} />
          </Stat>
          <Stat label="Target">
            <Target bot={b} />
          </Stat>
          <div class="stat">
            <span class="stat-label">Fleet / environment</span>
            <span class="stat-value-sm">
              {b.fleet ?? "—"} / {b.environment ?? "—"}
            </span>
            {Object.keys(b.labels).length > 0 && (
              <span class="stat-note">
                {Object.entries(b.labels)
                  .map(([k, v]) => `${k}=${v}`)
                  .join(", ")}
              </span>
            )}
          </div>
        </div>

        <div class="grid-2 bot-panels">
          <section class="card" aria-labelledby="health-h">
            <h2 id="health-h">Health</h2>
            <HealthPanel health={d.health} />
          </section>
          <section class="card" aria-labelledby="events-h">
            <h2 id="events-h">Events</h2>
            <div id="bot-events" class="events-scroll">
              <EventsTimeline events={d.events} />
            </div>
          </section>
        </div>
      </div>

      <LogViewer name={b.name} />

      <section class="card section" aria-labelledby="rev-h">
        <h2 id="rev-h">Revisions</h2>
        <div id="bot-revisions">
          <RevisionsTable bot={b} revisions={d.revisions} />
        </div>
        <DiffForm name={b.name} revisions={d.revisions.map((r) => r.revision)} />
      </section>

      <div class="grid-2 section">
        <section class="card" aria-labelledby="manifest-h">
          <h2 id="manifest-h">Manifest</h2>
          <p class="card-sub">The desired state (revision {b.desiredRevision}), as you would apply it again.</p>
          <pre class="code-block">
            <code>{d.manifestYaml}</code>
          </pre>
        </section>
        <section class="card" aria-labelledby="config-h">
          <h2 id="config-h">Generated config</h2>
          <p class="card-sub">
            The <code>openclaw.json</code> Molthub writes for this revision. Secrets are references to environment variables, never values.{" "}
            <a href={`/bots/${b.name}/resolved`}>Resolved config: which layer set each value</a>
          </p>
          <pre class="code-block">
            <code>{d.configJson}</code>
          </pre>
        </section>
      </div>
    </>
  );
}

// ---------- diff and one revision ----------

export interface DiffPageData {
  name: string;
  from: number;
  to: number;
  revisions: number[];
  config: PathChange[];
  manifest: PathChange[];
}

/** The breadcrumb of a page below one bot's page. */
export function BotCrumbs(props: { name: string; here: string }) {
  return <Crumbs trail={[{ href: "/bots", label: "Bots" }, { href: `/bots/${props.name}`, label: props.name }]} here={props.here} />;
}

export function DiffPage(props: { data: DiffPageData }) {
  const d = props.data;
  return (
    <>
      <BotCrumbs name={d.name} here={`r${d.from} → r${d.to}`} />
      <PageHead title={`Changes r${d.from} → r${d.to}`} lead={`What changed in ${d.name} between the two revisions, path by path.`} />
      <div class="card">
        <DiffForm name={d.name} revisions={d.revisions} from={d.from} to={d.to} />
      </div>
      <section class="section" aria-labelledby="cfg-diff-h">
        <div class="section-head">
          <h2 id="cfg-diff-h">Generated config</h2>
          <span class="muted small">
            {d.config.length} {d.config.length === 1 ? "path" : "paths"}
          </span>
        </div>
        <ChangesTable changes={d.config} caption="Config changes" empty="The generated config is the same." />
      </section>
      <section class="section" aria-labelledby="man-diff-h">
        <div class="section-head">
          <h2 id="man-diff-h">Manifest</h2>
          <span class="muted small">
            {d.manifest.length} {d.manifest.length === 1 ? "path" : "paths"}
          </span>
        </div>
        <ChangesTable changes={d.manifest} caption="Manifest changes" empty="The manifests are the same." />
      </section>
    </>
  );
}

export interface RevisionPageData {
  name: string;
  revision: number;
  source: string;
  actor: string;
  createdAt: number;
  configHash: string;
  manifestYaml: string;
  configJson: string;
}

export function RevisionPage(props: { data: RevisionPageData }) {
  const d = props.data;
  return (
    <>
      <BotCrumbs name={d.name} here={`r${d.revision}`} />
      <PageHead title={`Revision ${d.revision}`} lead={<>Stored from {d.source} by {d.actor}, <Time ms={d.createdAt} />. Revisions never change once stored.</>} />
      <div class="grid-2">
        <section class="card" aria-labelledby="rm-h">
          <h2 id="rm-h">Manifest</h2>
          <pre class="code-block">
            <code>{d.manifestYaml}</code>
          </pre>
        </section>
        <section class="card" aria-labelledby="rc-h">
          <h2 id="rc-h">Generated config</h2>
          <p class="card-sub">
            Hash <code>{d.configHash.slice(0, 16)}</code>
          </p>
          <pre class="code-block">
            <code>{d.configJson}</code>
          </pre>
        </section>
      </div>
    </>
  );
}

