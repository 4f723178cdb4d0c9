import type { Tx } from "../db/client.ts";
import type { Manifest } from "../domain/manifest.ts";
import type { EvaluationResult } from "../domain/policy.ts";

export interface BotPolicyInput {
  manifest: Manifest;
  config: Record<string, unknown>;
  /** absent for a bot not created yet */
  botId?: string;
  port: number;
  host: string;
}

/** Evaluates the workspace's enabled packs and active exceptions. (Placeholder until policy storage lands.) */
export function evaluateBotPolicy(_tx: Tx, _ws: string, _input: BotPolicyInput): EvaluationResult {
  return { blocked: false, violations: [], excepted: [] };
}
