import { type PolicyPack, validatePack } from "../policy.ts";
import { channelSafety } from "./channel-safety.ts";
import { productionHardening } from "./production-hardening.ts";
import { securityBaseline } from "./security-baseline.ts";

/** The packs Molthub ships, validated like custom ones. */
export const BUILTIN_PACKS: PolicyPack[] = [securityBaseline, productionHardening, channelSafety].map((p) =>
  validatePack(p, `built-in pack ${p.id}`),
);

export function builtinPack(id: string): PolicyPack | undefined {
  return BUILTIN_PACKS.find((p) => p.id === id);
}
