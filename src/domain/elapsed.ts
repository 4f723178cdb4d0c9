/**
 * How long ago something happened, in the two largest units ("3 min", "2 h 5 min", "4 d 1 h"): how long a
 * condition has lasted reads better than a timestamp. The CLI and the pages say it the same way.
 *
 * @example ago(Date.now() - 90_000, Date.now()) // "1 min ago"
 */
export function ago(ms: number, now: number): string {
  const s = Math.max(0, Math.floor((now - ms) / 1000));
  if (s < 5) return "just now";
  const d = Math.floor(s / 86400);
  const h = Math.floor((s % 86400) / 3600);
  const m = Math.floor((s % 3600) / 60);
  if (d) return `${d} d${h ? ` ${h} h` : ""} ago`;
  if (h) return `${h} h${m ? ` ${m} min` : ""} ago`;
  if (m) return `${m} min ago`;
  return `${s} s ago`;
}
