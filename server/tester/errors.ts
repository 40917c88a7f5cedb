/**
 * TesterError: why the tester refused to run, with a stable code and the HTTP status the
 * gateway's admin endpoint answers with. The body has the API's error shape
 * `{ error: { code, message, details? } }` (SPEC §10), so the dashboard can pass it on.
 */

export type TesterErrorCode =
  | "unauthorized"
  | "forbidden"
  | "not_found"
  | "method_not_allowed"
  | "unsupported_media_type"
  | "payload_too_large"
  | "bad_request"
  | "validation_failed"
  | "tenant_unknown"
  | "target_not_registered"
  | "target_address_refused"
  | "too_many_runs"
  | "unavailable";

const STATUS: Record<TesterErrorCode, number> = {
  unauthorized: 401,
  forbidden: 403,
  not_found: 404,
  method_not_allowed: 405,
  unsupported_media_type: 415,
  payload_too_large: 413,
  bad_request: 400,
  validation_failed: 422,
  tenant_unknown: 404,
  target_not_registered: 403,
  target_address_refused: 403,
  too_many_runs: 429,
  unavailable: 503,
};

export class TesterError extends Error {
  override name = "TesterError";
  readonly status: number;

  constructor(
    readonly code: TesterErrorCode,
    message: string,
    readonly details?: Array<{ path: string; message: string }>,
  ) {
    super(message);
    this.status = STATUS[code];
  }

  toBody(): { error: { code: string; message: string; details?: Array<{ path: string; message: string }> } } {
    return { error: { code: this.code, message: this.message, ...(this.details ? { details: this.details } : {}) } };
  }
}
