import { and, eq } from "drizzle-orm";
import type { Tx } from "../db/client.ts";
import { hosts } from "../db/schema.ts";
import type { ConditionStatus } from "../domain/conditions.ts";

/**
 * A bot's TargetReachable condition, from what is stored about its host: the host row is where every SSH call's
 * outcome is recorded (src/hosts/directory.ts records a changed key, a refused login, an unreachable host, and
 * `ok` again on the next success), so the bot can name the host's problem and its fix — the same fix the host
 * page offers — instead of the symptom its own step saw ("connect was cancelled", "details not loaded yet").
 *
 * Reason codes (branch on these, never on the message):
 * - `Local`              the bot runs on this machine (a local process or the local Docker engine)
 * - `HostUnknown`        no host of that name in the bot's workspace
 * - `HostKeyUnconfirmed` the host's key was never pinned (or not even read yet)
 * - `HostKeyChanged`     the host presents another key than the pinned one; connections are refused
 * - `HostAuthFailed`     the host refused Molthub's login
 * - `HostUnreachable`    the host (its sshd) could not be reached
 * - `EngineUnreachable`  the host answers but its Docker engine does not (Docker bots, from a failed step only)
 * - `HostReachable`      the last call to the host succeeded
 * - `HostDegraded`       reachable, but its last doctor run found problems (still True: the bot can be reached)
 * - `HostNotChecked`     the key is pinned but Molthub has not logged in since (Unknown)
 */

interface TargetObservation {
  status: ConditionStatus;
  reason: string;
  message: string;
}

/** What this needs of a bot: its workspace (host names are per workspace), provider and host name. */
interface TargetBot {
  workspaceId: string;
  provider: string;
  host: string;
}

const LOCAL: TargetObservation = { status: "True", reason: "Local", message: "runs on this machine" };

type HostRow = typeof hosts.$inferSelect;

function hostPage(name: string): string {
  return `the host page (/hosts/${name})`;
}

/** The doctor's error findings of the host's last run, as one line (empty when none or unreadable). */
function doctorErrors(row: HostRow): string {
  try {
    const d = JSON.parse(row.doctor) as { findings?: { level?: unknown; message?: unknown }[] };
    return (d.findings ?? [])
      .filter((f) => f.level === "error" && typeof f.message === "string")
      .map((f) => f.message as string)
      .join("; ");
  } catch {
    return "";
  }
}

function unknownHost(name: string): TargetObservation {
  return {
    status: "False",
    reason: "HostUnknown",
    message: `host ${name} is not registered in this workspace: add it (molthub host add ${name} --address ADDRESS --user USER, or on the Hosts page), or point spec.target.host at a registered host`,
  };
}

function keyUnconfirmed(row: HostRow): TargetObservation {
  return {
    status: "False",
    reason: "HostKeyUnconfirmed",
    message: row.seenFingerprint
      ? `host ${row.name}'s key is not confirmed yet (it presents ${row.seenFingerprint}): compare it on the host (ssh-keygen -lf /etc/ssh/ssh_host_ed25519_key.pub), then confirm it on ${hostPage(row.name)} or with molthub host trust ${row.name} --fingerprint ${row.seenFingerprint}`
      : `host ${row.name}'s key has not been read yet${row.statusReason ? ` (${row.statusReason})` : ""}: check its address ${row.address}:${row.port}, read the key again on ${hostPage(row.name)}, then confirm it with molthub host trust ${row.name} --fingerprint SHA256:…`,
  };
}

function keyChanged(row: HostRow, presented?: string | null): TargetObservation {
  const seen = presented ?? row.seenFingerprint;
  return {
    status: "False",
    reason: "HostKeyChanged",
    message:
      `host ${row.name}'s key changed (pinned ${row.fingerprint ?? "?"}, it now presents ${seen ?? "another key"}); Molthub refuses to connect before logging in. ` +
      `If the host was reinstalled or its key rotated on purpose, verify the new fingerprint on the host (ssh-keygen -lf /etc/ssh/ssh_host_ed25519_key.pub) and re-trust it on ${hostPage(row.name)} or with molthub host trust ${row.name} --fingerprint ${seen ?? "SHA256:…"}; otherwise treat it as a possible man-in-the-middle`,
  };
}

function authFailed(row: HostRow): TargetObservation {
  return {
    status: "False",
    reason: "HostAuthFailed",
    message: `host ${row.name} refused Molthub's login as ${row.username}: add the public key shown on ${hostPage(row.name)} to ~${row.username}/.ssh/authorized_keys on ${row.address}, then run molthub host doctor ${row.name}`,
  };
}

function unreachable(row: HostRow, cause: string): TargetObservation {
  return {
    status: "False",
    reason: "HostUnreachable",
    message: `host ${row.name} (${row.address}:${row.port}) is unreachable${cause ? `: ${cause}` : ""}. Check that it is up and that its address is right (${hostPage(row.name)}), then run molthub host doctor ${row.name}`,
  };
}

function hostRow(db: Tx, bot: TargetBot): HostRow | undefined {
  return db
    .select()
    .from(hosts)
    .where(and(eq(hosts.workspaceId, bot.workspaceId), eq(hosts.name, bot.host)))
    .get();
}

function isLocal(bot: TargetBot): boolean {
  // "local" is reserved for this machine: no host may be registered under that name
  return !bot.host || bot.host === "local";
}

function fromRow(row: HostRow): TargetObservation {
  if (!row.fingerprint) return keyUnconfirmed(row);
  switch (row.status) {
    case "key_mismatch":
      return keyChanged(row);
    case "auth_failed":
      return authFailed(row);
    case "unreachable":
      return unreachable(row, row.statusReason);
    case "degraded": {
      const errors = doctorErrors(row) || row.statusReason;
      return {
        status: "True",
        reason: "HostDegraded",
        message: `host ${row.name} is reachable; its last doctor run found problems${errors ? `: ${errors}` : ""} (see ${hostPage(row.name)})`,
      };
    }
    default:
      // ok (or untrusted left over with a pin): a login since the pin is what proves the host reachable
      if (row.lastSeenAt === null)
        return {
          status: "Unknown",
          reason: "HostNotChecked",
          message: `host ${row.name}'s key is pinned but Molthub has not logged in since; run molthub host doctor ${row.name}`,
        };
      return { status: "True", reason: "HostReachable", message: `host ${row.name} (${row.address}:${row.port}) is reachable` };
  }
}

/**
 * TargetReachable for a bot from what is stored about its host; no network. Local bots are always reachable.
 * Call it after each step or health check of the bot: the pool has already recorded that call's outcome on the row.
 *
 * @example withCondition(cs, "TargetReachable", targetCondition(db, botRow), now)
 */
export function targetCondition(db: Tx, bot: TargetBot): TargetObservation {
  if (isLocal(bot)) return LOCAL;
  const row = hostRow(db, bot);
  return row ? fromRow(row) : unknownHost(bot.host);
}

/** The class name and code of a typed error, read by shape: fleet/ does not import the layers that throw them. */
function typed(err: unknown): { name: string; code: string; message: string; actual?: string } {
  const e = (err ?? {}) as { name?: unknown; code?: unknown; message?: unknown; actual?: unknown };
  return {
    name: typeof e.name === "string" ? e.name : "",
    code: typeof e.code === "string" ? e.code : "",
    message: typeof e.message === "string" ? e.message : String(err),
    actual: typeof e.actual === "string" ? e.actual : undefined,
  };
}

/**
 * TargetReachable after a step of the bot failed with `err`, or null when the failure says nothing about reaching
 * the target (an invalid config, a gateway that would not start): then leave the condition as it is.
 *
 * The host row comes first: the pool recorded the failed call's cause there (changed key, refused login,
 * unreachable) before the error reached the caller, and the row names the fix. When the row still looks fine, the
 * error's own code decides — a ProviderError (providers/provider.ts) `unreachable`, an SshError (src/ssh/pool.ts)
 * `unreachable` / `connection_lost` / `auth_failed`, a HostKeyMismatchError / HostKeyNotPinnedError
 * (src/ssh/hostkey.ts).
 *
 * @example const t = targetConditionFromError(db, botRow, err); if (t) cs = withCondition(cs, "TargetReachable", t, now);
 */
export function targetConditionFromError(db: Tx, bot: TargetBot, err: unknown): TargetObservation | null {
  const e = typed(err);
  if (isLocal(bot)) {
    // locally, only the Docker engine is something to reach
    if (bot.provider === "docker" && e.name === "ProviderError" && e.code === "unreachable")
      return {
        status: "False",
        reason: "EngineUnreachable",
        message: `cannot reach the local Docker engine: ${e.message}. Check that dockerd runs and that Molthub may use its socket`,
      };
    return null;
  }
  const row = hostRow(db, bot);
  if (!row) return unknownHost(bot.host);
  const stored = fromRow(row);
  if (stored.status === "False") return stored;
  if (e.name === "HostKeyMismatchError") return keyChanged(row, e.actual);
  if (e.name === "HostKeyNotPinnedError") return keyUnconfirmed(row);
  if (e.name === "SshError") {
    if (e.code === "auth_failed") return authFailed(row);
    if (e.code === "unreachable" || e.code === "connection_lost") return unreachable(row, e.message);
    return null;
  }
  if (e.name === "ProviderError" && e.code === "unreachable") {
    if (bot.provider === "docker")
      return {
        status: "False",
        reason: "EngineUnreachable",
        message: `cannot reach the Docker engine on host ${row.name}: ${e.message}. Check that dockerd runs there (molthub host doctor ${row.name})`,
      };
    return unreachable(row, e.message);
  }
  return null;
}
