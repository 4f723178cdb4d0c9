import type { Tx } from "../db/client.ts";
import type { Manifest } from "../domain/manifest.ts";
import type { Contribution } from "./render.ts";

/** Env vars and config fragments of the connectors bound to the bot. (Placeholder until connectors land.) */
export function connectorContribution(_tx: Tx, _ws: string, m: Manifest): Contribution {
  const problems = (m.spec.connectors ?? []).map((c) => ({ path: "spec.connectors", message: `connector ${c} does not exist` }));
  return { layers: [], secrets: {}, problems };
}
