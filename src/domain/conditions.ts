/**
 * A bot's status is derived from independent conditions, each observed by its own part of the reconciler and
 * each with a reason and the time it last changed. One observation never overwrites another: a health poll
 * that finds the gateway ready does not clear drift the drift sweep found.
 */

export const CONDITION_TYPES = [
  "TargetReachable",
  "Ready",
  "ConfigApplied",
  "Drifted",
  "ChannelsConnected",
  "SecretsCurrent",
] as const;

export type ConditionType = (typeof CONDITION_TYPES)[number];
export type ConditionStatus = "True" | "False" | "Unknown";

export interface Condition {
  status: ConditionStatus;
  /** a short CamelCase code to branch on (`HostUntrusted`, `AuthTokenMismatch`, …) */
  reason: string;
  /** what is wrong and what to do, for people */
  message: string;
  /** when `status` last changed (ms) */
  since: number;
}

export type Conditions = Partial<Record<ConditionType, Condition>>;

/** The value of each condition that means all is well: Drifted is the only one that is good when False. */
const GOOD: Record<ConditionType, ConditionStatus> = {
  TargetReachable: "True",
  Ready: "True",
  ConfigApplied: "True",
  Drifted: "False",
  ChannelsConnected: "True",
  SecretsCurrent: "True",
};

export function parseConditions(json: string | null | undefined): Conditions {
  if (!json) return {};
  try {
    const v = JSON.parse(json) as unknown;
    return v && typeof v === "object" && !Array.isArray(v) ? (v as Conditions) : {};
  } catch {
    return {};
  }
}

/** Sets one condition; `since` moves only when the status changes, so it says how long a problem has lasted. */
export function withCondition(
  cs: Conditions,
  type: ConditionType,
  c: { status: ConditionStatus; reason: string; message: string },
  now: number,
): Conditions {
  const prev = cs[type];
  const since = prev && prev.status === c.status ? prev.since : now;
  return { ...cs, [type]: { ...c, since } };
}

/** The conditions that are not in their good state, in display order. */
export function failingConditions(cs: Conditions): { type: ConditionType; condition: Condition }[] {
  return CONDITION_TYPES.flatMap((type) => {
    const c = cs[type];
    return c && c.status !== "Unknown" && c.status !== GOOD[type] ? [{ type, condition: c }] : [];
  });
}

/**
 * The status of a settled bot (one the reconciler is not working on): running when every known condition is
 * good, degraded otherwise, with the failing conditions' messages as the reason.
 */
export function settledStatus(
  cs: Conditions,
  opts: { paused: boolean; revision: number },
): {
  status: "running" | "degraded";
  reason: string;
} {
  const failing = failingConditions(cs);
  if (failing.length) return { status: "degraded", reason: failing.map((f) => f.condition.message).join("; ") };
  return { status: "running", reason: opts.paused ? "paused: channels stopped" : `revision ${opts.revision} live` };
}

export function isGood(type: ConditionType, c: Condition | undefined): boolean {
  return !!c && c.status === GOOD[type];
}
