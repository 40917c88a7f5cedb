/**
 * One audit row in the text format of `COPY audit_event (COPY_COLUMNS) FROM STDIN`: the
 * encoding the pipeline queues (one string per row) and streams to Postgres.
 *
 * Invariants: a row is one line with exactly one field per column (tabs, newlines and
 * backslashes inside values are escaped, NUL — which Postgres text cannot hold — becomes
 * U+FFFD); `copyText(null)` is `\N`. `hardClipRow` works on an encoded row, so the queue
 * never has to keep the event objects: it is the last resort for a single row Postgres
 * refused even after `boundEvent` (server/audit/bound-event.ts), and cuts every text column
 * to HARD_CLIP_TEXT with the refusal's cause in `details`.
 *
 * Pure; no I/O. tests/unit/audit-encode.test.ts guards the column order.
 */
import { clip } from "../clip";
import type { AuditEventInput } from "./types";

/** audit_event columns, in the order encodeRow() writes them (COPY text format). */
export const COPY_COLUMNS = [
  "gateway_id",
  "ts",
  "last_ts",
  "kind",
  "via",
  "tenant",
  "decision",
  "reason",
  "origin",
  "origin_normalized",
  "remote_addr",
  "user_agent",
  "path",
  "subprotocol",
  "policy_version",
  "matched_pattern",
  "count",
  "close_code",
  "duration_ms",
  "details",
  "shadow_decision",
  "shadow_reason",
  "shadow_version",
  "credentials",
  "token_state",
  "offered_subprotocols",
] as const;

export const COPY_SQL = `copy audit_event (${COPY_COLUMNS.join(", ")}) from stdin`;
const INT_MAX = 2_147_483_647;
const SPECIAL = /[\\\n\r\t\0]/;
const SPECIAL_ALL = /[\\\n\r\t\0]/g;
const ESCAPES: Record<string, string> = { "\\": "\\\\", "\n": "\\n", "\r": "\\r", "\t": "\\t", "\0": "\uFFFD" };
const UNESCAPES: Record<string, string> = { n: "\n", r: "\r", t: "\t" };

/**
 * A text value in COPY's text format: `\N` for null; backslash, newline, carriage return and
 * tab escaped. Postgres text cannot hold NUL, so a NUL becomes U+FFFD (one bad byte must not
 * make a whole batch fail on every retry).
 */
export function copyText(value: string | null | undefined): string {
  if (value == null) return "\\N";
  return SPECIAL.test(value) ? value.replace(SPECIAL_ALL, (c) => ESCAPES[c] ?? c) : value;
}

/** The value `copyText` encoded (null for `\N`). */
export function copyTextValue(field: string): string | null {
  if (field === "\\N") return null;
  return field.includes("\\") ? field.replace(/\\(.)/gs, (_, c: string) => UNESCAPES[c] ?? c) : field;
}

/** An int column; clamped to the column's range (a connection open for > 24 days, say). */
function copyInt(value: number | null | undefined): string {
  return value == null ? "\\N" : String(Math.min(INT_MAX, Math.max(-INT_MAX, Math.trunc(value))));
}

/** A boolean column: `t`, `f`, or `\\N` when absent. */
function copyBool(value: boolean | null | undefined): string {
  return value == null ? "\\N" : value ? "t" : "f";
}

let isoSecond = Number.NaN;
let isoPrefix = "";

/**
 * `Date#toISOString()` of an epoch-ms time, or `\N`. Rows come in bursts within the same
 * second, so the "YYYY-MM-DDTHH:MM:SS." part is formatted once per second and reused.
 */
export function copyTime(epochMs: number | null): string {
  if (epochMs === null) return "\\N";
  const whole = Math.trunc(epochMs);
  const second = Math.floor(whole / 1000);
  if (second !== isoSecond) {
    isoSecond = second;
    const iso = new Date(second * 1000).toISOString(); // always ends in ".000Z"
    isoPrefix = iso.slice(0, iso.length - 4);
  }
  const ms = whole - second * 1000;
  return `${isoPrefix}${ms < 10 ? "00" : ms < 100 ? "0" : ""}${ms}Z`;
}

/**
 * One row of `COPY audit_event (COPY_COLUMNS) FROM STDIN`, newline included. `gatewayId` is
 * given already encoded (it is the same for every row of a pipeline).
 */
export function encodeRow(gatewayId: string, e: AuditEventInput, count: number, lastTs: number | null): string {
  // kind, via and decision are enum labels (no escaping needed; a bogus one is refused by Postgres and isolated).
  return `${gatewayId}\t${copyTime(e.ts)}\t${copyTime(lastTs)}\t${e.kind}\t${e.via ?? "gateway"}\t${copyText(e.tenant)}\t${
    e.decision ?? "\\N"
  }\t${copyText(e.reason)}\t${copyText(e.origin)}\t${copyText(e.originNormalized)}\t${copyText(
    e.remoteAddr,
  )}\t${copyText(e.userAgent)}\t${copyText(e.path)}\t${copyText(e.subprotocol)}\t${copyInt(
    e.policyVersion,
  )}\t${copyText(e.matchedPattern)}\t${copyInt(count)}\t${copyInt(e.closeCode)}\t${copyInt(e.durationMs)}\t${copyText(
    e.details ? JSON.stringify(e.details) : null,
  )}\t${e.shadowDecision ?? "\\N"}\t${copyText(e.shadowReason)}\t${copyInt(e.shadowVersion)}\t${copyBool(e.credentials)}\t${copyText(e.tokenState)}\t${copyText(e.offeredSubprotocols)}\n`;
}

/** How long each text column of a row Postgres refused may be when it is tried once more. */
export const HARD_CLIP_TEXT = 64;

const TEXT_COLUMNS: ReadonlySet<string> = new Set<(typeof COPY_COLUMNS)[number]>([
  "tenant",
  "reason",
  "origin",
  "origin_normalized",
  "remote_addr",
  "user_agent",
  "path",
  "subprotocol",
  "matched_pattern",
  "offered_subprotocols",
]);
const DETAILS_INDEX = COPY_COLUMNS.indexOf("details");

/**
 * An encoded row with every text column clipped to HARD_CLIP_TEXT and `details` replaced by
 * `{ clipped: true, cause }`; null when `line` is not one field per column.
 */
export function hardClipRow(line: string, cause: string): string | null {
  const fields = (line.endsWith("\n") ? line.slice(0, -1) : line).split("\t");
  if (fields.length !== COPY_COLUMNS.length) return null;
  for (let i = 0; i < fields.length; i++) {
    if (TEXT_COLUMNS.has(COPY_COLUMNS[i]!)) fields[i] = copyText(clip(copyTextValue(fields[i]!), HARD_CLIP_TEXT));
  }
  fields[DETAILS_INDEX] = copyText(JSON.stringify({ clipped: true, cause: clip(cause, 200) }));
  return `${fields.join("\t")}\n`;
}
