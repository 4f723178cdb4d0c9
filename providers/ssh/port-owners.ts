/**
 * Who listens on a port of a registered host, in one SSH exec: the listeners with their pids (`ss -ltnpH` on
 * Linux; `lsof` plus `netstat` on macOS, where lsof may not see another user's socket but netstat still lists it)
 * and the process table (`ps`), so the caller can tell whether a holder descends from the service's main pid.
 * The script is a constant; the port is its only argument ($1), so nothing the caller passes is parsed by a shell.
 */
import {
  describeHolders,
  type PortHolder,
  type ProcessRow,
  parseLsof,
  parseNetstatListeners,
  parsePs,
  parseSs,
} from "../listener.ts";
import { ProviderError } from "../provider.ts";

const PS_MARK = "-- molthub ps --";
const NETSTAT_MARK = "-- molthub netstat --";
const UID_MARK = "-- molthub uids --";

// `ss` must exist: without it the answer would be "nobody listens", which is the one answer that must be proven
const LINUX_SCRIPT = `command -v ss >/dev/null 2>&1 || { echo "ss (iproute2) is not installed" >&2; exit 3; }
ss -ltnpeH "sport = :$1" || exit 4
echo "${UID_MARK}"
ps -e -o pid=,uid=
echo "${PS_MARK}"
ps -e -o pid=,ppid=,user=,comm=`;

const DARWIN_SCRIPT = `lsof -nP -iTCP:"$1" -sTCP:LISTEN -F pcn 2>/dev/null
echo "${NETSTAT_MARK}"
netstat -an -p tcp | grep LISTEN
echo "${PS_MARK}"
ps -A -o pid=,ppid=,user=,comm=`;

/** The argv of the one exec that answers for `port` on a host of `platform` (`linux-x64`, `darwin-arm64`). */
export function portOwnersArgv(platform: string, port: number): string[] {
  if (!Number.isInteger(port) || port < 1 || port > 65535) throw new ProviderError(`invalid port ${port}`, "invalid_config");
  return ["sh", "-c", platform.startsWith("darwin") ? DARWIN_SCRIPT : LINUX_SCRIPT, "sh", String(port)];
}

/** The holders of `port` (commands and users filled in from the process table) and that table. */
export function parsePortOwners(
  stdout: string,
  platform: string,
  port: number,
): { holders: PortHolder[]; processes: Map<number, ProcessRow>; uids: Map<number, number> } | null {
  const psAt = stdout.indexOf(PS_MARK);
  if (psAt < 0) return null;
  const processes = parsePs(stdout.slice(psAt + PS_MARK.length));
  const uidAt = stdout.indexOf(UID_MARK);
  const uids = new Map<number, number>();
  if (uidAt >= 0 && uidAt < psAt)
    for (const m of stdout.slice(uidAt + UID_MARK.length, psAt).matchAll(/^\s*(\d+)\s+(\d+)\s*$/gm))
      uids.set(Number(m[1]), Number(m[2]));
  const head = stdout.slice(0, uidAt >= 0 && uidAt < psAt ? uidAt : psAt);
  let holders: PortHolder[];
  if (platform.startsWith("darwin")) {
    const nsAt = head.indexOf(NETSTAT_MARK);
    const seen = parseLsof(nsAt < 0 ? head : head.slice(0, nsAt), port);
    const all = nsAt < 0 ? [] : parseNetstatListeners(head.slice(nsAt + NETSTAT_MARK.length), port);
    const norm = (a: string) => (a === "[::1]" ? "::1" : a.toLowerCase());
    // a listener netstat lists but lsof could not attribute: someone this login may not inspect
    const unseen = all.filter((n) => !seen.some((s) => norm(s.address) === norm(n.address)));
    holders = [...seen, ...unseen];
  } else {
    holders = parseSs(head, port);
  }
  return { holders: describeHolders(holders, processes), processes, uids };
}
