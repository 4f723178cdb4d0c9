/** @jsxImportSource hono/jsx */
import type { Role } from "../../core/context.ts";
import type { BotAction } from "../../domain/bot-actions.ts";
import type { BotSecretView, BotView } from "../../services/bots.ts";
import { Alert, Crumbs, canOperate, PageHead, Stat, Time } from "../ui/components.tsx";
import { ConditionsTable } from "./conditions.tsx";
import { HealthPanel } from "./health.tsx";
import { DiffForm, type RevisionRow, RevisionsTable } from "./revisions.tsx";
import { BotSecretsPanel } from "./secrets.tsx";
import { Revisions, StatusLine, Target } from "./status.tsx";

/** One bot's page: its actions, status, health, events, live log, revisions, manifest and generated config. */

interface BotEventView {
  id: number;
  ts: number;
  level: "info" | "warn" | "error";
  type: string;
  message: string;
}

export interface BotPageData {
  bot: BotView;
  role: Role | null;
  revisions: RevisionRow[];
  events: BotEventView[];
  health: Record<string, unknown> | null;
  job: { id: number; kind: string; state: string; attempt: number } | null;
  manifestYaml: string;
  configJson: string;
  /** metadata.description of the manifest */
  description?: string;
  /** a refused action, shown at the top */
  error?: string;
  /** the secrets it uses: the versions its gateway runs, and which are outdated until a restart delivers them */
  secrets: BotSecretView[];
  /** the clock the "since" of each condition is measured against */
  now: number;
}

/** The button for each bot action (BOT_ACTIONS in domain/bot-actions.ts); the flash after one starts with it too. */
export const ACTION_LABEL: Record<BotAction, string> = {
  start: "Start",
  stop: "Stop",
  restart: "Restart",
  pause: "Pause",
  resume: "Resume",
};

/** The actions that make sense now: a stopped bot only starts, a paused one resumes. */
function actionsFor(b: BotView): BotAction[] {
  if (b.status === "deleting") return [];
  if (b.desiredState === "stopped") return ["start"];
  if (b.desiredState === "paused") return ["resume", "restart", "stop"];
  return ["restart", "pause", "stop"];
}

const ACTION_HINT: Record<BotAction, string> = {
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
          <form
            method="post"
            action={`/bots/${b.name}/delete`}
            class="stack danger-form"
            data-confirm={`Delete the bot ${b.name}? This cannot be undone.`}
          >
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

const LEVEL_KIND: Record<string, string> = { info: "", warn: "badge-warn", error: "badge-danger" };

function EventsTimeline(props: { events: BotEventView[] }) {
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
          <input
            type="search"
            id="log-filter"
            maxlength={200}
            placeholder="text in the line"
            autocomplete="off"
            data-log-filter
          />
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
      {/* a named log region; not live, since a busy gateway writes lines faster than anyone could listen */}
      <pre class="log-view" tabindex={0} role="log" aria-live="off" aria-label={`Log of ${props.name}`} data-log-output>
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
      <PageHead
        title={b.name}
        lead={d.description ?? `An OpenClaw gateway on ${b.provider === "local" ? "this machine" : `${b.provider} (${b.host})`}.`}
      >
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

        <section class="card section" aria-labelledby="conditions-h">
          <h2 id="conditions-h">Conditions</h2>
          <ConditionsTable conditions={b.conditions} now={d.now} />
        </section>

        <section class="card section" aria-labelledby="bot-secrets-h">
          <h2 id="bot-secrets-h">Secrets</h2>
          <BotSecretsPanel secrets={d.secrets} />
        </section>

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
            The <code>openclaw.json</code> Molthub writes for this revision. Secrets are references to environment variables,
            never values. <a href={`/bots/${b.name}/resolved`}>Resolved config: which layer set each value</a>
          </p>
          <pre class="code-block">
            <code>{d.configJson}</code>
          </pre>
        </section>
      </div>
    </>
  );
}
