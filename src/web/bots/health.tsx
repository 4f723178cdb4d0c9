/** @jsxImportSource hono/jsx */
import { Alert, Time } from "../ui/components.tsx";

/** A bot's health panel: what the last check of its gateway (readyz, health, status) reported. */

function bytes(n: unknown): string | null {
  if (typeof n !== "number" || !Number.isFinite(n)) return null;
  if (n >= 1024 ** 3) return `${(n / 1024 ** 3).toFixed(2)} GiB`;
  if (n >= 1024 ** 2) return `${Math.round(n / 1024 ** 2)} MiB`;
  return `${Math.round(n / 1024)} KiB`;
}

function duration(ms: unknown): string | null {
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
  if (!o)
    return typeof v === "string"
      ? { text: v, kind: "" }
      : { text: v === true ? "ok" : v === false ? "down" : "", kind: v === true ? "badge-ok" : v === false ? "badge-warn" : "" };
  const err = o.lastError ?? o.error;
  if (typeof err === "string" && err) return { text: err.length > 80 ? `${err.slice(0, 79)}…` : err, kind: "badge-warn" };
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
