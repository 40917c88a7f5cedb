/**
 * The one place where an audit event is bounded, called by `AuditPipeline.record()` before
 * the event is folded or queued (SPEC §5 "Untrusted input is bounded"): every text column
 * clipped to its fixed length (server/clip.ts TEXT_LIMITS), `details` reduced to bounded,
 * valid JSON, times and integers made finite. Producers (handshakes, closes, the tester,
 * revocations) need not clip anything themselves; whatever they pass, the row fits its
 * columns and indexes.
 *
 * Pure; no I/O.
 */
import { clip, clipJson, MAX_DETAILS_JSON, MAX_FIELD_TEXT, TEXT_LIMITS } from "../clip";
import type { AuditEventInput } from "./types";

const TEXT_FIELDS = [
  "tenant",
  "origin",
  "originNormalized",
  "remoteAddr",
  "userAgent",
  "path",
  "subprotocol",
  "matchedPattern",
  "reason",
  "offeredSubprotocols",
] as const satisfies ReadonlyArray<keyof AuditEventInput & keyof typeof TEXT_LIMITS>;

const TOKEN_STATE_SET: ReadonlySet<unknown> = new Set(["none", "valid", "invalid"]);

const INT_FIELDS = ["policyVersion", "closeCode", "durationMs"] as const;

/** `event` with every value within its bounds; `event` itself when it already is. */
export function boundEvent(event: AuditEventInput): AuditEventInput {
  if (isBounded(event)) return event;
  const out: AuditEventInput = { ...event };
  for (const field of TEXT_FIELDS) {
    const value = out[field];
    if (typeof value === "string")
      (out as unknown as Record<string, string | null>)[field] = clip(value, TEXT_LIMITS[field]);
    else if (value !== null && value !== undefined) (out as unknown as Record<string, null>)[field] = null;
  }
  if (!Number.isFinite(out.ts)) out.ts = Date.now();
  for (const field of INT_FIELDS) {
    const value = out[field];
    if (value !== undefined && value !== null && !Number.isFinite(value)) out[field] = null;
  }
  if (out.count !== undefined && !Number.isFinite(out.count)) out.count = 1;
  out.details = boundDetails(out.details);
  if (out.tokenState != null && !TOKEN_STATE_SET.has(out.tokenState)) out.tokenState = null;
  if (out.credentials != null && typeof out.credentials !== "boolean") out.credentials = null;
  return out;
}

/**
 * True when nothing in `event` needs bounding (the common case: no copy is made). Written
 * out field by field: this runs for every handshake, and named property reads are cheaper
 * than a loop over field names.
 */
function isBounded(e: AuditEventInput): boolean {
  return (
    (e.details === null || e.details === undefined) &&
    fits(e.tenant, TEXT_LIMITS.tenant) &&
    fits(e.origin, TEXT_LIMITS.origin) &&
    fits(e.originNormalized, TEXT_LIMITS.originNormalized) &&
    fits(e.remoteAddr, TEXT_LIMITS.remoteAddr) &&
    fits(e.userAgent, TEXT_LIMITS.userAgent) &&
    fits(e.path, TEXT_LIMITS.path) &&
    fits(e.subprotocol, TEXT_LIMITS.subprotocol) &&
    fits(e.matchedPattern, TEXT_LIMITS.matchedPattern) &&
    fits(e.reason, TEXT_LIMITS.reason) &&
    fitsOrAbsent(e.offeredSubprotocols, TEXT_LIMITS.offeredSubprotocols) &&
    (e.tokenState === undefined || e.tokenState === null || TOKEN_STATE_SET.has(e.tokenState)) &&
    (e.credentials === undefined || e.credentials === null || typeof e.credentials === "boolean") &&
    Number.isFinite(e.ts) &&
    finiteOrAbsent(e.policyVersion) &&
    finiteOrAbsent(e.closeCode) &&
    finiteOrAbsent(e.durationMs) &&
    finiteOrAbsent(e.count)
  );
}

function fitsOrAbsent(value: string | null | undefined, max: number): boolean {
  return value === undefined || fits(value, max);
}

function fits(value: string | null, max: number): boolean {
  return value === null || (typeof value === "string" && value.length <= max);
}

function finiteOrAbsent(value: number | null | undefined): boolean {
  return value === null || value === undefined || Number.isFinite(value);
}

/**
 * `details` as bounded JSON: strings clipped and without NUL (jsonb refuses `\u0000`),
 * depth and breadth limited; if its serialization is still longer than MAX_DETAILS_JSON it
 * becomes `{ truncated: true, preview }`.
 */
export function boundDetails(details: AuditEventInput["details"]): Record<string, unknown> | null {
  if (details === null || details === undefined) return null;
  const bounded = clipJson(details);
  if (typeof bounded !== "object" || bounded === null || Array.isArray(bounded)) return { value: bounded };
  const json = JSON.stringify(bounded);
  if (json.length <= MAX_DETAILS_JSON) return bounded as Record<string, unknown>;
  return { truncated: true, preview: clip(json, MAX_FIELD_TEXT) };
}
