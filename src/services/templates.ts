import type { Tx } from "../db/client.ts";
import type { Manifest } from "../domain/manifest.ts";
import type { Contribution } from "./render.ts";

/** The bot's template as the lowest layer, with the secrets it declares. (Placeholder until templates land.) */
export function templateContribution(_tx: Tx, _ws: string, m: Manifest): Contribution {
  if (!m.spec.template) return { layers: [], secrets: {}, problems: [] };
  return { layers: [], secrets: {}, problems: [{ path: "spec.template", message: `template ${m.spec.template.name} does not exist` }] };
}
