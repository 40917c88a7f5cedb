/**
 * Browser-safe display helpers of the audit page: decision badges, reason descriptions
 * (the engine's own, plus the audit-only codes), durations, and the client's mirror of the
 * "allow this origin" eligibility (the API decides; this only decides what to offer).
 */
import { AUDIT_KINDS, AUDIT_VIAS } from "@/server/audit/types";
import type { AuditEvent } from "@/server/db/audit-queries";
import { REASON_DESCRIPTIONS, REASONS } from "@/server/policy/browser";

export const DECISIONS = ["accepted", "rejected", "report_only"] as const;
/** How a decision was reached: the gateway itself, a proxy's forward-auth subrequest, or the tester. */
export const VIAS = AUDIT_VIAS;

export function viaLabel(via: string): string {
  return via === "forward_auth" ? "forward auth" : via;
}
export const KINDS = AUDIT_KINDS;

/** Reason codes that only audit rows carry (not handshake decisions). */
const AUDIT_REASONS: Record<string, string> = {
  // Rows written before dropped rows lost their borrowed reason (they now have none).
  audit_dropped:
    "Events the gateway had to drop (its buffer was full while Postgres was unavailable); count says how many.",
  tester_handshake: "A handshake run from the dashboard's tester.",
  tester_scan: "A bypass scan run from the dashboard's tester.",
  tester_cors: "An HTTP/CORS request run from the dashboard's tester.",
  tester_cors_scan: "A CORS scan run from the dashboard's tester.",
  tester_target_refused: "A tester run refused before it started (target not allowed).",
};

export const REASON_OPTIONS: string[] = [...REASONS, ...Object.keys(AUDIT_REASONS)];

export function reasonDescription(reason: string | null): string {
  if (reason === null) return "";
  return (REASON_DESCRIPTIONS as Record<string, string>)[reason] ?? AUDIT_REASONS[reason] ?? "";
}

/** A `dropped` row has no decision (null): shown as such, never as a rejection. */
export function decisionClass(decision: string | null): string {
  if (decision === null) return "badge badge-muted";
  if (decision === "accepted") return "badge badge-ok";
  if (decision === "rejected") return "badge badge-error";
  return "badge badge-warn";
}

export function decisionLabel(decision: string | null): string {
  if (decision === null) return "no decision";
  return decision === "report_only" ? "report-only" : decision;
}

export function formatMs(ms: number | null): string {
  if (ms === null) return "—";
  if (ms < 1000) return `${ms} ms`;
  const s = ms / 1000;
  if (s < 60) return `${s.toFixed(1)} s`;
  if (s < 3600) return `${Math.floor(s / 60)} min ${Math.round(s % 60)} s`;
  return `${Math.floor(s / 3600)} h ${Math.round((s % 3600) / 60)} min`;
}

/** Local wall-clock time of day, seconds included (the feed's time column). */
export function timeOfDay(iso: string): string {
  const d = new Date(iso);
  return d.toLocaleTimeString(undefined, { hour: "2-digit", minute: "2-digit", second: "2-digit", hour12: false });
}

export function localDateTime(iso: string | null): string {
  if (!iso) return "—";
  const d = new Date(iso);
  return `${d.toLocaleDateString(undefined, { year: "numeric", month: "short", day: "numeric" })} ${d.toLocaleTimeString(
    undefined,
    { hour12: false },
  )}`;
}

/** Mirrors the API's guard (app/_lib/audit/allow-audit-origin.ts): what the button is offered for. */
export function canAllowOrigin(event: AuditEvent): boolean {
  return (
    (event.kind === "handshake" || event.kind === "http" || event.kind === "preflight") &&
    event.decision !== "accepted" &&
    event.reason === "origin_not_allowed" &&
    event.originNormalized !== null &&
    event.originNormalized !== "null" &&
    event.tenant !== null
  );
}
