/**
 * This machine's sockets as /proc shows them: the TCP tables of the current network namespace and which process
 * holds which socket (`/proc/<pid>/fd/* -> socket:[inode]`). Shared by the providers whose gateways run on the
 * appliance's own machine (local processes, containers of the local engine on the host network). Linux only; on
 * another system every answer is empty, which the callers treat as "cannot prove".
 */
import { readdirSync, readFileSync, readlinkSync } from "node:fs";

/** /proc/net/tcp and tcp6 of this network namespace (empty when unreadable). */
export function readTcpTables(): string {
  let out = "";
  for (const f of ["/proc/net/tcp", "/proc/net/tcp6"]) {
    try {
      out += `${readFileSync(f, "utf8")}\n`;
    } catch {
      // no IPv6, or no /proc
    }
  }
  return out;
}

function pidsOf(): number[] {
  try {
    return readdirSync("/proc")
      .filter((n) => /^\d+$/.test(n))
      .map(Number);
  } catch {
    return [];
  }
}

/** pid → ppid for every process. */
export function processParents(): Map<number, number> {
  const out = new Map<number, number>();
  for (const pid of pidsOf()) {
    try {
      const text = readFileSync(`/proc/${pid}/stat`, "utf8");
      // field 2 (comm) is parenthesised and may hold spaces: ppid is the second field after the last ')'
      const ppid = Number(text.slice(text.lastIndexOf(")") + 2).split(" ")[1]);
      if (Number.isInteger(ppid)) out.set(pid, ppid);
    } catch {
      // gone
    }
  }
  return out;
}

/** Socket inodes a process holds open. */
function socketInodes(pid: number): number[] {
  let fds: string[];
  try {
    fds = readdirSync(`/proc/${pid}/fd`);
  } catch {
    return []; // gone, or another user's
  }
  const out: number[] = [];
  for (const fd of fds) {
    try {
      const m = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/${pid}/fd/${fd}`));
      if (m) out.push(Number(m[1]));
    } catch {
      // closed meanwhile
    }
  }
  return out;
}

/**
 * inode → holder pids: the bot's tree first (the usual answer), then, only for sockets still unaccounted for,
 * every process this user may inspect (to name a foreign holder).
 */
export function socketOwners(inodes: Set<number>, tree: number[], parents: Map<number, number>): Map<number, number[]> {
  const out = new Map<number, number[]>();
  const add = (pid: number) => {
    for (const i of socketInodes(pid)) if (inodes.has(i)) out.set(i, [...(out.get(i) ?? []), pid]);
  };
  for (const pid of tree) add(pid);
  if ([...inodes].every((i) => out.has(i))) return out;
  const seen = new Set(tree);
  for (const pid of parents.keys()) if (!seen.has(pid)) add(pid);
  return out;
}

export function describeProcess(pid: number): { command?: string; user?: string } {
  let command: string | undefined;
  let user: string | undefined;
  try {
    command = readFileSync(`/proc/${pid}/comm`, "utf8").trim();
  } catch {
    // gone
  }
  try {
    const uid = /^Uid:\s+(\d+)/m.exec(readFileSync(`/proc/${pid}/status`, "utf8"))?.[1];
    if (uid !== undefined) user = `uid ${uid}`;
  } catch {
    // gone
  }
  return { command, user };
}
