import type { DocumentError, DocumentIssue } from "../domain/documents.ts";
import type { EvaluationResult } from "../domain/policy.ts";

export type ErrorCode =
  | "invalid_request"
  | "unauthorized"
  | "forbidden"
  | "not_found"
  | "conflict"
  | "policy_blocked"
  | "rate_limited"
  | "busy"
  | "payload_too_large"
  | "internal";

const STATUS: Record<ErrorCode, number> = {
  invalid_request: 400,
  unauthorized: 401,
  forbidden: 403,
  not_found: 404,
  conflict: 409,
  policy_blocked: 422,
  payload_too_large: 413,
  rate_limited: 429,
  internal: 500,
  busy: 503,
};

/** One wrong thing, at a dotted path; `bot` names the bot when a shared change would break several. */
export interface Issue extends DocumentIssue {
  bot?: string;
}

/** What a ServiceError carries besides its code and message. */
export interface ErrorDetails {
  issues: Issue[];
  /** the whole evaluation, when a policy pack refused the change (every violation with its fix) */
  policy?: EvaluationResult;
}

/**
 * The `details` of an error response: the list of issues, or `{issues, policy}` when a policy refused it.
 * The wire shape predates the typed fields and clients rely on it, so it is kept.
 */
export type WireDetails = Issue[] | Required<ErrorDetails>;

/**
 * An error a service raises on purpose; the HTTP layer maps it to `{"error":{code,message,details}}`.
 * Callers branch on `code` and read `issues` / `policy`, never the message.
 */
export class ServiceError extends Error {
  override name = "ServiceError";
  readonly issues: Issue[];
  readonly policy?: EvaluationResult;
  constructor(
    readonly code: ErrorCode,
    message: string,
    details?: Issue[] | ErrorDetails,
    readonly retryAfterSeconds?: number,
  ) {
    super(message);
    this.issues = Array.isArray(details) ? details : (details?.issues ?? []);
    this.policy = Array.isArray(details) ? undefined : details?.policy;
  }

  get status(): number {
    return STATUS[this.code];
  }

  /** The response's `details`, or undefined when there is nothing to list. */
  get details(): WireDetails | undefined {
    if (this.policy) return { issues: this.issues, policy: this.policy };
    return this.issues.length ? this.issues : undefined;
  }

  /** A domain document error (manifest, layer, template, pack) as an invalid request listing every path. */
  static fromDocument(e: DocumentError, message = e.message): ServiceError {
    return new ServiceError("invalid_request", message, e.issues);
  }
}
