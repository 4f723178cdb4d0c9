/** @jsxImportSource hono/jsx */
import { stringify as toYaml } from "yaml";
import type { Role } from "../../core/context.ts";
import type { LayerRef } from "../../domain/layers.ts";
import type { LayerChangeResult, LayerDetail, LayerSummary, StoredKind } from "../../services/layers.ts";
import { ChangesTable } from "../ui/changes-table.tsx";
import {
  Alert,
  Crumbs,
  canOperate,
  DocumentEditorForm,
  EmptyState,
  type ManifestProblem,
  PageHead,
  ProblemList,
  Stat,
  Time,
} from "../ui/components.tsx";

// ---------- shared pieces ----------

export const KIND_TEXT: Record<StoredKind, { one: string; many: string; Title: string; Titles: string; path: string }> = {
  profile: { one: "profile", many: "profiles", Title: "Profile", Titles: "Profiles", path: "/profiles" },
  overlay: { one: "overlay", many: "overlays", Title: "Overlay", Titles: "Overlays", path: "/overlays" },
};

/** What the editor shows again: the text, and after a submit the preview or the problems. */
export interface EditorState {
  text: string;
  mode?: "preview" | "save";
  result?: LayerChangeResult;
  error?: { message: string; problems: ManifestProblem[] };
}

/** Where a layer of the resolved view is managed. */
function layerHref(l: Pick<LayerRef, "kind" | "name">): string | null {
  switch (l.kind) {
    case "profile":
      return `/profiles/${l.name}`;
    case "overlay":
      return `/overlays/${l.name}`;
    case "template":
      return `/templates/${l.name}`;
    case "connector":
      return `/connectors/${l.name}`;
    case "bot":
      return `/bots/${l.name}`;
    default:
      return null;
  }
}

export function LayerLink(props: { layer: Pick<LayerRef, "kind" | "name"> }) {
  const href = layerHref(props.layer);
  return (
    <span class="nowrap">
      <span class={`badge layer-kind layer-kind-${props.layer.kind}`}>{props.layer.kind}</span>{" "}
      {href ? <a href={href}>{props.layer.name}</a> : props.layer.name}
    </span>
  );
}

/** The blast radius of a previewed or saved change: each bot whose config changes, with its diff. */
function BlastRadius(props: { result: LayerChangeResult }) {
  const r = props.result;
  const dry = r.dryRun;
  const t = KIND_TEXT[r.kind];
  if (r.action === "unchanged") {
    return (
      <Alert kind="info" title="No change.">
        The document is the same as the stored {t.one} (version {r.version}); saving it changes nothing.
      </Alert>
    );
  }
  return (
    <div class="blast-radius" aria-live="polite">
      <Alert
        kind={dry ? "info" : "ok"}
        title={dry ? `Preview: nothing was stored. Saving would make this version ${r.version}.` : `Saved version ${r.version}.`}
      >
        {r.bots.length === 0
          ? `No bot's configuration changes${r.unchanged.length ? ` (${r.unchanged.length} checked: ${r.unchanged.join(", ")})` : ""}.`
          : `${r.bots.length} bot${r.bots.length === 1 ? "" : "s"} ${dry ? "would get" : "got"} a new revision${r.unchanged.length ? `; unchanged: ${r.unchanged.join(", ")}` : ""}.`}
      </Alert>
      {r.bots.map((b) => (
        <div class="apply-doc">
          <h3>
            <a href={`/bots/${b.bot}`}>{b.bot}</a>{" "}
            <span class="badge badge-info">{dry ? `would get revision ${b.revision}` : `revision ${b.revision}`}</span>
          </h3>
          <ChangesTable changes={b.changes} caption={`Config changes for ${b.bot}`} empty="No config changes." />
        </div>
      ))}
    </div>
  );
}

function Editor(props: { kind: StoredKind; editor: EditorState; title: string; placeholder: string; id: string }) {
  const t = KIND_TEXT[props.kind];
  const e = props.editor;
  return (
    <section class="card section" aria-labelledby={`${props.id}-h`} id={props.id}>
      <h2 id={`${props.id}-h`}>{props.title}</h2>
      <p class="card-sub">
        A molthub/v1 {t.Title} document in YAML or JSON. <strong>Preview</strong> shows which bots would change and how, path by
        path; <strong>Save</strong> stores it and gives each of those bots a new revision. If any bot would break, nothing is
        saved.
      </p>
      {e.error && <ProblemList title={e.error.message} problems={e.error.problems} />}
      {e.result && <BlastRadius result={e.result} />}
      <DocumentEditorForm
        action={`${t.path}/apply`}
        id={`${props.id}-doc`}
        hintId={`${props.id}-hint`}
        name="document"
        label={`${t.Title} (YAML or JSON)`}
        text={e.text}
        placeholder={props.placeholder}
        invalid={!!e.error}
        hint={
          <>
            Values may not set what Molthub manages (gateway.port, gateway.bind, gateway.auth, gateway.mode, logging.file).
            Secrets stay references; never paste a secret value here. See the <a href="/api/docs">API reference</a> for the
            document's fields.
          </>
        }
      />
    </section>
  );
}

function Selector(props: { item: Pick<LayerSummary, "selector"> }) {
  const s = props.item.selector;
  if (!s) return <span class="muted">every bot</span>;
  const parts: string[] = [];
  if (s.bots?.length) parts.push(`bots: ${s.bots.join(", ")}`);
  if (s.fleets?.length) parts.push(`fleets: ${s.fleets.join(", ")}`);
  if (s.environments?.length) parts.push(`environments: ${s.environments.join(", ")}`);
  const labels = Object.entries(s.labels ?? {});
  if (labels.length) parts.push(`labels: ${labels.map(([k, v]) => `${k}=${v}`).join(", ")}`);
  if (!parts.length) return <span class="muted">every bot</span>;
  return <span>{parts.join("; ")}</span>;
}

function WindowText(props: { item: Pick<LayerSummary, "window"> }) {
  const w = props.item.window;
  if (!w || (!w.from && !w.to)) return <span class="muted">always</span>;
  return (
    <span class="nowrap">
      {w.from ?? "…"} → {w.to ?? "…"}
    </span>
  );
}

function StateBadge(props: { item: Pick<LayerSummary, "enabled" | "active"> }) {
  if (!props.item.enabled) return <span class="badge">disabled</span>;
  if (!props.item.active) return <span class="badge badge-warn">outside its window</span>;
  return <span class="badge badge-ok">active</span>;
}

function BotNames(props: { names: string[]; empty: string }) {
  if (!props.names.length) return <span class="muted">{props.empty}</span>;
  return (
    <span>
      {props.names.map((n, i) => (
        <>
          {i > 0 && ", "}
          <a href={`/bots/${n}`}>{n}</a>
        </>
      ))}
    </span>
  );
}

// ---------- the lists ----------

export interface LayersListData {
  kind: StoredKind;
  items: LayerSummary[];
  role: Role | null;
  editor: EditorState;
  example: string;
}

export function LayersListPage(props: { data: LayersListData }) {
  const d = props.data;
  const t = KIND_TEXT[d.kind];
  const op = canOperate(d.role);
  const lead =
    d.kind === "profile"
      ? "Shared defaults a bot opts into by name (spec.profiles). They apply after the bot's template and before overlays and the bot's own values; locked fields cannot be changed by later layers."
      : "Targeted changes for the bots a selector picks (bots, fleets, environments, labels), optionally only inside a time window. They apply after profiles and before the bot's own values.";
  return (
    <>
      <PageHead title={t.Titles} lead={lead}>
        {op && (
          <a class="btn btn-primary" href="#editor">
            New {t.one}
          </a>
        )}
      </PageHead>
      {d.items.length === 0 ? (
        <EmptyState title={`No ${t.many} yet`}>
          <p>
            {op
              ? `Write one in the editor below; Preview shows which bots it would change.`
              : `An operator can create ${t.many} here.`}
          </p>
        </EmptyState>
      ) : (
        <div class="table-wrap">
          <table>
            <caption class="visually-hidden">{t.Titles}</caption>
            <thead>
              <tr>
                <th scope="col">Name</th>
                <th scope="col">Priority</th>
                {d.kind === "overlay" && <th scope="col">State</th>}
                {d.kind === "overlay" && <th scope="col">Selector</th>}
                {d.kind === "overlay" && <th scope="col">Window</th>}
                {d.kind === "profile" && <th scope="col">Locked</th>}
                <th scope="col">{d.kind === "profile" ? "Used by" : "Applies now to"}</th>
                <th scope="col">Version</th>
                <th scope="col">Updated</th>
              </tr>
            </thead>
            <tbody>
              {d.items.map((i) => (
                <tr>
                  <td>
                    <a href={`${t.path}/${i.name}`}>{i.name}</a>
                    {i.description && <div class="muted small">{i.description}</div>}
                  </td>
                  <td>{i.priority}</td>
                  {d.kind === "overlay" && (
                    <td>
                      <StateBadge item={i} />
                    </td>
                  )}
                  {d.kind === "overlay" && (
                    <td>
                      <Selector item={i} />
                    </td>
                  )}
                  {d.kind === "overlay" && (
                    <td>
                      <WindowText item={i} />
                    </td>
                  )}
                  {d.kind === "profile" && (
                    <td>
                      {i.locked.length ? i.locked.map((p) => <code class="layer-path">{p}</code>) : <span class="muted">—</span>}
                    </td>
                  )}
                  <td>
                    <BotNames names={i.bots} empty="no bots" />
                  </td>
                  <td>v{i.version}</td>
                  <td>
                    <Time ms={i.updatedAt} date />
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      {op ? (
        <Editor kind={d.kind} editor={d.editor} title={`New ${t.one}`} placeholder={d.example} id="editor" />
      ) : (
        <p class="muted section">Only operators, admins and owners can create or change {t.many}.</p>
      )}
    </>
  );
}

// ---------- one layer ----------

export interface LayerPageData {
  detail: LayerDetail;
  role: Role | null;
  editor: EditorState;
  /** bots that could be attached (profiles) */
  attachable: string[];
  error?: string;
}

export function LayerPage(props: { data: LayerPageData }) {
  const d = props.data;
  const l = d.detail;
  const t = KIND_TEXT[l.kind];
  const op = canOperate(d.role);
  const strategies = Object.entries(l.document.spec.strategies ?? {});
  return (
    <>
      <Crumbs trail={[{ href: t.path, label: t.Titles }]} here={l.name} />
      <PageHead title={l.name} lead={l.description ?? `A${l.kind === "overlay" ? "n" : ""} ${t.one}.`}>
        {op && l.kind === "overlay" && (
          <form method="post" action={`/overlays/${l.name}/${l.enabled ? "disable" : "enable"}`} class="inline-form">
            <button
              type="submit"
              class="btn-sm"
              data-confirm={`${l.enabled ? "Disable" : "Enable"} the overlay ${l.name}? The bots it reaches get a new revision.`}
            >
              {l.enabled ? "Disable" : "Enable"}
            </button>
          </form>
        )}
      </PageHead>
      {d.error && <Alert kind="error">{d.error}</Alert>}

      <div class="stats">
        <Stat label="Priority" note="higher applies later and wins">
          {l.priority}
        </Stat>
        <Stat
          label="Version"
          note={
            <>
              updated <Time ms={l.updatedAt} />
            </>
          }
        >
          v{l.version}
        </Stat>
        {l.kind === "overlay" && (
          <Stat label="State">
            <StateBadge item={l} />
          </Stat>
        )}
        <Stat label={l.kind === "profile" ? "Used by" : "Applies now to"}>
          {l.bots.length} bot{l.bots.length === 1 ? "" : "s"}
        </Stat>
      </div>

      <div class="grid-2 section">
        <section class="card" aria-labelledby="values-h">
          <h2 id="values-h">Values</h2>
          <p class="card-sub">The part of openclaw.json this {t.one} sets.</p>
          <pre class="code-block">
            <code>{Object.keys(l.document.spec.values).length ? toYaml(l.document.spec.values, { lineWidth: 0 }) : "{}"}</code>
          </pre>
        </section>
        <section class="card" aria-labelledby="rules-h">
          <h2 id="rules-h">Rules</h2>
          <dl class="kv">
            <dt>Locked</dt>
            <dd>
              {l.locked.length ? (
                l.locked.map((p) => <code class="layer-path">{p}</code>)
              ) : (
                <span class="muted">nothing; later layers may change any value</span>
              )}
            </dd>
            <dt>Strategies</dt>
            <dd>
              {strategies.length ? (
                <ul class="layer-list">
                  {strategies.map(([p, s]) => (
                    <li>
                      <code>{p}</code>: {s}
                    </li>
                  ))}
                </ul>
              ) : (
                <span class="muted">defaults: objects merge, lists and scalars are replaced</span>
              )}
            </dd>
            {l.kind === "overlay" && (
              <>
                <dt>Selector</dt>
                <dd>
                  <Selector item={l} />
                </dd>
                <dt>Window</dt>
                <dd>
                  <WindowText item={l} />
                </dd>
                <dt>Matches</dt>
                <dd>
                  <BotNames names={l.matched} empty="no bot right now" />
                </dd>
              </>
            )}
          </dl>
        </section>
      </div>

      <section class="card section" aria-labelledby="bots-h">
        <h2 id="bots-h">Bots</h2>
        {l.kind === "profile" ? (
          <>
            {l.bots.length === 0 ? (
              <p class="muted">No bot uses this profile yet.</p>
            ) : (
              <ul class="layer-bots">
                {l.bots.map((b) => (
                  <li>
                    <a href={`/bots/${b}`}>{b}</a> · <a href={`/bots/${b}/resolved`}>resolved config</a>
                    {op && (
                      <form method="post" action={`/profiles/${l.name}/detach`} class="inline-form">
                        <input type="hidden" name="bot" value={b} />
                        <button
                          type="submit"
                          class="btn-sm btn-ghost"
                          data-confirm={`Detach ${l.name} from ${b}? The bot gets a new revision without it.`}
                        >
                          Detach
                        </button>
                      </form>
                    )}
                  </li>
                ))}
              </ul>
            )}
            {op &&
              (d.attachable.length ? (
                <form method="post" action={`/profiles/${l.name}/attach`} class="inline-form attach-form">
                  <div class="field">
                    <label for="f-attach-bot">Attach to a bot</label>
                    <select id="f-attach-bot" name="bot" required>
                      {d.attachable.map((b) => (
                        <option value={b}>{b}</option>
                      ))}
                    </select>
                  </div>
                  <button type="submit">Attach</button>
                </form>
              ) : (
                <p class="muted small">Every bot already uses this profile, or there are no bots yet.</p>
              ))}
          </>
        ) : (
          <p>
            <BotNames
              names={l.bots}
              empty={l.active ? "The selector matches no bot." : "None while the overlay is not active."}
            />
          </p>
        )}
      </section>

      {op && (
        <>
          <Editor kind={l.kind} editor={d.editor} title={`Edit ${l.name}`} placeholder="" id="editor" />
          <details class="danger-zone section">
            <summary class="btn btn-sm btn-ghost">Delete…</summary>
            <form
              method="post"
              action={`${t.path}/${l.name}/delete`}
              class="stack danger-form"
              data-confirm={`Delete the ${t.one} ${l.name}?`}
            >
              <p class="small">
                {l.kind === "profile"
                  ? "A profile that bots use cannot be deleted; detach it from them first."
                  : "The bots it reaches get a new revision without its values."}
              </p>
              <button type="submit" class="btn-danger btn-sm">
                Delete {l.name}
              </button>
            </form>
          </details>
        </>
      )}
    </>
  );
}
