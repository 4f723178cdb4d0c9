import { describe, expect, it } from "vitest";
import {
  applicableOverlays,
  type Layer,
  LayerError,
  type LayerKind,
  leafPaths,
  resolveLayers,
  validateLayer,
} from "../../src/domain/layers.ts";

/** mulberry32: a tiny seeded generator, so failures reproduce. */
function rng(seed: number) {
  let a = seed >>> 0;
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return {
    next,
    int: (n: number) => Math.floor(next() * n),
    pick: <T>(xs: readonly T[]): T => xs[Math.floor(next() * xs.length)]!,
    shuffle: <T>(xs: T[]): T[] => {
      const out = [...xs];
      for (let i = out.length - 1; i > 0; i--) {
        const j = Math.floor(next() * (i + 1));
        [out[i], out[j]] = [out[j]!, out[i]!];
      }
      return out;
    },
  };
}
type R = ReturnType<typeof rng>;

const KEYS = ["gateway", "channels", "agents", "tools", "logging"] as const;
const SUB = ["a", "b", "c"] as const;
const LEAF_PATHS = KEYS.flatMap((k) => SUB.flatMap((s) => [`${k}.${s}`, `${k}.${s}.x`, `${k}.${s}.y`]));

function randomValue(r: R): unknown {
  return r.pick([() => r.int(100), () => `v${r.int(5)}`, () => r.next() < 0.5, () => [r.int(3), r.int(3)]])();
}

function randomValues(r: R): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (let i = 0; i < 1 + r.int(5); i++) {
    const k = r.pick(KEYS);
    const s = r.pick(SUB);
    const top = (out[k] ??= {}) as Record<string, unknown>;
    if (r.next() < 0.5) top[s] = randomValue(r);
    else top[s] = { x: randomValue(r), ...(r.next() < 0.5 ? { y: randomValue(r) } : {}) };
  }
  return out;
}

const KINDS: LayerKind[] = ["template", "profile", "profile", "overlay", "overlay", "overlay", "bot"];

function randomLayers(r: R): Layer[] {
  const n = 2 + r.int(6);
  const layers: Layer[] = [];
  for (let i = 0; i < n; i++) {
    const kind = i === 0 ? "template" : r.pick(KINDS);
    const layer: Layer = { kind, id: `${kind}-${i}`, name: `${kind} ${i}`, priority: r.int(3), values: randomValues(r) };
    if (r.next() < 0.4) layer.locked = [r.pick(LEAF_PATHS), ...(r.next() < 0.3 ? [r.pick(KEYS)] : [])];
    if (r.next() < 0.2) layer.strategies = { [r.pick(LEAF_PATHS)]: r.pick(["override", "merge", "prepend", "append"] as const) };
    layers.push(layer);
  }
  return layers;
}

const RANK = { template: 0, connector: 1, profile: 2, overlay: 3, bot: 4 };
const order = (ls: Layer[]) =>
  [...ls].sort((a, b) => RANK[a.kind] - RANK[b.kind] || a.priority - b.priority || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));

function get(obj: unknown, path: string): unknown {
  let cur = obj;
  for (const k of path.split(".")) {
    if (cur === null || typeof cur !== "object" || Array.isArray(cur)) return undefined;
    cur = (cur as Record<string, unknown>)[k];
  }
  return cur;
}

const now = new Date("2026-11-22T12:00:00Z");
const RUNS = 400;

describe("resolveLayers — properties", () => {
  it("is deterministic under any permutation of its input", () => {
    for (let seed = 1; seed <= RUNS; seed++) {
      const r = rng(seed);
      const layers = randomLayers(r);
      const a = resolveLayers(layers, now);
      for (let k = 0; k < 3; k++) {
        const b = resolveLayers(r.shuffle(layers), now);
        expect(b, `seed ${seed}`).toEqual(a);
      }
    }
  });

  it("never changes a locked value: it equals what the locking layer left there", () => {
    for (let seed = 1; seed <= RUNS; seed++) {
      const r = rng(seed);
      const layers = r.shuffle(randomLayers(r));
      const res = resolveLayers(layers, now);
      const ordered = order(layers);
      const claimed = new Set<string>();
      for (let i = 0; i < ordered.length; i++) {
        for (const lock of ordered[i]!.locked ?? []) {
          // the first lock over a path is the one that holds
          if ([...claimed].some((c) => lock === c || lock.startsWith(`${c}.`) || c.startsWith(`${lock}.`))) continue;
          claimed.add(lock);
          const upTo = resolveLayers(ordered.slice(0, i + 1), now);
          expect(get(res.value, lock), `seed ${seed}, lock ${lock}`).toEqual(get(upTo.value, lock));
          // and every later layer that set something at or under the lock is reported
          for (const later of ordered.slice(i + 1)) {
            if (get(later.values, lock) !== undefined) {
              expect(
                res.conflicts.some(
                  (c) =>
                    c.layers.some((l) => l.id === later.id) &&
                    (c.path === lock || c.path.startsWith(`${lock}.`) || lock.startsWith(`${c.path}.`)),
                ),
                `seed ${seed}`,
              ).toBe(true);
            }
          }
        }
      }
    }
  });

  it("gives provenance for every leaf, naming the last layer that set it", () => {
    for (let seed = 1; seed <= RUNS; seed++) {
      const r = rng(seed);
      // no locks or strategies: the last layer in order that sets a leaf (or an ancestor/descendant with a scalar) owns it
      const layers = randomLayers(r).map((l) => ({ ...l, locked: undefined, strategies: undefined }));
      const res = resolveLayers(layers, now);
      const leaves = leafPaths(res.value);
      expect(Object.keys(res.provenance).sort(), `seed ${seed}`).toEqual([...leaves].sort());
      for (const leaf of leaves) {
        const setters = order(layers).filter((l) => get(l.values, leaf) !== undefined);
        const owner = setters[setters.length - 1]!;
        expect(res.provenance[leaf]!.layer.id, `seed ${seed}, ${leaf}`).toBe(owner.id);
        expect(get(owner.values, leaf)).toEqual(get(res.value, leaf));
      }
    }
  });

  it("with locks and strategies too, every leaf has provenance naming a layer that sets it", () => {
    for (let seed = 1; seed <= RUNS; seed++) {
      const r = rng(seed);
      const layers = randomLayers(r);
      const res = resolveLayers(layers, now);
      const leaves = leafPaths(res.value);
      expect(Object.keys(res.provenance).sort(), `seed ${seed}`).toEqual([...leaves].sort());
      for (const leaf of leaves) {
        const owner = layers.find((l) => l.id === res.provenance[leaf]!.layer.id)!;
        expect(get(owner.values, leaf), `seed ${seed}, ${leaf}`).toBeDefined();
      }
    }
  });

  it("every pair of equal-priority overlays that disagree on a path is reported", () => {
    for (let seed = 1; seed <= RUNS; seed++) {
      const r = rng(seed);
      const layers = randomLayers(r).map((l) => ({ ...l, locked: undefined, strategies: undefined }));
      const res = resolveLayers(layers, now);
      const overlays = order(layers.filter((l) => l.kind === "overlay"));
      for (let i = 0; i < overlays.length; i++) {
        for (let j = i + 1; j < overlays.length; j++) {
          const [a, b] = [overlays[i]!, overlays[j]!];
          if (a.priority !== b.priority) continue;
          for (const p of leafPaths(b.values)) {
            const va = get(a.values, p);
            if (va === undefined || JSON.stringify(va) === JSON.stringify(get(b.values, p))) continue;
            expect(
              res.conflicts.some((c) => c.layers.some((l) => l.id === b.id) && c.path === p),
              `seed ${seed}: ${a.id} vs ${b.id} at ${p}`,
            ).toBe(true);
          }
        }
      }
    }
  });

  it("reports equal-priority overlays that disagree, and only those", () => {
    for (let seed = 1; seed <= RUNS; seed++) {
      const r = rng(seed);
      const layers = randomLayers(r).map((l) => ({ ...l, locked: undefined, strategies: undefined }));
      const res = resolveLayers(layers, now);
      const overlays = layers.filter((l) => l.kind === "overlay");
      for (const c of res.conflicts) {
        const [a, b] = c.layers.map((ref) => overlays.find((o) => o.id === ref.id)!);
        expect(a!.priority).toBe(b!.priority);
      }
    }
  });
});

const L = (kind: LayerKind, id: string, values: Record<string, unknown>, extra: Partial<Layer> = {}): Layer => ({
  kind,
  id,
  name: id,
  priority: 0,
  values,
  ...extra,
});

describe("resolveLayers — examples", () => {
  it("applies template < profiles < overlays < bot, by priority inside a kind", () => {
    const res = resolveLayers(
      [
        L("bot", "bot", { logging: { level: "debug" } }),
        L("overlay", "o2", { logging: { level: "warn" }, a: 2 }, { priority: 2 }),
        L("overlay", "o1", { logging: { level: "error" }, a: 1, b: 1 }, { priority: 1 }),
        L("profile", "p", { logging: { level: "info" }, c: "p" }),
        L("template", "t", { logging: { level: "trace" }, c: "t", d: "t" }),
      ],
      now,
    );
    expect(res.value).toEqual({ logging: { level: "debug" }, a: 2, b: 1, c: "p", d: "t" });
    expect(res.provenance["logging.level"]!.layer.id).toBe("bot");
    expect(res.provenance["logging.level"]!.overrode!.map((o) => [o.layer.id, o.value])).toEqual([
      ["t", "trace"],
      ["p", "info"],
      ["o1", "error"],
      ["o2", "warn"],
    ]);
    expect(res.provenance.d!.layer.id).toBe("t");
    expect(res.provenance.d!.overrode).toBeUndefined();
    expect(res.conflicts).toEqual([]);
  });

  it("merges objects by default and overrides arrays and scalars", () => {
    const res = resolveLayers(
      [
        L("template", "t", { channels: { telegram: { dmPolicy: "pairing", allowFrom: ["1"] } } }),
        L("bot", "b", { channels: { telegram: { allowFrom: ["2"] }, discord: { dmPolicy: "allowlist" } } }),
      ],
      now,
    );
    expect(res.value).toEqual({
      channels: { telegram: { dmPolicy: "pairing", allowFrom: ["2"] }, discord: { dmPolicy: "allowlist" } },
    });
  });

  it("override strategy replaces a whole object", () => {
    const res = resolveLayers(
      [
        L("template", "t", { agents: { defaults: { model: "a/b", workspace: "/w" } } }),
        L("bot", "b", { agents: { defaults: { model: "c/d" } } }, { strategies: { "agents.defaults": "override" } }),
      ],
      now,
    );
    expect(res.value).toEqual({ agents: { defaults: { model: "c/d" } } });
    expect(Object.keys(res.provenance)).toEqual(["agents.defaults.model"]);
    expect(res.provenance["agents.defaults.model"]!.overrode![0]!.layer.id).toBe("t");
  });

  it("prepend and append extend lists in layer order", () => {
    const res = resolveLayers(
      [
        L("template", "t", { a: [2], b: [2] }),
        L("profile", "p", { a: [1], b: [3] }, { strategies: { a: "prepend", b: "append" } }),
        L("bot", "x", { b: [4] }, { strategies: { b: "append" } }),
      ],
      now,
    );
    expect(res.value).toEqual({ a: [1, 2], b: [2, 3, 4] });
    expect(res.provenance.b!.layer.id).toBe("x");
    expect(res.provenance.b!.overrode!.map((o) => o.value)).toEqual([[2], [2, 3]]);
  });

  it("append on a missing path just sets it; on a non-list it is reported and replaces", () => {
    const res = resolveLayers(
      [L("template", "t", { s: "x" }), L("bot", "b", { a: [1], s: [1] }, { strategies: { a: "append", s: "append" } })],
      now,
    );
    expect(res.value).toEqual({ a: [1], s: [1] });
    expect(res.conflicts.map((c) => c.path)).toEqual(["s"]);
  });

  it("keeps locked values and reports the layer that tried to change them", () => {
    const res = resolveLayers(
      [
        L("template", "t", { gateway: { auth: { mode: "token" } }, sandbox: "all" }, { locked: ["gateway.auth", "sandbox"] }),
        L("profile", "p", { gateway: { auth: { mode: "none" } } }),
        L("bot", "b", { sandbox: "off", other: 1 }),
      ],
      now,
    );
    expect(res.value).toEqual({ gateway: { auth: { mode: "token" } }, sandbox: "all", other: 1 });
    expect(res.provenance["gateway.auth.mode"]!.layer.id).toBe("t");
    expect(res.conflicts.map((c) => [c.path, c.layers.map((l) => l.id)])).toEqual([
      ["gateway.auth", ["t", "p"]],
      ["sandbox", ["t", "b"]],
    ]);
  });

  it("a lower layer replacing an ancestor of a locked path keeps the locked value", () => {
    const res = resolveLayers(
      [
        L("template", "t", { gateway: { bind: "loopback", x: 1 } }, { locked: ["gateway.bind"] }),
        L("bot", "b", { gateway: { y: 2 } }, { strategies: { gateway: "override" } }),
      ],
      now,
    );
    expect(res.value).toEqual({ gateway: { bind: "loopback", y: 2 } });
    expect(res.provenance["gateway.bind"]!.layer.id).toBe("t");
    expect(res.provenance["gateway.y"]!.layer.id).toBe("b");
    expect(res.provenance["gateway.x"]).toBeUndefined();
    expect(res.conflicts[0]!.path).toBe("gateway.bind");
  });

  it("the locking layer may set its own locked path; a lock on an absent path keeps it absent", () => {
    const res = resolveLayers(
      [L("template", "t", {}, { locked: ["tools.elevated"] }), L("bot", "b", { tools: { elevated: { enabled: true } } })],
      now,
    );
    expect(res.value).toEqual({ tools: {} });
    expect(res.provenance.tools!.layer.id).toBe("b");
    expect(res.conflicts[0]!.path).toBe("tools.elevated");
  });

  it("equal-priority overlays that disagree conflict; agreeing or ordered ones don't", () => {
    const disagree = resolveLayers(
      [L("overlay", "b", { x: 2 }, { priority: 5 }), L("overlay", "a", { x: 1 }, { priority: 5 })],
      now,
    );
    expect(disagree.value).toEqual({ x: 2 });
    expect(disagree.conflicts).toHaveLength(1);
    expect(disagree.conflicts[0]!.layers.map((l) => l.id)).toEqual(["a", "b"]);
    expect(
      resolveLayers([L("overlay", "a", { x: 1 }, { priority: 5 }), L("overlay", "b", { x: 1 }, { priority: 5 })], now).conflicts,
    ).toEqual([]);
    expect(
      resolveLayers([L("overlay", "a", { x: 1 }, { priority: 4 }), L("overlay", "b", { x: 2 }, { priority: 5 })], now).conflicts,
    ).toEqual([]);
    // a shape clash (object vs scalar) at equal priority is a conflict too
    const shape = resolveLayers(
      [L("overlay", "a", { x: { y: 1 } }, { priority: 1 }), L("overlay", "b", { x: 5 }, { priority: 1 })],
      now,
    );
    expect(shape.value).toEqual({ x: 5 });
    expect(shape.conflicts.map((c) => c.layers.map((l) => l.id))).toEqual([["a", "b"]]);
  });

  it("skips disabled layers and layers outside their window", () => {
    const res = resolveLayers(
      [
        L("template", "t", { a: 0 }),
        L("overlay", "off", { a: 1 }, { enabled: false }),
        L("overlay", "past", { a: 2 }, { window: { to: "2026-11-22T11:00:00Z" } }),
        L("overlay", "future", { a: 3 }, { window: { from: "2026-11-22T13:00:00Z" } }),
        L("overlay", "now", { b: 1 }, { window: { from: "2026-11-22T12:00:00Z", to: "2026-11-22T12:00:01Z" } }),
      ],
      now,
    );
    expect(res.value).toEqual({ a: 0, b: 1 });
  });
});

describe("applicableOverlays", () => {
  const bot = { name: "alpha", fleet: "support", environment: "production", labels: { team: "cx", tier: "1" } };
  const o = (id: string, extra: Partial<Layer>) => L("overlay", id, {}, extra);

  it("matches each given selector dimension and ignores absent ones", () => {
    const overlays = [
      o("all", {}),
      o("by-name", { selector: { bots: ["alpha", "beta"] } }),
      o("other-name", { selector: { bots: ["beta"] } }),
      o("fleet", { selector: { fleets: ["support"] } }),
      o("other-fleet", { selector: { fleets: ["sales"] } }),
      o("env", { selector: { environments: ["production"] } }),
      o("staging", { selector: { environments: ["staging"] } }),
      o("labels", { selector: { labels: { team: "cx" } } }),
      o("label-mismatch", { selector: { labels: { team: "cx", tier: "2" } } }),
      o("both", { selector: { fleets: ["support"], environments: ["staging"] } }),
    ];
    expect(
      applicableOverlays(overlays, bot, now)
        .map((x) => x.id)
        .sort(),
    ).toEqual(["all", "by-name", "env", "fleet", "labels"]);
  });

  it("a bot without a fleet or environment does not match selectors on them", () => {
    const overlays = [
      o("fleet", { selector: { fleets: ["support"] } }),
      o("env", { selector: { environments: ["production"] } }),
    ];
    expect(applicableOverlays(overlays, { name: "x" }, now)).toEqual([]);
  });

  it("respects windows and enabled, and returns resolution order", () => {
    const overlays = [
      o("late", { priority: 2 }),
      o("early", { priority: 1 }),
      o("expired", { window: { to: "2026-01-01T00:00:00Z" } }),
      o("scheduled", { window: { from: "2027-01-01T00:00:00Z" } }),
      o("bad-window", { window: { from: "not a date" } }),
      o("disabled", { enabled: false }),
    ];
    expect(applicableOverlays(overlays, bot, now).map((x) => x.id)).toEqual(["early", "late"]);
  });
});

describe("validateLayer", () => {
  it("accepts a layer and fills defaults", () => {
    expect(validateLayer({ kind: "profile", id: "p", name: "P", values: { a: 1 }, locked: ["a"] })).toMatchObject({
      priority: 0,
      locked: ["a"],
    });
  });

  it("lists every wrong path", () => {
    try {
      validateLayer({
        kind: "layer",
        id: "",
        name: "T",
        priority: 1.5,
        strategies: { "a..b": "merge", c: "zip" },
        selector: { bots: ["x"] },
        window: { from: "soon" },
        extra: 1,
      });
      throw new Error("expected a LayerError");
    } catch (e) {
      expect(e).toBeInstanceOf(LayerError);
      expect((e as LayerError).issues.map((i) => i.path).sort()).toEqual(
        ["extra", "id", "kind", "priority", "strategies.a..b", "strategies.c", "window.from"].sort(),
      );
    }
  });

  it("a selector is for overlays only, and a window must not end before it starts", () => {
    expect(() => validateLayer({ kind: "bot", id: "b", name: "B", selector: {} })).toThrow(LayerError);
    expect(() =>
      validateLayer({
        kind: "overlay",
        id: "o",
        name: "O",
        window: { from: "2026-12-02T00:00:00Z", to: "2026-12-01T00:00:00Z" },
      }),
    ).toThrow(LayerError);
  });
});
