import { randomBytes } from "node:crypto";
import { readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import * as z from "zod";
import { abortable, ProviderError } from "../provider.ts";

/**
 * Knowing which process is a bot's gateway after the appliance restarted.
 *
 * A PID alone is not an identity: after a reboot or enough churn the kernel hands the same number to an
 * unrelated process. The pid file therefore also records the process start time (field 22 of
 * /proc/<pid>/stat, clock ticks since boot), and a PID only counts as ours while that start time matches.
 * The gateway is spawned with setsid, so it leads its own process group and its workers share that group;
 * signals go to the group only while its leader is verified, and leftover members must have started after it.
 */

export interface ProcStat {
  pid: number;
  /** R, S, D, Z (zombie), T, … */
  state: string;
  ppid: number;
  pgrp: number;
  /** clock ticks since boot */
  startTime: number;
}

/** Parses /proc/<pid>/stat; null when the process does not exist (or /proc is unreadable). */
export function readProcStat(pid: number): ProcStat | null {
  if (!Number.isInteger(pid) || pid <= 0) return null;
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/stat`, "utf8");
  } catch {
    return null;
  }
  // Field 2 (comm) is parenthesised and may itself contain spaces or parentheses: split after the last ')'.
  const close = text.lastIndexOf(")");
  if (close < 0) return null;
  const rest = text
    .slice(close + 2)
    .trim()
    .split(" ");
  // rest[0] is field 3 (state), so field N is rest[N - 3].
  const startTime = Number(rest[22 - 3]);
  if (!rest[0] || !Number.isFinite(startTime)) return null;
  return { pid, state: rest[0], ppid: Number(rest[4 - 3]), pgrp: Number(rest[5 - 3]), startTime };
}

const pidRecordSchema = z.object({
  pid: z.number().int().positive(),
  startTime: z.number().int().nonnegative(),
  port: z.number().int().positive().optional(),
  openclawVersion: z.string().optional(),
  openclawDir: z.string().optional(),
  startedAt: z.string().optional(),
});
export type PidRecord = z.infer<typeof pidRecordSchema>;

/** The pid file, or null when it is missing or unreadable (a corrupt file is treated as "not running"). */
export function readPidFile(path: string): PidRecord | null {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch {
    return null;
  }
  try {
    const parsed = pidRecordSchema.safeParse(JSON.parse(text));
    return parsed.success ? parsed.data : null;
  } catch {
    return null;
  }
}

/** Written atomically (temp file + rename), mode 0600. */
export function writePidFile(path: string, record: PidRecord): void {
  writeFileAtomic(path, `${JSON.stringify(record)}\n`);
}

export function writeFileAtomic(path: string, content: string, mode = 0o600): void {
  const tmp = `${path}.tmp-${process.pid}-${randomBytes(4).toString("hex")}`;
  try {
    writeFileSync(tmp, content, { mode, flag: "wx" });
    renameSync(tmp, path);
  } catch (e) {
    rmSync(tmp, { force: true });
    throw e;
  }
}

export type ProcessStatus =
  | { state: "running"; stat: ProcStat }
  /** no such process */
  | { state: "gone" }
  /** exited, not yet reaped by its parent */
  | { state: "zombie"; stat: ProcStat }
  /** the PID now belongs to another process (different start time) */
  | { state: "recycled"; stat: ProcStat };

/** Whether the process a pid file names is still that same process and alive. */
export function processStatus(record: Pick<PidRecord, "pid" | "startTime">): ProcessStatus {
  const stat = readProcStat(record.pid);
  if (!stat) return { state: "gone" };
  if (stat.startTime !== record.startTime) return { state: "recycled", stat };
  if (stat.state === "Z" || stat.state === "X" || stat.state === "x") return { state: "zombie", stat };
  return { state: "running", stat };
}

/**
 * Live (non-zombie) members of process group `pgid` that started no earlier than `notBefore` — the group
 * leader's start time — so a process that merely reuses a number is never counted as ours.
 */
function groupMembers(pgid: number, notBefore: number): number[] {
  let entries: string[];
  try {
    entries = readdirSync("/proc");
  } catch {
    return [];
  }
  const out: number[] = [];
  for (const name of entries) {
    if (!/^\d+$/.test(name)) continue;
    const stat = readProcStat(Number(name));
    if (stat && stat.pgrp === pgid && stat.startTime >= notBefore && stat.state !== "Z" && stat.state !== "X") out.push(stat.pid);
  }
  return out;
}

export interface TerminateResult {
  /** SIGKILL was needed */
  killed: boolean;
  elapsedMs: number;
}

/**
 * SIGTERM, wait up to `deadlineMs` for the leader and every member of its group to be gone, then SIGKILL.
 * Signals only a process whose start time matches `record` (and, once that leader has exited, only group
 * members that started after it). Resolves immediately when the process is not running.
 */
export async function terminate(
  record: Pick<PidRecord, "pid" | "startTime">,
  deadlineMs: number,
  signal: AbortSignal,
): Promise<TerminateResult> {
  const started = Date.now();
  const first = processStatus(record);
  if (first.state !== "running") return { killed: false, elapsedMs: 0 };
  // We spawn with setsid, so the gateway leads its own group; if something changed that, signal the PID alone.
  const ownsGroup = first.stat.pgrp === record.pid;
  const alive = () =>
    processStatus(record).state === "running" || (ownsGroup && groupMembers(record.pid, record.startTime).length > 0);
  const send = (sig: NodeJS.Signals) => {
    const leader = processStatus(record).state === "running";
    const members = ownsGroup ? groupMembers(record.pid, record.startTime) : [];
    try {
      if (ownsGroup && (leader || members.length > 0)) process.kill(-record.pid, sig);
      else if (leader) process.kill(record.pid, sig);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== "ESRCH") throw e;
    }
  };

  send("SIGTERM");
  const deadline = started + Math.max(0, deadlineMs);
  while (alive() && Date.now() < deadline) await abortable(delay(100), signal);
  if (!alive()) return { killed: false, elapsedMs: Date.now() - started };

  send("SIGKILL");
  const killDeadline = Date.now() + 5_000;
  while (alive() && Date.now() < killDeadline) await abortable(delay(50), signal);
  if (alive()) {
    throw new ProviderError(
      `the gateway (pid ${record.pid}) is still running 5 s after SIGKILL; it may be stuck in the kernel (state D). Check \`ps -o pid,stat,cmd -g ${record.pid}\``,
      "failed",
    );
  }
  return { killed: true, elapsedMs: Date.now() - started };
}

export function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
