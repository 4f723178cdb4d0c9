/**
 * Redaction of secrets from anything that leaves the process as text: logs, errors, audit summaries.
 * Two mechanisms: keys whose names look secret have their values replaced, and every secret value the
 * process knows about (registered with `registerSecret`) is replaced wherever it appears in a string.
 */

export const REDACTED = "[redacted]";

const SECRET_KEY =
  /pass(word|phrase)?|secret|token|api[-_]?key|private[-_]?key|authorization|cookie|credential|totp|^key$|master/i;

const knownSecrets = new Set<string>();

/** Registers a secret value (>= 6 chars) so that it is redacted from every string output from now on. */
export function registerSecret(value: string | undefined | null): void {
  if (value && value.length >= 6) knownSecrets.add(value);
}

export function forgetSecret(value: string): void {
  knownSecrets.delete(value);
}

export function isSecretKey(key: string): boolean {
  return SECRET_KEY.test(key);
}

/** Replaces every registered secret value inside a string. */
export function redactString(s: string): string {
  let out = s;
  for (const v of knownSecrets) {
    if (out.includes(v)) out = out.split(v).join(REDACTED);
  }
  // Bearer tokens and our own token formats, even when not registered.
  out = out.replace(/\b(mh[tsu]_[A-Za-z0-9_-]{8,})/g, REDACTED).replace(/(Bearer\s+)[^\s"']+/gi, `$1${REDACTED}`);
  return out;
}

/**
 * Deep-copies a value with secret-looking keys and known secret values redacted.
 *
 * @example redact({ user: "ann", password: "x" }) // { user: "ann", password: "[redacted]" }
 */
export function redact<T>(value: T, depth = 0): T {
  if (depth > 12) return REDACTED as T;
  if (typeof value === "string") return redactString(value) as T;
  if (Array.isArray(value)) return value.map((v) => redact(v, depth + 1)) as T;
  if (value && typeof value === "object") {
    if (value instanceof Error) {
      return { name: value.name, message: redactString(value.message) } as T;
    }
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
      out[k] =
        isSecretKey(k) && v !== null && v !== undefined && typeof v !== "boolean" && typeof v !== "object"
          ? REDACTED
          : redact(v, depth + 1);
    }
    return out as T;
  }
  return value;
}
