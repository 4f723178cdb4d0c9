/** @jsxImportSource hono/jsx */
import type { PathChange } from "../../domain/openclaw-config.ts";

/** A config or manifest change, path by path: the table dry runs, diffs and previews show. */

/** A config value in a change table: JSON, shortened; an absent value is a dash. */
export function Value(props: { v: unknown }) {
  if (props.v === undefined) return <span class="muted">absent</span>;
  const s = JSON.stringify(props.v);
  return <code class="change-value">{s.length > 300 ? `${s.slice(0, 299)}…` : s}</code>;
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
function leafChanges(changes: PathChange[]): PathChange[] {
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
