/** @jsxImportSource hono/jsx */
import { type ConditionType, isGood } from "../../domain/conditions.ts";
import { ago } from "../../domain/elapsed.ts";
import type { BotView } from "../../services/bots.ts";

/**
 * A bot's conditions: each independent observation its status derives from, whether it is good, since when, and
 * what to do. The state is said in words ("ok", "failing", "unknown"), the colour only repeats it.
 */

type BotCondition = BotView["conditions"][number];

const LABEL: Record<ConditionType, string> = {
  TargetReachable: "Target reachable",
  Ready: "Ready",
  ConfigApplied: "Config applied",
  Drifted: "Drifted",
  ChannelsConnected: "Channels connected",
  SecretsCurrent: "Secrets current",
};

type State = "ok" | "failing" | "unknown";

/** Unknown is not a failure: it means not observed yet. */
function stateOf(c: BotCondition): State {
  if (c.status === "Unknown") return "unknown";
  return isGood(c.type, c) ? "ok" : "failing";
}

const STATE_KIND: Record<State, string> = { ok: "badge-ok", failing: "badge-danger", unknown: "" };

/** The first condition that is not in its good state: what the list shows instead of the status reason. */
export function firstFailing(b: BotView): BotCondition | undefined {
  return b.conditions.find((c) => stateOf(c) === "failing");
}

export function ConditionsTable(props: { conditions: BotCondition[]; now: number }) {
  if (props.conditions.length === 0)
    return <p class="muted">No conditions observed yet. They appear as Molthub deploys and checks the bot.</p>;
  return (
    <div class="table-wrap">
      <table class="conditions">
        <caption class="visually-hidden">Conditions</caption>
        <thead>
          <tr>
            <th scope="col">Condition</th>
            <th scope="col">State</th>
            <th scope="col">Since</th>
            <th scope="col">Detail</th>
          </tr>
        </thead>
        <tbody>
          {props.conditions.map((c) => {
            const state = stateOf(c);
            return (
              <tr class={`cond-${state}`}>
                <th scope="row">{LABEL[c.type]}</th>
                <td class="nowrap">
                  <span class={`badge ${STATE_KIND[state]}`.trim()}>{state}</span> <span class="muted small">{c.status}</span>
                </td>
                <td class="nowrap">
                  <time datetime={new Date(c.since).toISOString()} title={new Date(c.since).toISOString()}>
                    {ago(c.since, props.now)}
                  </time>
                </td>
                <td>
                  {c.message || <span class="muted">—</span>} <code class="cond-reason">{c.reason}</code>
                </td>
              </tr>
            );
          })}
        </tbody>
      </table>
    </div>
  );
}
