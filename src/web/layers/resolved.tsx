/** @jsxImportSource hono/jsx */

import { getPath } from "../../domain/manifest.ts";
import type { ResolvedConfig } from "../../services/layers.ts";
import { BotCrumbs } from "../bots/revisions.tsx";
import { Value } from "../ui/changes-table.tsx";
import { Alert, PageHead, ProblemList } from "../ui/components.tsx";
import { LayerLink } from "./page.tsx";

/** One bot's resolved config: each value with the layer that set it (template, profile, overlay or the bot). */

export function ResolvedPage(props: { data: ResolvedConfig }) {
  const r = props.data;
  const paths = Object.keys(r.provenance).sort();
  return (
    <>
      <BotCrumbs name={r.bot} here="resolved config" />
      <PageHead
        title="Resolved config"
        lead={`Every value of ${r.bot}'s configuration as its layers resolve now, the layer that set it and what it overrode. Secrets appear only as references.`}
      />
      {r.problems.length > 0 && (
        <ProblemList
          title="Some layers the bot refers to cannot be used."
          problems={r.problems.map((p) => ({ doc: "", ...p }))}
        />
      )}
      {r.conflicts.length > 0 && (
        <ProblemList
          title="The layers conflict; the bot cannot be changed until this is fixed."
          problems={r.conflicts.map((c) => ({ doc: "", path: c.path, message: c.message }))}
        />
      )}
      {!r.stored.upToDate && (
        <Alert kind="warn" title="Not rolled out yet.">
          The layers resolve differently now than when revision {r.stored.revision} was stored (an overlay's time window opened or
          closed, or a layer changed). The next change to the bot or to one of its layers stores it as a new revision.
        </Alert>
      )}
      <section class="card section" aria-labelledby="order-h">
        <h2 id="order-h">Layers, in the order they apply</h2>
        <ol class="layer-order">
          {r.layers.map((l) => (
            <li>
              <LayerLink layer={l} />
              {(l.kind === "profile" || l.kind === "overlay") && <span class="muted small"> priority {l.priority}</span>}
            </li>
          ))}
        </ol>
        <p class="muted small">
          Later layers win, except on paths an earlier layer locked. Molthub's own settings (port, bind, auth, log file) come on
          top.
        </p>
      </section>
      <section class="section" aria-labelledby="paths-h">
        <div class="section-head">
          <h2 id="paths-h">Values</h2>
          <span class="muted small">
            {paths.length} {paths.length === 1 ? "path" : "paths"} · desired revision r{r.revision}
          </span>
        </div>
        {paths.length === 0 ? (
          <p class="muted">No layer sets any value; the generated config holds only what Molthub manages.</p>
        ) : (
          <div class="table-wrap">
            <table class="resolved">
              <caption class="visually-hidden">Resolved values of {r.bot}</caption>
              <thead>
                <tr>
                  <th scope="col">Path</th>
                  <th scope="col">Value</th>
                  <th scope="col">Set by</th>
                  <th scope="col">Overrode</th>
                </tr>
              </thead>
              <tbody>
                {paths.map((p) => {
                  const e = r.provenance[p]!;
                  return (
                    <tr>
                      <td>
                        <code>{p}</code>
                      </td>
                      <td>
                        <Value v={getPath(r.value, p)} />
                      </td>
                      <td>
                        <LayerLink layer={e.layer} />
                      </td>
                      <td>
                        {e.overrode?.length ? (
                          <ul class="layer-list">
                            {e.overrode.map((o) => (
                              <li>
                                <LayerLink layer={o.layer} />: <Value v={o.value} />
                              </li>
                            ))}
                          </ul>
                        ) : (
                          <span class="muted">—</span>
                        )}
                      </td>
                    </tr>
                  );
                })}
              </tbody>
            </table>
          </div>
        )}
      </section>
    </>
  );
}
