import { describe, expect, it } from "vitest";
import { failingConditions, parseConditions, settledStatus, withCondition } from "../../src/domain/conditions.ts";

describe("bot conditions", () => {
  it("a ready gateway does not clear drift: the status stays degraded until the drift is gone", () => {
    let cs = withCondition({}, "Drifted", { status: "True", reason: "DriftAlert", message: "drift at x" }, 1);
    cs = withCondition(cs, "Ready", { status: "True", reason: "Ready", message: "ready" }, 2);
    expect(settledStatus(cs, { paused: false, revision: 3 })).toEqual({ status: "degraded", reason: "drift at x" });
    cs = withCondition(cs, "Drifted", { status: "False", reason: "MatchesRevision", message: "ok" }, 3);
    expect(settledStatus(cs, { paused: false, revision: 3 })).toEqual({ status: "running", reason: "revision 3 live" });
  });

  it("keeps `since` while the status holds and moves it when it changes", () => {
    let cs = withCondition({}, "Ready", { status: "False", reason: "NotReady", message: "a" }, 10);
    cs = withCondition(cs, "Ready", { status: "False", reason: "NotReady", message: "b" }, 20);
    expect(cs.Ready).toMatchObject({ since: 10, message: "b" });
    cs = withCondition(cs, "Ready", { status: "True", reason: "Ready", message: "c" }, 30);
    expect(cs.Ready?.since).toBe(30);
  });

  it("lists failing conditions in a fixed order and ignores unknown ones", () => {
    let cs = withCondition({}, "SecretsCurrent", { status: "False", reason: "Outdated", message: "s" }, 1);
    cs = withCondition(cs, "TargetReachable", { status: "False", reason: "HostUnreachable", message: "t" }, 1);
    cs = withCondition(cs, "ChannelsConnected", { status: "Unknown", reason: "NotChecked", message: "c" }, 1);
    expect(failingConditions(cs).map((f) => f.type)).toEqual(["TargetReachable", "SecretsCurrent"]);
    expect(parseConditions("not json")).toEqual({});
    expect(parseConditions(JSON.stringify(cs))).toEqual(cs);
  });
});
