import { inTree, judgeListeners, type ListenerVerdict, type PortHolder, procListeners } from "../listener.ts";
import { describeProcess, processParents, readTcpTables, socketOwners } from "../proc-sockets.ts";
import { type PidRecord, processStatus } from "./process.ts";

/**
 * Who listens on a port of this machine, from the kernel itself: the LISTEN rows of /proc/net/tcp{,6} give each
 * socket's inode, and /proc/<pid>/fd links (`socket:[inode]`) give its holder. The bot's tree is the gateway the
 * pid file names (pid + start time, so a recycled pid never counts) and its descendants.
 *
 * Cheap enough for every connection: the common case reads two small /proc files and, once a socket's inode was
 * proven to be the gateway's, nothing else (an inode identifies one open socket).
 */
export class LocalListeners {
  /** per gateway (`pid:startTime`): the listening sockets already proven to be its own */
  private readonly proven = new Map<string, Set<number>>();

  /** The verdict for `port`: is every listener the gateway of `record` (or its descendant)? */
  judge(port: number, record: PidRecord | null): { verdict: ListenerVerdict; holders: PortHolder[] } {
    const listening = procListeners(readTcpTables(), port);
    const running = record && processStatus(record).state === "running" ? record : null;
    const key = running ? `${running.pid}:${running.startTime}` : "";
    const known = this.proven.get(key);
    if (running && listening.length && known && listening.every((h) => h.inode && known.has(h.inode)))
      return { verdict: { state: "ours", pids: [running.pid] }, holders: listening };
    if (!listening.some((h) => h.inode)) return { verdict: judgeListeners(listening, () => false), holders: listening };

    const parents = processParents();
    const tree = running ? [...parents.keys()].filter((p) => inTree(p, running.pid, parents)) : [];
    if (running && !tree.includes(running.pid)) tree.push(running.pid);
    const owners = socketOwners(new Set(listening.map((h) => h.inode!).filter(Boolean)), tree, parents);
    const holders = listening.flatMap((h): PortHolder[] => {
      const pids = owners.get(h.inode!) ?? [];
      return pids.length ? pids.map((pid) => ({ ...h, pid, ...describeProcess(pid) })) : [h];
    });
    const treeSet = new Set(tree);
    const verdict = judgeListeners(holders, (pid) => treeSet.has(pid));
    if (verdict.state === "ours") this.proven.set(key, new Set(listening.map((h) => h.inode!)));
    return { verdict, holders };
  }

  /** Forget a gateway's proofs (it stopped). */
  forget(record: Pick<PidRecord, "pid" | "startTime">): void {
    this.proven.delete(`${record.pid}:${record.startTime}`);
  }
}
