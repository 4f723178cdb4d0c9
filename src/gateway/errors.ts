/**
 * The one error type the gateway client throws. Callers branch on `code` (the gateway's `error.code`, or one of
 * {@link ClientErrorCodes} for failures on our side) and `detailCode` (the gateway's `error.details.code`), never
 * on the message, which is for humans and says what to do next. Messages never contain the gateway token.
 */
import { redact, redactString } from "../secrets/redact.ts";
import type { ErrorShape } from "./protocol.ts";

/** Codes for failures detected by the client itself (the gateway's own codes pass through unchanged). */
export const ClientErrorCodes = {
  /** No response (or no connection) before the request deadline. The request may still run on the gateway. */
  TIMEOUT: "TIMEOUT",
  /** The connect budget ran out (gateway down, starting for too long, or unreachable). */
  CONNECT_TIMEOUT: "CONNECT_TIMEOUT",
  /** The socket could not be opened or closed before `hello-ok`. */
  CONNECT_FAILED: "CONNECT_FAILED",
  /** The connection dropped while the request was in flight; it may or may not have run. */
  DISCONNECTED: "DISCONNECTED",
  /** `close()` was called. */
  CLOSED: "CLOSED",
  /** The caller's AbortSignal fired. */
  ABORTED: "ABORTED",
  /** The gateway sent something that does not match the protocol we speak. */
  PROTOCOL: "PROTOCOL",
  /** config.patch kept losing the optimistic-concurrency race to another writer. */
  CONFIG_CONFLICT: "CONFIG_CONFLICT",
  /** A request we refused to send (e.g. larger than the gateway's maxPayload). */
  REQUEST_TOO_LARGE: "REQUEST_TOO_LARGE",
} as const;

export interface GatewayErrorInit {
  code: string;
  message: string;
  detailCode?: string;
  retryable?: boolean;
  retryAfterMs?: number;
  details?: unknown;
  method?: string;
  cause?: unknown;
}

export class GatewayError extends Error {
  override readonly name = "GatewayError";
  readonly code: string;
  /** `error.details.code` from the gateway, when it sent one (e.g. `AUTH_TOKEN_MISMATCH`, `MISSING_SCOPE`). */
  readonly detailCode?: string;
  readonly retryable: boolean;
  readonly retryAfterMs?: number;
  /** `error.details` from the gateway, secrets redacted. */
  readonly details?: unknown;
  /** The RPC method, or `connect` for handshake failures. */
  readonly method?: string;

  constructor(init: GatewayErrorInit) {
    super(redactString(init.message), init.cause === undefined ? undefined : { cause: init.cause });
    this.code = init.code;
    this.detailCode = init.detailCode;
    this.retryable = init.retryable ?? false;
    this.retryAfterMs = init.retryAfterMs;
    this.details = init.details === undefined ? undefined : redact(init.details);
    this.method = init.method;
  }

  /** Builds an error from a gateway `error` shape, adding what the operator can do about it. */
  static fromShape(method: string, shape: ErrorShape, scrub: (text: string) => string = (t) => t): GatewayError {
    const detailCode = readDetailString(shape.details, "code");
    const serverMessage = scrub(shape.message || "(no message)");
    const retryable = shape.retryable ?? shape.code === "UNAVAILABLE";
    const hint = hintFor(shape, detailCode);
    const label = detailCode ? `${shape.code}/${detailCode}` : shape.code;
    return new GatewayError({
      code: shape.code,
      detailCode,
      retryable,
      retryAfterMs: shape.retryAfterMs,
      details: scrubDeep(shape.details, scrub),
      method,
      message: `Gateway refused ${method} (${label}): ${serverMessage}.${hint ? ` ${hint}` : ""}`,
    });
  }
}

export function isGatewayError(error: unknown): error is GatewayError {
  return error instanceof GatewayError;
}

function readDetailString(details: unknown, key: string): string | undefined {
  if (details && typeof details === "object" && !Array.isArray(details)) {
    const value = (details as Record<string, unknown>)[key];
    if (typeof value === "string" && value) return value;
  }
  return undefined;
}

function hintFor(shape: ErrorShape, detailCode: string | undefined): string {
  switch (detailCode) {
    case "AUTH_TOKEN_MISMATCH":
    case "AUTH_TOKEN_MISSING":
    case "AUTH_UNAUTHORIZED":
    case "AUTH_REQUIRED":
      return "The gateway token Molthub holds for this bot does not match gateway.auth.token on the bot; re-sync or rotate the bot's gateway token, then reconnect.";
    case "AUTH_TOKEN_NOT_CONFIGURED":
      return "The gateway has no gateway.auth.token configured; set one in the bot's config (Molthub-managed bots always have one) and restart it.";
    case "AUTH_RATE_LIMITED":
      return `Too many failed logins from this address; wait${shape.retryAfterMs ? ` ${shape.retryAfterMs} ms` : ""} and check the token before retrying.`;
    case "AUTH_SCOPE_MISMATCH":
      return "The device token does not cover the requested scopes; reconnect with the shared gateway token.";
    case "PAIRING_REQUIRED": {
      const requestId = readDetailString(shape.details, "requestId");
      return `The gateway wants this control-plane device approved: reach it over loopback (SSH forward or relay) so it pairs silently, or run \`openclaw devices approve ${requestId ?? "<requestId>"}\` on the bot's host.`;
    }
    case "DEVICE_AUTH_SIGNATURE_EXPIRED":
      return "The clocks of Molthub and the bot's host differ by more than 2 minutes; fix time sync (NTP) on both.";
    case "DEVICE_AUTH_INVALID":
    case "DEVICE_AUTH_DEVICE_ID_MISMATCH":
    case "DEVICE_AUTH_NONCE_REQUIRED":
    case "DEVICE_AUTH_NONCE_MISMATCH":
    case "DEVICE_AUTH_SIGNATURE_INVALID":
    case "DEVICE_AUTH_PUBLIC_KEY_INVALID":
      return "The gateway rejected the control-plane device signature; if this persists, report it as a Molthub bug (the identity or signing format does not match this OpenClaw version).";
    case "PROTOCOL_MISMATCH":
      return "This gateway does not speak protocol v4; upgrade the bot to a supported OpenClaw version.";
    case "MISSING_SCOPE": {
      const scope = readDetailString(shape.details, "missingScope");
      return `This connection lacks scope ${scope ?? "(unknown)"}; connect with it in \`scopes\` (operator.admin covers config writes and restarts).`;
    }
    default:
      break;
  }
  switch (shape.code) {
    case "UNAVAILABLE":
      return `The gateway is busy or still starting; retry${shape.retryAfterMs !== undefined ? ` after ${shape.retryAfterMs} ms` : " shortly"}.`;
    case "NOT_PAIRED":
      return "The gateway wants this control-plane device paired: connect over loopback (SSH forward or relay) or approve it with `openclaw devices approve` on the bot's host.";
    case "FORBIDDEN":
      return "The connection's scopes do not allow this; connect with operator.admin.";
    case "INVALID_REQUEST":
      return "Fix the request (see details) and send it again.";
    default:
      return "";
  }
}

function scrubDeep(value: unknown, scrub: (text: string) => string, depth = 0): unknown {
  if (depth > 8) return undefined;
  if (typeof value === "string") return scrub(value);
  if (Array.isArray(value)) return value.map((v) => scrubDeep(v, scrub, depth + 1));
  if (value && typeof value === "object") {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value as Record<string, unknown>)) out[k] = scrubDeep(v, scrub, depth + 1);
    return out;
  }
  return value;
}
