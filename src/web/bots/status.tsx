/** @jsxImportSource hono/jsx */
import type { BotView } from "../../services/bots.ts";

/** A bot in one line, as the list and its page show it: status, live/desired revision, target. */

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

function StatusBadge(props: { status: BotView["status"] }) {
  return <span class={`badge ${STATUS_KIND[props.status] ?? ""}`.trim()}>{props.status}</span>;
}

/** The status, what the operator asked for when it differs, and the reason (or `reason` instead of it). */
export function StatusLine(props: { bot: BotView; reason?: string }) {
  const b = props.bot;
  const wanted = b.desiredState !== "running" || b.status === "stopped" ? b.desiredState : null;
  const reason = props.reason ?? b.statusReason;
  return (
    <span class="status-line">
      <StatusBadge status={b.status} />
      {wanted && wanted !== b.status && <span class="badge">wanted: {wanted}</span>}
      {reason && <span class="status-reason">{reason}</span>}
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
