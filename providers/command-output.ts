/**
 * What a provider shows of a command's output: the last lines for an error message with the bot's secrets removed,
 * and the verdict of `openclaw config validate --json` (run locally or on a host).
 */
import * as z from "zod";
import { REDACTED, redactString } from "../src/secrets/redact.ts";

/** The last `lines` lines of a text. */
export function lastLines(text: string, lines: number): string {
  return text.trimEnd().split("\n").slice(-lines).join("\n");
}

/** Env-file keys whose values are paths and flags set by Molthub, not secrets; everything else is redacted. */
const PLAIN_ENV_KEYS = new Set([
  "OPENCLAW_STATE_DIR",
  "OPENCLAW_CONFIG_PATH",
  "OPENCLAW_GATEWAY_PORT",
  "OPENCLAW_NO_RESPAWN",
  "OPENCLAW_NO_AUTO_UPDATE",
  "OPENCLAW_DISABLE_BONJOUR",
]);

/** Removes every secret value of a bot's env (and every registered secret) from text shown to a user. */
export function scrubSecrets(text: string, env: Record<string, string>): string {
  let out = text;
  for (const [k, v] of Object.entries(env)) {
    if (PLAIN_ENV_KEYS.has(k)) continue;
    if (v.length >= 4 && out.includes(v)) out = out.split(v).join(REDACTED);
  }
  return redactString(out);
}

const validateOutputSchema = z.object({
  valid: z.boolean(),
  issues: z.array(z.object({ path: z.string().optional(), message: z.string() }).passthrough()).optional(),
});

/** The JSON verdict of `openclaw config validate --json` (pretty-printed when invalid), or null. */
export function parseValidateOutput(stdout: string): z.infer<typeof validateOutputSchema> | null {
  const start = stdout.indexOf("{");
  const end = stdout.lastIndexOf("}");
  if (start < 0 || end < start) return null;
  try {
    const r = validateOutputSchema.safeParse(JSON.parse(stdout.slice(start, end + 1)));
    return r.success ? r.data : null;
  } catch {
    return null;
  }
}
