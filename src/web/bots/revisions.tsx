/** @jsxImportSource hono/jsx */

import type { PathChange } from "../../domain/openclaw-config.ts";
import type { BotView } from "../../services/bots.ts";
import { ChangesTable } from "../ui/changes-table.tsx";
import { Crumbs, PageHead, Time } from "../ui/components.tsx";

/** A bot's revisions: the table on its page, the compare form, the diff page and one revision's page. */

/** One stored revision of a bot, as its page lists it. */
export interface RevisionRow {
  revision: number;
  configHash: string;
  source: string;
  actor: string;
  createdAt: number;
}

export function RevisionsTable(props: { bot: BotView; revisions: RevisionRow[] }) {
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
                {r.revision === b.desiredRevision && r.revision !== b.appliedRevision && (
                  <span class="badge badge-info">desired</span>
                )}
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
  return (
    <Crumbs
      trail={[
        { href: "/bots", label: "Bots" },
        { href: `/bots/${props.name}`, label: props.name },
      ]}
      here={props.here}
    />
  );
}

export function DiffPage(props: { data: DiffPageData }) {
  const d = props.data;
  return (
    <>
      <BotCrumbs name={d.name} here={`r${d.from} → r${d.to}`} />
      <PageHead
        title={`Changes r${d.from} → r${d.to}`}
        lead={`What changed in ${d.name} between the two revisions, path by path.`}
      />
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
      <PageHead
        title={`Revision ${d.revision}`}
        lead={
          <>
            Stored from {d.source} by {d.actor}, <Time ms={d.createdAt} />. Revisions never change once stored.
          </>
        }
      />
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
