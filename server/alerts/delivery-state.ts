/**
 * What one delivery attempt does to a delivery row (pure, shared by the background worker,
 * server/alerts/deliver-alerts.ts, and the dashboard's "send test"): delivered on a 2xx;
 * otherwise retried with exponential backoff (base × 3^(attempt-1), at most MAX_BACKOFF_MS)
 * until MAX_ATTEMPTS, then failed. Every attempt is appended to the row's log, which the
 * dashboard's delivery log shows.
 */
export const MAX_ATTEMPTS = 8;
export const DEFAULT_BACKOFF_BASE_MS = 10_000;
const MAX_BACKOFF_MS = 60 * 60 * 1000;
const MAX_ERROR_LENGTH = 300;

export interface AttemptLogEntry {
  at: string;
  status: number | null;
  error: string | null;
}

export type AttemptOutcome = { status: number } | { error: string };

export interface DeliveryState {
  status: "pending" | "delivered" | "failed";
  attempts: number;
  nextAttemptAt: Date;
  lastAttemptAt: Date;
  responseStatus: number | null;
  error: string | null;
  log: AttemptLogEntry[];
}

export function backoffMs(attempt: number, baseMs = DEFAULT_BACKOFF_BASE_MS): number {
  return Math.min(MAX_BACKOFF_MS, baseMs * 3 ** Math.max(0, attempt - 1));
}

export function afterAttempt(
  previous: { attempts: number; log: unknown },
  outcome: AttemptOutcome,
  now: Date,
  baseMs = DEFAULT_BACKOFF_BASE_MS,
): DeliveryState {
  const attempts = previous.attempts + 1;
  const status = "status" in outcome ? outcome.status : null;
  const error =
    "error" in outcome
      ? outcome.error.slice(0, MAX_ERROR_LENGTH)
      : outcome.status >= 200 && outcome.status <= 299
        ? null
        : `the receiver answered ${outcome.status}`;
  const log = [
    ...(Array.isArray(previous.log) ? (previous.log as AttemptLogEntry[]) : []),
    { at: now.toISOString(), status, error },
  ].slice(-MAX_ATTEMPTS);
  const delivered = error === null;
  return {
    status: delivered ? "delivered" : attempts >= MAX_ATTEMPTS ? "failed" : "pending",
    attempts,
    nextAttemptAt: delivered ? now : new Date(now.getTime() + backoffMs(attempts, baseMs)),
    lastAttemptAt: now,
    responseStatus: status,
    error,
    log,
  };
}
