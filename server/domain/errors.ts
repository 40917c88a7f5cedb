/**
 * AppError: the one error type domain functions throw. It carries a stable `code` (part of
 * the API contract: clients branch on it), an HTTP `status`, a user-safe `message`, optional
 * `details` (e.g. validation issues) and the original `cause` for logs.
 *
 * Route handlers never build error responses by hand; they let errors reach
 * `handleApiError` (app/_lib/api/handle-api-error.ts).
 */

import "server-only";

export type AppErrorCode =
  | "unauthorized"
  | "forbidden"
  | "csrf"
  | "out_of_scope"
  | "second_factor_required"
  | "not_found"
  | "conflict"
  | "version_conflict"
  | "already_allowed"
  | "managed_by_code"
  | "rollout_in_progress"
  | "rollout_not_open"
  | "self_approval"
  | "validation_failed"
  | "precondition_required"
  | "rate_limited"
  | "setup_unavailable"
  | "bad_request"
  | "payload_too_large"
  /** The dashboard could not use the gateway it calls (GATEWAY_INTERNAL_URL): unreachable, or no JSON. */
  | "gateway_unavailable"
  /** The gateway the dashboard calls did not answer in time. */
  | "gateway_timeout"
  /** The gateway refused the dashboard's own admin token (a deployment fault, not the user's). */
  | "gateway_auth_failed"
  | "internal";

const DEFAULT_STATUS: Record<AppErrorCode, number> = {
  unauthorized: 401,
  forbidden: 403,
  csrf: 403,
  out_of_scope: 403,
  second_factor_required: 403,
  not_found: 404,
  conflict: 409,
  version_conflict: 409,
  already_allowed: 409,
  managed_by_code: 409,
  rollout_in_progress: 409,
  rollout_not_open: 409,
  self_approval: 403,
  validation_failed: 422,
  precondition_required: 428,
  rate_limited: 429,
  setup_unavailable: 410,
  bad_request: 400,
  payload_too_large: 413,
  gateway_unavailable: 502,
  gateway_timeout: 504,
  gateway_auth_failed: 502,
  internal: 500,
};

export interface AppErrorOptions {
  status?: number;
  details?: unknown;
  /** Extra top-level fields of the error object (e.g. `warnings`, `current`). */
  extra?: Record<string, unknown>;
  cause?: unknown;
}

export class AppError extends Error {
  override name = "AppError";
  readonly code: AppErrorCode;
  readonly status: number;
  readonly details: unknown;
  readonly extra: Record<string, unknown> | undefined;

  constructor(code: AppErrorCode, message: string, options: AppErrorOptions = {}) {
    super(message, { cause: options.cause });
    this.code = code;
    this.status = options.status ?? DEFAULT_STATUS[code];
    this.details = options.details;
    this.extra = options.extra;
  }
}

export interface ValidationDetail {
  path: string;
  message: string;
}

export function validationError(
  message: string,
  details: ValidationDetail[],
  extra?: Record<string, unknown>,
): AppError {
  return new AppError("validation_failed", message, { details, extra });
}

export function notFound(what: string): AppError {
  return new AppError("not_found", `${what} not found`);
}
