import type { Tx } from "../db/client.ts";
import type { Manifest } from "../domain/manifest.ts";
import type { Contribution } from "./render.ts";

/** The bot's profiles and the overlays whose selector matches it. (Placeholder until profiles land.) */
export function layerContribution(_tx: Tx, _ws: string, m: Manifest, _now: Date): Contribution {
  const problems = (m.spec.profiles ?? []).map((p) => ({ path: "spec.profiles", message: `profile ${p} does not exist` }));
  return { layers: [], secrets: {}, problems };
}
